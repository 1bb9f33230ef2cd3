//! Resources of a container: the pod's QoS class and cgroup parent, the CRI
//! `LinuxContainerResources` (shares, CFS quota, memory limit, OOM score),
//! and the values `resourceFieldRef` reads (env and downwardAPI volumes).

use crate::cri::api;
use apimachinery::quantity::Quantity as Q;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

pub const QOS_GUARANTEED: &str = "Guaranteed";
pub const QOS_BURSTABLE: &str = "Burstable";
pub const QOS_BEST_EFFORT: &str = "BestEffort";

/// Upstream's CFS period (100 ms, in µs).
pub const CPU_PERIOD_US: i64 = 100_000;
const MIN_SHARES: i64 = 2;
const MIN_QUOTA: i64 = 1000;
/// Upstream gives Guaranteed and node-critical pods -997. This machine has no
/// CAP_SYS_RESOURCE and containerd runs with `restrict_oom_score_adj`, which
/// would silently raise any negative request to containerd's own score; we ask
/// for 0 outright so the spec says what actually happens. Guaranteed stays the
/// least likely to be killed among pods (Burstable is clamped to >= 3).
pub const GUARANTEED_OOM_SCORE_ADJ: i64 = 0;
const BEST_EFFORT_OOM_SCORE_ADJ: i64 = 1000;
/// Upstream's floor for Burstable: 1000 + (-997).
const BURSTABLE_MIN_OOM_SCORE_ADJ: i64 = 3;

pub(crate) fn parse(q: &Quantity) -> Option<Q> {
    Q::parse(&q.0).ok()
}

fn get(m: Option<&BTreeMap<String, Quantity>>, name: &str) -> Option<Q> {
    m.and_then(|m| m.get(name)).and_then(parse)
}

/// Upstream's `ComputePodQOS` over cpu and memory of every container (init
/// containers included); the pod's `status.qosClass` wins when already set.
pub fn qos_class(pod: &Pod) -> &'static str {
    match pod.status.as_ref().and_then(|s| s.qos_class.as_deref()) {
        Some("Guaranteed") => return QOS_GUARANTEED,
        Some("Burstable") => return QOS_BURSTABLE,
        Some("BestEffort") => return QOS_BEST_EFFORT,
        _ => {}
    }
    compute_qos(pod)
}

fn compute_qos(pod: &Pod) -> &'static str {
    let Some(spec) = pod.spec.as_ref() else {
        return QOS_BEST_EFFORT;
    };
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let all = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in all {
        let res = c.resources.as_ref();
        let mut found = 0;
        for name in ["cpu", "memory"] {
            if let Some(q) = get(res.and_then(|r| r.requests.as_ref()), name)
                && !q.is_zero()
            {
                *requests.entry(name).or_default() += q.nanos();
            }
            if let Some(q) = get(res.and_then(|r| r.limits.as_ref()), name)
                && !q.is_zero()
            {
                found += 1;
                *limits.entry(name).or_default() += q.nanos();
            }
        }
        if found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return QOS_BEST_EFFORT;
    }
    if guaranteed && requests.iter().any(|(k, v)| limits.get(k) != Some(v)) {
        guaranteed = false;
    }
    if guaranteed && requests.len() == limits.len() {
        QOS_GUARANTEED
    } else {
        QOS_BURSTABLE
    }
}

/// The pod-level cgroup parent: Guaranteed pods sit directly under
/// `cgroup_root`, the others under its `burstable`/`besteffort` children.
pub fn pod_cgroup_parent(pod: &Pod, cgroup_root: &str) -> String {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let root = cgroup_root.trim_end_matches('/');
    match qos_class(pod) {
        QOS_GUARANTEED => format!("{root}/pod{uid}"),
        QOS_BURSTABLE => format!("{root}/burstable/pod{uid}"),
        _ => format!("{root}/besteffort/pod{uid}"),
    }
}

/// Upstream's `MilliCPUToShares`.
pub fn milli_cpu_to_shares(milli: i64) -> i64 {
    if milli <= 0 {
        return MIN_SHARES;
    }
    (milli * 1024 / 1000).max(MIN_SHARES)
}

/// Upstream's `milliCPUToQuota`: 0 (no quota) without a limit.
pub fn milli_cpu_to_quota(milli: i64, period: i64) -> i64 {
    if milli <= 0 {
        return 0;
    }
    (milli * period / 1000).max(MIN_QUOTA)
}

