//! Crash-loop back-off per container, upstream's flowcontrol.Backoff as the
//! kubelet uses it: 10 s doubling to 300 s, keyed by pod and container (and
//! the container's spec hash), forgotten when the last failure is older than
//! twice the maximum (the container ran 10 minutes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub const INITIAL: Duration = Duration::from_secs(10);
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug)]
struct Entry {
    backoff: Duration,
    /// The finish time of the failure this entry was last moved for (ms since epoch).
    last_update_ms: i64,
}

/// Back-off state of every container on this node.
#[derive(Default)]
pub struct Backoff {
    entries: Mutex<HashMap<String, Entry>>,
}

fn expired(event_ms: i64, last_update_ms: i64) -> bool {
    event_ms - last_update_ms > 2 * MAX.as_millis() as i64
}

impl Backoff {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a restart must wait: the container last finished at
    /// `finished_ms` and less than the current back-off has passed since.
    /// Returns the back-off and the time left.
    pub fn in_backoff_since(
        &self,
        key: &str,
        finished_ms: i64,
        now_ms: i64,
    ) -> Option<(Duration, Duration)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(key)?;
        if expired(now_ms, e.last_update_ms) {
            return None;
        }
        let since = now_ms.saturating_sub(finished_ms).max(0) as u128;
        let b = e.backoff.as_millis();
        (since < b).then(|| (e.backoff, Duration::from_millis((b - since) as u64)))
    }

    /// Record a restart after the failure that finished at `finished_ms`:
    /// the next back-off doubles (or starts at 10 s after a long run).
    pub fn next(&self, key: &str, finished_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let backoff = match entries.get(key) {
            Some(e) if !expired(finished_ms, e.last_update_ms) => (e.backoff * 2).min(MAX),
            _ => INITIAL,
        };
        entries.insert(
            key.to_string(),
            Entry {
                backoff,
                last_update_ms: finished_ms,
            },
        );
    }

    /// Time left before `key` may be tried again, counted from its last
    /// recorded failure (`next`).
    pub fn waiting(&self, key: &str, now_ms: i64) -> Option<Duration> {
        let last = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.get(key)?.last_update_ms
        };
        self.in_backoff_since(key, last, now_ms)
            .map(|(_, left)| left)
    }

    /// Forget `key` (it succeeded).
    pub fn reset(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The current back-off of `key`, if any.
    pub fn get(&self, key: &str) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).map(|e| e.backoff)
    }

    /// Forget every entry of a pod (keys start with `<uid>/`).
    pub fn forget_pod(&self, uid: &str) {
        let prefix = format!("{uid}/");
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|k, _| !k.starts_with(&prefix));
    }
}

/// The back-off key of a container of a pod.
pub fn key(uid: &str, container: &str, hash: &str) -> String {
    format!("{uid}/{container}/{hash}")
}

/// Upstream's duration format for the back-off message (`10s`, `1m20s`, `5m0s`).
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_restart_is_immediate_then_doubles_and_caps() {
        let b = Backoff::new();
        let k = key("u", "c", "h");
        assert!(b.in_backoff_since(&k, 0, 0).is_none());
        b.next(&k, 0);
        assert_eq!(b.get(&k), Some(Duration::from_secs(10)));
        // Crashed again at 1 s: blocked until 11 s.
        let (cur, left) = b.in_backoff_since(&k, 1_000, 2_000).unwrap();
        assert_eq!(cur, Duration::from_secs(10));
        assert_eq!(left, Duration::from_secs(9));
        assert!(b.in_backoff_since(&k, 1_000, 11_001).is_none());
        b.next(&k, 1_000);
        assert_eq!(b.get(&k), Some(Duration::from_secs(20)));
        let mut t = 1_000;
        for _ in 0..10 {
            t += 1_000;
            b.next(&k, t);
        }
        assert_eq!(b.get(&k), Some(MAX));
    }

    #[test]
    fn resets_after_a_long_run() {
        let b = Backoff::new();
        let k = key("u", "c", "h");
        b.next(&k, 0);
        b.next(&k, 1_000);
        assert_eq!(b.get(&k), Some(Duration::from_secs(20)));
        // The container then ran more than 10 minutes before failing.
        let later = 1_000 + 601_000;
        assert!(b.in_backoff_since(&k, later, later + 1).is_none());
        b.next(&k, later);
        assert_eq!(b.get(&k), Some(INITIAL));
    }

    #[test]
    fn durations_format_like_go() {
        assert_eq!(go_duration(Duration::from_secs(20)), "20s");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }
}
