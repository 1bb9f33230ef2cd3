//! The scheduler's cache: one `NodeInfo` per node with the pods counted on
//! it — bound pods seen through the informer, and pods the scheduler has
//! *assumed* onto a node while their binding is in flight, so the next
//! cycle already sees them. Snapshots are updated incrementally: only the
//! nodes changed since the last snapshot are copied in (copy-on-write
//! `Arc<NodeInfo>`), so a cycle costs O(changes), not O(cluster).

use crate::framework::{NodeInfo, PodInfo, Snapshot};
use k8s_openapi::api::core::v1::{Node, Pod};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

struct NodeEntry {
    info: Arc<NodeInfo>,
    /// False while pods name a node the informer has not shown (yet).
    present: bool,
}

struct PodEntry {
    node: String,
    assumed: bool,
}

#[derive(Default)]
struct Inner {
    nodes: HashMap<String, NodeEntry>,
    pods: HashMap<String, PodEntry>,
    /// Nodes changed since the last snapshot.
    dirty: HashSet<String>,
    /// Nodes were added or removed: the snapshot's list must be rebuilt.
    structure_changed: bool,
    image_nodes: HashMap<String, usize>,
    images_changed: bool,
    generation: u64,
}

/// Whether a pod counts toward its node: bound and not finished.
pub fn counts_on_node(pod: &Pod) -> Option<&str> {
    let node = pod
        .spec
        .as_ref()?
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())?;
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded") | Some("Failed")) {
        return None;
    }
    Some(node)
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

impl Inner {
    fn touch(&mut self, name: &str) -> &mut NodeInfo {
        self.generation += 1;
        let generation = self.generation;
        if !self.nodes.contains_key(name) {
            let placeholder = Node {
                metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    name: Some(name.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            };
            self.nodes.insert(
                name.to_string(),
                NodeEntry {
                    info: Arc::new(NodeInfo::new(Arc::new(placeholder))),
                    present: false,
                },
            );
        }
        self.dirty.insert(name.to_string());
        let e = self.nodes.get_mut(name).expect("inserted above");
        let info = Arc::make_mut(&mut e.info);
        info.generation = generation;
        info
    }

    fn count_images(&mut self, images: &HashMap<String, i64>, add: bool) {
        for img in images.keys() {
            let c = self.image_nodes.entry(img.clone()).or_default();
            if add {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.image_nodes.remove(img);
                }
            }
        }
        if !images.is_empty() {
            self.images_changed = true;
        }
    }

    fn remove_pod(&mut self, uid: &str) {
        let Some(p) = self.pods.remove(uid) else {
            return;
        };
        self.touch(&p.node).remove_pod(uid);
        self.drop_if_empty(&p.node);
    }

    fn drop_if_empty(&mut self, name: &str) {
        if self
            .nodes
            .get(name)
            .is_some_and(|e| !e.present && e.info.pods.is_empty())
        {
            self.nodes.remove(name);
            self.dirty.remove(name);
        }
    }

    fn add_pod(&mut self, pi: Arc<PodInfo>, node: &str, assumed: bool) {
        let uid = pi.uid().to_string();
        self.touch(node).add_pod(pi);
        self.pods.insert(
            uid,
            PodEntry {
                node: node.to_string(),
                assumed,
            },
        );
    }
}

#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

impl Cache {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not stop scheduling: the data stays usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_or_update_node(&self, node: Arc<Node>) {
        let Some(name) = node.metadata.name.clone() else {
            return;
        };
        let mut g = self.lock();
        let (was_present, old_images) = match g.nodes.get(&name) {
            Some(e) => (e.present, e.present.then(|| e.info.images.clone())),
            None => (false, None),
        };
        if let Some(imgs) = old_images {
            g.count_images(&imgs, false);
        }
        g.touch(&name).set_node(node);
        let e = g.nodes.get_mut(&name).expect("touched");
        e.present = true;
        let info = e.info.clone();
        g.count_images(&info.images, true);
        if !was_present {
            g.structure_changed = true;
        }
    }

    pub fn remove_node(&self, name: &str) {
        let mut g = self.lock();
        let Some(e) = g.nodes.get(name) else {
            return;
        };
        if !e.present {
            return;
        }
        let info = e.info.clone();
        g.count_images(&info.images, false);
        if let Some(e) = g.nodes.get_mut(name) {
            e.present = false;
        }
        g.structure_changed = true;
        g.drop_if_empty(name);
    }

    /// A pod as the informer shows it: counted on its node when bound and
    /// not finished (confirming an assumed pod), dropped otherwise.
    pub fn add_or_update_pod(&self, pod: &Arc<Pod>) {
        let uid = uid(pod);
        let mut g = self.lock();
        match counts_on_node(pod) {
            None => g.remove_pod(uid),
            Some(node) => {
                g.remove_pod(uid);
                g.add_pod(Arc::new(PodInfo::new(pod.clone())), node, false);
            }
        }
    }

    pub fn remove_pod(&self, pod: &Pod) {
        self.lock().remove_pod(uid(pod));
    }

