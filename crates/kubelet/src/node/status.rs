//! The Node's status as a pure function of readings: capacity and
//! allocatable (capacity minus upstream's default hard-eviction reserve),
//! the four conditions with upstream's reasons and messages and its
//! heartbeat/transition-time rules, addresses, nodeInfo and the image list.

use super::readings::{MachineInfo, Readings};
use crate::cri::api;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What this kubelet calls itself in nodeInfo: the API server's own
/// gitVersion (`/version`), since both come out of one rkube build.
pub const KUBELET_VERSION: &str = "v1.37.0+rkube";
/// Upstream's nodeStatusMaxImages.
pub const MAX_IMAGES: usize = 50;
/// Upstream's maxNamesPerImageInNodeStatus.
const MAX_NAMES_PER_IMAGE: usize = 5;

/// Upstream's default hard eviction thresholds (Linux): the kubelet reports
/// pressure below them and keeps them out of allocatable.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// memory.available < 100Mi.
    pub memory_available: u64,
    /// nodefs.available < 10%.
    pub nodefs_available_pct: f64,
    /// imagefs.available < 15%.
    pub imagefs_available_pct: f64,
    /// pid.available: upstream sets no default; rkube warns at 5% like the
    /// default inode thresholds, so a fork bomb shows as PIDPressure.
    pub pid_available_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            memory_available: 100 * 1024 * 1024,
            nodefs_available_pct: 10.0,
            imagefs_available_pct: 15.0,
            pid_available_pct: 5.0,
        }
    }
}

impl Thresholds {
    /// Upstream's `--eviction-hard` syntax: `memory.available<100Mi,nodefs.available<10%`.
    /// Signals not named keep their defaults.
    pub fn parse(spec: &str) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (signal, value) = part
                .split_once('<')
                .ok_or_else(|| format!("{part:?}: expected SIGNAL<VALUE"))?;
            let pct = |v: &str| -> Result<f64, String> {
                v.strip_suffix('%')
                    .and_then(|n| n.parse::<f64>().ok())
                    .filter(|n| (0.0..=100.0).contains(n))
                    .ok_or_else(|| format!("{part:?}: {signal} takes a percentage such as 10%"))
            };
            match signal {
                "memory.available" => {
                    t.memory_available = if value.ends_with('%') {
                        return Err(format!(
                            "{part:?}: memory.available takes a quantity such as 100Mi"
                        ));
                    } else {
                        apimachinery::quantity::Quantity::parse(value)
                            .ok()
                            .and_then(|q| u64::try_from(q.value()).ok())
                            .ok_or_else(|| format!("{part:?}: not a quantity"))?
                    }
                }
                "nodefs.available" => t.nodefs_available_pct = pct(value)?,
                "imagefs.available" => t.imagefs_available_pct = pct(value)?,
                "pid.available" => t.pid_available_pct = pct(value)?,
                other => return Err(format!("{part:?}: unknown eviction signal {other:?}")),
            }
        }
        Ok(t)
    }
}

/// Which pressures the readings show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
    pub pid: bool,
}

fn below_pct(available: u64, capacity: u64, pct: f64) -> bool {
    capacity > 0 && (available as f64) < capacity as f64 * pct / 100.0
}

pub fn pressure(r: &Readings, t: &Thresholds) -> Pressure {
    Pressure {
        memory: r.memory_total > 0 && r.memory_available < t.memory_available,
        disk: below_pct(
            r.nodefs.available,
            r.nodefs.capacity,
            t.nodefs_available_pct,
        ) || r
            .imagefs
            .is_some_and(|fs| below_pct(fs.available, fs.capacity, t.imagefs_available_pct)),
        pid: below_pct(
            r.pid_max.saturating_sub(r.pids),
            r.pid_max,
            t.pid_available_pct,
        ),
    }
}

/// A byte count in its canonical binary-SI form (`8148132Ki`, `2Gi`, `1000`).
pub fn binary_quantity(bytes: u64) -> Quantity {
    if bytes == 0 {
        return Quantity("0".into());
    }
    for (suffix, shift) in [
        ("Ei", 60),
        ("Pi", 50),
        ("Ti", 40),
        ("Gi", 30),
        ("Mi", 20),
        ("Ki", 10),
    ] {
        if bytes.trailing_zeros() >= shift {
            return Quantity(format!("{}{suffix}", bytes >> shift));
        }
    }
    Quantity(bytes.to_string())
}

