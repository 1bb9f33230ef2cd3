//! Scheduling throughput benchmark against a running `rkube server`:
//! simulated nodes (registered here with `--register`, or the server's own
//! `--sim-nodes`), then pods created as fast as the API takes them by many
//! concurrent creators, timed from create acknowledgement to the watch event
//! that shows them bound (and then Running). Prints creates/s, binds/s,
//! create→bound percentiles, status updates/s and the server's RSS and CPU.
//!
//! `cargo run --release -p simnodes --example sched_bench -- --kubeconfig K
//! --nodes 5000 --pods 10000 [--server-pid PID] [--self-bind] [--register]`
//!
//! `--rate R` creates R pods/s instead of as fast as possible, for the
//! steady-state create→bound latency.
//!
//! `--self-bind` posts pods/binding round-robin itself, to exercise the
//! mechanics without a scheduler.

use anyhow::Context;
use clap::Parser;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{ListParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Simulated nodes to use (and to register, with --register).
    #[arg(long, default_value_t = 5000)]
    nodes: usize,
    /// Pods to create.
    #[arg(long, default_value_t = 10000)]
    pods: usize,
    /// Concurrent creators.
    #[arg(long, default_value_t = 32)]
    creators: usize,
    /// Create pods at this steady rate (pods/s), pod i no earlier than i/rate
    /// seconds after the start; 0 = as fast as the API takes them. At a rate
    /// the cluster keeps up with, create→bound is the steady-state latency.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Register the simulated nodes from this process (otherwise wait for the
    /// server's `--sim-nodes`).
    #[arg(long)]
    register: bool,
    /// Bind pods round-robin through pods/binding (no scheduler needed).
    #[arg(long)]
    self_bind: bool,
    /// PID of the server, for its RSS and CPU.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds to watch the idle server (lease renewals only) before creating pods.
    #[arg(long, default_value_t = 20)]
    idle_seconds: u64,
    /// Give up waiting for pods after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    #[arg(long, default_value = "sim-node-")]
    node_prefix: String,
}

/// Per pod: when its create was acknowledged, when the watch saw it bound,
/// when it saw it Running.
#[derive(Default)]
struct Times {
    created: Vec<Option<Instant>>,
    bound: Vec<Option<Instant>>,
    running: Vec<Option<Instant>>,
}

/// CPU ticks (user + system) and RSS in KiB of a process.
fn proc_stats(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((ticks, rss))
}

/// Clock ticks per second (Linux's USER_HZ is 100 everywhere we run).
const HZ: f64 = 100.0;

fn cpu_percent(before: (u64, u64), after: (u64, u64), secs: f64) -> f64 {
    after.0.saturating_sub(before.0) as f64 / HZ / secs * 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn rate(n: usize, first: Option<Instant>, last: Option<Instant>) -> f64 {
    match (first, last) {
        (Some(a), Some(b)) if b > a && n > 1 => (n - 1) as f64 / (b - a).as_secs_f64(),
        _ => 0.0,
    }
}

fn pod_body(i: usize) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": format!("p-{i}"), "labels": {"app": "bench"}},
        "spec": {"containers": [{
            "name": "c", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }]},
    }))
    .expect("a valid pod")
}

