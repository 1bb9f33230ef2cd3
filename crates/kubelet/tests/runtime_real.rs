//! The runtime plumbing against a real containerd (root only): the
//! supervisor starts, answers CRI and comes back after being killed; the
//! built-in images import; a sandbox and a container run, log, exec and are
//! cleaned up. Each test runs its own containerd (own root, state, socket,
//! bridge and subnet) under a temp dir and removes everything it made.

use kubelet::containerd::{Containerd, ContainerdConfig};
use kubelet::cri;
use kubelet::images::{self, builtin};
use std::path::Path;
use std::time::Duration;

/// Why this machine cannot run these tests, if it cannot.
fn skip_reason() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not root".into());
    }
    for bin in ["containerd", "ctr", "runc"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
            .unwrap_or(false);
        if !found {
            return Some(format!("{bin} is not installed"));
        }
    }
    None
}

macro_rules! skip_unless_runtime {
    () => {
        if let Some(why) = skip_reason() {
            eprintln!("skipping: {why}");
            return;
        }
    };
}

/// A bridge and subnet of this test process's own.
fn net(slot: u32) -> (String, String) {
    let n = std::process::id() % 1000;
    let x = (std::process::id() % 200 + 20 + slot) % 250;
    (format!("rkt{n}s{slot}"), format!("10.244.{x}.0/24"))
}

fn config(dir: &Path, slot: u32) -> ContainerdConfig {
    let (bridge, pod_cidr) = net(slot);
    ContainerdConfig {
        data_dir: dir.join("containerd"),
        pause_image: "rkube.local/pause:1".into(),
        cni_bin_dir: "/usr/lib/cni".into(),
        pod_cidr,
        bridge,
    }
}

fn del_link(name: &str) {
    let _ = std::process::Command::new("ip")
        .args(["link", "del", name])
        .stderr(std::process::Stdio::null())
        .status();
}