/// Upstream's `GetContainerOOMScoreAdjust`, with the Guaranteed value raised
/// to [`GUARANTEED_OOM_SCORE_ADJ`]. `memory_capacity` is the node's memory in bytes.
pub fn oom_score_adj(pod: &Pod, container: &Container, memory_capacity: i64) -> i64 {
    let critical = pod
        .spec
        .as_ref()
        .and_then(|s| s.priority)
        .is_some_and(|p| p >= 2_000_000_000);
    match qos_class(pod) {
        QOS_GUARANTEED => return GUARANTEED_OOM_SCORE_ADJ,
        _ if critical => return GUARANTEED_OOM_SCORE_ADJ,
        QOS_BEST_EFFORT => return BEST_EFFORT_OOM_SCORE_ADJ,
        _ => {}
    }
    let request = get(
        container
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref()),
        "memory",
    )
    .map(|q| q.value() as i64)
    .unwrap_or(0);
    if memory_capacity <= 0 {
        return BEST_EFFORT_OOM_SCORE_ADJ - 1;
    }
    let adj = 1000 - (1000 * request as i128 / memory_capacity as i128) as i64;
    if adj < BURSTABLE_MIN_OOM_SCORE_ADJ {
        BURSTABLE_MIN_OOM_SCORE_ADJ
    } else if adj >= BEST_EFFORT_OOM_SCORE_ADJ {
        BEST_EFFORT_OOM_SCORE_ADJ - 1
    } else {
        adj
    }
}

/// The CRI resources of `container` (upstream's `calculateLinuxResources`).
pub fn linux_resources(
    pod: &Pod,
    container: &Container,
    memory_capacity: i64,
) -> api::LinuxContainerResources {
    let res = container.resources.as_ref();
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let cpu_request = get(requests, "cpu");
    let cpu_limit = get(limits, "cpu")
        .map(|q| q.to_millis() as i64)
        .unwrap_or(0);
    let shares = match cpu_request {
        None if cpu_limit > 0 => milli_cpu_to_shares(cpu_limit),
        r => milli_cpu_to_shares(r.map(|q| q.to_millis() as i64).unwrap_or(0)),
    };
    let memory = get(limits, "memory").map(|q| q.value() as i64).unwrap_or(0);
    api::LinuxContainerResources {
        cpu_period: CPU_PERIOD_US,
        cpu_quota: milli_cpu_to_quota(cpu_limit, CPU_PERIOD_US),
        cpu_shares: shares,
        memory_limit_in_bytes: memory.max(0),
        oom_score_adj: oom_score_adj(pod, container, memory_capacity),
        ..Default::default()
    }
}

/// The node's memory in bytes from `/proc/meminfo` (0 when unreadable).
pub fn machine_memory_bytes() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// What an unset limit reads as through `resourceFieldRef`: the node's
/// allocatable when given, else this machine's CPUs and memory (upstream
/// merges node allocatable in; ephemeral-storage then has no fallback).
fn node_default(resource: &str, allocatable: Option<&BTreeMap<String, Quantity>>) -> Option<Q> {
    if let Some(q) = get(allocatable, resource) {
        return Some(q);
    }
    match resource {
        "cpu" => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            Q::parse(&n.to_string()).ok()
        }
        "memory" => Q::parse(&machine_memory_bytes().to_string()).ok(),
        _ => None,
    }
}

/// Upstream's `ExtractContainerResourceValue` with unset limits merged from
/// node allocatable: cpu rounds up to whole divisors (`limits.cpu` of 500m
/// with divisor 1 is "1"), memory and ephemeral-storage likewise in bytes.
pub fn resource_field_value(
    container: &Container,
    resource: &str,
    divisor: Option<&Quantity>,
    allocatable: Option<&BTreeMap<String, Quantity>>,
) -> Result<String, String> {
    let divisor = divisor
        .and_then(parse)
        .filter(|d| !d.is_zero())
        .unwrap_or_else(|| Q::parse("1").expect("constant quantity"));
    let (kind, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported container resource : {resource}"))?;
    if !matches!(name, "cpu" | "memory" | "ephemeral-storage") {
        return Err(format!("unsupported container resource : {resource}"));
    }
    let res = container.resources.as_ref();
    let value = match kind {
        "limits" => get(res.and_then(|r| r.limits.as_ref()), name)
            .or_else(|| node_default(name, allocatable)),
        "requests" => get(res.and_then(|r| r.requests.as_ref()), name),
        _ => return Err(format!("unsupported container resource : {resource}")),
    };
    let Some(value) = value else {
        return Ok("0".into());
    };
    let (num, den) = if name == "cpu" {
        (value.to_millis(), divisor.to_millis())
    } else {
        (value.value(), divisor.value())
    };
    if den <= 0 {
        return Ok("0".into());
    }
    Ok(div_ceil(num, den).to_string())
}

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && (a > 0) == (b > 0) {
        q + 1
    } else {
        q
    }
}
