//! The dependency graph of the garbage collector (upstream's GraphBuilder
//! `uidToNode`): one node per object uid, with its owner references and the
//! uids of its dependents. Owners referenced but not (yet) observed are
//! "virtual" nodes that a worker verifies with a live GET. Every change
//! returns the work it causes, so graph updates stay per object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::{HashMap, HashSet};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// Coordinates of an object, as an owner reference or the watch gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    /// The namespace the object lives in; for a virtual node, the namespace
    /// of the dependent that referenced it (resolved by scope at GET time).
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub identity: Identity,
    pub owners: Vec<OwnerReference>,
    pub dependents: HashSet<String>,
    pub being_deleted: bool,
    /// Being deleted with the `foregroundDeletion` finalizer.
    pub deleting_dependents: bool,
    /// Known only from an owner reference, not observed by a watch.
    pub virtual_node: bool,
}

/// Work a graph change asks of the workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    AttemptToDelete(String),
    AttemptToOrphan(String),
}

/// What the watch observed of one object.
pub struct Observed<'a> {
    pub identity: Identity,
    pub owners: Vec<OwnerReference>,
    pub being_deleted: bool,
    pub finalizers: &'a [String],
}

#[derive(Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The dependents of `uid` whose reference to it blocks its deletion.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<&Node> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        node.dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| {
                d.owners
                    .iter()
                    .any(|r| r.uid == uid && r.block_owner_deletion == Some(true))
            })
            .collect()
    }

    /// An object was added or updated.
    pub fn upsert(&mut self, obs: Observed<'_>) -> Vec<Work> {
        let mut work = Vec::new();
        let uid = obs.identity.uid.clone();
        let has = |f: &str| obs.finalizers.iter().any(|x| x == f);
        let deleting_dependents = obs.being_deleted && has(FOREGROUND);
        let old_owners = match self.nodes.get_mut(&uid) {
            Some(node) => {
                node.identity = obs.identity.clone();
                node.virtual_node = false;
                node.being_deleted = obs.being_deleted;
                node.deleting_dependents = deleting_dependents;
                std::mem::replace(&mut node.owners, obs.owners.clone())
            }
            None => {
                self.nodes.insert(
                    uid.clone(),
                    Node {
                        identity: obs.identity.clone(),
                        owners: obs.owners.clone(),
                        dependents: HashSet::new(),
                        being_deleted: obs.being_deleted,
                        deleting_dependents,
                        virtual_node: false,
                    },
                );
                Vec::new()
            }
        };
        // Owners dropped, or whose reference stopped blocking: an owner
        // waiting for its dependents must look again.
        for old in &old_owners {
            let now = obs.owners.iter().find(|r| r.uid == old.uid);
            let unblocked = old.block_owner_deletion == Some(true)
                && now.is_none_or(|r| r.block_owner_deletion != Some(true));
            if now.is_none()
                && let Some(owner) = self.nodes.get_mut(&old.uid)
            {
                owner.dependents.remove(&uid);
            }
            if (now.is_none() || unblocked)
                && self
                    .nodes
                    .get(&old.uid)
                    .is_some_and(|o| o.deleting_dependents)
            {
                work.push(Work::AttemptToDelete(old.uid.clone()));
            }
        }
        for r in &obs.owners {
            if old_owners.iter().any(|o| o.uid == r.uid) {
                continue;
            }
            match self.nodes.get_mut(&r.uid) {
                Some(owner) => {
                    owner.dependents.insert(uid.clone());
                }
                None => {
                    let mut dependents = HashSet::new();
                    dependents.insert(uid.clone());
                    self.nodes.insert(
                        r.uid.clone(),
                        Node {
                            identity: Identity {
                                api_version: r.api_version.clone(),
                                kind: r.kind.clone(),
                                namespace: obs.identity.namespace.clone(),
                                name: r.name.clone(),
                                uid: r.uid.clone(),
                            },
                            owners: Vec::new(),
                            dependents,
                            being_deleted: false,
                            deleting_dependents: false,
                            virtual_node: true,
                        },
                    );
                    work.push(Work::AttemptToDelete(r.uid.clone()));
                }
            }
        }
        if obs.being_deleted && has(ORPHAN) {
            work.push(Work::AttemptToOrphan(uid.clone()));
        }
        if deleting_dependents {
            if let Some(node) = self.nodes.get(&uid) {
                work.extend(
                    node.dependents
                        .iter()
                        .map(|d| Work::AttemptToDelete(d.clone())),
                );
            }
            work.push(Work::AttemptToDelete(uid));
        }
        work
    }

    /// An object is gone: its dependents must be looked at, and owners
    /// waiting for it may now finish.
    pub fn remove(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        let mut work = Vec::new();
        for r in &node.owners {
            if let Some(owner) = self.nodes.get_mut(&r.uid) {
                owner.dependents.remove(uid);
                if owner.deleting_dependents {
                    work.push(Work::AttemptToDelete(r.uid.clone()));
                }
                // A virtual owner nobody points at any more is dropped.
                if owner.virtual_node && owner.dependents.is_empty() {
                    self.nodes.remove(&r.uid);
                }
            }
        }
        for d in &node.dependents {
            if self.nodes.contains_key(d) {
                work.push(Work::AttemptToDelete(d.clone()));
            }
        }
        // Dependents keep pointing at the uid: keep a virtual node for them
        // so a later absent-owner check finds it gone.
        if !node.dependents.is_empty() {
            let mut v = node;
            v.virtual_node = true;
            v.owners.clear();
            v.being_deleted = false;
            v.deleting_dependents = false;
            self.nodes.insert(uid.to_string(), v);
        }
        work
    }

    /// A worker found the object of a node absent: drop the node and look
    /// at its dependents.
    pub fn remove_absent(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        let mut work = Vec::new();
        for r in &node.owners {
            if let Some(owner) = self.nodes.get_mut(&r.uid) {
                owner.dependents.remove(uid);
                if owner.deleting_dependents {
                    work.push(Work::AttemptToDelete(r.uid.clone()));
                }
            }
        }
        work.extend(
            node.dependents
                .iter()
                .filter(|d| self.nodes.contains_key(*d))
                .map(|d| Work::AttemptToDelete(d.clone())),
        );
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(kind: &str, name: &str, uid: &str) -> Identity {
        Identity {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
            uid: uid.into(),
        }
    }

    fn oref(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: format!("owner-{uid}"),
            uid: uid.into(),
            block_owner_deletion: Some(block),
            ..Default::default()
        }
    }

    fn obs(id: Identity, owners: Vec<OwnerReference>) -> Observed<'static> {
        Observed {
            identity: id,
            owners,
            being_deleted: false,
            finalizers: &[],
        }
    }

    #[test]
    fn unknown_owner_becomes_virtual_and_is_verified() {
        let mut g = Graph::default();
        let w = g.upsert(obs(ident("Pod", "p", "p1"), vec![oref("o1", false)]));
        assert_eq!(w, vec![Work::AttemptToDelete("o1".into())]);
        assert!(g.get("o1").is_some_and(|n| n.virtual_node));
        // Observing the owner makes it real.
        let w = g.upsert(obs(ident("ConfigMap", "owner-o1", "o1"), vec![]));
        assert!(w.is_empty());
        assert!(g.get("o1").is_some_and(|n| !n.virtual_node));
        assert!(g.get("o1").is_some_and(|n| n.dependents.contains("p1")));
    }

    #[test]
    fn removing_owner_enqueues_dependents() {
        let mut g = Graph::default();
        g.upsert(obs(ident("ConfigMap", "owner-o1", "o1"), vec![]));
        g.upsert(obs(ident("Pod", "p", "p1"), vec![oref("o1", false)]));
        let w = g.remove("o1");
        assert_eq!(w, vec![Work::AttemptToDelete("p1".into())]);
        // The dependent removed, the leftover virtual owner goes too.
        g.remove("p1");
        assert!(g.is_empty());
    }

    #[test]
    fn foreground_owner_waits_for_blocking_dependents() {
        let mut g = Graph::default();
        g.upsert(obs(ident("ConfigMap", "owner-o1", "o1"), vec![]));
        g.upsert(obs(ident("Pod", "a", "a"), vec![oref("o1", true)]));
        g.upsert(obs(ident("Pod", "b", "b"), vec![oref("o1", false)]));
        let fins = vec![FOREGROUND.to_string()];
        let w = g.upsert(Observed {
            identity: ident("ConfigMap", "owner-o1", "o1"),
            owners: vec![],
            being_deleted: true,
            finalizers: &fins,
        });
        assert!(w.contains(&Work::AttemptToDelete("a".into())));
        assert!(w.contains(&Work::AttemptToDelete("b".into())));
        assert_eq!(w.last(), Some(&Work::AttemptToDelete("o1".into())));
        let blocking: Vec<_> = g
            .blocking_dependents("o1")
            .iter()
            .map(|n| n.identity.uid.clone())
            .collect();
        assert_eq!(blocking, vec!["a".to_string()]);
        assert_eq!(g.remove("a"), vec![Work::AttemptToDelete("o1".into())]);
        assert!(g.blocking_dependents("o1").is_empty());
    }

    #[test]
    fn orphan_finalizer_asks_for_orphaning() {
        let mut g = Graph::default();
        let fins = vec![ORPHAN.to_string()];
        let w = g.upsert(Observed {
            identity: ident("ConfigMap", "o", "o1"),
            owners: vec![],
            being_deleted: true,
            finalizers: &fins,
        });
        assert_eq!(w, vec![Work::AttemptToOrphan("o1".into())]);
    }

    #[test]
    fn dropping_an_owner_reference_unlinks() {
        let mut g = Graph::default();
        g.upsert(obs(ident("ConfigMap", "owner-o1", "o1"), vec![]));
        g.upsert(obs(ident("Pod", "p", "p1"), vec![oref("o1", true)]));
        g.upsert(obs(ident("Pod", "p", "p1"), vec![]));
        assert!(g.get("o1").is_some_and(|n| n.dependents.is_empty()));
    }
}
