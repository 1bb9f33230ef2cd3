//! End-to-end test of real image pulls: a local registry (Debian's
//! `docker-registry`, distribution 2.8) with htpasswd auth on loopback, the
//! test image pushed to it with skopeo, and pods on `rkube server`'s local
//! agent (its own containerd) that pull from it under imagePullPolicy and
//! imagePullSecrets, driven by the real kubectl. Needs root, containerd,
//! docker-registry, skopeo and htpasswd; CI sets `RKUBE_REQUIRE_NODE_E2E=1`
//! so a missing piece fails instead of skipping. nextest runs it in the
//! `containerd` test group: it starts its own containerd and CNI bridge.

mod common;

use common::{Server, free_port, json, run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "puller";
const PASSWORD: &str = "s3cret-pull";

/// Where `scripts/build-test-images` put the image archives.
fn images_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("RKUBE_TEST_IMAGES").unwrap_or_else(|_| "/var/lib/rkube-test-images".into()),
    )
}

fn runs(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn can_run() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let containerd = runs("containerd", "--version");
    let registry = runs("docker-registry", "--version");
    let skopeo = runs("skopeo", "--version");
    // htpasswd has no --version; `-h` exits non-zero, so look for the binary.
    let htpasswd = Command::new("htpasswd")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    let images = images_dir().join("rkube-busybox.tar").exists();
    if root && containerd && registry && skopeo && htpasswd && images {
        return true;
    }
    let why = format!(
        "registry e2e needs root ({root}), containerd ({containerd}), docker-registry ({registry}), \
         skopeo ({skopeo}), htpasswd ({htpasswd}) and the test images in {} ({images})",
        images_dir().display()
    );
    assert!(
        std::env::var("RKUBE_REQUIRE_NODE_E2E").is_err(),
        "{why}; run scripts/setup"
    );
    eprintln!("skipping: {why}");
    false
}

