//! ControllerRevision history shared by the StatefulSet and DaemonSet
//! controllers (upstream's pkg/controller/history): immutable snapshots of an
//! owner's pod template named `<owner>-<hash>`, numbered by `revision`,
//! deduplicated by content, pruned to `revisionHistoryLimit`, with a
//! collision count that salts the hash when two different snapshots hash
//! alike. `kubectl rollout history/undo` read these objects.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Resource};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The label upstream's generic history puts on StatefulSet revisions.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";
/// The label on DaemonSet revisions and on the pods of both kinds.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
pub use crate::replica_common::pods::{
    CONTROLLER_UID_INDEX, controller_ref as controller_of, controller_uid_index,
};
/// Names are DNS subdomains; upstream keeps the prefix within this length.
const MAX_PREFIX: usize = 223;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("controller revision: {0}")]
    Api(#[from] kube::Error),
    #[error("controller revision {0}: too many hash collisions")]
    Collisions(String),
}

/// A controller owner reference to `owner` (blocking its foreground deletion).
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    let m = owner.meta();
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// FNV-1 (32 bit), the hash upstream's history uses.
fn fnv1_32(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for b in *p {
            h = h.wrapping_mul(0x0100_0193);
            h ^= u32::from(*b);
        }
    }
    h
}

/// Upstream's `rand.SafeEncodeString`: maps every byte onto consonants and
/// digits so the result can never spell words or look like a number.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The hash of revision data salted with the collision count.
pub fn hash_data(data: &Value, collision_count: Option<i32>) -> String {
    let raw = serde_json::to_vec(&canonical(data)).unwrap_or_default();
    let probe = collision_count.map(|c| c.to_string()).unwrap_or_default();
    safe_encode(&fnv1_32(&[&raw, probe.as_bytes()]).to_string())
}

/// `v` with object keys sorted at every level, so equal data hashes alike
/// whatever order its keys arrived in (Go's encoder sorts map keys too).
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// `<prefix>-<hash>`, with the prefix cut so the name stays valid.
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let cut = if prefix.len() > MAX_PREFIX {
        let mut end = MAX_PREFIX;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        &prefix[..end]
    } else {
        prefix
    };
    format!("{cut}-{hash}")
}

/// The patch upstream stores for a pod template: `spec.template` replaced whole.
pub fn template_patch(template: &Value) -> Value {
    let mut t = template.clone();
    if let Value::Object(m) = &mut t {
        m.insert("$patch".into(), Value::String("replace".into()));
    }
    serde_json::json!({ "spec": { "template": t } })
}

/// The pod template a revision's patch holds (the inverse of `template_patch`).
pub fn template_of(rev: &ControllerRevision) -> Option<Value> {
    let mut t = rev.data.0.get("spec")?.get("template")?.clone();
    if let Value::Object(m) = &mut t {
        m.remove("$patch");
    }
    Some(t)
}

/// What a new revision is made of; `build` gives the object for one collision count.
pub struct NewRevision<'a> {
    pub owner: OwnerReference,
    pub namespace: &'a str,
    pub template_labels: BTreeMap<String, String>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub data: Value,
    pub revision: i64,
    /// `HASH_LABEL` for StatefulSets, `REVISION_HASH_LABEL` for DaemonSets.
    pub hash_label: &'static str,
}

impl NewRevision<'_> {
    pub fn build(&self, collision_count: Option<i32>) -> ControllerRevision {
        let hash = hash_data(&self.data, collision_count);
        let mut labels = self.template_labels.clone();
        labels.insert(self.hash_label.into(), hash.clone());
        ControllerRevision {
            metadata: ObjectMeta {
                name: Some(revision_name(&self.owner.name, &hash)),
                namespace: Some(self.namespace.into()),
                labels: Some(labels),
                annotations: self.annotations.clone(),
                owner_references: Some(vec![self.owner.clone()]),
                ..Default::default()
            },
            data: RawExtension(self.data.clone()),
            revision: Some(self.revision),
        }
    }
}

/// Equal revisions hold the same data (hash labels, when both carry one, must agree).
pub fn equal_revision(a: &ControllerRevision, b: &ControllerRevision, hash_label: &str) -> bool {
    let label = |r: &ControllerRevision| {
        r.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(hash_label).cloned())
    };
    if let (Some(x), Some(y)) = (label(a), label(b))
        && x != y
    {
        return false;
    }
    a.data.0 == b.data.0
}

/// Sort oldest first (by revision number, then name for a stable order).
pub fn sort_revisions(revs: &mut [Arc<ControllerRevision>]) {
    revs.sort_by(|a, b| {
        (a.revision.unwrap_or(0), a.metadata.name.as_deref())
            .cmp(&(b.revision.unwrap_or(0), b.metadata.name.as_deref()))
    });
}

/// One more than the newest revision number (1 for the first).
pub fn next_revision(sorted: &[Arc<ControllerRevision>]) -> i64 {
    sorted.last().and_then(|r| r.revision).unwrap_or(0) + 1
}

