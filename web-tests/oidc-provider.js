// A real OpenID Provider for the single sign-on tests: the `oidc-provider`
// package (npm), run by this script. One confidential client
// (client_secret_basic), PKCE (S256) required, and its development login
// pages, where any login and password are accepted. The login says who the
// person is and what the provider says of their email:
//   ada@example.com            -> sub "ada@example.com", email verified
//   unverified:ada@example.com -> sub "unverified:ada@example.com", email not verified
//   noemail:ada                -> no email claim at all
// Environment: PORT (0 for any), CLIENT_ID, CLIENT_SECRET,
// LOCALHOST_REDIRECT_PATH (the client may come back to that path on any
// http://localhost port, as RFC 8252 section 7.3 lets a loopback client: the
// tests start their servers on port 0, after the provider), and
// ID_TOKEN_CLAIMS=1 to put email claims in the ID token too (by default, as
// for Keycloak and most providers, they come only from userinfo). A fresh
// RSA signing key every start, so a restart is a key rotation.
// Prints "oidc-provider listening on ISSUER" once it is.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import Provider from "oidc-provider";

// The issuer names the port, so bind first and make the provider then.
const server = createServer();
await new Promise((ok) => server.listen(Number(process.env.PORT || 0), "127.0.0.1", ok));
const issuer = `http://127.0.0.1:${server.address().port}`;
const callbackPath = process.env.LOCALHOST_REDIRECT_PATH;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), use: "sig", alg: "RS256" };

function claimsFor(login) {
  if (login.startsWith("noemail:")) return {};
  if (login.startsWith("unverified:")) return { email: login.slice("unverified:".length), email_verified: false };
  return { email: login, email_verified: true };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [`http://localhost${callbackPath}`],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  conformIdTokenClaims: process.env.ID_TOKEN_CLAIMS !== "1",
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [randomUUID()] },
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...claimsFor(id) }) }),
});

// Any port, but only this scheme, host and path, with no credentials.
provider.Client.prototype.redirectUriAllowed = function (value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === "http:" && url.hostname === "localhost" && url.pathname === callbackPath &&
    !url.username && !url.password && !url.search && !url.hash;
};

server.on("request", provider.callback());
console.log(`oidc-provider listening on ${issuer}`);
