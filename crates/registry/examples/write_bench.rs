//! Write-path benchmark of the registry: the writes the server does per pod
//! (create, `pods/binding`, a `pods/status` merge patch as the simulated
//! kubelet sends, an Event create) and Lease renewals (merge patches), each
//! phase run by many concurrent tasks as the server's request handlers are.
//! Prints per phase: ops/s, mean latency, and process CPU µs per op (the
//! figure that matters on a CPU-bound server).
//!
//! `cargo run --release -p registry --example write_bench [-- <pods> [tasks] [sqlite|memory|both]]`

use apimachinery::ResourceInfo;
use registry::engine::{PatchKind, Registry};
use registry::options::WriteOptions;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;

/// The server's allocator, so allocation costs are the server's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Leases renewed in the lease phase (each renewed once per round).
const LEASES: usize = 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let pods: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(4000);
    let tasks: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(32);
    let which = args.get(3).map(String::as_str).unwrap_or("both");
    if matches!(which, "sqlite" | "both") {
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn Store> =
            Arc::new(store::sqlite::SqliteStore::open(dir.path().join("db"))?);
        run("sqlite", store, pods, tasks).await?;
    }
    if matches!(which, "memory" | "both") {
        let store: Arc<dyn Store> = Arc::new(store::memory::MemoryStore::new());
        run("memory", store, pods, tasks).await?;
    }
    Ok(())
}

fn wopts(manager: &str) -> WriteOptions {
    WriteOptions {
        field_manager: Some(manager.into()),
        default_manager: manager.into(),
        ..Default::default()
    }
}

fn find(reg: &Registry, group: &str, version: &str, plural: &str) -> Arc<ResourceInfo> {
    reg.catalog()
        .find(group, version, plural)
        .unwrap_or_else(|| panic!("{group}/{version}/{plural} is served"))
}

/// A pod like the scheduler bench creates (as kube-rs serializes it).
fn pod(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": format!("p-{i}"), "labels": {"app": "bench"}},
    "spec": {"containers": [{
        "name": "c", "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }]}})
}

/// The Running status the simulated kubelet patches in.
fn running_status(i: usize) -> Value {
    let now = "2025-01-01T00:00:00Z";
    let cond = |t: &str| {
        json!({"type": t, "status": "True", "lastProbeTime": null,
                                "lastTransitionTime": now})
    };
    json!({"status": {
        "phase": "Running",
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"),
                       cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}],
        "podIP": format!("10.244.{}.{}", i / 250, i % 250 + 2),
        "podIPs": [{"ip": format!("10.244.{}.{}", i / 250, i % 250 + 2)}],
        "startTime": now,
        "qosClass": "Burstable",
        "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0,
            "started": true, "image": "registry.k8s.io/pause:3.10",
            "imageID": "registry.k8s.io/pause@sha256:0000",
            "containerID": format!("containerd://{i:064}"),
            "state": {"running": {"startedAt": now}}, "lastState": {}}],
    }})
}

fn event(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("p-{i}.1800000000000{i:05}"), "namespace": "bench"},
        "involvedObject": {"kind": "Pod", "namespace": "bench", "name": format!("p-{i}"),
                           "uid": "00000000-0000-0000-0000-000000000000", "apiVersion": "v1"},
        "reason": "Scheduled", "message": format!("Successfully assigned bench/p-{i} to node-{}", i % 5000),
        "source": {"component": "default-scheduler"},
        "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:00:00Z",
        "count": 1, "type": "Normal",
        "reportingComponent": "default-scheduler", "reportingInstance": "rkube"})
}

fn lease(i: usize) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": format!("node-{i}")},
        "spec": {"holderIdentity": format!("node-{i}"), "leaseDurationSeconds": 40,
                 "renewTime": "2025-01-01T00:00:00.000000Z"}})
}