/// A `docker-registry serve` on a loopback port with filesystem storage and
/// htpasswd auth, all in its own temp dir; killed by PID when dropped.
struct Registry {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let htpasswd = d.join("htpasswd");
        // The registry accepts only bcrypt entries.
        run(
            Command::new("htpasswd")
                .args(["-B", "-b", "-c"])
                .arg(&htpasswd)
                .args([USER, PASSWORD]),
            None,
            Duration::from_secs(30),
        )
        .ok();
        let addr = format!("127.0.0.1:{}", free_port());
        let config = d.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: {addr}\nauth:\n  htpasswd:\n    realm: rkube-test\n    path: {}\n",
                d.join("data").display(),
                htpasswd.display()
            ),
        )
        .expect("write registry config");
        let log = d.join("registry.log");
        let log_file = std::fs::File::create(&log).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file)
            .spawn()
            .expect("spawn docker-registry");
        let mut reg = Registry {
            child,
            addr,
            log,
            _dir: dir,
        };
        reg.wait_ready();
        reg
    }

    /// Ready when `/v2/` answers 401: the server is up and auth is on.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("docker-registry exited early ({st}):\n{}", self.log_text());
            }
            let out = run(
                Command::new("curl").args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--max-time",
                    "2",
                    &format!("http://{}/v2/", self.addr),
                ]),
                None,
                Duration::from_secs(5),
            );
            if out.stdout.trim() == "401" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry not ready: {out:?}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Push an OCI archive to `repo:tag` with the registry's credentials.
    fn push(&self, archive: &Path, repo_tag: &str) {
        let out = run(
            Command::new("skopeo")
                .args(["copy", "--quiet", "--dest-tls-verify=false", "--dest-creds"])
                .arg(format!("{USER}:{PASSWORD}"))
                .arg(format!("oci-archive:{}", archive.display()))
                .arg(format!("docker://{}/{repo_tag}", self.addr)),
            None,
            Duration::from_secs(120),
        );
        assert!(
            out.success(),
            "skopeo push failed: {out:?}\nregistry log:\n{}",
            self.log_text()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node: a server with its local agent, the test images (the pause image
/// among them) placed where the agent imports air-gapped images from.
struct Node {
    server: Server,
    dir: Option<tempfile::TempDir>,
}

impl Node {
    fn start() -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
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
                "registry-node",
                "--kubelet-port",
                &port,
                "--eviction-hard",
                "nodefs.available<1%,imagefs.available<1%",
            ],
        );
        let node = Node {
            server,
            dir: Some(tmp),
        };
        node.eventually(90, "node registry-node Ready", || {
            let out = node.kubectl(&[
                "get",
                "node",
                "registry-node",
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

    /// The pod's events as (reason, message), oldest first.
    fn events(&self, pod: &str) -> Vec<(String, String)> {
        let v = json(
            &self
                .kubectl(&[
                    "get",
                    "events",
                    "--field-selector",
                    &format!("involvedObject.name={pod}"),
                    "-o",
                    "json",
                ])
                .ok(),
        );
        v["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|e| {
                        (
                            e["reason"].as_str().unwrap_or_default().to_string(),
                            e["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn waiting_reason(&self, pod: &str) -> String {
        self.pod(pod)["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Node {
    /// Delete every pod so the agent tears down sandboxes (CNI DEL, mounts,
    /// cgroups) before the server and its containerd go away; the data dir
    /// goes only when nothing is still mounted under it.
    fn drop(&mut self) {
        let _ = self.kubectl(&[
            "delete",
            "pods",
            "--all",
            "-A",
            "--grace-period=1",
            "--timeout=40s",
        ]);
        self.server.stop();
        if let Some(tmp) = self.dir.take() {
            let prefix = tmp.path().to_string_lossy().into_owned();
            let mounted = std::fs::read_to_string("/proc/self/mounts")
                .map(|m| {
                    m.lines().any(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .is_some_and(|p| p.starts_with(&prefix))
                    })
                })
                .unwrap_or(true);
            if mounted {
                eprintln!("keeping {prefix}: something is still mounted under it");
                let _ = tmp.keep();
            }
        }
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn pod_yaml(name: &str, image: &str, policy: &str, secret: Option<&str>) -> String {
    let secrets = secret
        .map(|s| format!("  imagePullSecrets: [{{name: {s}}}]\n"))
        .unwrap_or_default();
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: registry-node
  terminationGracePeriodSeconds: 1
{secrets}  containers:
  - name: c
    image: {image}
    imagePullPolicy: {policy}
    command: ["sh", "-c", "echo pulled-and-running; exec sleep 3600"]
"#
    )
}

#[test]
fn pulls_from_a_local_registry_with_pull_policy_and_pull_secrets() {
    if !can_run() {
        return;
    }
    let registry = Registry::start();
    registry.push(&images_dir().join("rkube-busybox.tar"), "test/busybox:1");
    let image = format!("{}/test/busybox:1", registry.addr);
    let node = Node::start();

    // (1) No credentials: the registry answers 401 and the pull fails.
    node.apply(&pod_yaml("anonymous", &image, "IfNotPresent", None));
    node.eventually(
        90,
        "anonymous pull fails with ErrImagePull/ImagePullBackOff",
        || {
            let reason = node.waiting_reason("anonymous");
            reason == "ImagePullBackOff" || reason == "ErrImagePull"
        },
    );
    let events = node.events("anonymous");
    let failed: Vec<&String> = events
        .iter()
        .filter(|(r, _)| r == "Failed")
        .map(|(_, m)| m)
        .collect();
    assert!(
        failed.iter().any(|m| m.contains(&image)
            && (m.contains("401") || m.to_ascii_lowercase().contains("unauthorized"))),
        "no Failed event naming the image and the registry's 401: {events:?}"
    );
    assert!(
        events.iter().any(|(r, _)| r == "Pulling"),
        "the kubelet did try to pull: {events:?}"
    );

    // (2) A docker-registry secret: the pull succeeds and the container runs.
    node.kubectl(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={}", registry.addr),
        &format!("--docker-username={USER}"),
        &format!("--docker-password={PASSWORD}"),
    ])
    .ok();
    node.apply(&pod_yaml("authed", &image, "Always", Some("regcred")));
    let ready = node.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/authed",
        "--timeout=55s",
    ]);
    assert!(
        ready.success(),
        "pod authed not Ready: {}\nevents: {:?}\nregistry log tail:\n{}",
        node.pod("authed")["status"],
        node.events("authed"),
        tail(&registry.log_text(), 30)
    );
    let p = node.pod("authed");
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    let out = node
        .kubectl(&["exec", "authed", "--", "sh", "-c", "echo exec-ok; id -u"])
        .ok();
    assert_eq!(out.stdout, "exec-ok\n0\n", "{out:?}");
    let logs = node.kubectl(&["logs", "authed"]).ok();
    assert!(logs.stdout.contains("pulled-and-running"), "{logs:?}");
    let events = node.events("authed");
    assert!(
        events
            .iter()
            .any(|(r, m)| r == "Pulling" && m == &format!("Pulling image {image:?}")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(r, m)| r == "Pulled"
            && m.starts_with(&format!("Successfully pulled image {image:?} in "))),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|(r, _)| r == "Failed"),
        "the authenticated pull failed first: {events:?}"
    );
    // The registry served the manifest to an authenticated client.
    let reg_log = registry.log_text();
    assert!(
        reg_log.contains(&format!("auth.user.name=\"{USER}\""))
            || reg_log.contains(&format!("auth.user.name={USER}")),
        "registry log shows no authenticated request:\n{reg_log}"
    );

    // (3) Never: an image that is not on the node is not pulled.
    let absent = format!("{}/test/absent:1", registry.addr);
    node.apply(&pod_yaml("never", &absent, "Never", Some("regcred")));
    node.eventually(60, "ErrImageNeverPull", || {
        node.waiting_reason("never") == "ErrImageNeverPull"
    });
    let events = node.events("never");
    assert!(
        events.iter().any(|(r, m)| r == "ErrImageNeverPull"
            && m.contains(&absent)
            && m.contains("is not present with pull policy of Never")),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|(r, _)| r == "Pulling"),
        "pull policy Never still pulled: {events:?}"
    );
    drop(node);
    drop(registry);
}
