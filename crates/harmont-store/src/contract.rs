//! The contract every [`Store`] backend must pass: each public async fn here
//! checks one storage behaviour through the trait alone, and
//! [`contract_tests!`](crate::contract_tests) turns the whole list into one
//! `#[tokio::test]` per behaviour in a backend's test suite.
//!
//! Each function expects a migrated store of its own (sweep counts rows), and
//! uses random ids, emails and hashes besides. Time is passed in, so window
//! edges are checked to the millisecond.

use std::sync::Arc;

use harmont_wire::token::TokenHash;
use uuid::Uuid;

use crate::{
    ApiKeyRecord, Authenticated, Ceremony, CeremonyKind, DeviceRequest, GrantKind, Millis, NewApiKey, NewCeremony,
    NewGrant, NewLoginLink, NewPasskey, NewResourceClient, NewUser, Passkey, ResourceClient, Session, SessionDraft,
    SignInMethod, Store, StoreError, StoreEvent, Swept, User,
};
use crate::{CeremonyKey, DeviceKey, GrantKey, LinkKey, SsoFlowKey};
use crate::{Identity, IdentityRemoval, NewIdentity, NewSsoFlow, SsoFlow};
use crate::{SessionStore, UserStore};

/// Expands to one `#[tokio::test]` per contract function. `$make` is an
/// expression evaluating to a future of a fresh, unmigrated store; it is
/// evaluated once per test, and the store is migrated before the check runs.
/// The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
///
/// ```ignore
/// async fn fresh_store() -> SqliteStore { SqliteStore::connect(&url()).await.unwrap() }
/// harmont_store::contract_tests!(fresh_store());
/// ```
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@by_ref $make;
            migrate_is_idempotent,
            users_are_unique_by_email,
            created_session_authenticates,
            session_token_hashes_are_unique,
            create_session_requires_a_known_user,
            authenticate_refuses_unknown_token,
            authenticate_refuses_revoked_session,
            authenticate_refuses_session_expired_at_now,
            touch_session_writes_at_most_once_a_minute,
            touch_session_leaves_revoked_sessions_alone,
            sessions_record_how_they_were_signed_in,
            list_sessions_shows_own_live_sessions_newest_first,
            revoke_session_revokes_only_own_live_session,
            revoke_other_sessions_keeps_the_given_one,
            park_grant_refuses_a_live_duplicate,
            park_grant_replaces_a_grant_whose_reservation_ended,
            park_grant_refuses_an_expired_key_until_its_reservation_ends,
            park_grant_refuses_a_consumed_key_until_its_reservation_ends,
            grants_are_keyed_by_kind_and_hash,
            grant_pending_sees_only_live_grants,
            consume_grant_is_single_use,
            consume_grant_refuses_grant_expired_at_now,
            consume_grant_respects_kind,
            consume_grant_checks_the_pkce_challenge,
            consume_grant_without_challenge_refuses_a_verifier,
            consumed_grant_session_authenticates_for_grant_user,
            consume_grant_keeps_grant_when_session_insert_fails,
            sweep_removes_expired_grants_and_ended_sessions,
            login_link_is_single_use_and_signs_in,
            login_link_refuses_link_expired_at_now,
            login_link_keeps_link_when_session_insert_fails,
            passkeys_are_per_user_and_unique_by_credential,
            passkey_use_is_recorded,
            delete_passkey_deletes_only_own,
            delete_passkey_revokes_the_sessions_it_signed_in,
            every_revocation_is_announced,
            passkey_sign_in_needs_the_passkey,
            ceremony_is_taken_once_while_live,
            sweep_removes_expired_links_and_ceremonies,
            api_key_authenticates_as_its_user_until_revoked_or_expired,
            api_key_hashes_are_unique_and_apart_from_sessions,
            touch_api_key_writes_at_most_once_a_minute,
            list_api_keys_shows_own_live_keys_newest_first,
            revoke_api_key_revokes_only_own_live_key,
            update_user_name_sets_the_name,
            delete_user_removes_everything_of_theirs,
            list_users_lists_every_user_by_email,
            device_request_is_taken_once_while_live,
            park_device_request_refuses_a_key_until_it_expires,
            key_revocation_and_account_deletion_are_announced,
            resource_clients_are_unique_by_name_and_keep_only_a_hash,
            resource_clients_are_listed_by_name_and_removed_by_name,
            a_disabled_user_is_refused_everywhere_until_enabled,
            disabling_and_enabling_are_announced,
            sso_flow_is_taken_once_while_live,
            identity_links_once_per_issuer_and_subject,
            identity_with_a_new_user_is_all_or_nothing,
            identities_are_listed_touched_and_removed_per_user,
            the_last_way_to_sign_in_is_kept,
        );
        $crate::contract_tests!(@shared $make;
            consume_grant_has_exactly_one_winner,
            login_link_has_exactly_one_winner,
            passkey_removal_ends_every_racing_sign_in,
            roles_are_views_of_one_store,
        );
    };
    (@by_ref $make:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let store = $crate::contract::prepare($make.await).await;
            $crate::contract::$name(&*store).await;
        }
    )*};
    (@shared $make:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let store = $crate::contract::prepare($make.await).await;
            $crate::contract::$name(store).await;
        }
    )*};
}

/// Migrates a fresh store and shares it, ready for a contract function.
pub async fn prepare<S: Store>(store: S) -> Arc<dyn Store> {
    store.migrate().await.expect("migrating a fresh store");
    Arc::new(store)
}

/// 2026-01-01T00:00:00Z, an arbitrary "now" for the checks.
const T0: Millis = 1_767_225_600_000;
const SECOND: Millis = 1_000;
const MINUTE: Millis = 60 * SECOND;
const DAY: Millis = 24 * 60 * MINUTE;
/// The published windows, used only to make the data look real.
const TRANSFER_WINDOW: Millis = MINUTE;
const SESSION_LIFETIME: Millis = 30 * DAY;