/// Process CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second here).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Run `op(i)` for `i in 0..n` over `tasks` concurrent tasks; print figures.
async fn phase<F, Fut>(backend: &str, name: &str, n: usize, tasks: usize, op: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu0 = cpu_time();
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (op, next) = (op.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Duration::ZERO;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                // Each request reaches the server through a socket: a task
                // gives way between them, so the watch cache keeps up as in
                // the server (the in-memory store alone never yields).
                tokio::task::yield_now().await;
                let t = Instant::now();
                op(i).await;
                lat += t.elapsed();
            }
        }));
    }
    let mut lat = Duration::ZERO;
    for h in handles {
        lat += h.await.expect("task");
    }
    let wall = started.elapsed();
    if std::env::var_os("WB_DEBUG").is_some() {
        eprintln!("debug: phase {name} done");
    }
    let cpu = cpu_time().saturating_sub(cpu0);
    println!(
        "{backend:>6} {name:<12} {:>8.0} ops/s  {:>7.0} µs mean latency  {:>6.1} µs CPU/op",
        n as f64 / wall.as_secs_f64(),
        lat.as_secs_f64() * 1e6 / n as f64,
        cpu.as_secs_f64() * 1e6 / n as f64,
    );
}

async fn run(backend: &str, store: Arc<dyn Store>, n: usize, tasks: usize) -> anyhow::Result<()> {
    let reg = Registry::new(store).await?;
    let nsres = find(&reg, "", "v1", "namespaces");
    for ns in ["bench", "kube-node-lease"] {
        reg.create(
            &nsres,
            "",
            json!({"metadata": {"name": ns}}),
            &wopts("bench"),
        )
        .await?;
    }
    let pods = find(&reg, "", "v1", "pods");
    let events = find(&reg, "", "v1", "events");
    let leases = find(&reg, "coordination.k8s.io", "v1", "leases");
    for i in 0..LEASES {
        reg.create(&leases, "kube-node-lease", lease(i), &wopts("simnodes"))
            .await?;
    }

    let (r, p) = (reg.clone(), pods.clone());
    phase(backend, "pod create", n, tasks, move |i| {
        let (r, p) = (r.clone(), p.clone());
        async move {
            r.create(&p, "bench", pod(i), &wopts("sched-bench"))
                .await
                .expect("create");
        }
    })
    .await;

    let r = reg.clone();
    phase(backend, "pod binding", n, tasks, move |i| {
        let r = r.clone();
        async move {
            let name = format!("p-{i}");
            let binding = json!({"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": format!("node-{}", i % 5000)}});
            r.bind_pod("bench", &name, &binding, &wopts("scheduler"))
                .await
                .expect("bind");
        }
    })
    .await;

    let (r, p) = (reg.clone(), pods.clone());
    phase(backend, "pod status", n, tasks, move |i| {
        let (r, p) = (r.clone(), p.clone());
        async move {
            r.patch(
                &p,
                "bench",
                &format!("p-{i}"),
                PatchKind::Merge,
                &running_status(i),
                Some("status"),
                &wopts("simnodes"),
            )
            .await
            .expect("status");
        }
    })
    .await;

    let (r, l) = (reg.clone(), leases.clone());
    phase(backend, "lease update", n, tasks, move |i| {
        let (r, l) = (r.clone(), l.clone());
        async move {
            let k = i % LEASES;
            let patch = json!({"spec": {"holderIdentity": format!("node-{k}"),
                "renewTime": format!("2025-01-01T00:00:{:02}.{:06}Z", (i / LEASES) % 60, i)}});
            r.patch(
                &l,
                "kube-node-lease",
                &format!("node-{k}"),
                PatchKind::Merge,
                &patch,
                None,
                &wopts("simnodes"),
            )
            .await
            .expect("lease");
        }
    })
    .await;

    if std::env::var_os("WB_DEBUG").is_some() {
        eprintln!(
            "debug: cache at {}, store at {}",
            reg.cache.revision(),
            reg.store.current_revision().await?
        );
    }
    let (r, e) = (reg.clone(), events.clone());
    phase(backend, "event create", n, tasks, move |i| {
        let (r, e) = (r.clone(), e.clone());
        async move {
            r.create(&e, "bench", event(i), &wopts("scheduler"))
                .await
                .expect("event");
        }
    })
    .await;
    Ok(())
}
