//! computePodActions cases: start order, init containers, sidecars,
//! restart policies, liveness and spec changes.

use super::*;
use crate::pod::runtime::{ContainerInfo, SandboxInfo};
use k8s_openapi::api::core::v1::{PodSpec, Probe};

fn c(name: &str) -> Container {
    Container {
        name: name.into(),
        image: Some("busybox".into()),
        ..Default::default()
    }
}

fn sidecar(name: &str) -> Container {
    Container {
        restart_policy: Some("Always".into()),
        ..c(name)
    }
}

fn pod(policy: &str, inits: Vec<Container>, containers: Vec<Container>) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = Some("p".into());
    p.metadata.uid = Some("u".into());
    p.spec = Some(PodSpec {
        restart_policy: Some(policy.into()),
        init_containers: Some(inits),
        containers,
        ..Default::default()
    });
    p
}

fn sandbox() -> SandboxInfo {
    SandboxInfo {
        id: "sb".into(),
        attempt: 0,
        ready: true,
        created_at: 1,
        ip: Some("10.0.0.2".into()),
    }
}

fn info(name: &str, state: CState, exit: i32, created: i64) -> ContainerInfo {
    ContainerInfo {
        id: format!("{name}-{created}"),
        sandbox_id: "sb".into(),
        name: name.into(),
        state,
        created_at: created,
        started_at: created,
        finished_at: if state == CState::Exited {
            created + 1
        } else {
            0
        },
        exit_code: exit,
        reason: String::new(),
        message: String::new(),
        image: "busybox".into(),
        image_ref: String::new(),
        hash: String::new(),
        restart_count: 0,
    }
}

fn rt(containers: Vec<ContainerInfo>) -> PodRuntime {
    let mut containers = containers;
    containers.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    PodRuntime {
        sandboxes: vec![sandbox()],
        containers,
    }
}

fn hash(_: &Container) -> String {
    String::new()
}

fn compute_(p: &Pod, r: &PodRuntime) -> PodActions {
    compute(p, r, &NoProbes, &hash)
}

#[test]
fn new_pod_creates_sandbox_and_starts_all_containers() {
    let p = pod("Always", vec![], vec![c("a"), c("b")]);
    let a = compute_(&p, &PodRuntime::default());
    assert!(a.create_sandbox);
    assert_eq!(a.sandbox_attempt, 0);
    assert_eq!(a.containers_to_start, vec![0, 1]);
}

#[test]
fn init_containers_run_one_at_a_time() {
    let p = pod("Always", vec![c("i1"), c("i2")], vec![c("a")]);
    let a = compute_(&p, &PodRuntime::default());
    assert_eq!(a.init_to_start, vec![0]);
    assert!(a.containers_to_start.is_empty());
    // i1 running: wait.
    let a = compute_(&p, &rt(vec![info("i1", CState::Running, 0, 1)]));
    assert!(a.init_to_start.is_empty() && a.containers_to_start.is_empty());
    assert!(!a.kill_pod);
    // i1 done: i2 next.
    let a = compute_(&p, &rt(vec![info("i1", CState::Exited, 0, 1)]));
    assert_eq!(a.init_to_start, vec![1]);
    // both done: regular containers.
    let a = compute_(
        &p,
        &rt(vec![
            info("i1", CState::Exited, 0, 1),
            info("i2", CState::Exited, 0, 2),
        ]),
    );
    assert!(a.init_to_start.is_empty());
    assert_eq!(a.containers_to_start, vec![0]);
}

#[test]
fn failed_init_container_kills_never_pod_and_restarts_otherwise() {
    let r = rt(vec![info("i1", CState::Exited, 1, 1)]);
    let a = compute_(&pod("Never", vec![c("i1")], vec![c("a")]), &r);
    assert!(a.kill_pod && !a.create_sandbox);
    assert!(a.init_to_start.is_empty());
    let a = compute_(&pod("OnFailure", vec![c("i1")], vec![c("a")]), &r);
    assert!(!a.kill_pod);
    assert_eq!(a.init_to_start, vec![0]);
}

