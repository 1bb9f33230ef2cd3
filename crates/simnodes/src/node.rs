//! The simulated Node objects: names and fake addresses, the Node a kubelet
//! would register (labels, pod CIDR, taints), its status (capacity,
//! conditions with upstream's reasons, addresses, nodeInfo), and
//! registration with bounded concurrency.

use crate::{Error, SIM_ANNOTATION, SIM_LABEL, SimConfig};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub const KUBELET_VERSION: &str = "v1.33.0";
pub const RUNTIME_VERSION: &str = "sim://1";

pub fn node_name(prefix: &str, index: usize) -> String {
    format!("{prefix}{index}")
}

/// A fake InternalIP: 172.16.0.1 onwards, one per node (a /12 holds ~1M nodes).
pub fn node_internal_ip(index: usize) -> String {
    let n = (index as u32 + 1) & 0x000f_ffff;
    format!("172.{}.{}.{}", 16 + (n >> 16), (n >> 8) & 0xff, n & 0xff)
}

/// The node's pod CIDR, a /24 out of 10.0.0.0/8 (65,536 nodes before reuse).
pub fn node_pod_cidr(index: usize) -> String {
    let n = index as u32 & 0xffff;
    format!("10.{}.{}.0/24", n >> 8, n & 0xff)
}

/// The Node object as registration creates it.
pub fn node_object(cfg: &SimConfig, index: usize) -> Value {
    let name = node_name(&cfg.name_prefix, index);
    let mut labels = serde_json::Map::new();
    for (k, v) in &cfg.labels {
        labels.insert(k.clone(), json!(v));
    }
    for (k, v) in [
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/hostname", name.as_str()),
        ("node.kubernetes.io/instance-type", "sim"),
        SIM_LABEL,
    ] {
        labels.insert(k.into(), json!(v));
    }
    if cfg.zones > 0 {
        labels.insert(
            "topology.kubernetes.io/zone".into(),
            json!(format!("zone-{}", index % cfg.zones)),
        );
        labels.insert("topology.kubernetes.io/region".into(), json!("sim"));
    }
    let taints: Vec<Value> = cfg
        .taints
        .iter()
        .map(|t| {
            let mut o = json!({"key": t.key, "effect": t.effect});
            if !t.value.is_empty() {
                o["value"] = json!(t.value);
            }
            o
        })
        .collect();
    let cidr = node_pod_cidr(index);
    let mut spec =
        json!({"podCIDR": cidr, "podCIDRs": [cidr], "providerID": format!("sim://{name}")});
    if !taints.is_empty() {
        spec["taints"] = Value::Array(taints);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                SIM_ANNOTATION: "true",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
    })
}

/// The four node conditions a healthy kubelet posts, with upstream's reasons.
pub fn conditions(heartbeat: &str, transition: &str) -> Value {
    let c = |t: &str, s: &str, reason: &str, msg: &str| {
        json!({"type": t, "status": s, "reason": reason, "message": msg,
               "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition})
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        c(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status"
        ),
    ])
}

/// The full status the node posts when it registers.
pub fn node_status(cfg: &SimConfig, index: usize, now: &str) -> Value {
    let name = node_name(&cfg.name_prefix, index);
    let resources = json!({
        "cpu": cfg.cpu,
        "memory": cfg.memory,
        "pods": cfg.pods,
        "ephemeral-storage": cfg.ephemeral_storage,
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    });
    let id = format!("{:032x}", fnv(&name));
    json!({
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": conditions(now, now),
            "addresses": [
                {"type": "InternalIP", "address": node_internal_ip(index)},
                {"type": "Hostname", "address": name},
            ],
            // No kubelet listens for a simulated node: port 0 keeps the
            // metrics scraper from trying thousands of dead addresses.
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": {
                "machineID": id,
                "systemUUID": id,
                "bootID": id,
                "kernelVersion": "6.1.0-sim",
                "osImage": "rkube simulated node",
                "containerRuntimeVersion": RUNTIME_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "phase": "Running",
        }
    })
}

