//! Pod startup latency against a running rkube cluster with a real node:
//! time from the create being acknowledged to the watch showing the pod
//! Running with Ready=True, for single pods one after another and for a
//! burst created at once. Prints p50/p99 per scenario and, given the agent's
//! PID, its RSS at idle and with the burst running.
//!
//! `cargo run --release -p kubelet --example pod_start_bench -- KUBECONFIG NODE
//! [--singles 10] [--burst 30] [--image rkube.local/busybox:1] [--agent-pid PID]`

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    kubeconfig: String,
    node: String,
    singles: usize,
    burst: usize,
    image: String,
    agent_pid: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let usage = "usage: pod_start_bench KUBECONFIG NODE [--singles N] [--burst N] [--image I] [--agent-pid PID]";
    let kubeconfig = it.next().ok_or(usage)?;
    let node = it.next().ok_or(usage)?;
    let mut a = Args {
        kubeconfig,
        node,
        singles: 10,
        burst: 30,
        image: "rkube.local/busybox:1".into(),
        agent_pid: None,
    };
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || val.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--singles" => a.singles = num()?,
            "--burst" => a.burst = num()?,
            "--image" => a.image = val.clone(),
            "--agent-pid" => a.agent_pid = Some(num()? as u32),
            _ => return Err(format!("unknown flag {flag}\n{usage}")),
        }
    }
    Ok(a)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn ready(p: &Pod) -> bool {
    p.status.as_ref().is_some_and(|s| {
        s.phase.as_deref() == Some("Running")
            && s.conditions
                .as_ref()
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    })
}

fn pod(name: &str, node: &str, image: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "pod-start"}},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent",
                                 "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}
    }))
    .expect("pod manifest")
}

/// Create `names` at once; return each one's create→Ready latency.
async fn run_batch(api: &Api<Pod>, names: &[String], a: &Args) -> anyhow::Result<Vec<Duration>> {
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let wanted: std::collections::HashSet<String> = names.iter().cloned().collect();
    let watch_api = api.clone();
    let watch = tokio::spawn(async move {
        let cfg = watcher::Config::default().labels("bench=pod-start");
        let mut s = watcher::watcher(watch_api, cfg).boxed();
        while let Some(ev) = s.next().await {
            if let Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) = ev
                && ready(&p)
                && let Some(n) = p.metadata.name.clone()
                && wanted.contains(&n)
            {
                let _ = tx.send((n, Instant::now()));
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut creates = Vec::new();
    for n in names {
        let api = api.clone();
        let created = created.clone();
        let p = pod(n, &a.node, &a.image);
        let n = n.clone();
        creates.push(tokio::spawn(async move {
            let t = Instant::now();
            api.create(&PostParams::default(), &p).await?;
            created.lock().expect("lock").insert(n, t);
            anyhow::Ok(())
        }));
    }
    for c in creates {
        c.await??;
    }
    let mut done: HashMap<String, Instant> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while done.len() < names.len() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((n, t))) => {
                done.entry(n).or_insert(t);
            }
            _ => anyhow::bail!("only {}/{} pods became Ready", done.len(), names.len()),
        }
    }
    watch.abort();
    let created = created.lock().expect("lock");
    Ok(names
        .iter()
        .filter_map(|n| Some(done.get(n)?.duration_since(*created.get(n)?)))
        .collect())
}

async fn delete_all(api: &Api<Pod>) -> anyhow::Result<()> {
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("bench=pod-start"),
    )
    .await?;
    for _ in 0..600 {
        if api
            .list(&ListParams::default().labels("bench=pod-start"))
            .await?
            .items
            .is_empty()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("bench pods were not deleted")
}

fn report(what: &str, mut d: Vec<Duration>) {
    d.sort();
    let pct = |p: f64| {
        let i = ((d.len() as f64 * p).ceil() as usize).clamp(1, d.len()) - 1;
        d[i].as_secs_f64() * 1000.0
    };
    println!(
        "{what}: n={} p50={:.0} ms p99={:.0} ms max={:.0} ms",
        d.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let a = parse_args().map_err(anyhow::Error::msg)?;
    let kc = kube::config::Kubeconfig::read_from(&a.kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    let api: Api<Pod> = Api::namespaced(Client::try_from(cfg)?, "default");
    delete_all(&api).await?;
    if let Some(pid) = a.agent_pid {
        tokio::time::sleep(Duration::from_secs(5)).await;
        println!("agent RSS idle: {} KiB", rss_kib(pid).unwrap_or(0));
    }
    let mut singles = Vec::new();
    for i in 0..a.singles {
        let names = vec![format!("single-{i}")];
        singles.extend(run_batch(&api, &names, &a).await?);
        delete_all(&api).await?;
    }
    if !singles.is_empty() {
        report("1 pod at a time, create→Running+Ready", singles);
    }
    if a.burst > 0 {
        let names: Vec<String> = (0..a.burst).map(|i| format!("burst-{i}")).collect();
        let d = run_batch(&api, &names, &a).await?;
        report(
            &format!("{} pods at once, create→Running+Ready", a.burst),
            d,
        );
        if let Some(pid) = a.agent_pid {
            println!(
                "agent RSS with {} pods: {} KiB",
                a.burst,
                rss_kib(pid).unwrap_or(0)
            );
        }
        delete_all(&api).await?;
    }
    Ok(())
}
