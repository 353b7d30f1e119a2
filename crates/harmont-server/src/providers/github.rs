//! GitHub sign-in (not built yet): the OAuth web flow with `state` and
//! PKCE, the primary verified email from `/user/emails`, the identity keyed
//! by the numeric user id.
