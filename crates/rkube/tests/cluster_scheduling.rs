//! Scheduling seen through kubectl: a pod that fits nowhere says why,
//! preemption makes room for a higher-priority pod, and a node that stops
//! reporting goes NotReady and loses its pods.

mod common;
use common::{Server, rkube_bin};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

#[test]
fn pod_that_fits_nowhere_reports_why() {
    let s = Server::start_with(&["--sim-nodes", "3"]);
    s.kubectl(&[
        "taint",
        "node",
        "sim-node-1",
        "sim-node-2",
        "dedicated=infra:NoSchedule",
    ])
    .ok();
    let f = s.file(
        "big.yaml",
        "apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - name: c
    image: busybox
    resources: {requests: {cpu: \"1000\"}}
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    let want = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: infra}.";
    s.eventually(WAIT, "PodScheduled=False with the reasons", || {
        let p = s.get_json(&["pod", "big"]);
        p["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "PodScheduled"
                    && c["status"] == "False"
                    && c["reason"] == "Unschedulable"
                    && c["message"].as_str().is_some_and(|m| m.starts_with(want))
            })
        })
    });
    let ev = s
        .kubectl(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=big",
        ])
        .ok();
    assert!(ev.stdout.contains("FailedScheduling"), "{}", ev.stdout);
    let out = s.kubectl(&["get", "pod", "big"]).ok();
    assert!(out.stdout.contains("Pending"), "{}", out.stdout);
}

#[test]
fn preemption_evicts_lower_priority_pods() {
    let s = Server::start_with(&["--sim-nodes", "1"]);
    let f = s.file(
        "prio.yaml",
        "apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: v1
kind: Pod
metadata: {name: low, labels: {tier: low}}
spec:
  containers:
  - name: c
    image: busybox
    resources: {requests: {cpu: \"24\"}}
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.eventually(WAIT, "low is running", || {
        s.get_json(&["pod", "low"])["status"]["phase"] == "Running"
    });
    let f = s.file(
        "high.yaml",
        "apiVersion: v1
kind: Pod
metadata: {name: important}
spec:
  priorityClassName: high
  containers:
  - name: c
    image: busybox
    resources: {requests: {cpu: \"24\"}}
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.eventually(WAIT, "the high-priority pod is bound", || {
        s.get_json(&["pod", "important"])["spec"]["nodeName"] == "sim-node-0"
    });
    s.eventually(WAIT, "the low-priority pod is gone", || {
        s.kubectl(&["get", "pod", "low"]).code() != Some(0)
    });
}

#[test]
fn node_that_stops_reporting_goes_not_ready_and_loses_its_pods() {
    let s = Server::start_with(&["--node-monitor-grace-period", "6s"]);
    let mut sim = spawn_sim(&s);
    s.eventually(WAIT, "node doomed-0 Ready", || {
        let out = s.kubectl(&["get", "node", "doomed-0"]);
        out.success() && out.stdout.contains(" Ready")
    });
    let f = s.file(
        "pod.yaml",
        "apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
  containers: [{name: c, image: busybox}]
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.eventually(WAIT, "victim running", || {
        s.get_json(&["pod", "victim"])["status"]["phase"] == "Running"
    });
    let _ = sim.kill();
    let _ = sim.wait();
    s.eventually(WAIT, "node NotReady with the unreachable taint", || {
        let n = s.get_json(&["node", "doomed-0"]);
        let ready_unknown = n["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "Unknown")
        });
        let tainted = n["spec"]["taints"].as_array().is_some_and(|ts| {
            ts.iter()
                .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute")
        });
        ready_unknown && tainted
    });
    let out = s.kubectl(&["get", "node", "doomed-0"]).ok();
    assert!(out.stdout.contains("NotReady"), "{}", out.stdout);
    s.eventually(WAIT, "the pod is evicted", || {
        let p = s.kubectl(&["get", "pod", "victim", "-o", "json"]);
        !p.success() || p.stdout.contains("deletionTimestamp")
    });

    // The node comes back: Ready again, and the taints go.
    let mut sim = spawn_sim(&s);
    s.eventually(WAIT, "node doomed-0 Ready and untainted", || {
        let n = s.get_json(&["node", "doomed-0"]);
        let ready = n["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        let tainted = n["spec"]["taints"].as_array().is_some_and(|ts| {
            ts.iter().any(|t| {
                t["key"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("node.kubernetes.io/"))
            })
        });
        ready && !tainted
    });
    let _ = sim.kill();
    let _ = sim.wait();
}

/// A separate `rkube sim-nodes` process we can kill, like a node losing power.
fn spawn_sim(s: &Server) -> std::process::Child {
    Command::new(rkube_bin())
        .args(["sim-nodes", "--kubeconfig"])
        .arg(&s.kubeconfig)
        .args([
            "--count",
            "1",
            "--name-prefix",
            "doomed-",
            "--lease-interval",
            "1s",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rkube sim-nodes")
}
