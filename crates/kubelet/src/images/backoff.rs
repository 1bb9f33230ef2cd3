//! Per-key back-off between failed image pulls, upstream's flowcontrol
//! semantics: the first failure waits 10 s, each further one doubles up to
//! 300 s; an entry idle for twice the maximum is forgotten (and the next
//! failure starts at 10 s again). A success does not reset the entry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const INITIAL: Duration = Duration::from_secs(10);
pub const MAX: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: HashMap<String, (Duration, Instant)>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(INITIAL, MAX)
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    fn expired(&self, last: Instant, now: Instant) -> bool {
        now.saturating_duration_since(last) > self.max * 2
    }

    /// Whether `key` still waits out the back-off since its last failure.
    pub fn in_backoff(&self, key: &str, now: Instant) -> bool {
        match self.entries.get(key) {
            Some(&(d, last)) if !self.expired(last, now) => now.saturating_duration_since(last) < d,
            _ => false,
        }
    }

    /// Record a failure of `key` at `now`; the back-off now in effect.
    pub fn next(&mut self, key: &str, now: Instant) -> Duration {
        let d = match self.entries.get(key) {
            Some(&(d, last)) if !self.expired(last, now) => (d * 2).min(self.max),
            _ => self.initial,
        };
        self.entries.insert(key.to_string(), (d, now));
        d
    }

    /// Drop entries idle for longer than twice the maximum.
    pub fn gc(&mut self, now: Instant) {
        let max2 = self.max * 2;
        self.entries
            .retain(|_, (_, last)| now.saturating_duration_since(*last) <= max2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_max_and_expires() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert!(!b.in_backoff("k", t0));
        assert_eq!(b.next("k", t0), Duration::from_secs(10));
        assert!(b.in_backoff("k", t0 + Duration::from_secs(9)));
        assert!(!b.in_backoff("k", t0 + Duration::from_secs(10)));
        assert!(!b.in_backoff("other", t0));
        let mut t = t0;
        let mut seen = vec![];
        for _ in 0..7 {
            t += Duration::from_secs(11);
            seen.push(b.next("k", t).as_secs());
        }
        assert_eq!(seen, [20, 40, 80, 160, 300, 300, 300]);
        // Idle for more than 2 × max: forgotten, starts over.
        let later = t + Duration::from_secs(601);
        assert!(!b.in_backoff("k", later));
        b.gc(later);
        assert_eq!(b.next("k", later), Duration::from_secs(10));
    }
}
