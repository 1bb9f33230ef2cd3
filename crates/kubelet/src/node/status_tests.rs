//! Unit tests of the node status functions: capacity from sample readings,
//! allocatable math, pressure against the thresholds, condition reasons and
//! transition times, runtime readiness messages, the image list.

use super::readings::{FsStats, MachineInfo, Readings, parse_meminfo};
use super::status::*;
use crate::cri::api;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

const GI: u64 = 1 << 30;

fn sample() -> Readings {
    let (memory_total, memory_available) =
        parse_meminfo("MemTotal:        8148132 kB\nMemAvailable:    4096000 kB\n");
    Readings {
        cpus: 2,
        memory_total,
        memory_available,
        nodefs: FsStats {
            capacity: 100 * GI,
            available: 50 * GI,
        },
        imagefs: None,
        pid_max: 32768,
        pids: 200,
        hugepages_2mi: 0,
    }
}

fn q(s: &str) -> Quantity {
    Quantity(s.into())
}

#[test]
fn capacity_from_readings() {
    let c = capacity(&sample(), 110);
    assert_eq!(c["cpu"], q("2"));
    assert_eq!(c["memory"], q("8148132Ki"));
    assert_eq!(c["pods"], q("110"));
    assert_eq!(c["ephemeral-storage"], q("100Gi"));
    assert_eq!(c["hugepages-2Mi"], q("0"));
}

#[test]
fn allocatable_keeps_the_eviction_reserve_out() {
    let a = allocatable(&sample(), 110, &Thresholds::default());
    // 8148132Ki - 100Mi (102400Ki).
    assert_eq!(a["memory"], q("8045732Ki"));
    // 100Gi - 10%.
    assert_eq!(a["ephemeral-storage"], q("90Gi"));
    assert_eq!(a["cpu"], q("2"));
    assert_eq!(a["pods"], q("110"));
    // Huge pages come out of memory too.
    let mut r = sample();
    r.hugepages_2mi = 512;
    let a = allocatable(&r, 110, &Thresholds::default());
    assert_eq!(a["memory"], q("6997156Ki"));
    assert_eq!(capacity(&r, 110)["hugepages-2Mi"], q("1Gi"));
}

#[test]
fn binary_quantities_are_canonical() {
    assert_eq!(binary_quantity(0), q("0"));
    assert_eq!(binary_quantity(1000), q("1000"));
    assert_eq!(binary_quantity(1024), q("1Ki"));
    assert_eq!(binary_quantity(3 * GI), q("3Gi"));
    assert_eq!(binary_quantity(GI + 1024), q("1048577Ki"));
}

#[test]
fn pressure_follows_the_default_thresholds() {
    let t = Thresholds::default();
    assert_eq!(pressure(&sample(), &t), Pressure::default());
    let mut r = sample();
    r.memory_available = 99 * 1024 * 1024;
    assert!(pressure(&r, &t).memory);
    let mut r = sample();
    r.nodefs.available = 9 * GI;
    assert!(pressure(&r, &t).disk);
    r.nodefs.available = 11 * GI;
    assert!(!pressure(&r, &t).disk);
    r.imagefs = Some(FsStats {
        capacity: 100 * GI,
        available: 14 * GI,
    });
    assert!(pressure(&r, &t).disk, "imagefs below 15%");
    let mut r = sample();
    r.pids = 32000;
    assert!(pressure(&r, &t).pid);
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("timestamp")
}

#[test]
fn conditions_have_upstream_reasons_and_transition_times() {
    let t0 = ts("2025-01-01T00:00:00Z");
    let first = conditions(&[], Pressure::default(), None, t0);
    let types: Vec<&str> = first.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(
        types,
        ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    );
    let ready = &first[3];
    assert_eq!(ready.status, "True");
    assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("kubelet is posting ready status")
    );
    assert_eq!(
        first[0].reason.as_deref(),
        Some("KubeletHasSufficientMemory")
    );
    assert_eq!(first[1].reason.as_deref(), Some("KubeletHasNoDiskPressure"));
    assert_eq!(first[2].reason.as_deref(), Some("KubeletHasSufficientPID"));

    // Nothing flips: heartbeat moves, transition stays.
    let t1 = ts("2025-01-01T00:00:10Z");
    let mut previous = first.clone();
    previous.push(k8s_openapi::api::core::v1::NodeCondition {
        type_: "NetworkUnavailable".into(),
        status: "False".into(),
        ..Default::default()
    });
    let second = conditions(&previous, Pressure::default(), None, t1);
    assert!(
        second.iter().any(|c| c.type_ == "NetworkUnavailable"),
        "others' conditions kept"
    );
    let ready = second.iter().find(|c| c.type_ == "Ready").expect("Ready");
    assert_eq!(ready.last_heartbeat_time.as_ref().map(|t| t.0), Some(t1));
    assert_eq!(ready.last_transition_time.as_ref().map(|t| t.0), Some(t0));

    // Memory pressure and a runtime problem flip two conditions.
    let t2 = ts("2025-01-01T00:00:20Z");
    let p = Pressure {
        memory: true,
        ..Default::default()
    };
    let third = conditions(&second, p, Some("container runtime is down"), t2);
    let get = |t: &str| third.iter().find(|c| c.type_ == t).expect(t);
    assert_eq!(get("MemoryPressure").status, "True");
    assert_eq!(
        get("MemoryPressure").reason.as_deref(),
        Some("KubeletHasInsufficientMemory")
    );
    assert_eq!(
        get("MemoryPressure")
            .last_transition_time
            .as_ref()
            .map(|t| t.0),
        Some(t2)
    );
    assert_eq!(get("Ready").status, "False");
    assert_eq!(get("Ready").reason.as_deref(), Some("KubeletNotReady"));
    assert_eq!(
        get("Ready").message.as_deref(),
        Some("container runtime is down")
    );
    assert_eq!(
        get("DiskPressure")
            .last_transition_time
            .as_ref()
            .map(|t| t.0),
        Some(t0)
    );
}

