//! Trimming the slack out of cached objects. serde fills a `Vec` of unknown
//! length by doubling, so a decoded Pod's four conditions sit in room for
//! eight and its one container status (752 bytes) in room for four. A cache
//! holds every object for as long as it exists, so with tens of thousands of
//! Pods the slack is hundreds of megabytes; the cache shrinks the lists of
//! the types it holds many of before keeping them.

use k8s_openapi::api::core::v1::{Container, Node, Pod, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::any::Any;

/// Shrink `obj`'s lists to their lengths, for the types that come in large
/// numbers (Pods, Nodes); other types are left as they are.
pub fn compact<K: Any>(obj: &mut K) {
    let any = obj as &mut dyn Any;
    if let Some(pod) = any.downcast_mut::<Pod>() {
        compact_pod(pod);
    } else if let Some(node) = any.downcast_mut::<Node>() {
        compact_node(node);
    }
}

fn shrink<T>(v: &mut Option<Vec<T>>) {
    if let Some(v) = v {
        v.shrink_to_fit();
    }
}

fn compact_meta(meta: &mut ObjectMeta) {
    shrink(&mut meta.owner_references);
    shrink(&mut meta.finalizers);
}

fn compact_container(c: &mut Container) {
    shrink(&mut c.command);
    shrink(&mut c.args);
    shrink(&mut c.env);
    shrink(&mut c.env_from);
    shrink(&mut c.ports);
    shrink(&mut c.volume_mounts);
    shrink(&mut c.volume_devices);
    shrink(&mut c.resize_policy);
}

fn compact_volume(v: &mut Volume) {
    if let Some(p) = v.projected.as_mut() {
        shrink(&mut p.sources);
        for s in p.sources.iter_mut().flatten() {
            if let Some(cm) = s.config_map.as_mut() {
                shrink(&mut cm.items);
            }
            if let Some(sec) = s.secret.as_mut() {
                shrink(&mut sec.items);
            }
            if let Some(d) = s.downward_api.as_mut() {
                shrink(&mut d.items);
            }
        }
    }
    if let Some(cm) = v.config_map.as_mut() {
        shrink(&mut cm.items);
    }
    if let Some(sec) = v.secret.as_mut() {
        shrink(&mut sec.items);
    }
}

fn compact_pod(pod: &mut Pod) {
    compact_meta(&mut pod.metadata);
    if let Some(spec) = pod.spec.as_mut() {
        spec.containers.shrink_to_fit();
        spec.containers.iter_mut().for_each(compact_container);
        shrink(&mut spec.init_containers);
        spec.init_containers
            .iter_mut()
            .flatten()
            .for_each(compact_container);
        shrink(&mut spec.volumes);
        spec.volumes.iter_mut().flatten().for_each(compact_volume);
        shrink(&mut spec.tolerations);
        shrink(&mut spec.image_pull_secrets);
        shrink(&mut spec.host_aliases);
        shrink(&mut spec.topology_spread_constraints);
        shrink(&mut spec.readiness_gates);
        shrink(&mut spec.scheduling_gates);
        shrink(&mut spec.resource_claims);
    }
    if let Some(status) = pod.status.as_mut() {
        shrink(&mut status.conditions);
        shrink(&mut status.container_statuses);
        shrink(&mut status.init_container_statuses);
        shrink(&mut status.ephemeral_container_statuses);
        shrink(&mut status.pod_ips);
        shrink(&mut status.host_ips);
        shrink(&mut status.resource_claim_statuses);
    }
}

fn compact_node(node: &mut Node) {
    compact_meta(&mut node.metadata);
    if let Some(spec) = node.spec.as_mut() {
        shrink(&mut spec.taints);
        shrink(&mut spec.pod_cidrs);
    }
    if let Some(status) = node.status.as_mut() {
        shrink(&mut status.conditions);
        shrink(&mut status.addresses);
        shrink(&mut status.images);
        shrink(&mut status.volumes_attached);
        shrink(&mut status.volumes_in_use);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    #[test]
    fn decoded_pod_lists_are_shrunk_to_their_lengths() {
        // From text, as a watch decodes it (a JSON value would give exact sizes).
        let text = json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "env": [{"name": "A"}]}],
                     "tolerations": [{"key": "a"}, {"key": "b"}, {"key": "c"}]},
            "status": {"conditions": [
                {"type": "A", "status": "True"}, {"type": "B", "status": "True"},
                {"type": "C", "status": "True"}, {"type": "D", "status": "True"},
                {"type": "E", "status": "True"}],
                "containerStatuses": [{"name": "c", "image": "i", "imageID": "",
                    "ready": true, "restartCount": 0}]},
        })
        .to_string();
        let mut pod: Pod = serde_json::from_str(&text).unwrap();
        // serde's doubling left room to spare: the case this module exists for.
        let status = pod.status.as_ref().unwrap();
        assert!(status.conditions.as_ref().unwrap().capacity() > 5);
        assert!(status.container_statuses.as_ref().unwrap().capacity() > 1);
        let before = pod.clone();
        compact(&mut pod);
        assert_eq!(pod, before, "compaction changes no value");
        let status = pod.status.as_ref().unwrap();
        assert_eq!(status.conditions.as_ref().unwrap().capacity(), 5);
        assert_eq!(status.container_statuses.as_ref().unwrap().capacity(), 1);
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.tolerations.as_ref().unwrap().capacity(), 3);
    }

    #[test]
    fn nodes_are_shrunk_and_other_types_left_alone() {
        let text = json!({
            "metadata": {"name": "n"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]},
        })
        .to_string();
        let mut node: Node = serde_json::from_str(&text).unwrap();
        assert!(
            node.status
                .as_ref()
                .unwrap()
                .addresses
                .as_ref()
                .unwrap()
                .capacity()
                > 1
        );
        compact(&mut node);
        let addrs = node.status.unwrap().addresses.unwrap();
        assert_eq!(addrs.capacity(), 1);
        let mut cm = ConfigMap::default();
        compact(&mut cm);
        assert_eq!(cm, ConfigMap::default());
    }
}