/// A cheap stable hash for fake ids (FNV-1a, 128 bits out of two 64-bit runs).
pub fn fnv(s: &str) -> u128 {
    let run = |seed: u64| {
        s.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    (u128::from(run(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(run(0x8422_2325_cbf2_9ce4))
}

/// Create (or adopt) every node, post its status and create its Lease.
pub async fn register_all(client: &kube::Client, cfg: &SimConfig) -> Result<Vec<String>, Error> {
    crate::lease::ensure_namespace(client).await;
    futures::stream::iter(0..cfg.count)
        .map(|i| register(client, cfg, i))
        .buffer_unordered(cfg.concurrency)
        .try_collect::<Vec<String>>()
        .await?;
    Ok(cfg.node_names())
}

async fn register(client: &kube::Client, cfg: &SimConfig, index: usize) -> Result<String, Error> {
    let name = node_name(&cfg.name_prefix, index);
    let err = |source| Error::Register {
        node: name.clone(),
        source,
    };
    let nodes: Api<Node> = Api::all(client.clone());
    let obj: Node = serde_json::from_value(node_object(cfg, index))
        .map_err(|e| err(kube::Error::SerdeError(e)))?;
    let node = match nodes.create(&PostParams::default(), &obj).await {
        Ok(n) => n,
        // A node left by an earlier run is adopted, as a restarted kubelet does.
        Err(kube::Error::Api(s)) if s.code == 409 => nodes.get(&name).await.map_err(err)?,
        Err(e) => return Err(err(e)),
    };
    let now = crate::time::now();
    nodes
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(node_status(cfg, index, &now)),
        )
        .await
        .map_err(err)?;
    let uid = node.metadata.uid.unwrap_or_default();
    crate::lease::create(client, &name, &uid, cfg)
        .await
        .map_err(err)?;
    Ok(name)
}

/// Re-post the heartbeat (nodeStatusReportFrequency elapsed with no
/// change). A strategic merge patch merges conditions by type, so only the
/// heartbeat times move and the transition times stay.
pub async fn heartbeat(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let now = crate::time::now();
    let conds: Vec<Value> = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        .iter()
        .map(|t| json!({"type": t, "lastHeartbeatTime": now}))
        .collect();
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": {"conditions": conds}})),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_and_well_formed() {
        assert_eq!(node_internal_ip(0), "172.16.0.1");
        assert_eq!(node_internal_ip(255), "172.16.1.0");
        assert_eq!(node_internal_ip(4999), "172.16.19.136");
        assert_eq!(node_pod_cidr(0), "10.0.0.0/24");
        assert_eq!(node_pod_cidr(4999), "10.19.135.0/24");
        let ips: std::collections::HashSet<_> = (0..5000).map(node_internal_ip).collect();
        assert_eq!(ips.len(), 5000);
    }

    #[test]
    fn node_carries_labels_zone_and_taints() {
        let cfg = SimConfig {
            zones: 3,
            taints: vec![crate::SimTaint {
                key: "dedicated".into(),
                value: String::new(),
                effect: "NoSchedule".into(),
            }],
            labels: [("team".to_string(), "a".to_string())].into(),
            ..SimConfig::default()
        };
        let n = node_object(&cfg, 4);
        let l = &n["metadata"]["labels"];
        assert_eq!(l["kubernetes.io/hostname"], "sim-node-4");
        assert_eq!(l["topology.kubernetes.io/zone"], "zone-1");
        assert_eq!(l["team"], "a");
        assert_eq!(l["type"], "sim");
        assert_eq!(
            n["spec"]["taints"][0],
            json!({"key": "dedicated", "effect": "NoSchedule"})
        );
        assert_eq!(n["spec"]["podCIDR"], "10.0.4.0/24");
        let node: Node = serde_json::from_value(n).expect("a valid Node");
        assert_eq!(node.metadata.name.as_deref(), Some("sim-node-4"));
    }

    #[test]
    fn status_is_ready_with_capacity() {
        let s = node_status(&SimConfig::default(), 0, "2025-01-01T00:00:00Z");
        let ready = s["status"]["conditions"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["type"] == "Ready"))
            .cloned()
            .expect("Ready condition");
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(s["status"]["allocatable"]["pods"], "110");
        assert_eq!(s["status"]["nodeInfo"]["kubeletVersion"], KUBELET_VERSION);
    }
}
