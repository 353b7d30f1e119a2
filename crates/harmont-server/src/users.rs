//! The people who may sign in: adding them (the operator's `user add`),
//! looking them up, renaming, disabling and deleting them. Deleting or
//! disabling a user reaches every replica's bearer cache at once.

use harmont_store::{Authenticated, NewUser, Store, StoreError, User, UserStore};
use std::sync::Arc;
use uuid::Uuid;

use crate::access::{forbid_api_key, require_recent_sign_in};
use crate::api_keys::display_text;
use crate::auth_cache::{Revocation, Revocations};
use crate::clock::Clock;
use crate::error::ApiError;

/// The users' rows, and the bearer cache's revocation handle (a user's
/// cached bearers carry the user).
#[derive(Debug)]
pub struct Users {
    users: Arc<dyn UserStore>,
    clock: Arc<dyn Clock>,
    revocations: Revocations,
}

impl Users {
    pub(crate) fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, revocations: Revocations) -> Self {
        Self { users: store.clone(), clock, revocations }
    }

    /// Adds a user; emails are kept lower-case so lookups are exact.
    pub async fn add_user(&self, email: &str, name: Option<String>) -> Result<User, AddUserError> {
        let email = email.trim().to_lowercase();
        if !looks_like_email(&email) {
            return Err(AddUserError::InvalidEmail);
        }
        let slug = email.split('@').next().map(slug_of);
        let user = NewUser { id: Uuid::new_v4(), email, name, personal_org_slug: slug, created_at: self.clock.now() };
        match self.users.create_user(user).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(AddUserError::Duplicate),
            Err(err) => Err(AddUserError::Store(err)),
        }
    }

    /// Disables (`true`) or enables the user. Disabling revokes nothing:
    /// their sessions and keys are refused while it lasts (here at once, on
    /// other replicas as soon as the store's announcement reaches them) and
    /// work again once enabled. `false` when there is no such user.
    pub async fn set_user_disabled(&self, user_id: Uuid, disabled: bool) -> Result<bool, StoreError> {
        let at = disabled.then(|| self.clock.now());
        let found = self.users.set_user_disabled(user_id, at).await?;
        if found {
            self.revocations.revoked(Revocation::User(user_id));
            crate::audit::Event::success(if disabled { "user_disabled" } else { "user_enabled" }).user(user_id).emit();
        }
        Ok(found)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.users.user_by_email(&email.trim().to_lowercase()).await
    }

    /// Every user, by email.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.users.list_users().await
    }

    pub async fn update_user_name(&self, auth: &Authenticated, name: &str) -> Result<User, ApiError> {
        forbid_api_key(auth)?;
        let name = display_text("name", name)?;
        let user = self.users.update_user_name(auth.user.id, &name).await?.ok_or_else(ApiError::invalid_token)?;
        // Cached bearers carry the user: let this replica read the new name.
        self.revocations.revoked(Revocation::User(user.id));
        Ok(user)
    }

    /// Deletes the account; every token of the user is refused at once here,
    /// and on other replicas when the store announces it.
    pub async fn delete_user(&self, auth: &Authenticated) -> Result<(), ApiError> {
        forbid_api_key(auth)?;
        require_recent_sign_in(auth, self.clock.now())?;
        self.users.delete_user(auth.user.id).await?;
        self.revocations.revoked(Revocation::User(auth.user.id));
        crate::audit::Event::success("account_deleted").emit();
        Ok(())
    }

    /// The operator's `user remove`: deletes the user and everything of
    /// theirs, announced as [`Self::delete_user`] is. `false` if there was
    /// no such user.
    pub async fn remove_user(&self, user_id: Uuid) -> Result<bool, ApiError> {
        let removed = self.users.delete_user(user_id).await?;
        self.revocations.revoked(Revocation::User(user_id));
        Ok(removed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("that is not an email address")]
    InvalidEmail,
    #[error("a user with that email already exists")]
    Duplicate,
    #[error(transparent)]
    Store(StoreError),
}

pub(crate) fn looks_like_email(email: &str) -> bool {
    matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace)
}

pub(crate) fn slug_of(local_part: &str) -> String {
    let slug: String =
        local_part.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    slug.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_slugs() {
        assert!(looks_like_email("ada@example.com"));
        for bad in ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@c.com"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
        assert_eq!(slug_of("Ada.Lovelace+test"), "ada-lovelace-test");
    }
}
