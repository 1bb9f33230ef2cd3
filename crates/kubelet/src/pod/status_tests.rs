//! Status generation: phases by getPhase's rules, container states and
//! waiting reasons, conditions.

use super::*;
use crate::pod::runtime::{ContainerInfo, SandboxInfo};
use k8s_openapi::api::core::v1::PodSpec;

struct Ready(bool);
impl ReadinessView for Ready {
    fn ready(&self, _: &str) -> Option<bool> {
        Some(self.0)
    }
    fn started(&self, _: &str) -> Option<bool> {
        Some(true)
    }
}

fn pod(policy: &str, inits: &[&str], containers: &[&str]) -> Pod {
    let mk = |n: &&str| Container {
        name: n.to_string(),
        image: Some("busybox".into()),
        ..Default::default()
    };
    let mut p = Pod::default();
    p.metadata.name = Some("web".into());
    p.metadata.namespace = Some("default".into());
    p.metadata.uid = Some("u1".into());
    p.spec = Some(PodSpec {
        restart_policy: Some(policy.into()),
        init_containers: Some(inits.iter().map(mk).collect()),
        containers: containers.iter().map(mk).collect(),
        ..Default::default()
    });
    p
}

fn info(name: &str, state: CState, exit: i32, created: i64) -> ContainerInfo {
    ContainerInfo {
        id: format!("{name}{created}"),
        sandbox_id: "sb".into(),
        name: name.into(),
        state,
        created_at: created,
        started_at: 1_700_000_000_000_000_000 + created,
        finished_at: if state == CState::Exited {
            1_700_000_001_000_000_000
        } else {
            0
        },
        exit_code: exit,
        reason: if state == CState::Exited {
            if exit == 0 { "Completed" } else { "Error" }.into()
        } else {
            String::new()
        },
        message: String::new(),
        image: "busybox".into(),
        image_ref: "sha256:x".into(),
        hash: String::new(),
        restart_count: 0,
    }
}

fn rt(mut cs: Vec<ContainerInfo>) -> PodRuntime {
    cs.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    PodRuntime {
        sandboxes: vec![SandboxInfo {
            id: "sb".into(),
            attempt: 0,
            ready: true,
            created_at: 1,
            ip: Some("10.88.0.5".into()),
        }],
        containers: cs,
    }
}

fn status_of(
    p: &Pod,
    r: &PodRuntime,
    failures: &HashMap<String, StartFailure>,
    ready: bool,
) -> PodStatus {
    let could_run = r.any_running();
    generate(
        &StatusInput {
            pod: p,
            rt: r,
            probes: &Ready(ready),
            failures,
            host_ip: "10.0.0.1",
            qos_class: "BestEffort",
            now: jiff::Timestamp::now(),
        },
        could_run,
    )
}

fn cond<'a>(s: &'a PodStatus, t: &str) -> &'a PodCondition {
    s.conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == t)
        .unwrap()
}

#[test]
fn new_pod_is_pending_with_container_creating() {
    let p = pod("Always", &[], &["a"]);
    let s = status_of(&p, &PodRuntime::default(), &HashMap::new(), true);
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    let w = s.container_statuses.as_ref().unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(w.reason.as_deref(), Some("ContainerCreating"));
    assert_eq!(cond(&s, "PodReadyToStartContainers").status, "False");
    assert_eq!(s.host_ip.as_deref(), Some("10.0.0.1"));
    assert!(s.start_time.is_some());
}

#[test]
fn running_and_ready() {
    let p = pod("Always", &[], &["a"]);
    let s = status_of(
        &p,
        &rt(vec![info("a", CState::Running, 0, 1)]),
        &HashMap::new(),
        true,
    );
    assert_eq!(s.phase.as_deref(), Some("Running"));
    assert_eq!(s.pod_ip.as_deref(), Some("10.88.0.5"));
    let cs = &s.container_statuses.as_ref().unwrap()[0];
    assert!(cs.ready);
    assert_eq!(cs.started, Some(true));
    assert_eq!(cs.container_id.as_deref(), Some("containerd://a1"));
    assert!(cs.state.as_ref().unwrap().running.is_some());
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
    ] {
        assert_eq!(cond(&s, t).status, "True", "{t}");
    }
    // Not ready per probe.
    let s = status_of(
        &p,
        &rt(vec![info("a", CState::Running, 0, 1)]),
        &HashMap::new(),
        false,
    );
    let r = cond(&s, "Ready");
    assert_eq!(r.status, "False");
    assert_eq!(r.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        r.message.as_deref(),
        Some("containers with unready status: [a]")
    );
}

