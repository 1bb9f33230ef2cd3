//! Node Leases in `kube-node-lease` and the periodic node status heartbeat.
//! Renewals run on a timing wheel: every node hashes to one slot of the
//! lease interval, so 5,000 nodes renew as a steady trickle (500/s at 10 s)
//! instead of a burst, with a bounded number of writes in flight. A slow
//! server delays the wheel rather than piling up requests.

use crate::{SimConfig, node, stopped};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// Upstream kubelet's nodeLeaseDurationSeconds.
pub const LEASE_DURATION_SECONDS: i32 = 40;
const TICK: Duration = Duration::from_millis(100);

/// `kube-node-lease` exists in every rkube cluster; create it where it does not.
pub async fn ensure_namespace(client: &kube::Client) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Result<Namespace, _> =
        serde_json::from_value(json!({"metadata": {"name": LEASE_NAMESPACE}}));
    if let Ok(ns) = ns
        && let Err(e) = api.create(&PostParams::default(), &ns).await
        && !matches!(&e, kube::Error::Api(s) if s.code == 409)
    {
        tracing::warn!("creating namespace {LEASE_NAMESPACE}: {e}");
    }
}

fn lease_object(name: &str, node_uid: &str) -> Result<Lease, kube::Error> {
    let mut meta = json!({"name": name, "namespace": LEASE_NAMESPACE});
    if !node_uid.is_empty() {
        meta["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid,
        }]);
    }
    serde_json::from_value(json!({
        "metadata": meta,
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": crate::time::micro_time(jiff::Timestamp::now()),
        },
    }))
    .map_err(kube::Error::SerdeError)
}

/// Create the node's Lease, or renew the one an earlier run left.
pub async fn create(
    client: &kube::Client,
    name: &str,
    node_uid: &str,
    _cfg: &SimConfig,
) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    match api
        .create(&PostParams::default(), &lease_object(name, node_uid)?)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => renew(client, name).await,
        Err(e) => Err(e),
    }
}

/// Move the Lease's renewTime to now; recreate it if someone deleted it.
pub async fn renew(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let patch = json!({"spec": {
        "holderIdentity": name,
        "renewTime": crate::time::micro_time(jiff::Timestamp::now()),
    }});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => api
            .create(&PostParams::default(), &lease_object(name, "")?)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Which slot of the wheel each node renews in: a stable hash of its name,
/// so restarts keep the spread and neighbours do not renew together.
fn slots(nodes: &[String], count: usize) -> Vec<Vec<String>> {
    let mut wheel = vec![Vec::new(); count.max(1)];
    for n in nodes {
        let slot = (node::fnv(n) % wheel.len() as u128) as usize;
        wheel[slot].push(n.clone());
    }
    wheel
}

/// Renew every node's Lease once per lease interval, and re-post node
/// status once per status report interval, until stopped.
pub async fn keep_alive(
    client: kube::Client,
    cfg: Arc<SimConfig>,
    nodes: Arc<Vec<String>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let slot_count = (cfg.lease_interval.as_millis() / TICK.as_millis()).max(1) as usize;
    let wheel = slots(&nodes, slot_count);
    let heartbeat_every = (cfg.status_report_interval.as_millis()
        / cfg.lease_interval.as_millis().max(1))
    .max(1) as u64;
    let mut ticker = tokio::time::interval(cfg.lease_interval / slot_count as u32);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once; registration has just renewed everything.
    ticker.tick().await;
    let mut tick: u64 = 0;
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        let slot = (tick % slot_count as u64) as usize;
        let round = tick / slot_count as u64 + 1;
        tick += 1;
        let heartbeat = round.is_multiple_of(heartbeat_every);
        let work = futures::stream::iter(wheel[slot].iter()).for_each_concurrent(
            cfg.concurrency,
            |name| {
                let client = client.clone();
                async move {
                    if let Err(e) = renew(&client, name).await {
                        tracing::debug!(node = %name, "renewing lease: {e}");
                    }
                    if heartbeat && let Err(e) = node::heartbeat(&client, name).await {
                        tracing::debug!(node = %name, "node status heartbeat: {e}");
                    }
                }
            },
        );
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = work => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_spreads_nodes_evenly() {
        let nodes: Vec<String> = (0..5000).map(|i| node::node_name("sim-node-", i)).collect();
        let wheel = slots(&nodes, 100);
        assert_eq!(wheel.iter().map(Vec::len).sum::<usize>(), 5000);
        let max = wheel.iter().map(Vec::len).max().unwrap_or(0);
        let min = wheel.iter().map(Vec::len).min().unwrap_or(0);
        // 50 per slot on average; a hash keeps every slot within 2x of it.
        assert!(max < 100 && min > 20, "uneven wheel: min {min} max {max}");
    }
}
