//! Claims waiting on a nonce in this process, so a `transfer` can wake them
//! the moment it parks the grant instead of leaving them to the next re-read.

use harmont_store::GrantKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

type Key = GrantKey;

#[derive(Debug, Default)]
pub struct Waiters {
    by_key: Mutex<HashMap<Key, Arc<Notify>>>,
}

/// One claim's interest in a key; dropping it forgets the key once nobody waits.
#[derive(Debug)]
pub struct Registration<'a> {
    waiters: &'a Waiters,
    key: Key,
    notify: Arc<Notify>,
}

impl Waiters {
    pub fn register(&self, key: Key) -> Registration<'_> {
        let notify = self.lock().entry(key).or_default().clone();
        Registration { waiters: self, key, notify }
    }

    pub fn wake(&self, key: &Key) {
        if let Some(notify) = self.lock().get(key) {
            notify.notify_waiters();
        }
    }

    /// How many keys have a waiting claim.
    pub fn keys_waited_on(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Notify>>> {
        self.by_key.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Registration<'_> {
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut by_key = self.waiters.lock();
        // The map holds one reference and we hold another: nobody else waits.
        if Arc::strong_count(&self.notify) == 2 {
            by_key.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        GrantKey::from_hash([n; 32])
    }

    #[tokio::test]
    async fn a_wake_reaches_an_enabled_waiter_and_the_key_is_forgotten_after() {
        let waiters = Waiters::default();
        let registration = waiters.register(key(1));
        {
            let woken = registration.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            waiters.wake(&key(1));
            woken.await;
        }
        let second = waiters.register(key(1));
        drop(registration);
        assert_eq!(waiters.keys_waited_on(), 1);
        drop(second);
        assert_eq!(waiters.keys_waited_on(), 0);
    }
}