#[test]
fn crash_loop_is_waiting_with_last_state() {
    let p = pod("Always", &[], &["a"]);
    let mut i = info("a", CState::Exited, 1, 1);
    i.restart_count = 2;
    let mut f = HashMap::new();
    f.insert(
        "a".to_string(),
        StartFailure {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 20s restarting failed container=a pod=web_default(u1)".into(),
        },
    );
    let s = status_of(&p, &rt(vec![i]), &f, true);
    let cs = &s.container_statuses.as_ref().unwrap()[0];
    let w = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(w.reason.as_deref(), Some("CrashLoopBackOff"));
    let last = cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(last.exit_code, 1);
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert_eq!(cs.restart_count, 2);
    // Restarting containers keep an Always pod Running.
    assert_eq!(s.phase.as_deref(), Some("Running"));
}

#[test]
fn never_pods_end_succeeded_or_failed() {
    let p = pod("Never", &[], &["a", "b"]);
    let ok = rt(vec![
        info("a", CState::Exited, 0, 1),
        info("b", CState::Exited, 0, 2),
    ]);
    let s = status_of(&p, &ok, &HashMap::new(), true);
    assert_eq!(s.phase.as_deref(), Some("Succeeded"));
    assert_eq!(cond(&s, "Ready").reason.as_deref(), Some("PodCompleted"));
    let bad = rt(vec![
        info("a", CState::Exited, 0, 1),
        info("b", CState::Exited, 2, 2),
    ]);
    assert_eq!(
        status_of(&p, &bad, &HashMap::new(), true).phase.as_deref(),
        Some("Failed")
    );
    // One still running: not terminal yet.
    let mixed = rt(vec![
        info("a", CState::Exited, 2, 1),
        info("b", CState::Running, 0, 2),
    ]);
    assert_eq!(
        status_of(&p, &mixed, &HashMap::new(), true)
            .phase
            .as_deref(),
        Some("Running")
    );
}

#[test]
fn on_failure_with_a_failure_is_running() {
    let p = pod("OnFailure", &[], &["a"]);
    let r = rt(vec![info("a", CState::Exited, 1, 1)]);
    assert_eq!(
        status_of(&p, &r, &HashMap::new(), true).phase.as_deref(),
        Some("Running")
    );
}

#[test]
fn init_phase_and_conditions() {
    let p = pod("Always", &["i"], &["a"]);
    let s = status_of(
        &p,
        &rt(vec![info("i", CState::Running, 0, 1)]),
        &HashMap::new(),
        true,
    );
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    let init = cond(&s, "Initialized");
    assert_eq!(init.status, "False");
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [i]")
    );
    let a = s.container_statuses.as_ref().unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(a.reason.as_deref(), Some("PodInitializing"));
    // A failed init container fails a Never pod.
    let p = pod("Never", &["i"], &["a"]);
    let s = status_of(
        &p,
        &rt(vec![info("i", CState::Exited, 1, 1)]),
        &HashMap::new(),
        true,
    );
    assert_eq!(s.phase.as_deref(), Some("Failed"));
}

#[test]
fn terminal_phase_is_never_taken_back() {
    let mut p = pod("Always", &[], &["a"]);
    p.status = Some(PodStatus {
        phase: Some("Succeeded".into()),
        ..Default::default()
    });
    let s = status_of(&p, &rt(vec![]), &HashMap::new(), true);
    assert_eq!(s.phase.as_deref(), Some("Succeeded"));
}
