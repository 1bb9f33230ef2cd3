//! The scheduling queue (upstream's PriorityQueue): an active queue ordered
//! by priority then arrival (PrioritySort), a backoff queue (1 s doubling
//! to 10 s per failed attempt), and the unschedulable pods, which move back
//! when a cluster event might make them fit — or after 5 minutes anyway.
//! Gated pods (PreEnqueue rejected) wait with the unschedulable ones until
//! an update lets them in.

use k8s_openapi::api::core::v1::Pod;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Unschedulable pods are retried after this long even without an event.
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(300);

/// Cluster changes that may make unschedulable pods fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
    NodeAdd,
    NodeUpdate,
    AssignedPodAdd,
    AssignedPodUpdate,
    AssignedPodDelete,
}

impl ClusterEvent {
    /// Whether a pod rejected by `plugin` may fit after this event.
    fn concerns(self, plugin: &str) -> bool {
        match self {
            ClusterEvent::NodeAdd | ClusterEvent::NodeUpdate => true,
            ClusterEvent::AssignedPodDelete => matches!(
                plugin,
                "NodeResourcesFit" | "NodePorts" | "InterPodAffinity" | "PodTopologySpread"
            ),
            ClusterEvent::AssignedPodAdd | ClusterEvent::AssignedPodUpdate => {
                matches!(plugin, "InterPodAffinity" | "PodTopologySpread")
            }
        }
    }
}

/// A pod in the queue, with its scheduling history.
#[derive(Debug, Clone)]
pub struct QueuedPod {
    pub pod: Arc<Pod>,
    /// Scheduling attempts so far (1 during the first attempt).
    pub attempts: u32,
    /// When the pod entered the queue (the PrioritySort tie-break).
    pub timestamp: Instant,
    /// Plugins that rejected it in its last attempt.
    pub unschedulable_plugins: HashSet<&'static str>,
    pub gated: bool,
    /// The scheduling cycle that popped it.
    pub cycle: u64,
    backoff_until: Option<Instant>,
    unschedulable_since: Option<Instant>,
}

impl QueuedPod {
    fn new(pod: Arc<Pod>) -> Self {
        Self {
            pod,
            attempts: 0,
            timestamp: Instant::now(),
            unschedulable_plugins: HashSet::new(),
            gated: false,
            cycle: 0,
            backoff_until: None,
            unschedulable_since: None,
        }
    }

    pub fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or("")
    }

    fn priority(&self) -> i32 {
        self.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
    }
}

type ActiveKey = (Reverse<i32>, Instant, u64);

#[derive(Default)]
struct InFlight {
    updated: Option<Arc<Pod>>,
    deleted: bool,
}

#[derive(Default)]
struct Inner {
    pods: HashMap<String, QueuedPod>,
    active: BTreeMap<ActiveKey, String>,
    active_key: HashMap<String, ActiveKey>,
    backoff: BTreeMap<(Instant, u64), String>,
    backoff_key: HashMap<String, (Instant, u64)>,
    unschedulable: HashSet<String>,
    in_flight: HashMap<String, InFlight>,
    seq: u64,
    cycle: u64,
    move_request_cycle: u64,
}

impl Inner {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn detach(&mut self, uid: &str) {
        if let Some(k) = self.active_key.remove(uid) {
            self.active.remove(&k);
        }
        if let Some(k) = self.backoff_key.remove(uid) {
            self.backoff.remove(&k);
        }
        self.unschedulable.remove(uid);
    }

    fn make_active(&mut self, uid: &str) {
        self.detach(uid);
        let Some(qp) = self.pods.get(uid) else { return };
        let key = (Reverse(qp.priority()), qp.timestamp, self.seq + 1);
        self.seq += 1;
        self.active.insert(key, uid.to_string());
        self.active_key.insert(uid.to_string(), key);
    }

    fn make_backoff(&mut self, uid: &str, until: Instant) {
        self.detach(uid);
        let key = (until, self.next_seq());
        self.backoff.insert(key, uid.to_string());
        self.backoff_key.insert(uid.to_string(), key);
    }

    /// Active now, or backoff while the pod's backoff has not expired.
    fn requeue(&mut self, uid: &str, now: Instant) {
        match self.pods.get(uid).and_then(|q| q.backoff_until) {
            Some(t) if t > now => self.make_backoff(uid, t),
            _ => self.make_active(uid),
        }
    }
}

pub struct SchedulingQueue {
    inner: Mutex<Inner>,
    notify: Notify,
    initial_backoff: Duration,
    max_backoff: Duration,
}

/// What became of a pod handed to `add`.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Queued,
    /// A PreEnqueue plugin keeps it out, with this message.
    Gated(String),
}

