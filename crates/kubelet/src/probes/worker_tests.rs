//! Worker state machine tests on tokio's paused clock with a scripted prober.

use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// A prober that answers from a script (then repeats its last answer) and counts calls.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<ProbeResult>>>,
    calls: Arc<Mutex<Vec<(ProbeKind, String, Instant)>>>,
}

impl Script {
    fn push(&self, rs: &[ProbeResult]) {
        self.answers.lock().unwrap().extend(rs.iter().copied());
    }
    fn replace(&self, rs: &[ProbeResult]) {
        self.answers.lock().unwrap().clear();
        self.push(rs);
    }
    fn calls(&self, kind: ProbeKind) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == kind)
            .count()
    }
    fn runner(&self) -> RunFn {
        let s = self.clone();
        Arc::new(move |spec: Arc<Spec>, _view: PodView, id: String| {
            let s = s.clone();
            Box::pin(async move {
                s.calls
                    .lock()
                    .unwrap()
                    .push((spec.kind, id, Instant::now()));
                let mut a = s.answers.lock().unwrap();
                let r = if a.len() > 1 {
                    a.pop_front()
                } else {
                    a.front().copied()
                };
                Some(r.unwrap_or(ProbeResult::Success))
            })
        })
    }
}

fn probe(period: i32, delay: i32, success: i32, failure: i32) -> Probe {
    Probe {
        period_seconds: Some(period),
        initial_delay_seconds: Some(delay),
        success_threshold: Some(success),
        failure_threshold: Some(failure),
        ..Default::default()
    }
}

fn view(id: Option<&str>, deleting: bool) -> PodView {
    let pod = Pod {
        metadata: ObjectMeta {
            uid: Some("u".into()),
            deletion_timestamp: deleting.then(|| Time(jiff::Timestamp::now())),
            ..Default::default()
        },
        ..Default::default()
    };
    let running = id
        .map(|id| {
            let c = RunningContainer {
                name: "c".into(),
                container_id: id.into(),
                started_at: jiff::Timestamp::now(),
            };
            HashMap::from([("c".to_string(), c)])
        })
        .unwrap_or_default();
    PodView {
        pod: Arc::new(pod),
        pod_ip: Some("10.0.0.1".into()),
        running,
    }
}

struct Rig {
    results: Arc<Results>,
    changes: mpsc::UnboundedReceiver<String>,
    tx: watch::Sender<PodView>,
    script: Script,
    trigger: Arc<Notify>,
}

impl Rig {
    fn new() -> Self {
        let (ctx, changes) = mpsc::unbounded_channel();
        let (tx, _) = watch::channel(view(Some("id1"), false));
        Rig {
            results: Arc::new(Results::new(ctx)),
            changes,
            tx,
            script: Script::default(),
            trigger: Arc::new(Notify::new()),
        }
    }

    fn spawn(&self, kind: ProbeKind, p: Probe, has_startup: bool) -> tokio::task::JoinHandle<()> {
        let spec = Arc::new(Spec {
            uid: "u".into(),
            kind,
            probe: p,
            container: Container {
                name: "c".into(),
                ..Default::default()
            },
            is_init: false,
            has_startup,
        });
        tokio::spawn(run(
            spec,
            self.results.clone(),
            self.script.runner(),
            self.tx.subscribe(),
            self.trigger.clone(),
            // An old manager: no start-up jitter.
            Duration::from_secs(3600),
        ))
    }

    fn get(&self, kind: ProbeKind, id: &str) -> Option<ProbeResult> {
        self.results.get("u", "c", kind, id)
    }
}

async fn sleep_secs(s: f64) {
    tokio::time::sleep(Duration::from_secs_f64(s)).await;
}

#[tokio::test(start_paused = true)]
async fn liveness_fails_after_failure_threshold_and_holds() {
    let mut rig = Rig::new();
    rig.script.push(&[ProbeResult::Failure]);
    let w = rig.spawn(ProbeKind::Liveness, probe(1, 0, 1, 3), false);
    // Probes at t=0,1 fail below the threshold; the third (t=2) publishes.
    sleep_secs(1.5).await;
    assert_eq!(rig.get(ProbeKind::Liveness, "id1"), None);
    sleep_secs(1.0).await;
    assert_eq!(
        rig.get(ProbeKind::Liveness, "id1"),
        Some(ProbeResult::Failure)
    );
    assert_eq!(rig.changes.try_recv().unwrap(), "u");
    // On hold: no more probes for this instance.
    sleep_secs(5.0).await;
    assert_eq!(rig.script.calls(ProbeKind::Liveness), 3);
    // A new instance resets and probing resumes.
    rig.script.replace(&[ProbeResult::Success]);
    rig.tx.send_modify(|v| *v = view(Some("id2"), false));
    sleep_secs(0.1).await;
    assert_eq!(
        rig.get(ProbeKind::Liveness, "id2"),
        Some(ProbeResult::Success)
    );
    assert_eq!(rig.get(ProbeKind::Liveness, "id1"), None);
    w.abort();
}