async fn wait_for_nodes(client: &Client, want: usize) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let started = Instant::now();
    loop {
        let have = nodes
            .list_metadata(&ListParams::default().labels("type=sim"))
            .await?
            .items
            .len();
        if have >= want {
            println!("nodes: {have} simulated nodes present");
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {have} of {want} simulated nodes after 10 min"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(&args.kubeconfig).context("--kubeconfig")?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    let client = Client::try_from(cfg)?;
    let stats = |pid: Option<u32>| pid.and_then(proc_stats);

    let _sim = if args.register {
        let s0 = stats(args.server_pid);
        let t0 = Instant::now();
        let sim = simnodes::start(
            informer::Factory::new(client.clone()),
            simnodes::SimConfig {
                count: args.nodes,
                name_prefix: args.node_prefix.clone(),
                ..Default::default()
            },
        )
        .await?;
        let secs = t0.elapsed().as_secs_f64();
        print!(
            "node registration: {} nodes in {secs:.1}s = {:.0} nodes/s",
            args.nodes,
            args.nodes as f64 / secs
        );
        if let (Some(a), Some(b)) = (s0, stats(args.server_pid)) {
            print!(" (server CPU {:.0}%)", cpu_percent(a, b, secs));
        }
        println!();
        Some(sim)
    } else {
        wait_for_nodes(&client, args.nodes).await?;
        None
    };

    if let Some(before) = stats(args.server_pid)
        && args.idle_seconds > 0
    {
        tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
        if let Some(after) = stats(args.server_pid) {
            println!(
                "idle with {} nodes (lease renewals): server CPU {:.1}% of one core, RSS {} MiB",
                args.nodes,
                cpu_percent(before, after, args.idle_seconds as f64),
                after.1 / 1024
            );
        }
    }

    let ns_name = format!(
        "bench-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    );
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": ns_name}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns_name);
    let n = args.pods;
    let times = Arc::new(Mutex::new(Times {
        created: vec![None; n],
        bound: vec![None; n],
        running: vec![None; n],
    }));
    let bound_count = Arc::new(AtomicUsize::new(0));
    let running_count = Arc::new(AtomicUsize::new(0));

    // The watch that timestamps binding and Running.
    let watch = {
        let (times, bc, rc, pods) = (
            times.clone(),
            bound_count.clone(),
            running_count.clone(),
            pods.clone(),
        );
        tokio::spawn(async move {
            let mut stream = watcher(pods, watcher::Config::default()).boxed();
            while let Some(ev) = stream.next().await {
                let pod = match ev {
                    Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => p,
                    _ => continue,
                };
                let now = Instant::now();
                let Some(i) = pod
                    .metadata
                    .name
                    .as_deref()
                    .and_then(|n| n.strip_prefix("p-"))
                    .and_then(|i| i.parse::<usize>().ok())
                else {
                    continue;
                };
                let mut t = times.lock().expect("times");
                if i >= t.bound.len() {
                    continue;
                }
                let bound = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_ref())
                    .is_some();
                if bound && t.bound[i].is_none() {
                    t.bound[i] = Some(now);
                    bc.fetch_add(1, Ordering::Relaxed);
                }
                let running =
                    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                if running && t.running[i].is_none() {
                    t.running[i] = Some(now);
                    rc.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (bind_tx, bind_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let bind_rx = Arc::new(tokio::sync::Mutex::new(bind_rx));
    let mut binders = Vec::new();
    if args.self_bind {
        for _ in 0..args.creators {
            let (rx, pods, nodes, prefix) = (
                bind_rx.clone(),
                pods.clone(),
                args.nodes.max(1),
                args.node_prefix.clone(),
            );
            binders.push(tokio::spawn(async move {
                loop {
                    let Some(i) = rx.lock().await.recv().await else {
                        return;
                    };
                    let name = format!("p-{i}");
                    let body = json!({
                        "apiVersion": "v1", "kind": "Binding",
                        "metadata": {"name": name},
                        "target": {"apiVersion": "v1", "kind": "Node",
                                   "name": format!("{prefix}{}", i % nodes)},
                    });
                    let mut backoff = Duration::from_millis(10);
                    while let Err(e) = pods
                        .create_subresource::<_, serde_json::Value>(
                            "binding",
                            &name,
                            &PostParams::default(),
                            &body,
                        )
                        .await
                    {
                        if matches!(&e, kube::Error::Api(s) if s.code == 409) {
                            break;
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }));
        }
    }

    let s_start = stats(args.server_pid);
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut creators = Vec::new();
    for _ in 0..args.creators {
        let (next, pods, times, tx, self_bind, rate) = (
            next.clone(),
            pods.clone(),
            times.clone(),
            bind_tx.clone(),
            args.self_bind,
            args.rate,
        );
        creators.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                if rate > 0.0 {
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let body = pod_body(i);
                let mut backoff = Duration::from_millis(10);
                loop {
                    match pods.create(&PostParams::default(), &body).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(s)) if s.code == 409 => break,
                        Err(e) => {
                            eprintln!("create p-{i}: {e}; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(2));
                        }
                    }
                }
                times.lock().expect("times").created[i] = Some(Instant::now());
                if self_bind {
                    let _ = tx.send(i);
                }
            }
        }));
    }
    drop(bind_tx);
    for c in creators {
        c.await?;
    }
    let create_secs = start.elapsed().as_secs_f64();
    println!(
        "created {n} pods in {create_secs:.1}s = {:.0} pods/s ({} creators{})",
        n as f64 / create_secs,
        args.creators,
        if args.rate > 0.0 {
            format!(", paced at {:.0}/s", args.rate)
        } else {
            String::new()
        }
    );

    let deadline = start + Duration::from_secs(args.timeout);
    while bound_count.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bound_at = Instant::now();
    // Running needs a simulated kubelet: the server's --sim-nodes or --register.
    let running_deadline = (bound_at + Duration::from_secs(120)).min(deadline.max(bound_at));
    while running_count.load(Ordering::Relaxed) < n && Instant::now() < running_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total_secs = start.elapsed().as_secs_f64();
    let s_end = stats(args.server_pid);
    watch.abort();
    for b in binders {
        b.abort();
    }

    let t = times.lock().expect("times");
    let mut lat: Vec<Duration> = Vec::new();
    let mut run_lat: Vec<Duration> = Vec::new();
    for i in 0..n {
        if let (Some(c), Some(b)) = (t.created[i], t.bound[i]) {
            lat.push(b.saturating_duration_since(c));
        }
        if let (Some(c), Some(r)) = (t.created[i], t.running[i]) {
            run_lat.push(r.saturating_duration_since(c));
        }
    }
    lat.sort();
    run_lat.sort();
    let bound: Vec<Instant> = t.bound.iter().flatten().copied().collect();
    let running: Vec<Instant> = t.running.iter().flatten().copied().collect();
    println!(
        "bound {}/{n}{}: {:.0} pods/s (first to last bound)",
        bound.len(),
        if args.self_bind { " (self-bind)" } else { "" },
        rate(
            bound.len(),
            bound.iter().min().copied(),
            bound.iter().max().copied()
        )
    );
    println!(
        "create→bound: p50 {:?} p90 {:?} p99 {:?}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99)
    );
    println!(
        "running {}/{n}: {:.0} status updates/s (first to last Running); create→running p50 {:?} p99 {:?}",
        running.len(),
        rate(
            running.len(),
            running.iter().min().copied(),
            running.iter().max().copied()
        ),
        percentile(&run_lat, 0.5),
        percentile(&run_lat, 0.99)
    );
    if let (Some(a), Some(b)) = (s_start, s_end) {
        println!(
            "server: RSS {} MiB, CPU {:.0}% of one core over the run ({total_secs:.1}s)",
            b.1 / 1024,
            cpu_percent(a, b, total_secs)
        );
    }
    Ok(())
}