#[test]
fn sidecar_starts_then_next_without_waiting_for_completion() {
    let p = pod("Always", vec![sidecar("s"), c("i")], vec![c("a")]);
    let a = compute_(&p, &rt(vec![info("s", CState::Running, 0, 1)]));
    assert_eq!(a.init_to_start, vec![1]);
    // After init, a dead sidecar is restarted along with nothing else.
    let a = compute_(
        &p,
        &rt(vec![
            info("s", CState::Exited, 1, 1),
            info("i", CState::Exited, 0, 2),
            info("a", CState::Running, 0, 3),
        ]),
    );
    assert_eq!(a.init_to_start, vec![0]);
    assert!(a.containers_to_start.is_empty());
}

#[test]
fn sidecar_with_startup_probe_waits_for_started() {
    struct NotStarted;
    impl ProbeView for NotStarted {
        fn liveness(&self, _: &str) -> Option<bool> {
            None
        }
        fn started(&self, _: &str) -> Option<bool> {
            Some(false)
        }
    }
    let mut s = sidecar("s");
    s.startup_probe = Some(Probe::default());
    let p = pod("Always", vec![s], vec![c("a")]);
    let a = compute(
        &p,
        &rt(vec![info("s", CState::Running, 0, 1)]),
        &NotStarted,
        &hash,
    );
    assert!(a.containers_to_start.is_empty() && a.init_to_start.is_empty());
}

#[test]
fn restart_policies_for_exited_containers() {
    let r = rt(vec![
        info("a", CState::Exited, 0, 1),
        info("b", CState::Exited, 3, 2),
    ]);
    let cs = vec![c("a"), c("b")];
    assert_eq!(
        compute_(&pod("Always", vec![], cs.clone()), &r).containers_to_start,
        vec![0, 1]
    );
    assert_eq!(
        compute_(&pod("OnFailure", vec![], cs.clone()), &r).containers_to_start,
        vec![1]
    );
    let a = compute_(&pod("Never", vec![], cs), &r);
    assert!(a.containers_to_start.is_empty());
    assert!(a.kill_pod && !a.create_sandbox);
}

#[test]
fn liveness_failure_kills_and_restarts() {
    struct Dead;
    impl ProbeView for Dead {
        fn liveness(&self, _: &str) -> Option<bool> {
            Some(false)
        }
        fn started(&self, _: &str) -> Option<bool> {
            Some(true)
        }
    }
    let p = pod("Always", vec![], vec![c("a")]);
    let a = compute(
        &p,
        &rt(vec![info("a", CState::Running, 0, 1)]),
        &Dead,
        &hash,
    );
    assert_eq!(a.containers_to_start, vec![0]);
    assert_eq!(
        a.kill[0].message,
        "Container a failed liveness probe, will be restarted"
    );
}

#[test]
fn changed_spec_restarts_even_with_never() {
    let p = pod("Never", vec![], vec![c("a")]);
    let mut i = info("a", CState::Running, 0, 1);
    i.hash = "old".into();
    let a = compute(&p, &rt(vec![i]), &NoProbes, &|_: &Container| {
        "new".to_string()
    });
    assert_eq!(a.containers_to_start, vec![0]);
    assert_eq!(
        a.kill[0].message,
        "Container a definition changed, will be restarted"
    );
}

#[test]
fn dead_sandbox_is_recreated_with_next_attempt() {
    let p = pod("Always", vec![], vec![c("a")]);
    let mut r = rt(vec![info("a", CState::Exited, 137, 1)]);
    r.sandboxes[0].ready = false;
    let a = compute_(&p, &r);
    assert!(a.create_sandbox && a.kill_pod);
    assert_eq!(a.sandbox_attempt, 1);
    assert_eq!(a.containers_to_start, vec![0]);
    // A Never pod is not started again in a new sandbox.
    let a = compute_(&pod("Never", vec![], vec![c("a")]), &r);
    assert!(!a.create_sandbox && a.kill_pod);
}
