//! Jobs, CronJobs, DaemonSets, StatefulSets, namespace deletion and
//! cascading deletes on simulated nodes, driven by kubectl.

mod common;
use common::Server;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

fn names(v: &serde_json::Value) -> Vec<String> {
    v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn job_runs_to_completion() {
    let s = Server::start_with(&["--sim-nodes", "2"]);
    let f = s.file(
        "job.yaml",
        "apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [\"true\"]}]
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=55s",
    ])
    .ok();
    let j = s.get_json(&["job", "pi"]);
    assert_eq!(j["status"]["succeeded"], 3, "{j}");
    assert!(j["status"]["completionTime"].is_string(), "{j}");
    let out = s.kubectl(&["get", "job", "pi"]).ok();
    assert!(
        out.stdout.contains("Complete") && out.stdout.contains("3/3"),
        "{}",
        out.stdout
    );
}

#[test]
fn cronjob_fires_on_schedule() {
    let s = Server::start_with(&["--sim-nodes", "1"]);
    s.kubectl(&[
        "create",
        "cronjob",
        "tick",
        "--image=busybox",
        "--schedule=* * * * *",
        "--",
        "true",
    ])
    .ok();
    // The next minute boundary is at most 60 s away.
    s.eventually(
        Duration::from_secs(100),
        "a Job created by the CronJob",
        || !names(&s.get_json(&["jobs"])).is_empty(),
    );
    let jobs = s.get_json(&["jobs"]);
    let job = &jobs["items"][0];
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["kind"], "CronJob",
        "{job}"
    );
    s.eventually(WAIT, "lastScheduleTime on the CronJob", || {
        s.get_json(&["cronjob", "tick"])["status"]["lastScheduleTime"].is_string()
    });
}

#[test]
fn daemonset_runs_on_every_node() {
    let s = Server::start_with(&["--sim-nodes", "3"]);
    let f = s.file(
        "ds.yaml",
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox}]}
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.kubectl(&["rollout", "status", "daemonset/agent", "--timeout=55s"])
        .ok();
    let pods = s.get_json(&["pods", "-l", "app=agent"]);
    let mut nodes: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap_or(""))
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["sim-node-0", "sim-node-1", "sim-node-2"], "{pods}");
    let ds = s.get_json(&["ds", "agent"]);
    assert_eq!(ds["status"]["desiredNumberScheduled"], 3, "{ds}");
    assert_eq!(ds["status"]["numberReady"], 3, "{ds}");
}

#[test]
fn statefulset_creates_pods_in_order() {
    let s = Server::start_with(&["--sim-nodes", "2"]);
    let f = s.file(
        "sts.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: busybox}]}
",
    );
    s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    s.kubectl(&["rollout", "status", "statefulset/db", "--timeout=55s"])
        .ok();
    let pods = s.get_json(&["pods", "-l", "app=db"]);
    let items = pods["items"].as_array().unwrap();
    let mut by_ordinal: Vec<(String, String)> = items
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    by_ordinal.sort();
    assert_eq!(
        by_ordinal
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["db-0", "db-1", "db-2"]
    );
    // OrderedReady: each pod is created no earlier than the one before it.
    for w in by_ordinal.windows(2) {
        assert!(w[0].1 <= w[1].1, "{by_ordinal:?}");
    }
    s.kubectl(&["scale", "statefulset/db", "--replicas=1"]).ok();
    s.eventually(WAIT, "scale down to db-0", || {
        names(&s.get_json(&["pods", "-l", "app=db"])) == ["db-0"]
    });
}

#[test]
fn deleting_a_namespace_deletes_its_contents() {
    let s = Server::start_with(&["--sim-nodes", "1"]);
    s.kubectl(&["create", "namespace", "shop"]).ok();
    s.kubectl(&[
        "-n",
        "shop",
        "create",
        "deployment",
        "web",
        "--image=busybox",
        "--replicas=2",
    ])
    .ok();
    s.kubectl(&[
        "-n",
        "shop",
        "create",
        "configmap",
        "cfg",
        "--from-literal=a=b",
    ])
    .ok();
    s.kubectl(&[
        "-n",
        "shop",
        "rollout",
        "status",
        "deployment/web",
        "--timeout=55s",
    ])
    .ok();
    // The ServiceAccount controller made a default account.
    s.kubectl(&["-n", "shop", "get", "serviceaccount", "default"])
        .ok();
    s.kubectl(&["delete", "namespace", "shop", "--timeout=55s"])
        .ok();
    let out = s.kubectl(&["get", "namespace", "shop"]).fails();
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);
}

#[test]
fn cascading_delete_with_each_propagation_policy() {
    let s = Server::start_with(&["--sim-nodes", "1"]);
    for name in ["bg", "fg", "orph"] {
        s.kubectl(&[
            "create",
            "deployment",
            name,
            "--image=busybox",
            "--replicas=1",
        ])
        .ok();
        s.kubectl(&[
            "rollout",
            "status",
            &format!("deployment/{name}"),
            "--timeout=55s",
        ])
        .ok();
    }
    s.kubectl(&["delete", "deployment", "bg", "--cascade=background"])
        .ok();
    s.eventually(WAIT, "background: ReplicaSet and pods gone", || {
        names(&s.get_json(&["rs", "-l", "app=bg"])).is_empty()
            && names(&s.get_json(&["pods", "-l", "app=bg"])).is_empty()
    });

    s.kubectl(&[
        "delete",
        "deployment",
        "fg",
        "--cascade=foreground",
        "--timeout=55s",
    ])
    .ok();
    s.kubectl(&["get", "deployment", "fg"]).fails();
    assert!(names(&s.get_json(&["rs", "-l", "app=fg"])).is_empty());

    s.kubectl(&["delete", "deployment", "orph", "--cascade=orphan"])
        .ok();
    s.eventually(WAIT, "orphan: deployment gone, ReplicaSet kept", || {
        s.kubectl(&["get", "deployment", "orph"]).code() != Some(0)
    });
    let rs = s.get_json(&["rs", "-l", "app=orph"]);
    let items = rs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{rs}");
    assert!(
        items[0]["metadata"]["ownerReferences"].is_null()
            || items[0]["metadata"]["ownerReferences"] == serde_json::json!([]),
        "{rs}"
    );
    assert_eq!(names(&s.get_json(&["pods", "-l", "app=orph"])).len(), 1);
}