fn random_bytes() -> [u8; 32] {
    let mut out = [0; 32];
    out[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    out
}

/// A random key of any kind (the keys are hashes: any 32 bytes will do).
fn random_key<K: RandomKey>() -> K {
    K::from_random(random_bytes())
}

trait RandomKey {
    fn from_random(bytes: [u8; 32]) -> Self;
}

macro_rules! random_key {
    ($($key:ty),*) => {
        $(impl RandomKey for $key {
            fn from_random(bytes: [u8; 32]) -> Self {
                <$key>::from_hash(bytes)
            }
        })*
    };
}

random_key!(GrantKey, DeviceKey, LinkKey, CeremonyKey, SsoFlowKey);

fn random_token_hash() -> TokenHash {
    TokenHash(random_bytes())
}

async fn new_user(store: &dyn Store) -> User {
    let id = Uuid::new_v4();
    store
        .create_user(NewUser {
            id,
            email: format!("{}@contract.example", id.simple()),
            name: Some("Contract Tester".to_owned()),
            personal_org_slug: Some(format!("org-{}", id.simple())),
            created_at: T0 - DAY,
        })
        .await
        .expect("creating a user")
}

fn draft_at(created_at: Millis) -> SessionDraft {
    SessionDraft {
        id: Uuid::new_v4(),
        token_hash: random_token_hash(),
        created_at,
        expires_at: created_at + SESSION_LIFETIME,
        user_agent: Some("harmont-cli/contract".to_owned()),
        ip: Some("203.0.113.7".to_owned()),
        method: SignInMethod::Cli,
        passkey_id: None,
    }
}

fn draft() -> SessionDraft {
    draft_at(T0)
}

async fn new_session(store: &dyn Store, user: &User, draft: SessionDraft) -> Session {
    store.create_session(user.id, draft).await.expect("creating a session")
}

fn transfer_grant(user: &User, key_hash: GrantKey, created_at: Millis) -> NewGrant {
    NewGrant {
        kind: GrantKind::Transfer,
        key_hash,
        user_id: user.id,
        code_challenge: None,
        created_at,
        expires_at: created_at + TRANSFER_WINDOW,
        reserved_until: created_at + 2 * TRANSFER_WINDOW,
    }
}

async fn park(store: &dyn Store, grant: NewGrant) {
    assert!(store.park_grant(grant).await.expect("parking a grant"), "a fresh key must park");
}

async fn consume(
    store: &dyn Store,
    kind: GrantKind,
    key_hash: &GrantKey,
    challenge: Option<&str>,
    now: Millis,
) -> Option<Session> {
    store.consume_grant(kind, key_hash, challenge, now, draft_at(now)).await.expect("consuming a grant")
}

async fn who(store: &dyn Store, token_hash: &TokenHash, now: Millis) -> Option<Authenticated> {
    store.authenticate(token_hash, now).await.expect("authenticating")
}

async fn ids(store: &dyn Store, user: &User, now: Millis) -> Vec<Uuid> {
    let sessions = store.list_sessions(user.id, now).await.expect("listing sessions");
    sessions.into_iter().map(|s| s.id).collect()
}

pub async fn migrate_is_idempotent(store: &dyn Store) {
    store.migrate().await.expect("migrating an up-to-date store");
    store.ping().await.expect("ping after migrating");
    assert!(store.has_our_tables().await.unwrap());
    new_user(store).await;
}

pub async fn users_are_unique_by_email(store: &dyn Store) {
    let user = new_user(store).await;
    assert_eq!(store.user_by_email(&user.email).await.unwrap(), Some(user.clone()));

    let bare = NewUser {
        id: Uuid::new_v4(),
        email: format!("{}@contract.example", Uuid::new_v4().simple()),
        name: None,
        personal_org_slug: None,
        created_at: T0,
    };
    let created = store.create_user(bare.clone()).await.unwrap();
    assert_eq!(created.id, bare.id);
    assert_eq!(store.user_by_email(&bare.email).await.unwrap(), Some(created));

    let duplicate = NewUser { id: Uuid::new_v4(), email: user.email.clone(), ..bare };
    let err = store.create_user(duplicate).await.expect_err("a taken email must be refused");
    assert!(matches!(err, StoreError::Conflict(_)), "want Conflict, got {err:?}");
    assert_eq!(store.user_by_email(&user.email).await.unwrap(), Some(user.clone()));

    // Exact comparison: the server normalises case before it asks.
    assert_eq!(store.user_by_email(&user.email.to_uppercase()).await.unwrap(), None);
    assert_eq!(store.user_by_email("nobody@contract.example").await.unwrap(), None);
}

pub async fn created_session_authenticates(store: &dyn Store) {
    let user = new_user(store).await;
    let full = draft();
    let session = new_session(store, &user, full.clone()).await;
    assert_eq!(
        session,
        Session {
            id: full.id,
            user_id: user.id,
            created_at: full.created_at,
            expires_at: full.expires_at,
            last_used_at: None,
            user_agent: full.user_agent.clone(),
            ip: full.ip.clone(),
            method: SignInMethod::Cli,
            passkey_id: None,
        }
    );
    assert_eq!(who(store, &full.token_hash, T0).await, Some(Authenticated { session, user: user.clone() }));

    let bare = SessionDraft { user_agent: None, ip: None, ..draft() };
    let session = new_session(store, &user, bare.clone()).await;
    assert_eq!(session.user_agent, None);
    assert_eq!(session.ip, None);
    assert_eq!(who(store, &bare.token_hash, T0).await, Some(Authenticated { session, user }));
}

pub async fn session_token_hashes_are_unique(store: &dyn Store) {
    let owner = new_user(store).await;
    let other = new_user(store).await;
    let first = draft();
    new_session(store, &owner, first.clone()).await;

    let clash = SessionDraft { id: Uuid::new_v4(), ..first.clone() };
    let err = store.create_session(other.id, clash).await.expect_err("a reused hash is refused");
    assert!(matches!(err, StoreError::Conflict(_)), "want Conflict, got {err:?}");
    assert_eq!(who(store, &first.token_hash, T0).await.unwrap().user, owner);
}

pub async fn create_session_requires_a_known_user(store: &dyn Store) {
    let d = draft();
    let result = store.create_session(Uuid::new_v4(), d.clone()).await;
    assert!(result.is_err(), "a session needs its user, got {result:?}");
    assert_eq!(who(store, &d.token_hash, T0).await, None);
}

pub async fn authenticate_refuses_unknown_token(store: &dyn Store) {
    let user = new_user(store).await;
    new_session(store, &user, draft()).await;
    assert_eq!(who(store, &random_token_hash(), T0).await, None);
}

pub async fn authenticate_refuses_revoked_session(store: &dyn Store) {
    let user = new_user(store).await;
    let d = draft();
    let session = new_session(store, &user, d.clone()).await;
    assert!(who(store, &d.token_hash, T0 + 1).await.is_some());

    assert!(store.revoke_session(user.id, session.id, T0 + 2).await.unwrap());
    assert_eq!(who(store, &d.token_hash, T0 + 3).await, None);
}

pub async fn authenticate_refuses_session_expired_at_now(store: &dyn Store) {
    let user = new_user(store).await;
    let d = draft();
    new_session(store, &user, d.clone()).await;

    assert!(who(store, &d.token_hash, d.expires_at - 1).await.is_some());
    assert_eq!(who(store, &d.token_hash, d.expires_at).await, None, "expires_at == now is expired");
    assert_eq!(who(store, &d.token_hash, d.expires_at + 1).await, None);
}

pub async fn touch_session_writes_at_most_once_a_minute(store: &dyn Store) {
    let user = new_user(store).await;
    let d = draft();
    let session = new_session(store, &user, d.clone()).await;
    let hash = &d.token_hash;
    let last_used = move |now| async move { who(store, hash, now).await.expect("live session").session.last_used_at };
    assert_eq!(last_used(T0).await, None);

    let first = T0 + 10;
    store.touch_session(session.id, first).await.unwrap();
    assert_eq!(last_used(first).await, Some(first));

    store.touch_session(session.id, first + MINUTE - 1).await.unwrap();
    assert_eq!(last_used(first + MINUTE - 1).await, Some(first), "less than a minute later");

    store.touch_session(session.id, first + MINUTE).await.unwrap();
    assert_eq!(last_used(first + MINUTE).await, Some(first + MINUTE), "a minute later");

    store.touch_session(Uuid::new_v4(), T0).await.expect("touching an unknown id is no error");
}

pub async fn touch_session_leaves_revoked_sessions_alone(store: &dyn Store) {
    let user = new_user(store).await;
    let session = new_session(store, &user, draft()).await;
    assert!(store.revoke_session(user.id, session.id, T0 + 1).await.unwrap());
    // Another replica, holding the session in its cache, touches it after the revocation.
    assert!(!store.touch_session(session.id, T0 + MINUTE).await.unwrap(), "a revoked session is not written");
    assert!(!store.touch_session(Uuid::new_v4(), T0 + MINUTE).await.unwrap(), "nor an unknown one");
    let live = new_session(store, &user, draft()).await;
    assert!(store.touch_session(live.id, T0 + MINUTE).await.unwrap(), "a live one is");
    assert!(!store.touch_session(live.id, T0 + MINUTE + 1).await.unwrap(), "once a minute");
}

pub async fn sessions_record_how_they_were_signed_in(store: &dyn Store) {
    let user = new_user(store).await;
    let passkey = new_passkey(&user, T0);
    store.create_passkey(passkey.clone()).await.unwrap();
    let now = T0 + SECOND;
    let mut drafts = Vec::new();
    for (i, method) in
        [SignInMethod::Cli, SignInMethod::Link, SignInMethod::Sso, SignInMethod::Operator, SignInMethod::Unknown]
            .into_iter()
            .enumerate()
    {
        drafts.push(SessionDraft { method, ..draft_at(T0 - i64::try_from(i).unwrap() - 1) });
    }
    drafts.push(SessionDraft { method: SignInMethod::Passkey, passkey_id: Some(passkey.id), ..draft_at(T0) });
    for d in &drafts {
        let session = new_session(store, &user, d.clone()).await;
        assert_eq!((session.method, session.passkey_id), (d.method, d.passkey_id));
        let found = who(store, &d.token_hash, now).await.expect("the session authenticates").session;
        assert_eq!(found, session, "authenticate reads {:?} back", d.method);
    }
    let listed = store.list_sessions(user.id, now).await.unwrap();
    let read: Vec<_> = listed.iter().map(|s| (s.method, s.passkey_id)).collect();
    let mut want: Vec<_> = drafts.iter().map(|d| (d.method, d.passkey_id)).collect();
    want.rotate_right(1); // newest first: the passkey one, then the others in order
    assert_eq!(read, want);

    // Consuming a grant or a link stores the draft's method as given.
    let key = random_key();
    park(store, transfer_grant(&user, key, T0)).await;
    let d = SessionDraft { method: SignInMethod::Cli, ..draft_at(now) };
    let session = store.consume_grant(GrantKind::Transfer, &key, None, now, d.clone()).await.unwrap().unwrap();
    assert_eq!(who(store, &d.token_hash, now).await.unwrap().session, session);
    assert_eq!(session.method, SignInMethod::Cli);
    let link_key = link(store, &user, T0).await;
    let d = SessionDraft { method: SignInMethod::Link, ..draft_at(now) };
    let session = store.consume_login_link(&link_key, now, d.clone()).await.unwrap().unwrap();
    assert_eq!(who(store, &d.token_hash, now).await.unwrap().session, session);
    assert_eq!(session.method, SignInMethod::Link);

    for method in
        [SignInMethod::Cli, SignInMethod::Link, SignInMethod::Sso, SignInMethod::Operator, SignInMethod::Unknown]
    {
        assert_eq!(SignInMethod::parse(method.as_str()), Some(method));
    }
    assert_eq!(SignInMethod::parse("passkey"), Some(SignInMethod::Passkey));
    assert_eq!(SignInMethod::parse("password"), None);
}

pub async fn list_sessions_shows_own_live_sessions_newest_first(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let now = T0 + DAY;

    let oldest = new_session(store, &user, draft_at(T0)).await;
    let newest = new_session(store, &user, draft_at(T0 + 2 * SECOND)).await;
    let middle = new_session(store, &user, draft_at(T0 + SECOND)).await;
    let revoked = new_session(store, &user, draft_at(T0 + 3 * SECOND)).await;
    assert!(store.revoke_session(user.id, revoked.id, T0 + 4 * SECOND).await.unwrap());
    let ends_now = SessionDraft { expires_at: now, ..draft_at(T0 + 5 * SECOND) };
    new_session(store, &user, ends_now).await;
    let theirs = new_session(store, &other, draft_at(T0 + 6 * SECOND)).await;

    let listed = store.list_sessions(user.id, now).await.unwrap();
    assert_eq!(listed, vec![newest, middle, oldest]);
    assert_eq!(ids(store, &other, now).await, vec![theirs.id]);
    assert_eq!(store.list_sessions(Uuid::new_v4(), now).await.unwrap(), vec![]);
}

pub async fn revoke_session_revokes_only_own_live_session(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let mine = draft();
    let my_session = new_session(store, &user, mine.clone()).await;
    let theirs = draft();
    let their_session = new_session(store, &other, theirs.clone()).await;
    let now = T0 + SECOND;

    assert!(
        !store.revoke_session(user.id, their_session.id, now).await.unwrap(),
        "someone else's session looks like none"
    );
    assert!(who(store, &theirs.token_hash, now).await.is_some());
    assert!(!store.revoke_session(user.id, Uuid::new_v4(), now).await.unwrap());

    assert!(store.revoke_session(user.id, my_session.id, now).await.unwrap());
    assert_eq!(who(store, &mine.token_hash, now).await, None);
    assert!(!store.revoke_session(user.id, my_session.id, now).await.unwrap(), "already revoked");

    let short = SessionDraft { expires_at: now, ..draft() };
    let expired = new_session(store, &user, short).await;
    assert!(!store.revoke_session(user.id, expired.id, now).await.unwrap(), "already expired");
}

pub async fn revoke_other_sessions_keeps_the_given_one(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let now = T0 + SECOND;
    let drafts: Vec<SessionDraft> = (0..3).map(|_| draft()).collect();
    let mut sessions = Vec::new();
    for d in &drafts {
        sessions.push(new_session(store, &user, d.clone()).await);
    }
    let expired = SessionDraft { expires_at: now, ..draft() };
    new_session(store, &user, expired).await;
    let theirs = draft();
    new_session(store, &other, theirs.clone()).await;

    let keep = sessions[1].id;
    assert_eq!(store.revoke_other_sessions(user.id, keep, now).await.unwrap(), 2);
    assert_eq!(ids(store, &user, now).await, vec![keep]);
    assert!(who(store, &drafts[1].token_hash, now).await.is_some());
    assert_eq!(who(store, &drafts[0].token_hash, now).await, None);
    assert_eq!(who(store, &drafts[2].token_hash, now).await, None);
    assert!(who(store, &theirs.token_hash, now).await.is_some(), "other users are untouched");

    assert_eq!(store.revoke_other_sessions(user.id, keep, now).await.unwrap(), 0);
}

pub async fn park_grant_refuses_a_live_duplicate(store: &dyn Store) {
    let owner = new_user(store).await;
    let intruder = new_user(store).await;
    let key = random_key();
    let original = transfer_grant(&owner, key, T0);
    park(store, original.clone()).await;

    for created_at in [T0 + SECOND, original.expires_at - 1] {
        let rival = NewGrant {
            code_challenge: Some("rival-challenge".to_owned()),
            ..transfer_grant(&intruder, key, created_at)
        };
        assert!(!store.park_grant(rival).await.unwrap(), "a live grant is not replaced");
    }

    // The original's window, user and (absent) challenge are intact.
    let kind = GrantKind::Transfer;
    assert!(store.grant_pending(kind, &key, original.expires_at - 1).await.unwrap());
    assert!(!store.grant_pending(kind, &key, original.expires_at).await.unwrap());
    let session = consume(store, kind, &key, None, original.expires_at - 1).await;
    assert_eq!(session.expect("the original still consumes").user_id, owner.id);
}

pub async fn park_grant_replaces_a_grant_whose_reservation_ended(store: &dyn Store) {
    let first = new_user(store).await;
    let second = new_user(store).await;
    let key = random_key();
    let old = transfer_grant(&first, key, T0);
    park(store, old.clone()).await;

    let new = NewGrant {
        code_challenge: Some("new-challenge".to_owned()),
        ..transfer_grant(&second, key, old.reserved_until)
    };
    assert!(store.park_grant(new.clone()).await.unwrap(), "a grant whose reservation ended at now is replaced");

    let now = new.created_at + 1;
    let kind = GrantKind::Transfer;
    assert_eq!(consume(store, kind, &key, None, now).await, None, "the new challenge applies");
    let session = consume(store, kind, &key, Some("new-challenge"), now).await;
    assert_eq!(session.expect("the new grant consumes").user_id, second.id);
}

pub async fn park_grant_refuses_an_expired_key_until_its_reservation_ends(store: &dyn Store) {
    let owner = new_user(store).await;
    let intruder = new_user(store).await;
    let key = random_key();
    let original = transfer_grant(&owner, key, T0);
    park(store, original.clone()).await;
    let kind = GrantKind::Transfer;

    for created_at in [original.expires_at, original.reserved_until - 1] {
        let again = transfer_grant(&intruder, key, created_at);
        assert!(!store.park_grant(again).await.unwrap(), "an expired key is reserved at {created_at}");
        assert!(!store.grant_pending(kind, &key, created_at).await.unwrap(), "and nothing waits under it");
        assert_eq!(consume(store, kind, &key, None, created_at).await, None);
    }
    let later = transfer_grant(&intruder, key, original.reserved_until);
    assert!(store.park_grant(later.clone()).await.unwrap(), "free once the reservation ends");
    let session = consume(store, kind, &key, None, later.created_at + 1).await;
    assert_eq!(session.expect("the new grant consumes").user_id, intruder.id);
}

pub async fn park_grant_refuses_a_consumed_key_until_its_reservation_ends(store: &dyn Store) {
    let owner = new_user(store).await;
    let key = random_key();
    let original = transfer_grant(&owner, key, T0);
    park(store, original.clone()).await;
    let kind = GrantKind::Transfer;
    assert!(consume(store, kind, &key, None, T0 + 1).await.is_some());

    for created_at in [T0 + 2, original.expires_at, original.reserved_until - 1] {
        let again = transfer_grant(&owner, key, created_at);
        assert!(!store.park_grant(again).await.unwrap(), "a claimed key is reserved at {created_at}");
    }
    assert_eq!(consume(store, kind, &key, None, T0 + 3).await, None, "and stays consumed");
    let later = transfer_grant(&owner, key, original.reserved_until);
    assert!(store.park_grant(later.clone()).await.unwrap(), "free once the reservation ends");
    assert!(store.grant_pending(kind, &key, later.created_at).await.unwrap());
    assert!(consume(store, kind, &key, None, later.created_at + 1).await.is_some(), "and consumes once more");
}

pub async fn grants_are_keyed_by_kind_and_hash(store: &dyn Store) {
    let transferring = new_user(store).await;
    let pasting = new_user(store).await;
    let key = random_key();
    park(store, transfer_grant(&transferring, key, T0)).await;
    let paste = NewGrant { kind: GrantKind::Paste, ..transfer_grant(&pasting, key, T0) };
    park(store, paste).await;

    let now = T0 + 1;
    assert_eq!(consume(store, GrantKind::Transfer, &random_key(), None, now).await, None);
    let paste = consume(store, GrantKind::Paste, &key, None, now).await;
    assert_eq!(paste.expect("the paste grant").user_id, pasting.id);
    let transfer = consume(store, GrantKind::Transfer, &key, None, now).await;
    assert_eq!(transfer.expect("the transfer grant").user_id, transferring.id);
}

pub async fn grant_pending_sees_only_live_grants(store: &dyn Store) {
    let user = new_user(store).await;
    let key = random_key();
    let kind = GrantKind::Transfer;
    assert!(!store.grant_pending(kind, &key, T0).await.unwrap(), "unknown");

    let grant = transfer_grant(&user, key, T0);
    park(store, grant.clone()).await;
    assert!(store.grant_pending(kind, &key, T0).await.unwrap());
    assert!(store.grant_pending(kind, &key, grant.expires_at - 1).await.unwrap());
    assert!(!store.grant_pending(kind, &key, grant.expires_at).await.unwrap(), "expired at now");
    assert!(!store.grant_pending(GrantKind::Paste, &key, T0).await.unwrap(), "other kind");
    assert!(!store.grant_pending(kind, &random_key(), T0).await.unwrap(), "other key");

    // Asking does not consume.
    assert!(consume(store, kind, &key, None, T0 + 1).await.is_some());
    assert!(!store.grant_pending(kind, &key, T0 + 2).await.unwrap(), "consumed");
}

pub async fn consume_grant_is_single_use(store: &dyn Store) {
    let user = new_user(store).await;
    let key = random_key();
    park(store, transfer_grant(&user, key, T0)).await;
    let kind = GrantKind::Transfer;

    assert!(consume(store, kind, &key, None, T0 + 1).await.is_some());
    let again = draft_at(T0 + 2);
    let second = store.consume_grant(kind, &key, None, T0 + 2, again.clone()).await.unwrap();
    assert_eq!(second, None);
    assert_eq!(who(store, &again.token_hash, T0 + 3).await, None, "no session for the loser");
}

pub async fn consume_grant_refuses_grant_expired_at_now(store: &dyn Store) {
    let user = new_user(store).await;
    let key = random_key();
    let grant = transfer_grant(&user, key, T0);
    park(store, grant.clone()).await;
    let kind = GrantKind::Transfer;

    assert_eq!(consume(store, kind, &key, None, grant.expires_at).await, None);
    assert_eq!(consume(store, kind, &key, None, grant.expires_at + 1).await, None);
    // Refusing changed nothing: a moment earlier it still consumes.
    assert!(consume(store, kind, &key, None, grant.expires_at - 1).await.is_some());
}

pub async fn consume_grant_respects_kind(store: &dyn Store) {
    let user = new_user(store).await;
    let key = random_key();
    park(store, transfer_grant(&user, key, T0)).await;

    assert_eq!(consume(store, GrantKind::Paste, &key, None, T0 + 1).await, None);
    assert!(store.grant_pending(GrantKind::Transfer, &key, T0 + 1).await.unwrap());
    assert!(consume(store, GrantKind::Transfer, &key, None, T0 + 1).await.is_some());
}

pub async fn consume_grant_checks_the_pkce_challenge(store: &dyn Store) {
    let user = new_user(store).await;
    let key = random_key();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let bound = NewGrant { code_challenge: Some(challenge.to_owned()), ..transfer_grant(&user, key, T0) };
    park(store, bound).await;
    let kind = GrantKind::Transfer;
    let now = T0 + 1;

    for wrong in [None, Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cX"), Some("")] {
        let loser = draft_at(now);
        let refused = store.consume_grant(kind, &key, wrong, now, loser.clone()).await.unwrap();
        assert_eq!(refused, None, "challenge {wrong:?} must not consume");
        assert!(store.grant_pending(kind, &key, now).await.unwrap(), "refusal leaves the grant");
        assert_eq!(who(store, &loser.token_hash, now).await, None);
    }

    let session = consume(store, kind, &key, Some(challenge), now).await;
    assert_eq!(session.expect("the right challenge consumes").user_id, user.id);
    assert!(!store.grant_pending(kind, &key, now).await.unwrap());
}

/// OAuth 2.1: a verifier sent for a grant parked without a challenge is a
/// downgrade attempt and is refused, leaving the grant; without a verifier it
/// consumes, as the published CLI needs.
pub async fn consume_grant_without_challenge_refuses_a_verifier(store: &dyn Store) {
    let user = new_user(store).await;
    for grant_kind in [GrantKind::Transfer, GrantKind::Paste] {
        let key = random_key();
        park(store, NewGrant { kind: grant_kind, ..transfer_grant(&user, key, T0) }).await;
        for challenge in ["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", ""] {
            let loser = draft_at(T0 + 1);
            let refused = store.consume_grant(grant_kind, &key, Some(challenge), T0 + 1, loser.clone()).await.unwrap();
            assert_eq!(refused, None, "{grant_kind:?}: a verifier for an unbound grant must not consume");
            assert!(store.grant_pending(grant_kind, &key, T0 + 1).await.unwrap(), "refusal leaves the grant");
            assert_eq!(who(store, &loser.token_hash, T0 + 1).await, None);
        }
        let session = consume(store, grant_kind, &key, None, T0 + 2).await;
        assert_eq!(session.expect("no verifier consumes an unbound grant").user_id, user.id);
    }
}

pub async fn consumed_grant_session_authenticates_for_grant_user(store: &dyn Store) {
    let owner = new_user(store).await;
    let bystander = new_user(store).await;
    let key = random_key();
    park(store, transfer_grant(&owner, key, T0)).await;

    let now = T0 + 5 * SECOND;
    let d = draft_at(now);
    let session = store
        .consume_grant(GrantKind::Transfer, &key, None, now, d.clone())
        .await
        .unwrap()
        .expect("a live grant consumes");
    let want = Session {
        id: d.id,
        user_id: owner.id,
        created_at: d.created_at,
        expires_at: d.expires_at,
        last_used_at: None,
        user_agent: d.user_agent.clone(),
        ip: d.ip.clone(),
        method: d.method,
        passkey_id: None,
    };
    assert_eq!(session, want);
    assert_eq!(who(store, &d.token_hash, now).await, Some(Authenticated { session, user: owner.clone() }));
    assert_eq!(ids(store, &owner, now).await, vec![d.id]);
    assert!(ids(store, &bystander, now).await.is_empty());
}

pub async fn consume_grant_keeps_grant_when_session_insert_fails(store: &dyn Store) {
    let user = new_user(store).await;
    let taken = draft();
    new_session(store, &user, taken.clone()).await;
    let key = random_key();
    park(store, transfer_grant(&user, key, T0)).await;
    let kind = GrantKind::Transfer;

    let clash = SessionDraft { id: Uuid::new_v4(), ..taken };
    let result = store.consume_grant(kind, &key, None, T0 + 1, clash).await;
    assert!(result.is_err(), "a session that cannot be stored fails, got {result:?}");
    assert!(store.grant_pending(kind, &key, T0 + 1).await.unwrap(), "the delete rolled back");
    assert!(consume(store, kind, &key, None, T0 + 1).await.is_some());
}

/// A server part holds only the role it uses, cut from the one store by
/// trait upcasting: what one role writes, another role of the same store reads.
pub async fn roles_are_views_of_one_store(store: Arc<dyn Store>) {
    let users: Arc<dyn UserStore> = store.clone();
    let sessions: Arc<dyn SessionStore> = store.clone();
    let user = new_user(&*store).await;
    assert_eq!(users.user_by_email(&user.email).await.unwrap(), Some(user.clone()));
    let draft = draft();
    let token_hash = draft.token_hash;
    let session = sessions.create_session(user.id, draft).await.unwrap();
    let found = sessions.authenticate(&token_hash, T0 + 1).await.unwrap().expect("the session authenticates");
    assert_eq!((found.session, found.user), (session, user));
}

/// Many claimers race for one grant: exactly one wins, the rest see `None`,
/// and nobody sees an error (a busy database must wait, not fail).
pub async fn consume_grant_has_exactly_one_winner(store: Arc<dyn Store>) {
    const RACERS: usize = 32;
    let user = new_user(&*store).await;
    let key = random_key();
    park(&*store, transfer_grant(&user, key, T0)).await;
    let now = T0 + 1;

    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..RACERS {
        let (store, start) = (Arc::clone(&store), Arc::clone(&start));
        racers.spawn(async move {
            let d = draft_at(now);
            start.wait().await;
            let outcome = store.consume_grant(GrantKind::Transfer, &key, None, now, d.clone()).await;
            (d, outcome)
        });
    }

    let (mut winners, mut losers, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(joined) = racers.join_next().await {
        match joined.expect("a racer panicked") {
            (d, Ok(Some(session))) => winners.push((d, session)),
            (d, Ok(None)) => losers.push(d),
            (_, Err(e)) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "contention must not surface as errors: {errors:?}");
    assert_eq!(winners.len(), 1, "exactly one winner, got {}", winners.len());
    assert_eq!(losers.len(), RACERS - 1);

    let (winning_draft, session) = &winners[0];
    assert_eq!(who(&*store, &winning_draft.token_hash, now).await.unwrap().session, *session);
    for loser in &losers {
        assert_eq!(who(&*store, &loser.token_hash, now).await, None);
    }
    assert_eq!(ids(&*store, &user, now).await, vec![session.id]);
}

pub async fn sweep_removes_expired_grants_and_ended_sessions(store: &dyn Store) {
    let user = new_user(store).await;
    let now = T0 + 40 * DAY;
    let keep_ended = DAY;

    // Grants: two whose reservation ended at `now` (one exactly), one live,
    // and one expired and one claimed that still reserve their keys.
    let mut gone_grants = Vec::new();
    for reserved_until in [now - 1, now] {
        let created_at = reserved_until - 2 * TRANSFER_WINDOW;
        let grant = transfer_grant(&user, random_key(), created_at);
        assert_eq!(grant.reserved_until, reserved_until);
        park(store, grant.clone()).await;
        gone_grants.push(grant);
    }
    let live_grant = transfer_grant(&user, random_key(), now);
    park(store, live_grant.clone()).await;
    let expired_reserved = transfer_grant(&user, random_key(), now - TRANSFER_WINDOW - 1);
    park(store, expired_reserved.clone()).await;
    let claimed_reserved = transfer_grant(&user, random_key(), now - SECOND);
    park(store, claimed_reserved.clone()).await;
    assert!(consume(store, GrantKind::Transfer, &claimed_reserved.key_hash, None, now - 1).await.is_some());

    // Sessions: ended long enough ago (by expiry or revocation) go, the rest stay.
    let created = now - 10 * DAY;
    let at = |expires_at| SessionDraft { expires_at, ..draft_at(created) };
    let expired_long_ago = at(now - 2 * DAY);
    let expired_recently = at(now - DAY / 2);
    let revoked_long_ago = at(now + DAY);
    let revoked_recently = at(now + DAY);
    let live = at(now + DAY);
    for d in [&expired_long_ago, &expired_recently, &revoked_long_ago, &revoked_recently, &live] {
        new_session(store, &user, d.clone()).await;
    }
    assert!(store.revoke_session(user.id, revoked_long_ago.id, now - 2 * DAY).await.unwrap());
    assert!(store.revoke_session(user.id, revoked_recently.id, now - SECOND).await.unwrap());

    let swept = store.sweep(now, keep_ended).await.unwrap();
    assert_eq!(swept, Swept { grants: 2, sessions: 2 });
    assert_eq!(store.sweep(now, keep_ended).await.unwrap(), Swept::default(), "nothing left");

    // A removed grant's key parks again as if new, even at a time it was live.
    for grant in gone_grants {
        assert!(store.park_grant(grant).await.unwrap(), "an expired grant was swept");
    }
    assert!(store.grant_pending(GrantKind::Transfer, &live_grant.key_hash, now).await.unwrap());
    for kept in [expired_reserved, claimed_reserved] {
        let again = NewGrant { created_at: now, expires_at: now + TRANSFER_WINDOW, ..kept };
        assert!(!store.park_grant(again).await.unwrap(), "a reserved key was kept");
    }

    // Looking back in time tells a removed session from an expired one.
    assert_eq!(who(store, &expired_long_ago.token_hash, created).await, None, "swept");
    assert!(who(store, &expired_recently.token_hash, created).await.is_some(), "kept");
    assert!(who(store, &live.token_hash, now).await.is_some());
    // A revoked session's id and hash are free again only once it is gone.
    store.create_session(user.id, revoked_long_ago).await.expect("its row was swept");
    let err = store.create_session(user.id, revoked_recently).await.expect_err("its row stays");
    assert!(matches!(err, StoreError::Conflict(_)), "want Conflict, got {err:?}");
}

const LINK_WINDOW: Millis = DAY;

fn login_link(user: &User, key_hash: LinkKey, created_at: Millis) -> NewLoginLink {
    NewLoginLink { key_hash, user_id: user.id, created_at, expires_at: created_at + LINK_WINDOW }
}

async fn link(store: &dyn Store, user: &User, created_at: Millis) -> LinkKey {
    let key = random_key();
    store.create_login_link(login_link(user, key, created_at)).await.expect("creating a login link");
    key
}

pub async fn login_link_is_single_use_and_signs_in(store: &dyn Store) {
    let user = new_user(store).await;
    let bystander = new_user(store).await;
    let key = link(store, &user, T0).await;
    let dup = store.create_login_link(login_link(&bystander, key, T0)).await.expect_err("the hash is taken");
    assert!(matches!(dup, StoreError::Conflict(_)), "want Conflict, got {dup:?}");

    let now = T0 + MINUTE;
    let d = draft_at(now);
    let session = store.consume_login_link(&key, now, d.clone()).await.unwrap().expect("a live link consumes");
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.id, d.id);
    assert_eq!(who(store, &d.token_hash, now).await.expect("the session authenticates").user, user);

    let again = draft_at(now + 1);
    assert_eq!(store.consume_login_link(&key, now + 1, again.clone()).await.unwrap(), None, "single use");
    assert_eq!(who(store, &again.token_hash, now + 1).await, None, "no session for the second try");
    let unknown = store.consume_login_link(&random_key(), now, draft_at(now)).await.unwrap();
    assert_eq!(unknown, None);
    assert!(ids(store, &bystander, now).await.is_empty());
}

pub async fn login_link_refuses_link_expired_at_now(store: &dyn Store) {
    let user = new_user(store).await;
    let key = link(store, &user, T0).await;
    let end = T0 + LINK_WINDOW;
    assert_eq!(store.consume_login_link(&key, end, draft_at(end)).await.unwrap(), None);
    assert_eq!(store.consume_login_link(&key, end + 1, draft_at(end + 1)).await.unwrap(), None);
    assert!(store.consume_login_link(&key, end - 1, draft_at(end - 1)).await.unwrap().is_some());
}

pub async fn login_link_keeps_link_when_session_insert_fails(store: &dyn Store) {
    let user = new_user(store).await;
    let taken = draft();
    new_session(store, &user, taken.clone()).await;
    let key = link(store, &user, T0).await;
    let clash = SessionDraft { id: Uuid::new_v4(), ..taken };
    let result = store.consume_login_link(&key, T0 + 1, clash).await;
    assert!(result.is_err(), "a session that cannot be stored fails, got {result:?}");
    assert!(store.consume_login_link(&key, T0 + 1, draft_at(T0 + 1)).await.unwrap().is_some(), "rolled back");
}

/// Many browsers race one link: exactly one session, the rest `None`, no errors.
pub async fn login_link_has_exactly_one_winner(store: Arc<dyn Store>) {
    const RACERS: usize = 32;
    let user = new_user(&*store).await;
    let key = link(&*store, &user, T0).await;
    let now = T0 + 1;
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..RACERS {
        let (store, start) = (Arc::clone(&store), Arc::clone(&start));
        racers.spawn(async move {
            start.wait().await;
            store.consume_login_link(&key, now, draft_at(now)).await
        });
    }
    let (mut winners, mut errors) = (0, Vec::new());
    while let Some(joined) = racers.join_next().await {
        match joined.expect("a racer panicked") {
            Ok(Some(_)) => winners += 1,
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "contention must not surface as errors: {errors:?}");
    assert_eq!(winners, 1);
    assert_eq!(ids(&*store, &user, now).await.len(), 1);
}

fn new_passkey(user: &User, created_at: Millis) -> NewPasskey {
    NewPasskey {
        id: Uuid::new_v4(),
        user_id: user.id,
        credential_id: random_bytes().to_vec(),
        name: "Laptop".to_owned(),
        data: "{\"cred\":\"opaque\"}".to_owned(),
        created_at,
    }
}

pub async fn passkeys_are_per_user_and_unique_by_credential(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let first = new_passkey(&user, T0);
    let second = new_passkey(&user, T0 + 1);
    let stored = store.create_passkey(first.clone()).await.unwrap();
    assert_eq!(
        stored,
        Passkey {
            id: first.id,
            user_id: user.id,
            credential_id: first.credential_id.clone(),
            name: first.name.clone(),
            data: first.data.clone(),
            created_at: T0,
            last_used_at: None,
        }
    );
    store.create_passkey(second.clone()).await.unwrap();
    let theirs = NewPasskey { credential_id: first.credential_id.clone(), ..new_passkey(&other, T0) };
    let err = store.create_passkey(theirs).await.expect_err("a credential id registers once");
    assert!(matches!(err, StoreError::Conflict(_)), "want Conflict, got {err:?}");

    let listed: Vec<Uuid> = store.list_passkeys(user.id).await.unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(listed, vec![first.id, second.id], "oldest first");
    assert!(store.list_passkeys(other.id).await.unwrap().is_empty());
    assert_eq!(store.passkey_by_credential_id(&first.credential_id).await.unwrap(), Some(stored));
    assert_eq!(store.passkey_by_credential_id(&random_bytes()).await.unwrap(), None);
}

fn passkey_draft(passkey: &NewPasskey, at: Millis) -> SessionDraft {
    SessionDraft { method: SignInMethod::Passkey, passkey_id: Some(passkey.id), ..draft_at(at) }
}

pub async fn passkey_use_is_recorded(store: &dyn Store) {
    let user = new_user(store).await;
    let key = new_passkey(&user, T0);
    store.create_passkey(key.clone()).await.unwrap();
    let now = T0 + MINUTE;
    let d = passkey_draft(&key, now);
    let session = store.record_passkey_sign_in(key.id, "{\"counter\":2}".to_owned(), now, d.clone()).await.unwrap();
    let session = session.expect("a stored passkey signs in");
    assert_eq!(session, d.clone().into_session(user.id));
    assert_eq!(who(store, &d.token_hash, now).await, Some(Authenticated { session, user: user.clone() }));
    let found = store.passkey_by_credential_id(&key.credential_id).await.unwrap().unwrap();
    assert_eq!(found.data, "{\"counter\":2}");
    assert_eq!(found.last_used_at, Some(now));
}

pub async fn passkey_sign_in_needs_the_passkey(store: &dyn Store) {
    let user = new_user(store).await;
    let key = new_passkey(&user, T0);
    store.create_passkey(key.clone()).await.unwrap();
    assert_eq!(store.delete_passkey(user.id, key.id, T0 + 1).await.unwrap(), Some(vec![]));
    let d = passkey_draft(&key, T0 + 2);
    assert_eq!(store.record_passkey_sign_in(key.id, "{}".to_owned(), T0 + 2, d.clone()).await.unwrap(), None);
    assert_eq!(who(store, &d.token_hash, T0 + 2).await, None, "no session for a removed passkey");
    assert!(ids(store, &user, T0 + 2).await.is_empty());
}

/// A sign-in and the removal of its passkey, at the same moment, many times:
/// the sign-in either fails or its session is revoked; never does a session
/// signed in with a removed passkey live on.
pub async fn passkey_removal_ends_every_racing_sign_in(store: Arc<dyn Store>) {
    const ROUNDS: usize = 40;
    let user = new_user(&*store).await;
    let now = T0 + MINUTE;
    for _ in 0..ROUNDS {
        let key = new_passkey(&user, T0);
        store.create_passkey(key.clone()).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let d = passkey_draft(&key, now);
        let signing_in = {
            let (store, start, d, id) = (Arc::clone(&store), Arc::clone(&start), d.clone(), key.id);
            tokio::spawn(async move {
                start.wait().await;
                store.record_passkey_sign_in(id, "{}".to_owned(), now, d).await
            })
        };
        let removing = {
            let (store, start, user_id, id) = (Arc::clone(&store), Arc::clone(&start), user.id, key.id);
            tokio::spawn(async move {
                start.wait().await;
                store.delete_passkey(user_id, id, now).await
            })
        };
        let signed_in = signing_in.await.unwrap().expect("no error under contention");
        let revoked = removing.await.unwrap().expect("no error under contention").expect("the passkey was there");
        assert_eq!(who(&*store, &d.token_hash, now).await, None, "a removed passkey's session lives on");
        assert_eq!(revoked, signed_in.iter().map(|s| s.id).collect::<Vec<_>>());
    }
}

pub async fn delete_passkey_deletes_only_own(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let key = new_passkey(&user, T0);
    store.create_passkey(key.clone()).await.unwrap();
    let now = T0 + 1;
    assert_eq!(store.delete_passkey(other.id, key.id, now).await.unwrap(), None, "someone else's");
    assert_eq!(store.delete_passkey(user.id, Uuid::new_v4(), now).await.unwrap(), None, "unknown");
    assert_eq!(store.delete_passkey(user.id, key.id, now).await.unwrap(), Some(vec![]));
    assert_eq!(store.delete_passkey(user.id, key.id, now).await.unwrap(), None, "already gone");
    assert!(store.list_passkeys(user.id).await.unwrap().is_empty());
    assert_eq!(store.passkey_by_credential_id(&key.credential_id).await.unwrap(), None);
}

pub async fn delete_passkey_revokes_the_sessions_it_signed_in(store: &dyn Store) {
    let user = new_user(store).await;
    let doomed = new_passkey(&user, T0);
    let kept = new_passkey(&user, T0 + 1);
    store.create_passkey(doomed.clone()).await.unwrap();
    store.create_passkey(kept.clone()).await.unwrap();
    let signed_in = |passkey: &NewPasskey, at: Millis| SessionDraft {
        method: SignInMethod::Passkey,
        passkey_id: Some(passkey.id),
        ..draft_at(at)
    };
    let first = new_session(store, &user, signed_in(&doomed, T0 + 2)).await;
    let second = new_session(store, &user, signed_in(&doomed, T0 + 3)).await;
    let already_revoked = new_session(store, &user, signed_in(&doomed, T0 + 4)).await;
    assert!(store.revoke_session(user.id, already_revoked.id, T0 + 5).await.unwrap());
    let by_other_key = signed_in(&kept, T0 + 6);
    new_session(store, &user, by_other_key.clone()).await;
    let by_link = SessionDraft { method: SignInMethod::Link, ..draft_at(T0 + 7) };
    new_session(store, &user, by_link.clone()).await;

    let now = T0 + MINUTE;
    let mut revoked = store.delete_passkey(user.id, doomed.id, now).await.unwrap().expect("the passkey was there");
    revoked.sort();
    let mut want = vec![first.id, second.id];
    want.sort();
    assert_eq!(revoked, want, "only the live sessions it signed in");
    let mut live = ids(store, &user, now).await;
    live.sort();
    let mut want = vec![by_other_key.id, by_link.id];
    want.sort();
    assert_eq!(live, want);
}

/// Where a backend announces revocations, each revoking method announces
/// what it revoked (and nothing when it revoked nothing). The channel may be
/// shared with other tests: only this test's ids count.
pub async fn every_revocation_is_announced(store: &dyn Store) {
    if !store.announces_revocations() {
        return;
    }
    let mut events = store.watch().await.unwrap().expect("a backend that announces revocations has a watch");
    let bound = std::time::Duration::from_secs(10);
    let next_of = async |events: &mut tokio::sync::mpsc::Receiver<StoreEvent>, ours: &[Uuid]| loop {
        let event = tokio::time::timeout(bound, events.recv()).await.expect("an announcement in time").unwrap();
        match event {
            StoreEvent::SessionRevoked(id) | StoreEvent::UserRevoked(id) if ours.contains(&id) => return event,
            _ => {}
        }
    };
    assert_eq!(tokio::time::timeout(bound, events.recv()).await.unwrap(), Some(StoreEvent::Listening));
    let user = new_user(store).await;
    let now = T0 + SECOND;
    let one = new_session(store, &user, draft()).await;
    let two = new_session(store, &user, draft()).await;
    let three = new_session(store, &user, draft()).await;
    let ours = [user.id, one.id, two.id, three.id];

    assert!(!store.revoke_session(user.id, Uuid::new_v4(), now).await.unwrap());
    assert!(store.revoke_session(user.id, one.id, now).await.unwrap());
    assert_eq!(next_of(&mut events, &ours).await, StoreEvent::SessionRevoked(one.id), "nothing for a miss");
    assert_eq!(store.revoke_other_sessions(user.id, three.id, now).await.unwrap(), 1);
    assert_eq!(next_of(&mut events, &ours).await, StoreEvent::UserRevoked(user.id));

    let passkey = new_passkey(&user, T0);
    store.create_passkey(passkey.clone()).await.unwrap();
    let signed_in = SessionDraft { method: SignInMethod::Passkey, passkey_id: Some(passkey.id), ..draft() };
    let by_passkey = new_session(store, &user, signed_in).await;
    assert_eq!(store.delete_passkey(user.id, passkey.id, now).await.unwrap(), Some(vec![by_passkey.id]));
    assert_eq!(next_of(&mut events, &ours).await, StoreEvent::UserRevoked(user.id));
    // A revocation that ends nothing says nothing: the next word is the logout's.
    assert_eq!(store.revoke_other_sessions(user.id, three.id, now).await.unwrap(), 0);
    assert!(store.revoke_session(user.id, three.id, now).await.unwrap());
    assert_eq!(next_of(&mut events, &ours).await, StoreEvent::SessionRevoked(three.id));
}

fn ceremony(kind: CeremonyKind, user: Option<&User>, created_at: Millis) -> NewCeremony {
    NewCeremony {
        kind,
        key_hash: random_key(),
        user_id: user.map(|u| u.id),
        state: format!("{{\"challenge\":\"{}\"}}", Uuid::new_v4()),
        created_at,
        expires_at: created_at + 5 * MINUTE,
    }
}

pub async fn ceremony_is_taken_once_while_live(store: &dyn Store) {
    let user = new_user(store).await;
    let register = ceremony(CeremonyKind::Register, Some(&user), T0);
    let sign_in = ceremony(CeremonyKind::Authenticate, None, T0);
    store.park_ceremony(register.clone()).await.unwrap();
    store.park_ceremony(sign_in.clone()).await.unwrap();
    let dup = store.park_ceremony(register.clone()).await.expect_err("the key is taken");
    assert!(matches!(dup, StoreError::Conflict(_)), "want Conflict, got {dup:?}");

    let now = T0 + 1;
    let wrong_kind = store.take_ceremony(CeremonyKind::Authenticate, &register.key_hash, now).await.unwrap();
    assert_eq!(wrong_kind, None);
    let taken = store.take_ceremony(CeremonyKind::Register, &register.key_hash, now).await.unwrap();
    assert_eq!(taken, Some(Ceremony { user_id: Some(user.id), state: register.state.clone() }));
    assert_eq!(store.take_ceremony(CeremonyKind::Register, &register.key_hash, now).await.unwrap(), None, "once");

    let end = sign_in.expires_at;
    assert_eq!(store.take_ceremony(CeremonyKind::Authenticate, &sign_in.key_hash, end).await.unwrap(), None);
    let live = store.take_ceremony(CeremonyKind::Authenticate, &sign_in.key_hash, end - 1).await.unwrap();
    assert_eq!(live, Some(Ceremony { user_id: None, state: sign_in.state }));
}

pub async fn sweep_removes_expired_links_and_ceremonies(store: &dyn Store) {
    let user = new_user(store).await;
    let now = T0 + 2 * DAY;
    let old_link = link(store, &user, T0).await;
    let live_link = link(store, &user, now - MINUTE).await;
    let old = ceremony(CeremonyKind::Authenticate, None, T0);
    let live = ceremony(CeremonyKind::Authenticate, None, now - MINUTE);
    store.park_ceremony(old.clone()).await.unwrap();
    store.park_ceremony(live.clone()).await.unwrap();

    store.sweep(now, 0).await.unwrap();
    // Looking back in time tells a swept row from an expired one.
    assert_eq!(store.consume_login_link(&old_link, T0 + 1, draft_at(T0 + 1)).await.unwrap(), None, "swept");
    assert!(store.take_ceremony(CeremonyKind::Authenticate, &old.key_hash, T0 + 1).await.unwrap().is_none());
    assert!(store.consume_login_link(&live_link, now, draft_at(now)).await.unwrap().is_some());
    assert!(store.take_ceremony(CeremonyKind::Authenticate, &live.key_hash, now).await.unwrap().is_some());
}

fn new_api_key(user: &User, created_at: Millis, expires_at: Option<Millis>) -> NewApiKey {
    NewApiKey {
        id: Uuid::new_v4(),
        user_id: user.id,
        token_hash: random_token_hash(),
        description: "CI deploys".to_owned(),
        created_at,
        expires_at,
    }
}

async fn create_key(store: &dyn Store, key: NewApiKey) -> ApiKeyRecord {
    store.create_api_key(key).await.expect("creating an API key")
}

async fn key_who(store: &dyn Store, token_hash: &TokenHash, now: Millis) -> Option<Authenticated> {
    store.authenticate_api_key(token_hash, now).await.expect("authenticating a key")
}

pub async fn api_key_authenticates_as_its_user_until_revoked_or_expired(store: &dyn Store) {
    let user = new_user(store).await;
    let forever = new_api_key(&user, T0, None);
    let stored = create_key(store, forever.clone()).await;
    assert_eq!(
        stored,
        ApiKeyRecord {
            id: forever.id,
            user_id: user.id,
            description: "CI deploys".into(),
            created_at: T0,
            expires_at: None,
            last_used_at: None,
        }
    );
    let auth = key_who(store, &forever.token_hash, T0 + 365 * DAY).await.expect("a key without expiry lives on");
    assert_eq!(auth.user, user);
    assert!(auth.is_api_key());
    assert_eq!(auth.session, stored.as_session());
    assert_eq!(auth.session.expires_at, Millis::MAX);
    // A key is not a session, and a session is not a key.
    assert_eq!(who(store, &forever.token_hash, T0).await, None);
    let session = draft();
    new_session(store, &user, session.clone()).await;
    assert_eq!(key_who(store, &session.token_hash, T0).await, None);

    let brief = new_api_key(&user, T0, Some(T0 + DAY));
    create_key(store, brief.clone()).await;
    assert!(key_who(store, &brief.token_hash, T0 + DAY - 1).await.is_some());
    assert_eq!(key_who(store, &brief.token_hash, T0 + DAY).await, None, "expired at its expiry");

    assert!(store.revoke_api_key(user.id, forever.id, T0 + 1).await.unwrap());
    assert_eq!(key_who(store, &forever.token_hash, T0 + 2).await, None, "revoked");
    assert_eq!(key_who(store, &random_token_hash(), T0).await, None, "unknown");
}

pub async fn api_key_hashes_are_unique_and_apart_from_sessions(store: &dyn Store) {
    let user = new_user(store).await;
    let key = new_api_key(&user, T0, None);
    create_key(store, key.clone()).await;
    let again = NewApiKey { id: Uuid::new_v4(), ..key };
    assert!(matches!(store.create_api_key(again).await, Err(StoreError::Conflict(_))));
    let stranger = NewApiKey { user_id: Uuid::new_v4(), ..new_api_key(&user, T0, None) };
    assert!(store.create_api_key(stranger).await.is_err(), "a key needs a known user");
}

pub async fn touch_api_key_writes_at_most_once_a_minute(store: &dyn Store) {
    let user = new_user(store).await;
    let key = new_api_key(&user, T0, None);
    create_key(store, key.clone()).await;
    let hash = &key.token_hash;
    let last_used = move |now| async move { key_who(store, hash, now).await.expect("live key").session.last_used_at };
    assert_eq!(last_used(T0).await, None);
    let first = T0 + 10;
    assert!(store.touch_api_key(key.id, first).await.unwrap());
    assert_eq!(last_used(first).await, Some(first));
    assert!(!store.touch_api_key(key.id, first + MINUTE - 1).await.unwrap());
    assert_eq!(last_used(first + MINUTE - 1).await, Some(first), "less than a minute later");
    assert!(store.touch_api_key(key.id, first + MINUTE).await.unwrap());
    assert_eq!(last_used(first + MINUTE).await, Some(first + MINUTE), "a minute later");
    assert!(store.revoke_api_key(user.id, key.id, first + MINUTE).await.unwrap());
    assert!(!store.touch_api_key(key.id, first + 3 * MINUTE).await.unwrap(), "a revoked key is not written");
    assert!(!store.touch_api_key(Uuid::new_v4(), T0).await.unwrap(), "nor an unknown one");
}

pub async fn list_api_keys_shows_own_live_keys_newest_first(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let old = create_key(store, new_api_key(&user, T0, None)).await;
    let new = create_key(store, new_api_key(&user, T0 + SECOND, Some(T0 + DAY))).await;
    let revoked = create_key(store, new_api_key(&user, T0 + 2 * SECOND, None)).await;
    assert!(store.revoke_api_key(user.id, revoked.id, T0 + 3 * SECOND).await.unwrap());
    create_key(store, new_api_key(&other, T0, None)).await;
    let list = store.list_api_keys(user.id, T0 + 4 * SECOND).await.unwrap();
    assert_eq!(list, vec![new.clone(), old.clone()]);
    assert_eq!(store.list_api_keys(user.id, T0 + DAY).await.unwrap(), vec![old], "expired keys are not listed");
}

pub async fn revoke_api_key_revokes_only_own_live_key(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let key = new_api_key(&user, T0, None);
    create_key(store, key.clone()).await;
    assert!(!store.revoke_api_key(other.id, key.id, T0 + 1).await.unwrap(), "someone else's");
    assert!(!store.revoke_api_key(user.id, Uuid::new_v4(), T0 + 1).await.unwrap(), "unknown");
    assert!(key_who(store, &key.token_hash, T0 + 1).await.is_some());
    assert!(store.revoke_api_key(user.id, key.id, T0 + 1).await.unwrap());
    assert!(!store.revoke_api_key(user.id, key.id, T0 + 2).await.unwrap(), "already revoked");
    let expired = new_api_key(&user, T0, Some(T0 + SECOND));
    create_key(store, expired.clone()).await;
    assert!(!store.revoke_api_key(user.id, expired.id, T0 + SECOND).await.unwrap(), "expired");
}

pub async fn update_user_name_sets_the_name(store: &dyn Store) {
    let user = new_user(store).await;
    let renamed = store.update_user_name(user.id, "Ada Lovelace").await.unwrap().expect("the user");
    assert_eq!(renamed, User { name: Some("Ada Lovelace".into()), ..user.clone() });
    assert_eq!(store.user_by_email(&user.email).await.unwrap(), Some(renamed));
    assert_eq!(store.update_user_name(Uuid::new_v4(), "Nobody").await.unwrap(), None);
}

pub async fn delete_user_removes_everything_of_theirs(store: &dyn Store) {
    let user = new_user(store).await;
    let bystander = new_user(store).await;
    let session = draft();
    new_session(store, &user, session.clone()).await;
    let key = new_api_key(&user, T0, None);
    create_key(store, key.clone()).await;
    let passkey = new_passkey(&user, T0);
    store.create_passkey(passkey.clone()).await.unwrap();
    let grant = random_key();
    park(store, transfer_grant(&user, grant, T0)).await;
    let login_link = link(store, &user, T0).await;
    let theirs = draft();
    new_session(store, &bystander, theirs.clone()).await;

    assert!(store.delete_user(user.id).await.unwrap());
    assert_eq!(store.user_by_email(&user.email).await.unwrap(), None);
    assert_eq!(who(store, &session.token_hash, T0).await, None);
    assert_eq!(key_who(store, &key.token_hash, T0).await, None);
    assert_eq!(store.list_passkeys(user.id).await.unwrap(), vec![]);
    assert_eq!(store.passkey_by_credential_id(&passkey.credential_id).await.unwrap(), None);
    assert_eq!(consume(store, GrantKind::Transfer, &grant, None, T0 + 1).await, None);
    assert_eq!(store.consume_login_link(&login_link, T0 + 1, draft()).await.unwrap(), None);
    assert!(who(store, &theirs.token_hash, T0).await.is_some(), "another user keeps theirs");
    assert!(!store.delete_user(user.id).await.unwrap(), "gone already");
}

pub async fn list_users_lists_every_user_by_email(store: &dyn Store) {
    let a = new_user(store).await;
    let b = new_user(store).await;
    let listed = store.list_users().await.unwrap();
    let emails: Vec<&str> = listed.iter().map(|u| u.email.as_str()).collect();
    let mut sorted = emails.clone();
    sorted.sort_unstable();
    assert_eq!(emails, sorted, "by email");
    for user in [&a, &b] {
        assert_eq!(listed.iter().find(|u| u.id == user.id), Some(user), "{}", user.email);
    }
    assert!(store.delete_user(a.id).await.unwrap());
    let listed = store.list_users().await.unwrap();
    assert!(listed.iter().all(|u| u.id != a.id), "a removed user is not listed");
    assert!(listed.iter().any(|u| u.id == b.id));
}

pub async fn key_revocation_and_account_deletion_are_announced(store: &dyn Store) {
    if !store.announces_revocations() {
        return;
    }
    let mut events = store.watch().await.unwrap().expect("a backend that announces revocations has a watch");
    let bound = std::time::Duration::from_secs(10);
    assert_eq!(tokio::time::timeout(bound, events.recv()).await.unwrap(), Some(StoreEvent::Listening));
    let user = new_user(store).await;
    let key = create_key(store, new_api_key(&user, T0, None)).await;
    let ours = [user.id, key.id];
    let next = async |events: &mut tokio::sync::mpsc::Receiver<StoreEvent>| loop {
        let event = tokio::time::timeout(bound, events.recv()).await.expect("an announcement in time").unwrap();
        match event {
            StoreEvent::SessionRevoked(id) | StoreEvent::UserRevoked(id) if ours.contains(&id) => return event,
            _ => {}
        }
    };
    assert!(!store.revoke_api_key(user.id, Uuid::new_v4(), T0 + 1).await.unwrap());
    assert!(store.revoke_api_key(user.id, key.id, T0 + 1).await.unwrap());
    assert_eq!(next(&mut events).await, StoreEvent::SessionRevoked(key.id), "nothing for a miss");
    assert!(store.delete_user(user.id).await.unwrap());
    assert_eq!(next(&mut events).await, StoreEvent::UserRevoked(user.id));
}

fn new_resource_client(name: &str) -> NewResourceClient {
    NewResourceClient { id: Uuid::new_v4(), name: name.to_owned(), secret_hash: random_token_hash(), created_at: T0 }
}

pub async fn resource_clients_are_unique_by_name_and_keep_only_a_hash(store: &dyn Store) {
    let gateway = new_resource_client("gateway");
    let stored = store.create_resource_client(gateway.clone()).await.unwrap();
    assert_eq!(stored, ResourceClient { id: gateway.id, name: "gateway".to_owned(), created_at: T0 });
    assert_eq!(store.resource_client_secret_hash(gateway.id).await.unwrap(), Some(gateway.secret_hash));
    assert_eq!(store.resource_client_secret_hash(Uuid::new_v4()).await.unwrap(), None);

    let same_name = new_resource_client("gateway");
    assert!(matches!(store.create_resource_client(same_name.clone()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.resource_client_secret_hash(same_name.id).await.unwrap(), None, "nothing of it was stored");
    let same_id = NewResourceClient { id: gateway.id, ..new_resource_client("billing") };
    assert!(matches!(store.create_resource_client(same_id).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.resource_client_secret_hash(gateway.id).await.unwrap(), Some(gateway.secret_hash), "unchanged");
}

pub async fn resource_clients_are_listed_by_name_and_removed_by_name(store: &dyn Store) {
    assert_eq!(store.list_resource_clients().await.unwrap(), vec![]);
    let names = ["orders", "billing", "gateway"];
    let mut made = Vec::new();
    for name in names {
        let client = new_resource_client(name);
        store.create_resource_client(client.clone()).await.unwrap();
        made.push(client);
    }
    let listed: Vec<String> = store.list_resource_clients().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(listed, ["billing", "gateway", "orders"]);

    assert!(store.remove_resource_client("billing").await.unwrap());
    assert!(!store.remove_resource_client("billing").await.unwrap(), "already gone");
    assert!(!store.remove_resource_client("nobody").await.unwrap());
    assert_eq!(store.resource_client_secret_hash(made[1].id).await.unwrap(), None, "its secret is refused");
    assert_eq!(store.resource_client_secret_hash(made[0].id).await.unwrap(), Some(made[0].secret_hash));
    let listed: Vec<String> = store.list_resource_clients().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(listed, ["gateway", "orders"]);
    // The name is free again.
    store.create_resource_client(new_resource_client("billing")).await.unwrap();
}

pub async fn a_disabled_user_is_refused_everywhere_until_enabled(store: &dyn Store) {
    let user = new_user(store).await;
    let other = new_user(store).await;
    let session = draft();
    new_session(store, &user, session.clone()).await;
    let key = create_key(store, new_api_key(&user, T0, None)).await;
    let grant_key = random_key();
    park(store, transfer_grant(&user, grant_key, T0)).await;
    let link_key = link(store, &user, T0).await;
    let passkey = new_passkey(&user, T0);
    store.create_passkey(passkey.clone()).await.unwrap();

    assert!(!store.set_user_disabled(Uuid::new_v4(), Some(T0)).await.unwrap(), "no such user");
    assert!(store.set_user_disabled(user.id, Some(T0 + 1)).await.unwrap());
    assert!(store.set_user_disabled(user.id, Some(T0 + 5)).await.unwrap(), "again: still found");
    let found = store.user_by_email(&user.email).await.unwrap().unwrap();
    assert_eq!(found.disabled_at, Some(T0 + 1), "the first time is kept");

    // Their bearers still resolve, saying the user is disabled: the caller refuses them.
    let now = T0 + 10;
    let seen = who(store, &session.token_hash, now).await.expect("the session stays");
    assert_eq!(seen.user.disabled_at, Some(T0 + 1));
    assert_eq!(seen.session.id, session.id);
    assert_eq!(store.list_api_keys(user.id, now).await.unwrap()[0].id, key.id, "the key stays");

    // Nothing signs them in, and what was waiting stays as it was.
    let refused = |r: crate::Result<()>| matches!(r, Err(StoreError::UserDisabled));
    assert!(refused(store.create_session(user.id, draft_at(now)).await.map(|_| ())));
    let claimed = store.consume_grant(GrantKind::Transfer, &grant_key, None, now, draft_at(now)).await;
    assert!(refused(claimed.map(|_| ())));
    assert!(store.grant_pending(GrantKind::Transfer, &grant_key, now).await.unwrap(), "the grant stays");
    assert_eq!(consume(store, GrantKind::Transfer, &random_key(), None, now).await, None, "unknown: no");
    let wrong = store.consume_grant(GrantKind::Transfer, &grant_key, Some("x"), now, draft_at(now)).await;
    assert_eq!(wrong.unwrap(), None, "a grant that would not match anyway answers as before");
    assert!(refused(store.consume_login_link(&link_key, now, draft_at(now)).await.map(|_| ())));
    let d = passkey_draft(&passkey, now);
    assert!(refused(store.record_passkey_sign_in(passkey.id, "{}".to_owned(), now, d.clone()).await.map(|_| ())));
    assert_eq!(who(store, &d.token_hash, now).await, None, "no session was made");
    assert_eq!(ids(store, &user, now).await, vec![session.id]);
    // Others are not concerned.
    new_session(store, &other, draft_at(now)).await;

    // Enabled: the same session and key, and what was waiting, work again.
    assert!(store.set_user_disabled(user.id, None).await.unwrap());
    assert_eq!(store.user_by_email(&user.email).await.unwrap().unwrap().disabled_at, None);
    let back = who(store, &session.token_hash, now).await.expect("the same session");
    assert_eq!(back.user.disabled_at, None);
    assert!(consume(store, GrantKind::Transfer, &grant_key, None, now).await.is_some());
    assert!(store.consume_login_link(&link_key, now, draft_at(now)).await.unwrap().is_some());
    assert!(store.record_passkey_sign_in(passkey.id, "{}".to_owned(), now, d).await.unwrap().is_some());
    store.create_session(user.id, draft_at(now)).await.expect("a session again");
}

pub async fn disabling_and_enabling_are_announced(store: &dyn Store) {
    if !store.announces_revocations() {
        return;
    }
    let mut events = store.watch().await.unwrap().expect("a backend that announces revocations has a watch");
    let bound = std::time::Duration::from_secs(10);
    assert_eq!(tokio::time::timeout(bound, events.recv()).await.unwrap(), Some(StoreEvent::Listening));
    let user = new_user(store).await;
    let next = async |events: &mut tokio::sync::mpsc::Receiver<StoreEvent>| loop {
        let event = tokio::time::timeout(bound, events.recv()).await.expect("an announcement in time").unwrap();
        if event == StoreEvent::UserRevoked(user.id) {
            return event;
        }
    };
    assert!(store.set_user_disabled(user.id, Some(T0)).await.unwrap());
    next(&mut events).await;
    assert!(store.set_user_disabled(user.id, None).await.unwrap());
    next(&mut events).await;
}

fn sso_flow(created_at: Millis) -> NewSsoFlow {
    NewSsoFlow {
        key_hash: random_key(),
        provider: "oidc".to_owned(),
        next: "/settings".to_owned(),
        created_at,
        expires_at: created_at + 10 * MINUTE,
    }
}

pub async fn sso_flow_is_taken_once_while_live(store: &dyn Store) {
    let flow = sso_flow(T0);
    store.park_sso_flow(flow.clone()).await.unwrap();
    let dup = store.park_sso_flow(flow.clone()).await.expect_err("the key is taken");
    assert!(matches!(dup, StoreError::Conflict(_)), "want Conflict, got {dup:?}");
    assert_eq!(store.take_sso_flow(&random_key(), T0).await.unwrap(), None, "unknown");
    let want = SsoFlow { provider: "oidc".to_owned(), next: "/settings".to_owned() };
    assert_eq!(store.take_sso_flow(&flow.key_hash, T0 + 1).await.unwrap(), Some(want));
    assert_eq!(store.take_sso_flow(&flow.key_hash, T0 + 1).await.unwrap(), None, "once");

    let expiring = sso_flow(T0);
    store.park_sso_flow(expiring.clone()).await.unwrap();
    assert_eq!(store.take_sso_flow(&expiring.key_hash, expiring.expires_at).await.unwrap(), None, "expired at now");
    let swept = sso_flow(T0);
    store.park_sso_flow(swept.clone()).await.unwrap();
    store.sweep(swept.expires_at, 0).await.unwrap();
    assert_eq!(store.take_sso_flow(&swept.key_hash, T0 + 1).await.unwrap(), None, "swept");
}

fn new_identity(user: &User, issuer: &str, subject: &str, created_at: Millis) -> NewIdentity {
    NewIdentity {
        id: Uuid::new_v4(),
        user_id: user.id,
        provider: "oidc".to_owned(),
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        email: Some(user.email.clone()),
        created_at,
    }
}

pub async fn identity_links_once_per_issuer_and_subject(store: &dyn Store) {
    let (ada, eve) = (new_user(store).await, new_user(store).await);
    let subject = Uuid::new_v4().to_string();
    let linked = store.create_identity(new_identity(&ada, "https://idp.example", &subject, T0), None).await.unwrap();
    let found = store.identity_by_subject("https://idp.example", &subject).await.unwrap();
    assert_eq!(found, Some(linked.clone()));
    let again = store.create_identity(new_identity(&eve, "https://idp.example", &subject, T0), None).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // The same subject at another issuer is another identity.
    store.create_identity(new_identity(&eve, "https://other.example", &subject, T0), None).await.unwrap();
    assert_eq!(store.identity_by_subject("https://idp.example", "nobody").await.unwrap(), None);
    assert_eq!(store.identity_by_subject("https://idp.example", &subject).await.unwrap().unwrap().user_id, ada.id);
}

pub async fn identity_with_a_new_user_is_all_or_nothing(store: &dyn Store) {
    let id = Uuid::new_v4();
    let user = NewUser {
        id,
        email: format!("{}@sso.example", id.simple()),
        name: None,
        personal_org_slug: None,
        created_at: T0,
    };
    let as_user =
        User { id, email: user.email.clone(), name: None, personal_org_slug: None, created_at: T0, disabled_at: None };
    let subject = Uuid::new_v4().to_string();
    let identity = new_identity(&as_user, "https://idp.example", &subject, T0);
    store.create_identity(identity.clone(), Some(user.clone())).await.unwrap();
    assert_eq!(store.user_by_email(&user.email).await.unwrap().map(|u| u.id), Some(id));

    // A second person with the same subject: neither their user nor the identity is created.
    let other_id = Uuid::new_v4();
    let other = NewUser { id: other_id, email: format!("{}@sso.example", other_id.simple()), ..user.clone() };
    let other_user = User { id: other_id, email: other.email.clone(), ..as_user.clone() };
    let clash = store
        .create_identity(new_identity(&other_user, "https://idp.example", &subject, T0), Some(other.clone()))
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert_eq!(store.user_by_email(&other.email).await.unwrap(), None, "no user half-created");
    // An email already taken: no identity either.
    let taken = NewUser { id: Uuid::new_v4(), ..user.clone() };
    let fresh_subject = Uuid::new_v4().to_string();
    let clash =
        store.create_identity(new_identity(&other_user, "https://idp.example", &fresh_subject, T0), Some(taken)).await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert_eq!(store.identity_by_subject("https://idp.example", &fresh_subject).await.unwrap(), None);
}

pub async fn identities_are_listed_touched_and_removed_per_user(store: &dyn Store) {
    let (ada, eve) = (new_user(store).await, new_user(store).await);
    let first = store.create_identity(new_identity(&ada, "https://a.example", "1", T0), None).await.unwrap();
    let second = store.create_identity(new_identity(&ada, "https://b.example", "1", T0 + 1), None).await.unwrap();
    store.create_identity(new_identity(&eve, "https://a.example", "2", T0), None).await.unwrap();
    let listed: Vec<Uuid> = store.list_identities(ada.id).await.unwrap().iter().map(|i| i.id).collect();
    assert_eq!(listed, [first.id, second.id], "oldest first, only Ada's");

    assert!(store.touch_identity(first.id, Some("new@example.com"), T0 + MINUTE).await.unwrap());
    let touched: Identity = store.identity_by_subject("https://a.example", "1").await.unwrap().unwrap();
    assert_eq!((touched.email.as_deref(), touched.last_used_at), (Some("new@example.com"), Some(T0 + MINUTE)));
    assert!(store.touch_identity(first.id, None, T0 + 2 * MINUTE).await.unwrap());
    let kept = store.identity_by_subject("https://a.example", "1").await.unwrap().unwrap();
    assert_eq!(kept.email.as_deref(), Some("new@example.com"), "no email leaves the last one");

    assert_eq!(store.delete_identity(eve.id, first.id, true).await.unwrap(), IdentityRemoval::NotFound, "not Eve's");
    assert_eq!(store.delete_identity(ada.id, first.id, true).await.unwrap(), IdentityRemoval::Removed);
    assert_eq!(store.delete_identity(ada.id, first.id, true).await.unwrap(), IdentityRemoval::NotFound);
    assert_eq!(store.identity_by_subject("https://a.example", "1").await.unwrap(), None);

    assert!(store.delete_user(ada.id).await.unwrap());
    assert_eq!(store.identity_by_subject("https://b.example", "1").await.unwrap(), None, "gone with the user");
}

pub async fn the_last_way_to_sign_in_is_kept(store: &dyn Store) {
    let ada = new_user(store).await;
    let only = store.create_identity(new_identity(&ada, "https://a.example", "ada", T0), None).await.unwrap();
    assert_eq!(store.delete_identity(ada.id, only.id, true).await.unwrap(), IdentityRemoval::LastWay);
    assert_eq!(store.list_identities(ada.id).await.unwrap().len(), 1, "kept");

    // With a passkey, the identity is not the last way.
    store
        .create_passkey(NewPasskey {
            id: Uuid::new_v4(),
            user_id: ada.id,
            credential_id: random_bytes().to_vec(),
            name: "Laptop".to_owned(),
            data: "{}".to_owned(),
            created_at: T0,
        })
        .await
        .unwrap();
    assert_eq!(store.delete_identity(ada.id, only.id, true).await.unwrap(), IdentityRemoval::Removed);

    // Where another way exists outside the store (emailed links), the last one may go.
    let eve = new_user(store).await;
    let hers = store.create_identity(new_identity(&eve, "https://a.example", "eve", T0), None).await.unwrap();
    assert_eq!(store.delete_identity(eve.id, hers.id, false).await.unwrap(), IdentityRemoval::Removed);
}

fn device_request(created_at: Millis) -> DeviceRequest {
    DeviceRequest {
        key_hash: random_key(),
        nonce_hash: random_key(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        host: Some("vm".into()),
        ip: Some("203.0.113.7".into()),
        created_at,
        expires_at: created_at + 600_000,
    }
}

pub async fn device_request_is_taken_once_while_live(store: &dyn Store) {
    let request = device_request(T0);
    assert!(store.park_device_request(request.clone()).await.unwrap());
    assert_eq!(store.device_request(&request.key_hash, T0 + 1).await.unwrap(), Some(request.clone()));
    assert_eq!(store.device_request(&random_key(), T0 + 1).await.unwrap(), None, "another key");
    assert_eq!(store.device_request(&request.key_hash, request.expires_at).await.unwrap(), None, "expired at now");
    assert_eq!(store.take_device_request(&request.key_hash, request.expires_at).await.unwrap(), None);
    assert_eq!(store.take_device_request(&request.key_hash, T0 + 2).await.unwrap(), Some(request.clone()));
    assert_eq!(store.take_device_request(&request.key_hash, T0 + 3).await.unwrap(), None, "once");
    assert_eq!(store.device_request(&request.key_hash, T0 + 3).await.unwrap(), None, "used");

    let swept = device_request(T0);
    assert!(store.park_device_request(swept.clone()).await.unwrap());
    store.sweep(swept.expires_at, 0).await.unwrap();
    let again = DeviceRequest { created_at: T0 + 1, ..swept.clone() };
    assert!(store.park_device_request(again).await.unwrap(), "swept once expired");
}

pub async fn park_device_request_refuses_a_key_until_it_expires(store: &dyn Store) {
    let first = device_request(T0);
    assert!(store.park_device_request(first.clone()).await.unwrap());
    let other = DeviceRequest { nonce_hash: random_key(), created_at: T0 + 1, ..first.clone() };
    assert!(!store.park_device_request(other.clone()).await.unwrap(), "live: refused");
    assert_eq!(store.device_request(&first.key_hash, T0 + 2).await.unwrap(), Some(first.clone()), "untouched");
    store.take_device_request(&first.key_hash, T0 + 2).await.unwrap().unwrap();
    let used = DeviceRequest { created_at: T0 + 3, ..other.clone() };
    assert!(!store.park_device_request(used).await.unwrap(), "used but not expired: still refused");
    let later = DeviceRequest { created_at: first.expires_at, expires_at: first.expires_at + 600_000, ..other };
    assert!(store.park_device_request(later.clone()).await.unwrap(), "expired: replaced");
    assert_eq!(store.device_request(&first.key_hash, later.created_at + 1).await.unwrap(), Some(later));
}
