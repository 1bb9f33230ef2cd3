//! Rendering a [`Collected`]: the Summary API document and the Prometheus
//! text of the resource metrics endpoint (`/metrics/resource`), whose
//! family names, help texts, labels and millisecond timestamps follow
//! upstream's resource metrics collector.

use super::collect::{Collected, Usage};
use super::types::*;
use std::fmt::Write;

/// RFC 3339 in UTC to the second, as metav1.Time serializes.
pub fn rfc3339(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(ns as i128)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn cpu(u: &Usage) -> Option<CpuStats> {
    u.cpu_cumulative_ns.map(|c| CpuStats {
        time: rfc3339(u.cpu_time_ns),
        usage_nano_cores: u.nano_cores,
        usage_core_nano_seconds: Some(c),
    })
}

fn memory(u: &Usage) -> Option<MemoryStats> {
    u.working_set.map(|_| MemoryStats {
        time: rfc3339(u.mem_time_ns),
        available_bytes: u.available,
        usage_bytes: u.usage,
        working_set_bytes: u.working_set,
        rss_bytes: u.rss,
        page_faults: u.page_faults,
        major_page_faults: u.major_page_faults,
    })
}

pub fn summary(c: &Collected) -> Summary {
    let now = rfc3339(c.now_ns);
    let fs = c.node_fs.map(|f| FsStats {
        time: now.clone(),
        available_bytes: Some(f.available),
        capacity_bytes: Some(f.capacity),
        used_bytes: Some(f.used),
        inodes_free: Some(f.inodes_free),
        inodes: Some(f.inodes),
        inodes_used: Some(f.inodes.saturating_sub(f.inodes_free)),
    });
    // The runtime reports only what it uses; capacity is the node's disk.
    let image_fs = c.image_fs.as_ref().map(|i| FsStats {
        time: now.clone(),
        available_bytes: c.node_fs.map(|f| f.available),
        capacity_bytes: c.node_fs.map(|f| f.capacity),
        used_bytes: i.used_bytes.as_ref().map(|v| v.value),
        inodes_free: c.node_fs.map(|f| f.inodes_free),
        inodes: c.node_fs.map(|f| f.inodes),
        inodes_used: i.inodes_used.as_ref().map(|v| v.value),
    });
    let node = NodeStats {
        node_name: c.node_name.clone(),
        start_time: rfc3339(c.node.boot_time.unwrap_or(0).saturating_mul(1_000_000_000)),
        cpu: cpu(&c.node_usage),
        memory: memory(&c.node_usage),
        fs,
        runtime: image_fs.map(|i| RuntimeStats { image_fs: Some(i) }),
        rlimit: Some(RlimitStats {
            time: now.clone(),
            maxpid: c.node.max_pid,
            curproc: c.node.cur_proc,
        }),
    };
    let pods = c
        .pods
        .iter()
        .map(|p| {
            let containers: Vec<ContainerStats> = p
                .containers
                .iter()
                .map(|k| ContainerStats {
                    name: k.name.clone(),
                    start_time: rfc3339(k.start_ns),
                    cpu: cpu(&k.usage),
                    memory: memory(&k.usage),
                    rootfs: k.rootfs_used.map(|u| FsStats {
                        time: now.clone(),
                        used_bytes: Some(u),
                        inodes_used: k.rootfs_inodes_used,
                        available_bytes: c.node_fs.map(|f| f.available),
                        capacity_bytes: c.node_fs.map(|f| f.capacity),
                        ..Default::default()
                    }),
                    logs: None,
                })
                .collect();
            let rootfs: Option<u64> = p
                .containers
                .iter()
                .map(|k| k.rootfs_used)
                .try_fold(0u64, |a, u| u.map(|u| a.saturating_add(u)));
            PodStats {
                pod_ref: PodReference {
                    name: p.name.clone(),
                    namespace: p.namespace.clone(),
                    uid: p.uid.clone(),
                },
                start_time: rfc3339(p.start_ns),
                containers,
                cpu: cpu(&p.usage),
                memory: memory(&p.usage),
                ephemeral_storage: rootfs
                    .filter(|_| !p.containers.is_empty())
                    .map(|u| FsStats {
                        time: now.clone(),
                        used_bytes: Some(u),
                        available_bytes: c.node_fs.map(|f| f.available),
                        capacity_bytes: c.node_fs.map(|f| f.capacity),
                        ..Default::default()
                    }),
            }
        })
        .collect();
    Summary { node, pods }
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} [STABLE] {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn ms(ns: i64) -> i64 {
    ns / 1_000_000
}

/// The Prometheus text of `/metrics/resource`: families sorted by name,
/// series by their labels.
pub fn resource_metrics(c: &Collected) -> String {
    let mut out = String::new();
    let cont = |p: &super::collect::PodSample, k: &super::collect::ContainerSample| {
        format!(
            "container=\"{}\",namespace=\"{}\",pod=\"{}\"",
            esc(&k.name),
            esc(&p.namespace),
            esc(&p.name)
        )
    };
    let pod = |p: &super::collect::PodSample| {
        format!(
            "namespace=\"{}\",pod=\"{}\"",
            esc(&p.namespace),
            esc(&p.name)
        )
    };

    let name = "container_cpu_usage_seconds_total";
    family(
        &mut out,
        name,
        "Cumulative cpu time consumed by the container in core-seconds",
        "counter",
    );
    for p in &c.pods {
        for k in &p.containers {
            if let Some(v) = k.usage.cpu_cumulative_ns {
                let _ = writeln!(
                    out,
                    "{name}{{{}}} {} {}",
                    cont(p, k),
                    secs(v),
                    ms(k.usage.cpu_time_ns)
                );
            }
        }
    }
    let name = "container_memory_working_set_bytes";
    family(
        &mut out,
        name,
        "Current working set of the container in bytes",
        "gauge",
    );
    for p in &c.pods {
        for k in &p.containers {
            if let Some(v) = k.usage.working_set {
                let _ = writeln!(
                    out,
                    "{name}{{{}}} {v} {}",
                    cont(p, k),
                    ms(k.usage.mem_time_ns)
                );
            }
        }
    }
    let name = "container_start_time_seconds";
    family(
        &mut out,
        name,
        "Start time of the container since unix epoch in seconds",
        "gauge",
    );
    for p in &c.pods {
        for k in &p.containers {
            let _ = writeln!(
                out,
                "{name}{{{}}} {} {}",
                cont(p, k),
                k.start_ns as f64 / 1e9,
                ms(k.start_ns)
            );
        }
    }
    let name = "node_cpu_usage_seconds_total";
    family(
        &mut out,
        name,
        "Cumulative cpu time consumed by the node in core-seconds",
        "counter",
    );
    if let Some(v) = c.node_usage.cpu_cumulative_ns {
        let _ = writeln!(out, "{name} {} {}", secs(v), ms(c.node_usage.cpu_time_ns));
    }
    let name = "node_memory_working_set_bytes";
    family(
        &mut out,
        name,
        "Current working set of the node in bytes",
        "gauge",
    );
    if let Some(v) = c.node_usage.working_set {
        let _ = writeln!(out, "{name} {v} {}", ms(c.node_usage.mem_time_ns));
    }
    let name = "pod_cpu_usage_seconds_total";
    family(
        &mut out,
        name,
        "Cumulative cpu time consumed by the pod in core-seconds",
        "counter",
    );
    for p in &c.pods {
        if let Some(v) = p.usage.cpu_cumulative_ns {
            let _ = writeln!(
                out,
                "{name}{{{}}} {} {}",
                pod(p),
                secs(v),
                ms(p.usage.cpu_time_ns)
            );
        }
    }
    let name = "pod_memory_working_set_bytes";
    family(
        &mut out,
        name,
        "Current working set of the pod in bytes",
        "gauge",
    );
    for p in &c.pods {
        if let Some(v) = p.usage.working_set {
            let _ = writeln!(out, "{name}{{{}}} {v} {}", pod(p), ms(p.usage.mem_time_ns));
        }
    }
    let name = "resource_scrape_error";
    family(
        &mut out,
        name,
        "1 if there was an error while getting container metrics, 0 otherwise",
        "gauge",
    );
    let _ = writeln!(out, "{name} {}", u8::from(c.pod_error.is_some()));
    out
}
