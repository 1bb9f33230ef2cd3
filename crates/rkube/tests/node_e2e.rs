//! End-to-end tests of the node agent with real containers: `rkube server`
//! with its local agent (its own containerd, runc, CNI bridge), driven by the
//! real kubectl. They need root and containerd; CI has both and sets
//! `RKUBE_REQUIRE_NODE_E2E=1` so a missing piece fails instead of skipping.
//! nextest runs them one at a time (test group `containerd`): each starts its
//! own containerd and CNI bridge.

mod common;

use common::{Server, free_port, json};
use std::path::PathBuf;
use std::time::Duration;

const BUSYBOX: &str = "rkube.local/busybox:1";

/// Where `scripts/build-test-images` put the image archives.
fn images_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("RKUBE_TEST_IMAGES").unwrap_or_else(|_| "/var/lib/rkube-test-images".into()),
    )
}

fn can_run() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let containerd = std::process::Command::new("containerd")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let images = images_dir().join("rkube-busybox.tar").exists();
    if root && containerd && images {
        return true;
    }
    let why = format!(
        "node e2e needs root ({root}), containerd ({containerd}) and the test images in {} ({images})",
        images_dir().display()
    );
    assert!(
        std::env::var("RKUBE_REQUIRE_NODE_E2E").is_err(),
        "{why}; run scripts/setup"
    );
    eprintln!("skipping: {why}");
    false
}

/// A node: a server with its local agent, the test images placed where the
/// agent imports air-gapped images from.
struct Node {
    server: Server,
}

impl Node {
    fn start() -> Option<Node> {
        if !can_run() {
            return None;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.keep();
        Some(Node::start_in(dir))
    }

    fn start_in(dir: PathBuf) -> Node {
        let images = dir.join("agent").join("images");
        std::fs::create_dir_all(&images).expect("images dir");
        for entry in std::fs::read_dir(images_dir()).expect("test images dir") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|e| e == "tar") {
                std::fs::copy(&p, images.join(p.file_name().expect("name"))).expect("copy image");
            }
        }
        let port = free_port().to_string();
        let server = Server::start_in(
            &dir,
            0,
            &[
                common::WITH_AGENT,
                "--node-name",
                "e2e-node",
                "--kubelet-port",
                &port,
                "--eviction-hard",
                "nodefs.available<1%,imagefs.available<1%",
            ],
        );
        let node = Node { server };
        node.server
            .eventually(Duration::from_secs(90), "node e2e-node Ready", || {
                let out = node.server.kubectl(&[
                    "get",
                    "node",
                    "e2e-node",
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ]);
                out.success() && out.stdout.trim() == "True"
            });
        node
    }

    fn kubectl(&self, args: &[&str]) -> common::Output {
        self.server.kubectl(args)
    }

    fn apply(&self, yaml: &str) {
        self.server
            .kubectl_stdin(&["apply", "-f", "-"], Some(yaml))
            .ok();
    }

    fn pod(&self, name: &str) -> serde_json::Value {
        self.server.get_json(&["pod", name])
    }

    #[track_caller]
    fn eventually(&self, secs: u64, what: &str, cond: impl FnMut() -> bool) {
        self.server
            .eventually(Duration::from_secs(secs), what, cond)
    }

    fn wait_ready(&self, pod: &str) {
        self.kubectl(&[
            "wait",
            "--for=condition=Ready",
            &format!("pod/{pod}"),
            "--timeout=55s",
        ])
        .ok();
    }
}

impl Drop for Node {
    /// Delete the workloads (so no controller recreates their pods) and every
    /// pod, so the agent tears down sandboxes (CNI DEL, mounts, cgroups)
    /// before the server and its containerd go away; then make sure nothing
    /// of this node is left: its shims (by PID), mounts and data dir.
    fn drop(&mut self) {
        let _ = self.server.kubectl(&[
            "delete",
            "deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs",
            "--all",
            "-A",
            "--wait=false",
        ]);
        let _ = self.server.kubectl(&[
            "delete",
            "pods",
            "--all",
            "-A",
            "--grace-period=1",
            "--timeout=40s",
        ]);
        self.server.stop();
        remove_node_dir(&self.server.data_dir);
    }
}