impl SchedulingQueue {
    pub fn new(initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            inner: Mutex::default(),
            notify: Notify::new(),
            initial_backoff,
            max_backoff,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Backoff after `attempts` failed attempts: initial × 2^(attempts-1), capped.
    pub fn backoff_for(&self, attempts: u32) -> Duration {
        let mut d = self.initial_backoff;
        for _ in 1..attempts {
            d *= 2;
            if d >= self.max_backoff {
                return self.max_backoff;
            }
        }
        d.min(self.max_backoff)
    }

    /// A new pending pod, or an update to one. `gate` is the PreEnqueue
    /// verdict for this version of the pod (None = admitted).
    pub fn add_or_update(
        &self,
        pod: Arc<Pod>,
        gate: Option<String>,
        spec_changed: bool,
    ) -> Admission {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let mut g = self.lock();
        if let Some(f) = g.in_flight.get_mut(&uid) {
            f.updated = Some(pod);
            return Admission::Queued;
        }
        let now = Instant::now();
        let known = g.pods.contains_key(&uid);
        let was_gated = g.pods.get(&uid).is_some_and(|q| q.gated);
        let qp = g
            .pods
            .entry(uid.clone())
            .or_insert_with(|| QueuedPod::new(pod.clone()));
        qp.pod = pod;
        if let Some(msg) = gate {
            qp.gated = true;
            qp.unschedulable_since.get_or_insert(now);
            g.detach(&uid);
            g.unschedulable.insert(uid);
            return Admission::Gated(msg);
        }
        qp.gated = false;
        if !known || was_gated {
            g.make_active(&uid);
        } else if spec_changed && g.unschedulable.contains(&uid) {
            g.requeue(&uid, now);
        }
        drop(g);
        self.notify.notify_one();
        Admission::Queued
    }

    pub fn delete(&self, uid: &str) {
        let mut g = self.lock();
        if let Some(f) = g.in_flight.get_mut(uid) {
            f.deleted = true;
        }
        g.detach(uid);
        g.pods.remove(uid);
    }

    /// Wait for the next pod to schedule.
    pub async fn pop(&self) -> QueuedPod {
        loop {
            let notified = self.notify.notified();
            if let Some(qp) = self.try_pop() {
                return qp;
            }
            notified.await;
        }
    }

    pub fn try_pop(&self) -> Option<QueuedPod> {
        let mut g = self.lock();
        let (key, uid) = g.active.pop_first()?;
        let _ = key;
        g.active_key.remove(&uid);
        let mut qp = g.pods.remove(&uid)?;
        g.cycle += 1;
        qp.attempts += 1;
        qp.cycle = g.cycle;
        g.in_flight.insert(uid, InFlight::default());
        Some(qp)
    }

    /// The popped pod was bound (or dropped): forget it.
    pub fn done(&self, uid: &str) {
        self.lock().in_flight.remove(uid);
    }

    /// The popped pod did not fit (or hit an error): back to the
    /// unschedulable pods, or to backoff when the cluster changed during
    /// its attempt, it changed itself, or `error`.
    pub fn requeue_failed(&self, mut qp: QueuedPod, plugins: HashSet<&'static str>, error: bool) {
        let now = Instant::now();
        let uid = qp.uid().to_string();
        let mut g = self.lock();
        let flight = g.in_flight.remove(&uid).unwrap_or_default();
        if flight.deleted {
            return;
        }
        let updated = flight.updated.is_some();
        if let Some(p) = flight.updated {
            qp.pod = p;
        }
        qp.unschedulable_plugins = plugins;
        qp.backoff_until = Some(now + self.backoff_for(qp.attempts));
        let moved = g.move_request_cycle >= qp.cycle;
        if error || moved || updated {
            let until = qp.backoff_until.unwrap_or(now);
            g.pods.insert(uid.clone(), qp);
            g.make_backoff(&uid, until);
        } else {
            qp.unschedulable_since = Some(now);
            g.pods.insert(uid.clone(), qp);
            g.unschedulable.insert(uid);
        }
    }

    /// A cluster event: move the unschedulable pods it may help.
    pub fn on_event(&self, event: ClusterEvent) {
        let now = Instant::now();
        let mut g = self.lock();
        g.move_request_cycle = g.cycle;
        let movable: Vec<String> = g
            .unschedulable
            .iter()
            .filter(|uid| {
                g.pods.get(*uid).is_some_and(|q| {
                    !q.gated
                        && (q.unschedulable_plugins.is_empty()
                            || q.unschedulable_plugins.iter().any(|p| event.concerns(p)))
                })
            })
            .cloned()
            .collect();
        let any = !movable.is_empty();
        for uid in movable {
            g.requeue(&uid, now);
        }
        drop(g);
        if any {
            self.notify.notify_one();
        }
    }

    /// Move expired backoffs to active, and pods unschedulable for longer
    /// than `MAX_UNSCHEDULABLE` back. Returns when the next backoff expires.
    pub fn flush(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut g = self.lock();
        let mut moved = false;
        while let Some((&(t, _), _)) = g.backoff.first_key_value() {
            if t > now {
                break;
            }
            let Some((_, uid)) = g.backoff.pop_first() else {
                break;
            };
            g.backoff_key.remove(&uid);
            g.make_active(&uid);
            moved = true;
        }
        let stale: Vec<String> = g
            .unschedulable
            .iter()
            .filter(|u| {
                g.pods.get(*u).is_some_and(|q| {
                    !q.gated
                        && q.unschedulable_since
                            .is_some_and(|s| now.duration_since(s) >= MAX_UNSCHEDULABLE)
                })
            })
            .cloned()
            .collect();
        for uid in stale {
            g.requeue(&uid, now);
            moved = true;
        }
        let next = g.backoff.first_key_value().map(|(&(t, _), _)| t);
        drop(g);
        if moved {
            self.notify.notify_one();
        }
        next
    }

    /// Flush backoff and stale unschedulable pods forever (one task).
    pub async fn run_flusher(self: Arc<Self>) {
        loop {
            let next = self.flush();
            let wait = next
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            tokio::time::sleep(wait).await;
        }
    }

    /// Whether the queue knows `uid` (queued in any sub-queue, or being scheduled).
    pub fn knows(&self, uid: &str) -> bool {
        let g = self.lock();
        g.pods.contains_key(uid) || g.in_flight.contains_key(uid)
    }

    /// Pods being scheduled or bound right now.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight.len()
    }

    /// (active, backoff, unschedulable) sizes.
    pub fn lens(&self) -> (usize, usize, usize) {
        let g = self.lock();
        (g.active.len(), g.backoff.len(), g.unschedulable.len())
    }
}

#[cfg(test)]
mod tests;
