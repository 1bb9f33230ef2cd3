//! Controller expectations (upstream's `UIDTrackingControllerExpectations`):
//! after asking for N creations or a set of deletions, an owner is not
//! managed again until the informer has shown them (or five minutes pass),
//! so a lagging cache never causes a second round of creates or deletes.

use informer::ObjectKey;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expectation {
    adds: i64,
    deletes: HashSet<ObjectKey>,
    at: Instant,
}

/// Pending creations and deletions per owner key.
#[derive(Debug, Default)]
pub struct Expectations {
    inner: Mutex<HashMap<ObjectKey, Expectation>>,
}

impl Expectations {
    /// True when the owner may be managed: nothing pending, or the
    /// expectation is older than its TTL (a lost watch event must not wedge it).
    pub fn satisfied(&self, owner: &ObjectKey) -> bool {
        let map = self.inner.lock().expect("expectations lock");
        match map.get(owner) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || e.at.elapsed() > TTL,
        }
    }

    pub fn expect_creations(&self, owner: &ObjectKey, n: usize) {
        let mut map = self.inner.lock().expect("expectations lock");
        map.insert(
            owner.clone(),
            Expectation {
                adds: n as i64,
                deletes: HashSet::new(),
                at: Instant::now(),
            },
        );
    }

    pub fn expect_deletions(&self, owner: &ObjectKey, pods: impl IntoIterator<Item = ObjectKey>) {
        let mut map = self.inner.lock().expect("expectations lock");
        map.insert(
            owner.clone(),
            Expectation {
                adds: 0,
                deletes: pods.into_iter().collect(),
                at: Instant::now(),
            },
        );
    }

    /// One pod creation was seen (or will never happen).
    pub fn creation_observed(&self, owner: &ObjectKey) {
        let mut map = self.inner.lock().expect("expectations lock");
        if let Some(e) = map.get_mut(owner) {
            e.adds -= 1;
        }
    }

    /// `pod`'s deletion was seen (or will never happen).
    pub fn deletion_observed(&self, owner: &ObjectKey, pod: &ObjectKey) {
        let mut map = self.inner.lock().expect("expectations lock");
        if let Some(e) = map.get_mut(owner) {
            e.deletes.remove(pod);
        }
    }

    /// Forget an owner that no longer exists.
    pub fn delete(&self, owner: &ObjectKey) {
        self.inner.lock().expect("expectations lock").remove(owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_and_deletions_must_be_observed() {
        let e = Expectations::default();
        let rs = ObjectKey::new("ns", "rs");
        assert!(e.satisfied(&rs));
        e.expect_creations(&rs, 2);
        assert!(!e.satisfied(&rs));
        e.creation_observed(&rs);
        assert!(!e.satisfied(&rs));
        e.creation_observed(&rs);
        assert!(e.satisfied(&rs));
        let p = ObjectKey::new("ns", "p");
        e.expect_deletions(&rs, [p.clone()]);
        assert!(!e.satisfied(&rs));
        // A deletion of some other pod does not count.
        e.deletion_observed(&rs, &ObjectKey::new("ns", "q"));
        assert!(!e.satisfied(&rs));
        e.deletion_observed(&rs, &p);
        assert!(e.satisfied(&rs));
    }
}