/// Kill the container shims still serving containers of the node in `dir`,
/// unmount what is left under it, and remove it.
fn remove_node_dir(dir: &std::path::Path) {
    let needle = dir.to_string_lossy().into_owned();
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for p in procs.flatten() {
            let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains("containerd-shim") && cmd.contains(&needle) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
    let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .filter(|m| m.starts_with(&needle))
        .collect();
    mounts.sort_by(|a, b| b.cmp(a));
    for m in mounts {
        let _ = std::process::Command::new("umount")
            .args(["-l", &m])
            .status();
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn container_state(pod: &serde_json::Value, i: usize) -> serde_json::Value {
    pod["status"]["containerStatuses"][i].clone()
}

#[test]
fn deployment_serves_http_with_logs_exec_cp_and_port_forward() {
    let Some(node) = Node::start() else { return };
    node.apply(&format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {BUSYBOX}
        command: ["sh", "-c", "echo hello-from-web; mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www"]
        ports: [{{containerPort: 8080}}]
        readinessProbe:
          httpGet: {{path: /index.html, port: 8080}}
          periodSeconds: 1
"#
    ));
    node.kubectl(&["rollout", "status", "deploy/web", "--timeout=55s"])
        .ok();
    let pods = node.server.get_json(&["pods", "-l", "app=web"]);
    let pod = pods["items"][0]["metadata"]["name"]
        .as_str()
        .expect("pod name")
        .to_string();
    let p = node.pod(&pod);
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    assert!(p["status"]["podIP"].as_str().is_some(), "{p}");

    let logs = node.kubectl(&["logs", &pod]).ok();
    assert!(logs.stdout.contains("hello-from-web"), "{logs:?}");

    let out = node
        .kubectl(&["exec", &pod, "--", "cat", "/www/index.html"])
        .ok();
    assert_eq!(out.stdout.trim(), "ok");
    let out = node.kubectl(&["exec", &pod, "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.code(), Some(3), "{out:?}");

    // stdin reaches the container and its end is seen (what `kubectl cp` relies on).
    let out = node
        .server
        .kubectl_stdin(
            &[
                "exec",
                "-i",
                &pod,
                "--",
                "sh",
                "-c",
                "cat > /tmp/in; wc -c < /tmp/in",
            ],
            Some("twelve bytes"),
        )
        .ok();
    assert_eq!(out.stdout.trim(), "12", "{out:?}");

    let local = node.server.file("cp-source.txt", "copied content\n");
    node.kubectl(&[
        "cp",
        local.to_str().expect("path"),
        &format!("{pod}:/tmp/copied.txt"),
    ])
    .ok();
    let out = node
        .kubectl(&["exec", &pod, "--", "cat", "/tmp/copied.txt"])
        .ok();
    assert_eq!(out.stdout, "copied content\n");

    let port = free_port();
    let pf = node.server.kubectl_bg(&[
        "port-forward",
        &format!("pod/{pod}"),
        &format!("{port}:8080"),
    ]);
    assert!(
        pf.wait_for(Duration::from_secs(30), |s| s.contains("Forwarding from")),
        "port-forward did not start: {} {}",
        pf.stdout(),
        pf.stderr()
    );
    let out = common::run(
        std::process::Command::new("curl").args([
            "-s",
            "--max-time",
            "10",
            &format!("http://127.0.0.1:{port}/index.html"),
        ]),
        None,
        Duration::from_secs(15),
    );
    assert_eq!(out.stdout.trim(), "ok", "{out:?}");
}

#[test]
fn crashing_container_goes_into_crash_loop_backoff() {
    let Some(node) = Node::start() else { return };
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: crasher}}
spec:
  nodeName: e2e-node
  containers:
  - name: c
    image: {BUSYBOX}
    command: ["sh", "-c", "echo attempt; exit 1"]
"#
    ));
    node.eventually(80, "two restarts and CrashLoopBackOff", || {
        let c = container_state(&node.pod("crasher"), 0);
        c["restartCount"].as_i64().unwrap_or(0) >= 2
            && c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let c = container_state(&node.pod("crasher"), 0);
    assert_eq!(c["lastState"]["terminated"]["exitCode"], 1, "{c}");
    assert_eq!(c["lastState"]["terminated"]["reason"], "Error", "{c}");
    let msg = c["state"]["waiting"]["message"].as_str().unwrap_or("");
    assert!(msg.starts_with("back-off "), "{c}");
    let prev = node.kubectl(&["logs", "crasher", "--previous"]).ok();
    assert_eq!(prev.stdout.trim(), "attempt");
    let events = node.kubectl(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=crasher,reason=BackOff",
        "-o",
        "json",
    ]);
    assert!(
        json(&events.ok())["items"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "no BackOff event"
    );
}

#[test]
fn probes_restart_unhealthy_containers_and_gate_readiness() {
    let Some(node) = Node::start() else { return };
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: probed}}
spec:
  nodeName: e2e-node
  containers:
  - name: live
    image: {BUSYBOX}
    command: ["sh", "-c", "touch /tmp/alive; sleep 4; rm /tmp/alive; sleep 3600"]
    livenessProbe:
      exec: {{command: ["test", "-f", "/tmp/alive"]}}
      periodSeconds: 1
      failureThreshold: 2
  - name: ready
    image: {BUSYBOX}
    command: ["sh", "-c", "sleep 3600"]
    readinessProbe:
      exec: {{command: ["test", "-f", "/tmp/ready"]}}
      periodSeconds: 1
"#
    ));
    node.eventually(60, "liveness restart", || {
        node.pod("probed")["status"]["containerStatuses"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "live").cloned())
            .is_some_and(|c| c["restartCount"].as_i64().unwrap_or(0) >= 1)
    });
    let ready = |p: &serde_json::Value| {
        p["status"]["conditions"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["type"] == "Ready").cloned())
            .map(|c| c["status"].clone())
    };
    assert_eq!(ready(&node.pod("probed")), Some(serde_json::json!("False")));
    node.kubectl(&["exec", "probed", "-c", "ready", "--", "touch", "/tmp/ready"])
        .ok();
    node.eventually(30, "readiness makes the pod Ready", || {
        node.pod("probed")["status"]["containerStatuses"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "ready").cloned())
            .is_some_and(|c| c["ready"] == true)
    });
}

