//! One probe worker per (pod, container, probe kind), as upstream's
//! prober worker: waits `initialDelaySeconds` from container start, probes
//! every `periodSeconds`, publishes a result only after `successThreshold` /
//! `failureThreshold` equal results in a row, resets on a new container
//! instance, holds liveness/readiness until the startup probe succeeded,
//! and after a liveness/startup failure stops until the container is replaced.

use super::RunningContainer;
use super::results::{ProbeKind, ProbeResult, Results};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, MissedTickBehavior};

/// What the workers of one pod see; the pod worker updates it on every sync.
#[derive(Clone, Debug)]
pub(crate) struct PodView {
    pub pod: Arc<Pod>,
    pub pod_ip: Option<String>,
    pub running: HashMap<String, RunningContainer>,
}

/// What one worker probes.
#[derive(Debug)]
pub(crate) struct Spec {
    pub uid: String,
    pub kind: ProbeKind,
    pub probe: Probe,
    pub container: Container,
    pub is_init: bool,
    /// Whether the container has a startup probe (gates the other two).
    pub has_startup: bool,
}

/// Runs one probe against a container instance; `None` when it errored.
pub(crate) type RunFn = Arc<
    dyn Fn(Arc<Spec>, PodView, String) -> BoxFuture<'static, Option<ProbeResult>> + Send + Sync,
>;

fn secs(v: Option<i32>, default: i32) -> u32 {
    v.filter(|v| *v > 0).unwrap_or(default) as u32
}

/// `periodSeconds` (default 10).
pub(crate) fn period_of(p: &Probe) -> Duration {
    Duration::from_secs(u64::from(secs(p.period_seconds, 10)))
}

/// The threshold bookkeeping of a worker.
#[derive(Debug)]
pub(crate) struct State {
    kind: ProbeKind,
    success_threshold: u32,
    failure_threshold: u32,
    container_id: Option<String>,
    pub on_hold: bool,
    last: Option<ProbeResult>,
    run: u32,
}

impl State {
    pub(crate) fn new(kind: ProbeKind, probe: &Probe) -> Self {
        // Validation forces 1 for liveness and startup; do not trust it blindly.
        let success_threshold = match kind {
            ProbeKind::Readiness => secs(probe.success_threshold, 1),
            _ => 1,
        };
        State {
            kind,
            success_threshold,
            failure_threshold: secs(probe.failure_threshold, 3),
            container_id: None,
            on_hold: false,
            last: None,
            run: 0,
        }
    }

    /// Note the current instance; `true` when it is a new one (counts reset).
    pub(crate) fn see_container(&mut self, id: &str) -> bool {
        if self.container_id.as_deref() == Some(id) {
            return false;
        }
        self.container_id = Some(id.to_string());
        self.on_hold = false;
        self.last = None;
        self.run = 0;
        true
    }

    /// Count one probe result; returns the result to publish once it reached its threshold.
    pub(crate) fn count(&mut self, r: ProbeResult) -> Option<ProbeResult> {
        if self.last == Some(r) {
            self.run += 1;
        } else {
            self.last = Some(r);
            self.run = 1;
        }
        let threshold = match r {
            ProbeResult::Success => self.success_threshold,
            ProbeResult::Failure => self.failure_threshold,
        };
        if self.run < threshold {
            return None;
        }
        if r == ProbeResult::Failure && self.kind != ProbeKind::Readiness {
            // The container will be killed: probing it further only races the kill.
            self.on_hold = true;
            self.run = 0;
        }
        Some(r)
    }
}

/// A random part of `period` (the first probe after an agent start is spread out).
fn jitter(period: Duration) -> Duration {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(jiff::Timestamp::now().as_nanosecond() as u128);
    let frac = (h.finish() % 1_000_000) as f64 / 1_000_000.0;
    period.mul_f64(frac)
}

enum Wake {
    Tick,
    ViewChanged,
}

/// The worker loop; ends when the pod's view sender is dropped (or the task is aborted).
pub(crate) async fn run(
    spec: Arc<Spec>,
    results: Arc<Results>,
    runner: RunFn,
    mut view_rx: watch::Receiver<PodView>,
    trigger: Arc<Notify>,
    manager_age: Duration,
) {
    let period = period_of(&spec.probe);
    // Upstream spreads the first probes only right after the agent (re)started.
    if manager_age < period {
        tokio::time::sleep(jitter(period)).await;
    }
    let initial_delay = Duration::from_secs(u64::from(secs(spec.probe.initial_delay_seconds, 0)));
    let name = spec.container.name.clone();
    let mut state = State::new(spec.kind, &spec.probe);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut probe_from = Instant::now();
    let mut wake_at: Option<Instant> = None;
    let mut wake = Wake::Tick;
    loop {
        let view = view_rx.borrow_and_update().clone();
        let mut probe_now = matches!(wake, Wake::Tick);
        if let Some(c) = view.running.get(&name)
            && state.see_container(&c.container_id)
        {
            results.clear(&spec.uid, &name, spec.kind);
            let age = jiff::Timestamp::now().duration_since(c.started_at);
            let age = Duration::try_from(age).unwrap_or(Duration::ZERO);
            let remaining = initial_delay.saturating_sub(age);
            probe_from = Instant::now() + remaining;
            wake_at = (!remaining.is_zero()).then_some(probe_from);
            probe_now = remaining.is_zero();
        }
        if probe_now {
            step(&spec, &results, &runner, &view, &mut state, probe_from).await;
        }
        wake = tokio::select! {
            r = view_rx.changed() => {
                if r.is_err() {
                    return;
                }
                Wake::ViewChanged
            }
            _ = ticker.tick() => Wake::Tick,
            _ = trigger.notified() => Wake::Tick,
            _ = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now)), if wake_at.is_some() => {
                wake_at = None;
                ticker.reset();
                Wake::Tick
            }
        };
    }
}

/// One probe period: decide whether to probe, probe, count, publish.
async fn step(
    spec: &Arc<Spec>,
    results: &Results,
    runner: &RunFn,
    view: &PodView,
    state: &mut State,
    probe_from: Instant,
) {
    let name = &spec.container.name;
    let Some(c) = view.running.get(name) else {
        return;
    };
    let id = c.container_id.as_str();
    if state.on_hold {
        return;
    }
    // A pod shutting down gracefully must not be killed by its liveness probe.
    if view.pod.metadata.deletion_timestamp.is_some() && spec.kind != ProbeKind::Readiness {
        results.set(&spec.uid, name, spec.kind, id, ProbeResult::Success);
        return;
    }
    if Instant::now() < probe_from {
        return;
    }
    let started = !spec.has_startup
        || results.get(&spec.uid, name, ProbeKind::Startup, id) == Some(ProbeResult::Success);
    if (spec.kind == ProbeKind::Startup) == started {
        return;
    }
    let Some(r) = runner(spec.clone(), view.clone(), id.to_string()).await else {
        return;
    };
    if let Some(publish) = state.count(r) {
        results.set(&spec.uid, name, spec.kind, id, publish);
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