fn cond(t: &str, ok: bool, reason: &str, msg: &str) -> api::RuntimeCondition {
    api::RuntimeCondition {
        r#type: t.into(),
        status: ok,
        reason: reason.into(),
        message: msg.into(),
    }
}

fn status_of(conds: Vec<api::RuntimeCondition>) -> api::StatusResponse {
    api::StatusResponse {
        status: Some(api::RuntimeStatus { conditions: conds }),
        ..Default::default()
    }
}

#[test]
fn runtime_readiness_messages() {
    let ok = status_of(vec![
        cond("RuntimeReady", true, "", ""),
        cond("NetworkReady", true, "", ""),
    ]);
    assert_eq!(runtime_problem(&Ok(ok)), None);
    let no_net = status_of(vec![
        cond("RuntimeReady", true, "", ""),
        cond(
            "NetworkReady",
            false,
            "NetworkPluginNotReady",
            "Network plugin returns error: cni plugin not initialized",
        ),
    ]);
    assert_eq!(
        runtime_problem(&Ok(no_net)).as_deref(),
        Some(
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady \
             message:Network plugin returns error: cni plugin not initialized"
        )
    );
    let both = status_of(vec![
        cond("RuntimeReady", false, "R", "m"),
        cond("NetworkReady", false, "N", "n"),
    ]);
    let msg = runtime_problem(&Ok(both)).expect("not ready");
    assert!(
        msg.starts_with("[container runtime not ready: RuntimeReady=false"),
        "{msg}"
    );
    assert!(
        msg.contains(", container runtime network not ready:"),
        "{msg}"
    );
    let down = Err(crate::cri::CriError::Transport("refused".into()));
    assert_eq!(
        runtime_problem(&down).as_deref(),
        Some("container runtime is down")
    );
}

#[test]
fn images_largest_first_capped() {
    let list: Vec<api::Image> = (0..60u64)
        .map(|i| api::Image {
            id: format!("sha256:{i}"),
            repo_tags: vec![format!("img{i}:latest")],
            repo_digests: vec![format!("img{i}@sha256:{i}")],
            size: i * 1000,
            ..Default::default()
        })
        .collect();
    let out = images(&list);
    assert_eq!(out.len(), MAX_IMAGES);
    assert_eq!(out[0].size_bytes, Some(59_000));
    assert_eq!(
        out[0].names.as_deref(),
        Some(&["img59@sha256:59".to_string(), "img59:latest".to_string()][..])
    );
    assert!(out.windows(2).all(|w| w[0].size_bytes >= w[1].size_bytes));
}

#[test]
fn change_detection_ignores_heartbeats() {
    let facts = Facts {
        node_name: "n1".into(),
        node_ip: "10.0.0.5".parse().expect("ip"),
        kubelet_port: 10250,
        max_pods: 110,
        machine: MachineInfo::default(),
        runtime_version: "containerd://1.6.20".into(),
    };
    let t = Thresholds::default();
    let a = node_status(
        &facts,
        &sample(),
        &t,
        None,
        &[],
        &[],
        ts("2025-01-01T00:00:00Z"),
    );
    let prev = a.conditions.clone().unwrap_or_default();
    let b = node_status(
        &facts,
        &sample(),
        &t,
        None,
        &[],
        &prev,
        ts("2025-01-01T00:00:10Z"),
    );
    assert!(!changed(&a, &b));
    let c = node_status(
        &facts,
        &sample(),
        &t,
        Some("container runtime is down"),
        &[],
        &prev,
        ts("2025-01-01T00:00:20Z"),
    );
    assert!(changed(&b, &c));
    let info = a.node_info.as_ref().expect("nodeInfo");
    assert_eq!(info.kubelet_version, KUBELET_VERSION);
    assert_eq!(info.container_runtime_version, "containerd://1.6.20");
    let addrs = a.addresses.as_ref().expect("addresses");
    assert_eq!(addrs[0].type_, "InternalIP");
    assert_eq!(addrs[0].address, "10.0.0.5");
    assert_eq!(addrs[1].address, "n1");
    assert_eq!(
        a.daemon_endpoints
            .as_ref()
            .and_then(|d| d.kubelet_endpoint.as_ref())
            .map(|e| e.port),
        Some(10250)
    );
}

#[test]
fn eviction_hard_flag_parses_upstream_syntax() {
    let t = Thresholds::parse("memory.available<200Mi, nodefs.available<1%").unwrap();
    assert_eq!(t.memory_available, 200 * 1024 * 1024);
    assert_eq!(t.nodefs_available_pct, 1.0);
    assert_eq!(
        t.imagefs_available_pct, 15.0,
        "unnamed signals keep defaults"
    );
    assert!(Thresholds::parse("nodefs.available<10").is_err());
    assert!(Thresholds::parse("memory.available<5%").is_err());
    assert!(
        Thresholds::parse("cpu.available<1")
            .unwrap_err()
            .contains("unknown")
    );
    assert!(Thresholds::parse("nodefs.available=1%").is_err());
}
