//! GitHub sign-in (github.com, or GitHub Enterprise Server at
//! `HARMONT_GITHUB_URL`): the OAuth web flow with `state` and PKCE (S256),
//! the code exchanged at `/login/oauth/access_token`, then the REST API:
//! `/user` for the numeric id (the identity's subject: logins can change)
//! and `/user/emails` for the primary email and whether GitHub verified it.

use serde::Deserialize;

use super::{http_client, ProviderError, ProviderIdentity, ProviderSecret};

/// `HARMONT_GITHUB_*`.
#[derive(Debug, Clone)]
pub struct GithubConfig {
    /// `https://github.com`, or a GitHub Enterprise Server's URL.
    pub url: String,
    pub client_id: String,
    pub client_secret: ProviderSecret,
}

#[derive(Debug)]
pub struct GithubProvider {
    config: GithubConfig,
    /// `https://api.github.com`, or `URL/api/v3` on GitHub Enterprise Server.
    api: String,
    http: reqwest::Client,
}

impl GithubProvider {
    pub fn new(mut config: GithubConfig) -> Result<Self, String> {
        config.url = config.url.trim_end_matches('/').to_owned();
        super::oidc::require_https(&config.url).map_err(|e| format!("HARMONT_GITHUB_URL {e}"))?;
        let api = if config.url == "https://github.com" {
            "https://api.github.com".to_owned()
        } else {
            format!("{}/api/v3", config.url)
        };
        Ok(Self { config, api, http: http_client() })
    }

    /// What identities from here are stored under.
    pub fn issuer(&self) -> &str {
        &self.config.url
    }

    pub fn authorization_url(&self, redirect_uri: &str, state: &str, code_challenge: &str) -> String {
        let mut url = url::Url::parse(&format!("{}/login/oauth/authorize", self.config.url))
            .expect("checked by GithubProvider::new");
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "read:user user:email")
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "false");
        url.into()
    }

    pub async fn identify(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<ProviderIdentity, ProviderError> {
        let token = self.exchange(code, code_verifier, redirect_uri).await?;
        let user: User = self.api_get("/user", &token).await?;
        let emails: Vec<Email> = self.api_get("/user/emails", &token).await?;
        let primary = emails.iter().find(|e| e.primary);
        Ok(ProviderIdentity {
            provider: "github",
            issuer: self.config.url.clone(),
            subject: user.id.to_string(),
            email: primary.map(|e| e.email.trim().to_lowercase()),
            email_verified: primary.is_some_and(|e| e.verified),
            name: user.name.filter(|n| !n.trim().is_empty()).or(Some(user.login)),
        })
    }

    async fn exchange(&self, code: &str, verifier: &str, redirect_uri: &str) -> Result<String, ProviderError> {
        let form = [
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let fail = |reason: String| ProviderError::Unusable { endpoint: "access_token", reason };
        let response = self
            .http
            .post(format!("{}/login/oauth/access_token", self.config.url))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        let status = response.status();
        let body: TokenResponse = response.json().await.map_err(|e| fail(e.without_url().to_string()))?;
        match body {
            // GitHub answers errors with 200 and an `error` field.
            TokenResponse { access_token: Some(token), .. } if status.is_success() => Ok(token),
            TokenResponse { error, .. } => Err(fail(format!("{status}, error {:?}", error.unwrap_or_default()))),
        }
    }

    async fn api_get<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> Result<T, ProviderError> {
        let fail = |reason: String| ProviderError::Unusable { endpoint: "api", reason: format!("{path}: {reason}") };
        let response = self
            .http
            .get(format!("{}{path}", self.api))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(fail(response.status().to_string()));
        }
        response.json().await.map_err(|e| fail(e.without_url().to_string()))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> GithubConfig {
        GithubConfig { url: url.to_owned(), client_id: "c".into(), client_secret: ProviderSecret::new("s") }
    }

    #[test]
    fn the_api_is_api_github_com_or_the_servers_api_v3() {
        assert_eq!(GithubProvider::new(config("https://github.com/")).unwrap().api, "https://api.github.com");
        assert_eq!(
            GithubProvider::new(config("https://git.example.com")).unwrap().api,
            "https://git.example.com/api/v3"
        );
        assert!(GithubProvider::new(config("http://git.example.com")).is_err());
    }
}