#[tokio::test(start_paused = true)]
async fn initial_delay_is_waited_from_container_start() {
    let rig = Rig::new();
    let w = rig.spawn(ProbeKind::Readiness, probe(10, 5, 1, 3), false);
    sleep_secs(4.9).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 0);
    assert_eq!(rig.get(ProbeKind::Readiness, "id1"), None);
    sleep_secs(0.2).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 1);
    assert_eq!(
        rig.get(ProbeKind::Readiness, "id1"),
        Some(ProbeResult::Success)
    );
    // The period counts from the end of the delay, not from the worker's start.
    sleep_secs(9.8).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 1);
    sleep_secs(0.2).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 2);
    w.abort();
}

#[tokio::test(start_paused = true)]
async fn readiness_needs_success_threshold_and_keeps_probing_after_failure() {
    let rig = Rig::new();
    use ProbeResult::*;
    rig.script
        .push(&[Success, Failure, Success, Success, Failure, Failure]);
    let w = rig.spawn(ProbeKind::Readiness, probe(1, 0, 2, 2), false);
    sleep_secs(0.5).await; // S (1 of 2)
    assert_eq!(rig.get(ProbeKind::Readiness, "id1"), None);
    sleep_secs(2.0).await; // F (1 of 2), S (1 of 2)
    assert_eq!(rig.get(ProbeKind::Readiness, "id1"), None);
    sleep_secs(1.0).await; // S (2 of 2)
    assert_eq!(rig.get(ProbeKind::Readiness, "id1"), Some(Success));
    sleep_secs(2.0).await; // F, F
    assert_eq!(rig.get(ProbeKind::Readiness, "id1"), Some(Failure));
    sleep_secs(3.0).await;
    assert!(
        rig.script.calls(ProbeKind::Readiness) >= 8,
        "readiness never holds"
    );
    w.abort();
}

#[tokio::test(start_paused = true)]
async fn startup_gates_liveness_until_it_succeeds() {
    let rig = Rig::new();
    use ProbeResult::*;
    let live = rig.spawn(ProbeKind::Liveness, probe(1, 0, 1, 3), true);
    let startup = rig.spawn(ProbeKind::Startup, probe(1, 0, 1, 30), true);
    rig.script.push(&[Failure, Failure, Success]);
    sleep_secs(1.5).await;
    assert_eq!(rig.script.calls(ProbeKind::Liveness), 0);
    assert_eq!(rig.get(ProbeKind::Startup, "id1"), None);
    sleep_secs(1.0).await;
    assert_eq!(rig.get(ProbeKind::Startup, "id1"), Some(Success));
    let startup_calls = rig.script.calls(ProbeKind::Startup);
    sleep_secs(3.0).await;
    assert!(rig.script.calls(ProbeKind::Liveness) >= 2);
    // Startup stops probing once it succeeded.
    assert_eq!(rig.script.calls(ProbeKind::Startup), startup_calls);
    live.abort();
    startup.abort();
}

#[tokio::test(start_paused = true)]
async fn deleting_pod_reports_liveness_success_without_probing() {
    let rig = Rig::new();
    rig.tx.send_modify(|v| *v = view(Some("id1"), true));
    rig.script.push(&[ProbeResult::Failure]);
    let w = rig.spawn(ProbeKind::Liveness, probe(1, 0, 1, 1), false);
    sleep_secs(3.0).await;
    assert_eq!(rig.script.calls(ProbeKind::Liveness), 0);
    assert_eq!(
        rig.get(ProbeKind::Liveness, "id1"),
        Some(ProbeResult::Success)
    );
    w.abort();
}

#[tokio::test(start_paused = true)]
async fn not_running_container_is_not_probed_and_trigger_probes_early() {
    let rig = Rig::new();
    rig.tx.send_modify(|v| *v = view(None, false));
    let w = rig.spawn(ProbeKind::Readiness, probe(10, 0, 1, 3), false);
    sleep_secs(25.0).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 0);
    // The container starts: it is probed at once, not at the next tick.
    rig.tx.send_modify(|v| *v = view(Some("id1"), false));
    sleep_secs(0.1).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 1);
    rig.trigger.notify_one();
    sleep_secs(0.1).await;
    assert_eq!(rig.script.calls(ProbeKind::Readiness), 2);
    w.abort();
}

#[test]
fn thresholds_default_and_liveness_success_is_one() {
    let mut s = State::new(ProbeKind::Liveness, &probe(1, 0, 5, 0));
    assert_eq!(s.count(ProbeResult::Success), Some(ProbeResult::Success));
    assert_eq!(s.count(ProbeResult::Failure), None);
    assert_eq!(s.count(ProbeResult::Failure), None);
    assert_eq!(s.count(ProbeResult::Failure), Some(ProbeResult::Failure));
    assert!(s.on_hold);
    assert!(s.see_container("x"));
    assert!(!s.on_hold);
    assert!(!s.see_container("x"));
    assert_eq!(period_of(&Probe::default()), Duration::from_secs(10));
}

#[test]
fn jitter_stays_within_the_period() {
    for _ in 0..100 {
        assert!(jitter(Duration::from_secs(10)) < Duration::from_secs(10));
    }
}