#[test]
fn memory_hog_is_oom_killed() {
    let Some(node) = Node::start() else { return };
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: hog}}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  containers:
  - name: hog
    image: {BUSYBOX}
    command: ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"]
    resources:
      limits: {{memory: 32Mi}}
"#
    ));
    node.eventually(60, "OOMKilled", || {
        container_state(&node.pod("hog"), 0)["state"]["terminated"]["reason"] == "OOMKilled"
    });
    node.eventually(20, "pod Failed", || {
        node.pod("hog")["status"]["phase"] == "Failed"
    });
}

#[test]
fn configmaps_and_secrets_reach_env_and_volumes() {
    let Some(node) = Node::start() else { return };
    node.kubectl(&[
        "create",
        "configmap",
        "cfg",
        "--from-literal=greeting=hello",
        "--from-literal=file.txt=v1",
    ])
    .ok();
    node.kubectl(&[
        "create",
        "secret",
        "generic",
        "sec",
        "--from-literal=password=s3cret",
    ])
    .ok();
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: consumer}}
spec:
  nodeName: e2e-node
  containers:
  - name: c
    image: {BUSYBOX}
    command: ["sh", "-c", "sleep 3600"]
    env:
    - name: GREETING
      valueFrom: {{configMapKeyRef: {{name: cfg, key: greeting}}}}
    - name: PASSWORD
      valueFrom: {{secretKeyRef: {{name: sec, key: password}}}}
    - name: MESSAGE
      value: "$(GREETING) world"
    - name: MY_POD
      valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
    volumeMounts:
    - {{name: cfg, mountPath: /cfg}}
    - {{name: sec, mountPath: /sec, readOnly: true}}
  volumes:
  - name: cfg
    configMap: {{name: cfg}}
  - name: sec
    secret: {{secretName: sec, defaultMode: 0400}}
