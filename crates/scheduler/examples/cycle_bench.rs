//! In-memory benchmark of the scheduling cycle alone (no API): 5,000 nodes,
//! N pods (default 10,000; first argument), default profile. Each pod is
//! scheduled, then assumed in the cache, and the snapshot is updated
//! incrementally before the next cycle — as the real loop does.
//! `cargo run --release -p scheduler --example cycle_bench -- 10000`

use k8s_openapi::api::core::v1::{Node, Pod};
use scheduler::cache::Cache;
use scheduler::cycle::Algorithm;
use scheduler::framework::{PodInfo, Snapshot};
use scheduler::profile::Profile;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let pods: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let nodes = 5_000;
    let cache = Cache::new();
    for i in 0..nodes {
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": format!("node-{i:05}"),
                "labels": {"kubernetes.io/hostname": format!("node-{i:05}"), "zone": format!("z{}", i % 3)}},
            "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"}}
        }))
        .expect("node");
        cache.add_or_update_node(Arc::new(n));
    }
    let profile = Profile::build(&scheduler::SchedulerConfig::default(), None).expect("profile");
    let mut alg = Algorithm::with_seed(42);
    let mut snap = Snapshot::default();
    let template: Pod = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}
    }))
    .expect("pod");
    let start = Instant::now();
    let mut lat = Vec::with_capacity(pods);
    for i in 0..pods {
        let t0 = Instant::now();
        let mut p = template.clone();
        p.metadata.name = Some(format!("pod-{i}"));
        p.metadata.uid = Some(format!("uid-{i}"));
        cache.update_snapshot(&mut snap);
        let pi = PodInfo::new(Arc::new(p));
        let (_, r) = alg.schedule(&profile, &pi, &snap);
        let node = r.expect("fits");
        let mut bound = (*pi.pod).clone();
        if let Some(s) = bound.spec.as_mut() {
            s.node_name = Some(node.clone());
        }
        cache.assume(
            Arc::new(PodInfo {
                pod: Arc::new(bound),
                ..pi
            }),
            &node,
        );
        lat.push(t0.elapsed());
    }
    let total = start.elapsed();
    lat.sort();
    let pct = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "{pods} pods on {nodes} nodes: {:.0} pods/s (cycle p50 {:?}, p99 {:?})",
        pods as f64 / total.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
}