/// Find or make the revision matching `new` among the owner's `sorted`
/// revisions: the newest if it is equal; an older equal one renumbered to
/// be newest (a rollback); or a created one, bumping `collision_count`
/// while a different revision holds the name.
pub async fn ensure_revision(
    api: &Api<ControllerRevision>,
    sorted: &[Arc<ControllerRevision>],
    new: &NewRevision<'_>,
    collision_count: &mut Option<i32>,
) -> Result<Arc<ControllerRevision>, HistoryError> {
    let candidate = new.build(*collision_count);
    let equal: Vec<&Arc<ControllerRevision>> = sorted
        .iter()
        .filter(|r| equal_revision(r, &candidate, new.hash_label))
        .collect();
    if let Some(last_equal) = equal.last() {
        if sorted.last().is_some_and(|l| Arc::ptr_eq(l, last_equal)) {
            return Ok((*last_equal).clone());
        }
        let name = last_equal.metadata.name.clone().unwrap_or_default();
        let patch = serde_json::json!({ "revision": new.revision });
        let updated = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        return Ok(Arc::new(updated));
    }
    for _ in 0..100 {
        let cr = new.build(*collision_count);
        match api.create(&PostParams::default(), &cr).await {
            Ok(created) => return Ok(Arc::new(created)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let name = cr.metadata.name.clone().unwrap_or_default();
                let existing = api.get(&name).await?;
                if existing.data.0 == cr.data.0 {
                    return Ok(Arc::new(existing));
                }
                *collision_count = Some(collision_count.unwrap_or(0).saturating_add(1));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(HistoryError::Collisions(new.owner.name.clone()))
}

/// The revisions to delete so at most `limit` unused ones remain: the
/// oldest first, never one named in `live` (current, update, or in use by a pod).
pub fn to_prune<'a>(
    sorted: &'a [Arc<ControllerRevision>],
    live: &HashSet<String>,
    limit: i32,
) -> Vec<&'a Arc<ControllerRevision>> {
    let unused: Vec<&Arc<ControllerRevision>> = sorted
        .iter()
        .filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    let excess = unused
        .len()
        .saturating_sub(usize::try_from(limit).unwrap_or(0));
    unused.into_iter().take(excess).collect()
}

/// Delete the revisions `to_prune` picks; a revision already gone is fine.
pub async fn prune(
    api: &Api<ControllerRevision>,
    sorted: &[Arc<ControllerRevision>],
    live: &HashSet<String>,
    limit: i32,
) -> Result<(), HistoryError> {
    for r in to_prune(sorted, live, limit) {
        let name = r.metadata.name.as_deref().unwrap_or_default();
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rev(name: &str, n: i64) -> Arc<ControllerRevision> {
        Arc::new(ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: RawExtension(json!({})),
            revision: Some(n),
        })
    }

    #[test]
    fn fnv1_matches_reference_vectors() {
        // FNV-1 32 of "" is the offset basis, of "a" is 0x050c5d7e.
        assert_eq!(fnv1_32(&[b""]), 0x811c_9dc5);
        assert_eq!(fnv1_32(&[b"a"]), 0x050c_5d7e);
        assert_eq!(fnv1_32(&[b"fo", b"o"]), fnv1_32(&[b"foo"]));
    }

    #[test]
    fn hash_is_stable_and_salted_by_collisions() {
        let d = template_patch(&json!({"metadata": {"labels": {"a": "b"}}}));
        let h0 = hash_data(&d, None);
        assert_eq!(h0, hash_data(&d, None));
        assert_ne!(h0, hash_data(&d, Some(1)));
        assert!(
            h0.chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        );
        let other = template_patch(&json!({"metadata": {"labels": {"a": "c"}}}));
        assert_ne!(h0, hash_data(&other, None));
        let ab = json!({"a": 1, "b": {"c": 2, "d": 3}});
        let ba = json!({"b": {"d": 3, "c": 2}, "a": 1});
        assert_eq!(hash_data(&ab, None), hash_data(&ba, None));
    }

    #[test]
    fn patch_round_trips_the_template() {
        let t = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
        let p = template_patch(&t);
        assert_eq!(p["spec"]["template"]["$patch"], "replace");
        let cr = ControllerRevision {
            data: RawExtension(p),
            ..Default::default()
        };
        assert_eq!(template_of(&cr), Some(t));
    }

    #[test]
    fn names_are_cut_to_fit() {
        assert_eq!(revision_name("web", "abc"), "web-abc");
        let long = "x".repeat(300);
        assert_eq!(revision_name(&long, "h").len(), MAX_PREFIX + 2);
    }

    #[test]
    fn pruning_keeps_live_and_newest() {
        let revs = vec![rev("a", 1), rev("b", 2), rev("c", 3), rev("d", 4)];
        let live: HashSet<String> = ["a".to_string(), "d".to_string()].into();
        let gone: Vec<_> = to_prune(&revs, &live, 1)
            .into_iter()
            .map(|r| r.metadata.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(gone, vec!["b".to_string()]);
        assert!(to_prune(&revs, &live, 10).is_empty());
        assert_eq!(next_revision(&revs), 5);
        assert_eq!(next_revision(&[]), 1);
    }

    #[test]
    fn equality_compares_hash_labels_and_data() {
        let nr = NewRevision {
            owner: OwnerReference {
                name: "web".into(),
                ..Default::default()
            },
            namespace: "default",
            template_labels: BTreeMap::new(),
            annotations: None,
            data: json!({"x": 1}),
            revision: 1,
            hash_label: HASH_LABEL,
        };
        let a = nr.build(None);
        let mut b = nr.build(None);
        b.revision = Some(7);
        assert!(equal_revision(&a, &b, HASH_LABEL));
        let c = nr.build(Some(2));
        assert!(!equal_revision(&a, &c, HASH_LABEL));
    }
}