"#
    ));
    node.wait_ready("consumer");
    let out = node
        .kubectl(&[
            "exec",
            "consumer",
            "--",
            "sh",
            "-c",
            "echo $GREETING $PASSWORD $MESSAGE $MY_POD; cat /cfg/file.txt; echo; cat /sec/password; echo; stat -L -c %a /sec/password",
        ])
        .ok();
    assert_eq!(
        out.stdout, "hello s3cret hello world consumer\nv1\ns3cret\n400\n",
        "{out:?}"
    );
    node.kubectl(&[
        "patch",
        "configmap",
        "cfg",
        "-p",
        r#"{"data":{"file.txt":"v2"}}"#,
    ])
    .ok();
    node.eventually(90, "configMap volume updated in place", || {
        let out = node.kubectl(&["exec", "consumer", "--", "cat", "/cfg/file.txt"]);
        out.success() && out.stdout == "v2"
    });
}

#[test]
fn job_runs_to_completion_and_deletion_runs_pre_stop() {
    let Some(node) = Node::start() else { return };
    node.apply(&format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {{name: once}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: {BUSYBOX}
        command: ["sh", "-c", "echo job-done"]
"#
    ));
    node.kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "--timeout=55s",
    ])
    .ok();
    let logs = node.kubectl(&["logs", "job/once"]).ok();
    assert_eq!(logs.stdout.trim(), "job-done");

    let marker = node.server.data_dir.join("prestop-marker");
    let marker_dir = marker.parent().expect("dir").to_str().expect("utf8");
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: graceful}}
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 20
  containers:
  - name: c
    image: {BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    lifecycle:
      preStop:
        exec: {{command: ["sh", "-c", "echo stopped > /host/prestop-marker"]}}
    volumeMounts: [{{name: host, mountPath: /host}}]
  volumes:
  - name: host
    hostPath: {{path: "{marker_dir}", type: Directory}}
"#
    ));
    node.wait_ready("graceful");
    node.kubectl(&["delete", "pod", "graceful", "--timeout=50s"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap_or_default().trim(),
        "stopped"
    );
}

#[test]
fn bad_image_and_missing_command_are_reported() {
    let Some(node) = Node::start() else { return };
    node.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  nodeName: e2e-node
  containers:
  - name: c
    image: 127.0.0.1:1/does-not/exist:1
"#,
    );
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: nocmd}}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  containers:
  - name: c
    image: {BUSYBOX}
    command: ["/no/such/binary"]
"#
    ));
    let mut seen_err = false;
    node.eventually(90, "ErrImagePull then ImagePullBackOff", || {
        let reason = container_state(&node.pod("noimage"), 0)["state"]["waiting"]["reason"].clone();
        seen_err |= reason == "ErrImagePull";
        reason == "ImagePullBackOff"
    });
    let events = node
        .kubectl(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=noimage",
        ])
        .ok();
    assert!(
        seen_err || events.stdout.contains("ErrImagePull"),
        "{}",
        events.stdout
    );
    node.eventually(60, "missing command reported", || {
        let c = container_state(&node.pod("nocmd"), 0);
        let text = c.to_string();
        text.contains("/no/such/binary") && text.contains("no such file")
    });
}

#[test]
fn agent_restart_does_not_restart_running_containers() {
    let Some(mut node) = Node::start() else {
        return;
    };
    node.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: steady}}
spec:
  nodeName: e2e-node
  containers:
  - name: c
    image: {BUSYBOX}
    command: ["sh", "-c", "sleep 3600"]
"#
    ));
    node.wait_ready("steady");
    let before = container_state(&node.pod("steady"), 0);
    let dir = node.server.data_dir.clone();
    node.server.stop();
    let restarted = Node::start_in(dir);
    // The old handle must not tear the pods down when it is dropped.
    std::mem::forget(std::mem::replace(&mut node, restarted));
    node.wait_ready("steady");
    let after = container_state(&node.pod("steady"), 0);
    assert_eq!(before["containerID"], after["containerID"], "{after}");
    assert_eq!(after["restartCount"], 0, "{after}");
}