#[tokio::test]
async fn containerd_starts_and_comes_back_after_a_kill() {
    skip_unless_runtime!();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 0);
    let mut ctrd = Containerd::start(cfg.clone())
        .await
        .expect("containerd starts");
    let cri = cri::remote::connect(&ctrd.endpoint()).await.unwrap();
    let v = cri.version().await.unwrap();
    assert_eq!(v.runtime_name, "containerd");
    let first = ctrd.pid().unwrap();

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Back-off starts at 1 s; containerd then needs under a second.
    let mut answered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(p) = ctrd.pid()
            && p != first
            && cri.version().await.is_ok()
        {
            answered = true;
            break;
        }
    }
    assert!(answered, "containerd was not restarted");
    let second = ctrd.pid().unwrap();
    ctrd.stop().await;
    assert!(ctrd.pid().is_none());
    assert!(
        !Path::new(&format!("/proc/{second}")).exists()
            || std::fs::read_to_string(format!("/proc/{second}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true),
        "containerd still running after stop"
    );
    del_link(&cfg.bridge);
}

fn ns_options() -> cri::api::NamespaceOption {
    cri::api::NamespaceOption {
        network: cri::api::NamespaceMode::Pod as i32,
        pid: cri::api::NamespaceMode::Container as i32,
        ipc: cri::api::NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

fn container_config(name: &str, command: &[&str]) -> cri::api::ContainerConfig {
    cri::api::ContainerConfig {
        metadata: Some(cri::api::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(cri::api::ImageSpec {
            image: builtin::BUSYBOX_IMAGE.into(),
            ..Default::default()
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        log_path: format!("{name}/0.log"),
        linux: Some(cri::api::LinuxContainerConfig {
            security_context: Some(cri::api::LinuxContainerSecurityContext {
                namespace_options: Some(ns_options()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Removes the per-test pod cgroup in every v1 hierarchy (containerd leaves it).
fn remove_cgroup(parent: &str) {
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in rd.flatten() {
            let _ = std::fs::remove_dir(h.path().join(parent.trim_start_matches('/')));
        }
    }
}

async fn wait_exited(cri: &cri::DynCri, id: &str) -> cri::api::ContainerStatus {
    for _ in 0..100 {
        let s = cri.container_status(id).await.unwrap().status.unwrap();
        if s.state == cri::api::ContainerState::ContainerExited as i32 {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("container {id} did not exit");
}

#[tokio::test]
async fn sandbox_and_containers_run_log_and_exec() {
    skip_unless_runtime!();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1);
    let cgroup_parent = format!("/rkube-rt-{}", std::process::id());
    let mut ctrd = Containerd::start(cfg.clone())
        .await
        .expect("containerd starts");
    let cri = cri::remote::connect(&ctrd.endpoint()).await.unwrap();

    let body = async {
        // The agent's path: its pause image, then an images dir.
        images::import_pause_image(ctrd.socket(), dir.path())
            .await
            .unwrap();
        let img_dir = dir.path().join("images");
        builtin::busybox_archive(&img_dir.join(builtin::BUSYBOX_ARCHIVE)).unwrap();
        let imported = images::import_dir(ctrd.socket(), &img_dir).await.unwrap();
        assert_eq!(imported.len(), 1);
        let present = cri.image_status(builtin::BUSYBOX_IMAGE).await.unwrap();
        assert!(present.is_some(), "busybox image not visible through CRI");
        assert!(
            cri.image_status("rkube.local/nothing:1")
                .await
                .unwrap()
                .is_none()
        );

        let logs = dir.path().join("pod-logs");
        let sandbox_config = cri::api::PodSandboxConfig {
            metadata: Some(cri::api::PodSandboxMetadata {
                name: "rt".into(),
                uid: format!("uid-{}", std::process::id()),
                namespace: "default".into(),
                attempt: 0,
            }),
            hostname: "rt".into(),
            log_directory: logs.display().to_string(),
            linux: Some(cri::api::LinuxPodSandboxConfig {
                cgroup_parent: cgroup_parent.clone(),
                security_context: Some(cri::api::LinuxSandboxSecurityContext {
                    namespace_options: Some(ns_options()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let sandbox = cri
            .run_pod_sandbox(cri::api::RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
                runtime_handler: String::new(),
            })
            .await
            .expect("sandbox runs")
            .pod_sandbox_id;
        let status = cri
            .pod_sandbox_status(&sandbox)
            .await
            .unwrap()
            .status
            .unwrap();
        let ip = status.network.unwrap().ip;
        let prefix = cfg.pod_cidr.rsplit_once(".0/").unwrap().0;
        assert!(
            ip.starts_with(prefix),
            "pod IP {ip} not in {}",
            cfg.pod_cidr
        );

        let create = |config| cri::api::CreateContainerRequest {
            pod_sandbox_id: sandbox.clone(),
            config: Some(config),
            sandbox_config: Some(sandbox_config.clone()),
        };
        let echo = cri
            .create_container(create(container_config(
                "echo",
                &["sh", "-c", "echo hello from rkube; echo oops >&2; exit 3"],
            )))
            .await
            .unwrap()
            .container_id;
        cri.start_container(&echo).await.unwrap();
        let st = wait_exited(&cri, &echo).await;
        assert_eq!(st.exit_code, 3);
        let log = std::fs::read_to_string(logs.join("echo/0.log")).unwrap();
        assert!(log.contains(" stdout F hello from rkube\n"), "log: {log}");
        assert!(log.contains(" stderr F oops\n"), "log: {log}");

        let sleeper = cri
            .create_container(create(container_config("sleeper", &["sleep", "3600"])))
            .await
            .unwrap()
            .container_id;
        cri.start_container(&sleeper).await.unwrap();
        let out = cri
            .exec_sync(cri::api::ExecSyncRequest {
                container_id: sleeper.clone(),
                cmd: vec!["sh".into(), "-c".into(), "echo $((6*7)); exit 5".into()],
                timeout: 10,
            })
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
        assert_eq!(out.exit_code, 5);
        // The streaming URL must carry the real port of the streaming server.
        let url = cri
            .exec(cri::api::ExecRequest {
                container_id: sleeper.clone(),
                cmd: vec!["true".into()],
                stdout: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .url;
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.contains(":0/"),
            "{url}"
        );

        let listed = cri.list_containers(None).await.unwrap();
        assert_eq!(listed.len(), 2);
        cri.stop_container(&sleeper, 2).await.unwrap();
        assert_eq!(wait_exited(&cri, &sleeper).await.exit_code, 137);
        for id in [&echo, &sleeper] {
            cri.remove_container(id).await.unwrap();
        }
        assert!(
            cri.container_status(&echo)
                .await
                .unwrap_err()
                .is_not_found()
        );
        cri.stop_pod_sandbox(&sandbox).await.unwrap();
        cri.remove_pod_sandbox(&sandbox).await.unwrap();
        assert!(cri.list_pod_sandbox(None).await.unwrap().is_empty());
    };
    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body)).await;
    if result.is_err() {
        // Leave nothing running behind a failure either.
        for c in cri.list_containers(None).await.unwrap_or_default() {
            let _ = cri.stop_container(&c.id, 0).await;
            let _ = cri.remove_container(&c.id).await;
        }
        for s in cri.list_pod_sandbox(None).await.unwrap_or_default() {
            let _ = cri.stop_pod_sandbox(&s.id).await;
            let _ = cri.remove_pod_sandbox(&s.id).await;
        }
    }
    ctrd.stop().await;
    del_link(&cfg.bridge);
    remove_cgroup(&cgroup_parent);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
