//! The revision the watch cache has caught up to, and the tasks waiting for
//! it to reach one. Each waiter is woken once, when its revision is reached,
//! not on every event (many writers wait for the cache at once under load).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Pending waiters kept before abandoned ones (timed out on a revision far
/// ahead) are swept out.
const SWEEP_AT: usize = 1024;

type Waiters = BTreeMap<i64, Vec<oneshot::Sender<()>>>;

pub(super) struct Revision {
    current: AtomicI64,
    waiters: Mutex<Waiters>,
}

impl Revision {
    pub(super) fn new(rev: i64) -> Self {
        Revision {
            current: AtomicI64::new(rev),
            waiters: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // Every change is one map operation: a panic cannot leave it torn.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn get(&self) -> i64 {
        self.current.load(Ordering::SeqCst)
    }

    /// Move up to `rev` (never down).
    pub(super) fn advance(&self, rev: i64) {
        if self.current.fetch_max(rev, Ordering::SeqCst) < rev {
            self.wake_upto(rev);
        }
    }

    /// Set to `rev` (a reload).
    pub(super) fn reset(&self, rev: i64) {
        self.current.store(rev, Ordering::SeqCst);
        self.wake_upto(rev);
    }

    fn wake_upto(&self, rev: i64) {
        // Stored before the lock is taken, so a waiter that checks the
        // revision under the lock either sees it or is woken here.
        let ready = {
            let mut waiters = self.lock();
            let later = waiters.split_off(&rev.saturating_add(1));
            std::mem::replace(&mut *waiters, later)
        };
        for tx in ready.into_values().flatten() {
            let _ = tx.send(());
        }
    }

    /// Returns once the revision is at least `rev`.
    pub(super) async fn wait_for(&self, rev: i64) {
        let rx = {
            let mut waiters = self.lock();
            if self.get() >= rev {
                return;
            }
            if waiters.values().map(Vec::len).sum::<usize>() >= SWEEP_AT {
                waiters.retain(|_, txs| {
                    txs.retain(|tx| !tx.is_closed());
                    !txs.is_empty()
                });
            }
            let (tx, rx) = oneshot::channel();
            waiters.entry(rev).or_default().push(tx);
            rx
        };
        let _ = rx.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn waiters_wake_when_their_revision_is_reached() {
        let r = Arc::new(Revision::new(5));
        r.wait_for(5).await;
        let (r7, r9) = (r.clone(), r.clone());
        let w7 = tokio::spawn(async move { r7.wait_for(7).await });
        let w9 = tokio::spawn(async move { r9.wait_for(9).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        r.advance(6);
        r.advance(8);
        w7.await.expect("woken at 8");
        assert!(!w9.is_finished());
        r.advance(3);
        assert_eq!(r.get(), 8, "never goes back");
        r.reset(9);
        w9.await.expect("woken by the reload");
    }

    #[tokio::test]
    async fn abandoned_waiters_are_swept() {
        let r = Revision::new(0);
        for i in 0..SWEEP_AT + 10 {
            let wait = r.wait_for(1_000_000 + i as i64);
            let _ = tokio::time::timeout(Duration::from_millis(0), wait).await;
        }
        assert!(r.lock().values().map(Vec::len).sum::<usize>() <= SWEEP_AT);
    }
}
