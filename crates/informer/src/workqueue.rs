//! A rate-limited work queue (client-go's workqueue): a key waiting twice is
//! queued once, a key being processed is never handed to a second worker
//! (it is queued again when the first finishes), and failures back off
//! exponentially per key (5 ms doubling to 1000 s, upstream's defaults).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

const BASE_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_secs(1000);

struct State<T> {
    queue: VecDeque<T>,
    dirty: HashSet<T>,
    processing: HashSet<T>,
    failures: HashMap<T, u32>,
    /// Keys with a delayed add pending, and when it fires.
    waiting: HashMap<T, tokio::time::Instant>,
}

/// A shared queue of keys; clone it freely.
pub struct WorkQueue<T> {
    state: Arc<Mutex<State<T>>>,
    notify: Arc<Notify>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            notify: self.notify.clone(),
        }
    }
}

impl<T> Default for WorkQueue<T>
where
    T: Clone + Eq + Hash + Debug + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<T> WorkQueue<T>
where
    T: Clone + Eq + Hash + Debug + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                failures: HashMap::new(),
                waiting: HashMap::new(),
            })),
            notify: Arc::new(Notify::new()),
        }
    }

    /// Queue `key` now (a no-op if it is already waiting).
    pub fn add(&self, key: T) {
        let mut st = self.state.lock().expect("queue lock");
        if !st.dirty.insert(key.clone()) {
            return;
        }
        if !st.processing.contains(&key) {
            st.queue.push_back(key);
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Queue `key` after `delay`; an earlier pending delayed add wins.
    pub fn add_after(&self, key: T, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let at = tokio::time::Instant::now() + delay;
        {
            let mut st = self.state.lock().expect("queue lock");
            match st.waiting.get(&key) {
                Some(existing) if *existing <= at => return,
                _ => {
                    st.waiting.insert(key.clone(), at);
                }
            }
        }
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            {
                let mut st = me.state.lock().expect("queue lock");
                // A later, earlier-firing delayed add replaced ours.
                if st.waiting.get(&key) != Some(&at) {
                    return;
                }
                st.waiting.remove(&key);
            }
            me.add(key);
        });
    }

    /// Queue `key` after its per-key exponential backoff.
    pub fn add_rate_limited(&self, key: T) {
        let n = {
            let mut st = self.state.lock().expect("queue lock");
            let n = st.failures.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        self.add_after(key, backoff(n));
    }

    /// Forget `key`'s failures: its next failure starts the backoff afresh.
    pub fn forget(&self, key: &T) {
        self.state.lock().expect("queue lock").failures.remove(key);
    }

    /// How many times `key` has failed since it was last forgotten.
    pub fn failures(&self, key: &T) -> u32 {
        let st = self.state.lock().expect("queue lock");
        st.failures.get(key).copied().unwrap_or(0)
    }

    /// Keys waiting to be processed now.
    pub fn len(&self) -> usize {
        self.state.lock().expect("queue lock").queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next key; it is marked processing until `done`.
    pub async fn get(&self) -> T {
        loop {
            let notified = self.notify.notified();
            {
                let mut st = self.state.lock().expect("queue lock");
                if let Some(key) = st.queue.pop_front() {
                    st.dirty.remove(&key);
                    st.processing.insert(key.clone());
                    if !st.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return key;
                }
            }
            notified.await;
        }
    }

    /// Processing of `key` finished; if it was added meanwhile, queue it again.
    pub fn done(&self, key: &T) {
        let mut st = self.state.lock().expect("queue lock");
        st.processing.remove(key);
        if st.dirty.contains(key) {
            st.queue.push_back(key.clone());
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Run `workers` workers forever. `reconcile` returns `Ok(Some(d))` to be
    /// called again after `d`, `Ok(None)` when done, or `Err` to retry with
    /// backoff.
    pub async fn run<F, Fut, E>(&self, workers: usize, reconcile: F)
    where
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Duration>, E>> + Send,
        E: std::fmt::Display,
    {
        let reconcile = Arc::new(reconcile);
        let mut tasks = Vec::new();
        for _ in 0..workers.max(1) {
            let q = self.clone();
            let f = reconcile.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let key = q.get().await;
                    match f(key.clone()).await {
                        Ok(after) => {
                            q.forget(&key);
                            if let Some(d) = after {
                                q.add_after(key.clone(), d);
                            }
                        }
                        Err(e) => {
                            tracing::debug!(
                                ?key,
                                retries = q.failures(&key),
                                "reconcile failed: {e}"
                            );
                            q.add_rate_limited(key.clone());
                        }
                    }
                    q.done(&key);
                }
            }));
        }
        futures::future::join_all(tasks).await;
    }
}

/// The delay before the `n`th retry (n ≥ 1).
pub fn backoff(n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(30);
    BASE_DELAY
        .checked_mul(1u32 << exp)
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(2), Duration::from_millis(10));
        assert_eq!(backoff(5), Duration::from_millis(80));
        assert_eq!(backoff(40), MAX_DELAY);
    }

    #[tokio::test]
    async fn duplicate_adds_are_queued_once() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await, "a");
        assert_eq!(q.get().await, "b");
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn key_in_processing_is_requeued_after_done() {
        let q = WorkQueue::new();
        q.add("a");
        let k = q.get().await;
        q.add("a");
        // Not handed to a second worker while the first holds it.
        assert!(q.is_empty());
        q.done(&k);
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await, "a");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_adds_back_off() {
        let q = WorkQueue::new();
        q.add_rate_limited("a");
        q.add_rate_limited("a");
        assert_eq!(q.failures(&"a"), 2);
        assert!(q.is_empty());
        // The first delayed add (5 ms) wins over the later, longer one.
        tokio::time::sleep(Duration::from_millis(6)).await;
        assert_eq!(q.len(), 1);
        q.forget(&"a");
        assert_eq!(q.failures(&"a"), 0);
    }

    #[tokio::test]
    async fn run_retries_failures_until_success() {
        let q: WorkQueue<u32> = WorkQueue::new();
        let seen = Arc::new(Mutex::new(0u32));
        let s = seen.clone();
        q.add(7);
        let runner = {
            let q = q.clone();
            tokio::spawn(async move {
                q.run(2, move |_k| {
                    let s = s.clone();
                    async move {
                        let mut n = s.lock().unwrap();
                        *n += 1;
                        if *n < 3 { Err("not yet") } else { Ok(None) }
                    }
                })
                .await
            })
        };
        for _ in 0..200 {
            if *seen.lock().unwrap() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        runner.abort();
        assert_eq!(*seen.lock().unwrap(), 3);
    }
}
