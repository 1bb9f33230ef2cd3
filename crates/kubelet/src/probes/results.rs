//! The latest published result of every probe worker, keyed by pod UID,
//! container name and probe kind, and tied to the container instance
//! (container ID) it was measured on. Publishing a different result wakes the
//! pod worker through the change channel with the pod's UID.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Which probe a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    /// The word upstream starts its probe event messages with.
    pub fn label(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }
}

/// A result that passed its threshold (a result below its threshold is never published).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    Success,
    Failure,
}

type Key = (String, String, ProbeKind);

/// The shared result table.
pub(crate) struct Results {
    map: Mutex<HashMap<Key, (String, ProbeResult)>>,
    changed: mpsc::UnboundedSender<String>,
}

impl Results {
    pub(crate) fn new(changed: mpsc::UnboundedSender<String>) -> Self {
        Results {
            map: Mutex::new(HashMap::new()),
            changed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (String, ProbeResult)>> {
        // A panic while holding this lock cannot leave the map half-written.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publish `result` for `container_id`; tells the pod worker when it changed.
    pub(crate) fn set(
        &self,
        uid: &str,
        container: &str,
        kind: ProbeKind,
        container_id: &str,
        result: ProbeResult,
    ) {
        let key = (uid.to_string(), container.to_string(), kind);
        let value = (container_id.to_string(), result);
        let prev = self.lock().insert(key, value.clone());
        if prev.as_ref() != Some(&value) {
            let _ = self.changed.send(uid.to_string());
        }
    }

    /// Forget the result (a new container instance starts unknown).
    pub(crate) fn clear(&self, uid: &str, container: &str, kind: ProbeKind) {
        let key = (uid.to_string(), container.to_string(), kind);
        if self.lock().remove(&key).is_some() {
            let _ = self.changed.send(uid.to_string());
        }
    }

    /// The result for this container instance, if one was published for it.
    pub(crate) fn get(
        &self,
        uid: &str,
        container: &str,
        kind: ProbeKind,
        container_id: &str,
    ) -> Option<ProbeResult> {
        let key = (uid.to_string(), container.to_string(), kind);
        match self.lock().get(&key) {
            Some((id, r)) if id == container_id => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn remove_pod(&self, uid: &str) {
        self.lock().retain(|(u, _, _), _| u != uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_notifies_only_on_change_and_results_follow_the_instance() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let r = Results::new(tx);
        r.set("u", "c", ProbeKind::Readiness, "id1", ProbeResult::Success);
        r.set("u", "c", ProbeKind::Readiness, "id1", ProbeResult::Success);
        assert_eq!(rx.try_recv().unwrap(), "u");
        assert!(rx.try_recv().is_err());
        assert_eq!(
            r.get("u", "c", ProbeKind::Readiness, "id1"),
            Some(ProbeResult::Success)
        );
        assert_eq!(r.get("u", "c", ProbeKind::Readiness, "id2"), None);
        assert_eq!(r.get("u", "c", ProbeKind::Liveness, "id1"), None);
        r.clear("u", "c", ProbeKind::Readiness);
        assert_eq!(rx.try_recv().unwrap(), "u");
        assert_eq!(r.get("u", "c", ProbeKind::Readiness, "id1"), None);
        r.set("u", "c", ProbeKind::Liveness, "id1", ProbeResult::Failure);
        r.remove_pod("u");
        assert_eq!(r.get("u", "c", ProbeKind::Liveness, "id1"), None);
    }
}
