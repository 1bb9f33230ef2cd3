//! Deployments on simulated nodes, driven by kubectl as a user would:
//! create, scale, rolling update, history, undo, restart, pause/resume.

mod common;
use common::Server;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

fn images(s: &Server, selector: &str) -> Vec<String> {
    let pods = s.get_json(&["pods", "-l", selector]);
    pods["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .map(|p| {
                    p["spec"]["containers"][0]["image"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn deploy_scale_update_and_roll_back() {
    let s = Server::start_with(&["--sim-nodes", "3"]);
    s.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1",
        "--replicas=3",
    ])
    .ok();
    let out = s
        .kubectl(&["rollout", "status", "deployment/web", "--timeout=55s"])
        .ok();
    assert!(
        out.stdout.contains("successfully rolled out"),
        "{}",
        out.stdout
    );
    let d = s.get_json(&["deployment", "web"]);
    assert_eq!(d["status"]["readyReplicas"], 3, "{d}");
    assert_eq!(d["status"]["availableReplicas"], 3, "{d}");
    // Every pod is bound to a simulated node and running.
    let pods = s.get_json(&["pods", "-l", "app=web"]);
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for p in items {
        assert!(
            p["spec"]["nodeName"]
                .as_str()
                .unwrap()
                .starts_with("sim-node-"),
            "{p}"
        );
        assert_eq!(p["status"]["phase"], "Running", "{p}");
    }

    s.kubectl(&["scale", "deployment/web", "--replicas=5"]).ok();
    s.kubectl(&["rollout", "status", "deployment/web", "--timeout=55s"])
        .ok();
    s.eventually(WAIT, "5 pods", || images(&s, "app=web").len() == 5);

    s.kubectl(&["set", "image", "deployment/web", "busybox=busybox:2"])
        .ok();
    s.kubectl(&["rollout", "status", "deployment/web", "--timeout=55s"])
        .ok();
    s.eventually(WAIT, "all pods on busybox:2", || {
        let im = images(&s, "app=web");
        im.len() == 5 && im.iter().all(|i| i == "busybox:2")
    });
    let rs = s.get_json(&["rs", "-l", "app=web"]);
    assert_eq!(
        rs["items"].as_array().unwrap().len(),
        2,
        "old and new ReplicaSet"
    );

    let hist = s.kubectl(&["rollout", "history", "deployment/web"]).ok();
    assert!(
        hist.stdout.contains('1') && hist.stdout.contains('2'),
        "{}",
        hist.stdout
    );

    s.kubectl(&["rollout", "undo", "deployment/web"]).ok();
    s.kubectl(&["rollout", "status", "deployment/web", "--timeout=55s"])
        .ok();
    s.eventually(WAIT, "all pods back on busybox:1", || {
        let im = images(&s, "app=web");
        im.len() == 5 && im.iter().all(|i| i == "busybox:1")
    });
    let d = s.get_json(&["deployment", "web"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3",
        "undo makes a new revision: {d}"
    );
}

#[test]
fn restart_pause_and_resume() {
    let s = Server::start_with(&["--sim-nodes", "2"]);
    s.kubectl(&[
        "create",
        "deployment",
        "app",
        "--image=busybox:1",
        "--replicas=2",
    ])
    .ok();
    s.kubectl(&["rollout", "status", "deployment/app", "--timeout=55s"])
        .ok();
    let before: Vec<String> = s.get_json(&["pods", "-l", "app=app"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    s.kubectl(&["rollout", "restart", "deployment/app"]).ok();
    s.kubectl(&["rollout", "status", "deployment/app", "--timeout=55s"])
        .ok();
    s.eventually(WAIT, "restart replaces every pod", || {
        let pods = s.get_json(&["pods", "-l", "app=app"]);
        let live: Vec<&str> = pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .map(|p| p["metadata"]["name"].as_str().unwrap())
            .collect();
        live.len() == 2 && live.iter().all(|n| !before.iter().any(|b| b == n))
    });

    s.kubectl(&["rollout", "pause", "deployment/app"]).ok();
    s.kubectl(&["set", "image", "deployment/app", "busybox=busybox:9"])
        .ok();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        images(&s, "app=app").iter().all(|i| i == "busybox:1"),
        "a paused deployment does not roll out"
    );
    s.kubectl(&["rollout", "resume", "deployment/app"]).ok();
    s.kubectl(&["rollout", "status", "deployment/app", "--timeout=55s"])
        .ok();
    s.eventually(WAIT, "resumed rollout reaches busybox:9", || {
        let im = images(&s, "app=app");
        im.len() == 2 && im.iter().all(|i| i == "busybox:9")
    });
}

#[test]
fn selector_not_matching_template_is_rejected() {
    let s = Server::start();
    let f = s.file(
        "bad.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: c, image: busybox}]}
",
    );
    let out = s.kubectl(&["apply", "-f", f.to_str().unwrap()]).fails();
    assert!(
        out.stderr
            .contains("`selector` does not match template `labels`"),
        "{}",
        out.stderr
    );
}
