//! `--scheduler-config`: a valid file changes scoring (MostAllocated packs
//! pods onto one node), an invalid one stops the server with a message
//! naming the flag and the field.

mod common;
use common::Server;
use std::time::Duration;

fn server_fails_with(config: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sched.yaml");
    std::fs::write(&path, config).expect("write config");
    let out = common::run(
        std::process::Command::new(common::rkube_bin())
            .arg("server")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--https-port", "0", "--bind-address", "127.0.0.1"])
            .arg("--scheduler-config")
            .arg(&path),
        None,
        Duration::from_secs(30),
    )
    .fails();
    out.stderr
}

#[test]
fn invalid_scheduler_config_is_rejected_with_the_field() {
    let err = server_fails_with(
        "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy: {type: Sideways}
",
    );
    assert!(err.contains("--scheduler-config"), "{err}");
    assert!(err.contains("scoringStrategy.type"), "{err}");

    let err = server_fails_with(
        "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    score:
      enabled: [{name: NoSuchPlugin}]
",
    );
    assert!(err.contains("NoSuchPlugin"), "{err}");
}

#[test]
fn most_allocated_scoring_packs_pods_onto_one_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sched.yaml");
    std::fs::write(
        &path,
        "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}, {name: PodTopologySpread}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 1}, {name: memory, weight: 1}]
",
    )
    .expect("write config");
    let s = Server::start_with(&[
        "--sim-nodes",
        "3",
        "--scheduler-config",
        path.to_str().unwrap(),
    ]);
    let f = s.file(
        "packed.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: packed}
spec:
  replicas: 4
  selector: {matchLabels: {app: packed}}
  template:
    metadata: {labels: {app: packed}}
    spec:
      containers:
      - name: c
        image: busybox
        resources: {requests: {cpu: \"4\", memory: 16Gi}}
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.kubectl(&["rollout", "status", "deployment/packed", "--timeout=55s"])
        .ok();
    let pods = s.get_json(&["pods", "-l", "app=packed"]);
    let mut nodes: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap_or(""))
        .collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 1, "all on one node: {pods}");
}
