//! The runtime plumbing against a real containerd (root only): the
//! supervisor starts, answers CRI and comes back after being killed; the
//! built-in images import; a sandbox and a container run, log, exec and are
//! cleaned up. Each test runs its own containerd (own root, state, socket,
//! bridge and subnet) under a temp dir and removes everything it made.

use kubelet::containerd::{Containerd, ContainerdConfig};
use kubelet::cri;
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