pub fn capacity(r: &Readings, max_pods: u32) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(r.cpus.to_string())),
        ("memory".to_string(), binary_quantity(r.memory_total)),
        ("pods".to_string(), Quantity(max_pods.to_string())),
        (
            "ephemeral-storage".to_string(),
            binary_quantity(r.nodefs.capacity),
        ),
        (
            "hugepages-2Mi".to_string(),
            binary_quantity(r.hugepages_2mi * 2 * 1024 * 1024),
        ),
    ])
}

/// Capacity minus the hard-eviction reserve (upstream's
/// `capacity - kubeReserved - systemReserved - evictionHard`, with no
/// kube/system reservation configured) and minus huge pages from memory.
pub fn allocatable(r: &Readings, max_pods: u32, t: &Thresholds) -> BTreeMap<String, Quantity> {
    let mut out = capacity(r, max_pods);
    let hugepages = r.hugepages_2mi * 2 * 1024 * 1024;
    out.insert(
        "memory".into(),
        binary_quantity(
            r.memory_total
                .saturating_sub(t.memory_available)
                .saturating_sub(hugepages),
        ),
    );
    let reserve = (r.nodefs.capacity as f64 * t.nodefs_available_pct / 100.0) as u64;
    out.insert(
        "ephemeral-storage".into(),
        binary_quantity(r.nodefs.capacity.saturating_sub(reserve)),
    );
    out
}

/// Why the runtime is not ready (upstream's wording), from a CRI
/// `Status` answer; `None` when runtime and network are both ready.
pub fn runtime_problem(
    status: &Result<api::StatusResponse, crate::cri::CriError>,
) -> Option<String> {
    let st = match status {
        Ok(s) => s,
        Err(_) => return Some("container runtime is down".into()),
    };
    let Some(rs) = &st.status else {
        return Some("container runtime status check may not have completed yet".into());
    };
    let describe = |kind: &str| {
        rs.conditions.iter().find(|c| c.r#type == kind).map(|c| {
            (
                c.status,
                format!(
                    "{}={} reason:{} message:{}",
                    c.r#type, c.status, c.reason, c.message
                ),
            )
        })
    };
    let mut errs = vec![];
    match describe("RuntimeReady") {
        Some((true, _)) => {}
        Some((false, d)) => errs.push(format!("container runtime not ready: {d}")),
        None => errs.push("container runtime not ready: <nil>".to_string()),
    }
    match describe("NetworkReady") {
        Some((true, _)) => {}
        Some((false, d)) => errs.push(format!("container runtime network not ready: {d}")),
        None => errs.push("container runtime network not ready: <nil>".to_string()),
    }
    match errs.len() {
        0 => None,
        1 => errs.pop(),
        // Upstream's error aggregate prints several as a bracketed list.
        _ => Some(format!("[{}]", errs.join(", "))),
    }
}

/// Upstream's condition values: (type, status, reason, message), in
/// upstream's order (MemoryPressure, DiskPressure, PIDPressure, Ready).
fn wanted_conditions(
    p: Pressure,
    not_ready: Option<&str>,
) -> [(&'static str, bool, &'static str, String); 4] {
    let (mem_reason, mem_msg) = if p.memory {
        (
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        )
    } else {
        (
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        )
    };
    let (disk_reason, disk_msg) = if p.disk {
        ("KubeletHasDiskPressure", "kubelet has disk pressure")
    } else {
        ("KubeletHasNoDiskPressure", "kubelet has no disk pressure")
    };
    let (pid_reason, pid_msg) = if p.pid {
        (
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        )
    } else {
        (
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        )
    };
    let ready = match not_ready {
        None => (
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status".to_string(),
        ),
        Some(msg) => ("Ready", false, "KubeletNotReady", msg.to_string()),
    };
    [
        ("MemoryPressure", p.memory, mem_reason, mem_msg.to_string()),
        ("DiskPressure", p.disk, disk_reason, disk_msg.to_string()),
        ("PIDPressure", p.pid, pid_reason, pid_msg.to_string()),
        ready,
    ]
}