    /// Count `pi` on `node` before its binding is confirmed. `pi.pod`
    /// should carry `spec.nodeName` so plugins see where it runs.
    pub fn assume(&self, pi: Arc<PodInfo>, node: &str) {
        let mut g = self.lock();
        let uid = pi.uid().to_string();
        g.remove_pod(&uid);
        g.add_pod(pi, node, true);
    }

    /// Undo `assume` after a failed binding (no-op when the informer has
    /// since shown the pod bound).
    pub fn forget(&self, uid: &str) {
        let mut g = self.lock();
        if g.pods.get(uid).is_some_and(|p| p.assumed) {
            g.remove_pod(uid);
        }
    }

    pub fn is_assumed(&self, uid: &str) -> bool {
        self.lock().pods.get(uid).is_some_and(|p| p.assumed)
    }

    pub fn node_count(&self) -> usize {
        self.lock().nodes.values().filter(|e| e.present).count()
    }

    pub fn pod_count(&self) -> usize {
        self.lock().pods.len()
    }

    /// Bring `snap` up to date, copying only the nodes that changed.
    pub fn update_snapshot(&self, snap: &mut Snapshot) {
        let mut g = self.lock();
        if g.structure_changed {
            let mut nodes: Vec<Arc<NodeInfo>> = g
                .nodes
                .values()
                .filter(|e| e.present)
                .map(|e| e.info.clone())
                .collect();
            nodes.sort_by(|a, b| a.name().cmp(b.name()));
            let image_nodes = g.image_nodes.clone();
            *snap = Snapshot::new(nodes);
            snap.image_nodes = image_nodes;
            g.structure_changed = false;
            g.images_changed = false;
            g.dirty.clear();
            return;
        }
        let dirty = std::mem::take(&mut g.dirty);
        for name in &dirty {
            if let (Some(&i), Some(e)) = (snap.index.get(name), g.nodes.get(name)) {
                snap.nodes[i] = e.info.clone();
            }
        }
        if g.images_changed {
            snap.image_nodes = g.image_nodes.clone();
            g.images_changed = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str) -> Arc<Node> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name},
                "status": {"allocatable": {"cpu": "4", "memory": "4Gi", "pods": "10"}}}))
            .unwrap(),
        )
    }

    fn pod(uid: &str, node: Option<&str>, phase: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(
                json!({"metadata": {"name": uid, "namespace": "d", "uid": uid},
                "spec": {"nodeName": node, "containers": [{"name": "c",
                    "resources": {"requests": {"cpu": "1"}}}]},
                "status": {"phase": phase}}),
            )
            .unwrap(),
        )
    }

    #[test]
    fn snapshot_sees_bound_and_assumed_pods_incrementally() {
        let c = Cache::new();
        c.add_or_update_node(node("a"));
        c.add_or_update_node(node("b"));
        let mut s = Snapshot::default();
        c.update_snapshot(&mut s);
        assert_eq!(s.nodes.len(), 2);
        let before_b = s.get("b").unwrap().clone();

        c.add_or_update_pod(&pod("x", Some("a"), "Running"));
        c.assume(Arc::new(PodInfo::new(pod("y", Some("a"), "Pending"))), "a");
        c.update_snapshot(&mut s);
        assert_eq!(s.get("a").unwrap().requested.milli_cpu, 2000);
        // Unchanged nodes are not copied.
        assert!(Arc::ptr_eq(&before_b, s.get("b").unwrap()));
        assert!(c.is_assumed("y"));

        // The watch echo confirms the assumed pod; forget is then a no-op.
        c.add_or_update_pod(&pod("y", Some("a"), "Pending"));
        assert!(!c.is_assumed("y"));
        c.forget("y");
        c.update_snapshot(&mut s);
        assert_eq!(s.get("a").unwrap().pods.len(), 2);

        // Finished pods stop counting.
        c.add_or_update_pod(&pod("x", Some("a"), "Succeeded"));
        c.update_snapshot(&mut s);
        assert_eq!(s.get("a").unwrap().requested.milli_cpu, 1000);
    }

    #[test]
    fn forget_undoes_assume_and_removed_nodes_leave_the_snapshot() {
        let c = Cache::new();
        c.add_or_update_node(node("a"));
        c.assume(Arc::new(PodInfo::new(pod("y", Some("a"), "Pending"))), "a");
        c.forget("y");
        let mut s = Snapshot::default();
        c.update_snapshot(&mut s);
        assert_eq!(s.get("a").unwrap().pods.len(), 0);
        c.remove_node("a");
        c.update_snapshot(&mut s);
        assert!(s.nodes.is_empty());
        assert_eq!(c.node_count(), 0);
        // A pod on an unknown node is kept until its node appears.
        c.add_or_update_pod(&pod("z", Some("later"), "Running"));
        c.update_snapshot(&mut s);
        assert!(s.get("later").is_none());
        c.add_or_update_node(node("later"));
        c.update_snapshot(&mut s);
        assert_eq!(s.get("later").unwrap().pods.len(), 1);
    }
}
