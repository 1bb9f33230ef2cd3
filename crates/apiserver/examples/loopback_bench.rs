//! Transport benchmark: the same kube-rs workload through HTTPS (TLS, TCP,
//! hyper on both ends) and through the in-process loopback, against one
//! in-process API server on the memory store. Prints, per transport,
//! ConfigMap creates/s and gets/s (32 concurrent callers), the CPU time per
//! request of this process (client and server both live here), and the
//! create → watch event latency percentiles.
//!
//! `cargo run --release -p apiserver --example loopback_bench [-- N]`

use apiserver::{Loopback, UserInfo};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use std::time::{Duration, Instant};

const CALLERS: usize = 32;

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}}))
        .expect("configmap")
}

/// Run `n` calls of `op` spread over CALLERS tasks; wall time and CPU time.
async fn phase<F, Fut>(n: usize, op: F) -> (Duration, Duration)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (t0, c0) = (Instant::now(), cpu_time());
    let tasks: Vec<_> = (0..CALLERS)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                for i in (w..n).step_by(CALLERS) {
                    op(i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("caller");
    }
    (t0.elapsed(), cpu_time() - c0)
}

async fn run(label: &str, client: kube::Client, ns: &str, n: usize) {
    let api: Api<ConfigMap> = Api::namespaced(client, ns);
    let creates = {
        let api = api.clone();
        phase(n, move |i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &cm(&format!("c{i}")))
                    .await
                    .expect("create");
            }
        })
        .await
    };
    let gets = {
        let api = api.clone();
        phase(n, move |i| {
            let api = api.clone();
            async move {
                api.get(&format!("c{i}")).await.expect("get");
            }
        })
        .await
    };
    // Latency: one create at a time, timed until the watch delivers it.
    let mut events = api
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    while tokio::time::timeout(Duration::from_millis(200), events.try_next())
        .await
        .is_ok()
    {}
    let mut lat = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        api.create(&PostParams::default(), &cm(&format!("w{i}")))
            .await
            .expect("create");
        loop {
            if let Some(WatchEvent::Added(_)) = events.try_next().await.expect("watch") {
                break;
            }
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    let per = |(wall, cpu): (Duration, Duration)| {
        format!(
            "{:.0}/s, {:.0} µs CPU each",
            n as f64 / wall.as_secs_f64(),
            cpu.as_micros() as f64 / n as f64
        )
    };
    println!(
        "{label:9} creates {} | gets {} | create→event p50 {:?} p99 {:?}",
        per(creates),
        per(gets),
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let ts = testkit::TestServer::start().await;
    let loopback = kube::Client::new(
        Loopback::new(
            ts.api.clone(),
            UserInfo::new("system:admin", &["system:masters"]),
        ),
        "default",
    );
    let nsapi: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(loopback.clone());
    for ns in ["https", "loopback"] {
        let obj = serde_json::from_value(json!({"metadata": {"name": ns}})).expect("namespace");
        nsapi
            .create(&PostParams::default(), &obj)
            .await
            .expect("namespace");
    }
    run("https", ts.client().await, "https", n).await;
    run("loopback", loopback, "loopback", n).await;
}