/// The conditions to post at `now`: every heartbeat moves
/// lastHeartbeatTime; lastTransitionTime moves only when the status flips.
/// Conditions others own (e.g. NetworkUnavailable) are kept as they are.
pub fn conditions(
    previous: &[NodeCondition],
    p: Pressure,
    not_ready: Option<&str>,
    now: Timestamp,
) -> Vec<NodeCondition> {
    let mut out: Vec<NodeCondition> = previous
        .iter()
        .filter(|c| {
            !matches!(
                c.type_.as_str(),
                "MemoryPressure" | "DiskPressure" | "PIDPressure" | "Ready"
            )
        })
        .cloned()
        .collect();
    for (type_, flag, reason, message) in wanted_conditions(p, not_ready) {
        // Pressure conditions are True when under pressure; Ready the other way round.
        let status = if flag { "True" } else { "False" }.to_string();
        let old = previous.iter().find(|c| c.type_ == type_);
        let transition = match old {
            Some(o) if o.status == status => o.last_transition_time.clone(),
            _ => Some(Time(now)),
        };
        out.push(NodeCondition {
            type_: type_.into(),
            status,
            reason: Some(reason.into()),
            message: Some(message),
            last_heartbeat_time: Some(Time(now)),
            last_transition_time: transition,
        });
    }
    out
}

/// The image list upstream posts: largest first, at most [`MAX_IMAGES`],
/// each with its digests then tags (at most five names).
pub fn images(list: &[api::Image]) -> Vec<ContainerImage> {
    let mut sorted: Vec<&api::Image> = list.iter().collect();
    sorted.sort_by_key(|i| std::cmp::Reverse(i.size));
    sorted
        .into_iter()
        .take(MAX_IMAGES)
        .map(|img| {
            let names: Vec<String> = img
                .repo_digests
                .iter()
                .chain(img.repo_tags.iter())
                .take(MAX_NAMES_PER_IMAGE)
                .cloned()
                .collect();
            ContainerImage {
                names: (!names.is_empty()).then_some(names),
                size_bytes: Some(img.size as i64),
            }
        })
        .collect()
}

/// Everything the status needs besides the readings.
#[derive(Clone, Debug)]
pub struct Facts {
    pub node_name: String,
    pub node_ip: IpAddr,
    pub kubelet_port: u16,
    pub max_pods: u32,
    pub machine: MachineInfo,
    /// `containerd://1.6.20`, from CRI Version.
    pub runtime_version: String,
}

/// The full status to post at `now`, given the previous conditions.
pub fn node_status(
    facts: &Facts,
    r: &Readings,
    t: &Thresholds,
    not_ready: Option<&str>,
    image_list: &[api::Image],
    previous: &[NodeCondition],
    now: Timestamp,
) -> NodeStatus {
    let m = &facts.machine;
    NodeStatus {
        capacity: Some(capacity(r, facts.max_pods)),
        allocatable: Some(allocatable(r, facts.max_pods, t)),
        conditions: Some(conditions(previous, pressure(r, t), not_ready, now)),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: facts.node_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: facts.node_name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(facts.kubelet_port),
            }),
        }),
        node_info: Some(NodeSystemInfo {
            machine_id: m.machine_id.clone(),
            system_uuid: m.system_uuid.clone(),
            boot_id: m.boot_id.clone(),
            kernel_version: m.kernel_version.clone(),
            os_image: m.os_image.clone(),
            container_runtime_version: facts.runtime_version.clone(),
            kubelet_version: KUBELET_VERSION.into(),
            // Deprecated upstream and left empty since 1.31.
            kube_proxy_version: String::new(),
            operating_system: "linux".into(),
            architecture: m.architecture.clone(),
            ..Default::default()
        }),
        images: Some(images(image_list)),
        ..Default::default()
    }
}

/// Whether `new` says something `old` did not: everything but heartbeat times.
pub fn changed(old: &NodeStatus, new: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_heartbeat_time = None;
        }
        s
    };
    strip(old) != strip(new)
}
