//! Metadata the engine owns on every write: names from `generateName`, uid,
//! timestamps, generation, and the fields a client may not set.

use apimachinery::meta;
use serde_json::{Map, Value};

/// Now, as the RFC 3339 seconds-precision string Kubernetes uses.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `prefix` + 5 characters from upstream's alphabet (no vowels, no
/// look-alikes), as `generateName` does.
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let suffix: String = bytes
        .iter()
        .take(5)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    // Upstream trims the prefix so the name stays within 63 characters.
    let max_prefix = 63 - 5;
    let prefix = if prefix.len() > max_prefix {
        let mut end = max_prefix;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        &prefix[..end]
    } else {
        prefix
    };
    format!("{prefix}{suffix}")
}

/// Whether writes to a resource track `metadata.generation`: those whose
/// upstream strategy does, and all custom resources.
pub fn tracks_generation(group: &str, plural: &str, custom: bool) -> bool {
    // The resources whose upstream strategy sets and bumps it.
    custom
        || matches!(
            (group, plural),
            (
                "apps",
                "deployments" | "replicasets" | "statefulsets" | "daemonsets"
            ) | ("batch", "jobs" | "cronjobs")
                | ("autoscaling", "horizontalpodautoscalers")
                | ("policy", "poddisruptionbudgets")
                | (
                    "networking.k8s.io",
                    "ingresses" | "ingressclasses" | "networkpolicies" | "servicecidrs"
                )
                | ("discovery.k8s.io", "endpointslices")
                | ("", "replicationcontrollers")
                | ("apiextensions.k8s.io", "customresourcedefinitions")
                | (
                    "admissionregistration.k8s.io",
                    "validatingwebhookconfigurations"
                        | "mutatingwebhookconfigurations"
                        | "validatingadmissionpolicies"
                        | "validatingadmissionpolicybindings"
                )
                | (
                    "flowcontrol.apiserver.k8s.io",
                    "flowschemas" | "prioritylevelconfigurations"
                )
        )
}

/// The parts of an object whose change bumps the generation: everything but
/// metadata and status.
pub fn spec_changed(new: &Value, old: &Value) -> bool {
    let empty = Map::new();
    let (new, old) = (
        new.as_object().unwrap_or(&empty),
        old.as_object().unwrap_or(&empty),
    );
    !same_entries_except(new, old, &["metadata", "status"], |_, a, b| a == b)
}

/// Equal but for resourceVersion and managed-field timestamps: a no-op write.
pub fn same_object(a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => same_entries_except(a, b, &[], |k, x, y| match k {
            "metadata" => same_metadata(x, y),
            _ => x == y,
        }),
        _ => a == b,
    }
}

fn same_metadata(a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => same_entries_except(a, b, &["resourceVersion"], |k, x, y| match k {
            "managedFields" => same_managed_fields(x, y),
            _ => x == y,
        }),
        (None, None) => a == b,
        _ => false,
    }
}

fn same_managed_fields(a: &Value, b: &Value) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| match (x.as_object(), y.as_object()) {
                        (Some(x), Some(y)) => {
                            same_entries_except(x, y, &["time"], |_, p, q| p == q)
                        }
                        _ => x == y,
                    })
        }
        _ => a == b,
    }
}

/// Whether two maps hold the same entries, in any order (as `Map`'s own
/// equality), leaving out the keys in `skip`, with values compared by `eq`.
fn same_entries_except(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    skip: &[&str],
    eq: impl Fn(&str, &Value, &Value) -> bool,
) -> bool {
    let kept =
        |m: &Map<String, Value>| m.len() - skip.iter().filter(|k| m.contains_key(**k)).count();
    kept(a) == kept(b)
        && a.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, x)| b.get(k).is_some_and(|y| eq(k, x, y)))
}

/// Reset what the server owns in a new object's metadata.
pub fn init_create_meta(obj: &mut Value, namespace: &str, namespaced: bool, now: &str) {
    let md = meta::metadata_mut(obj);
    md.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
    md.insert("creationTimestamp".into(), now.into());
    for f in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        md.remove(f);
    }
    if namespaced {
        md.insert("namespace".into(), namespace.into());
    } else {
        md.remove("namespace");
    }
}

/// Carry server-owned metadata from the stored object into an update.
pub fn carry_update_meta(new: &mut Value, old: &Value) {
    let old_md = old.get("metadata").unwrap_or(&Value::Null);
    let md = meta::metadata_mut(new);
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        match old_md.get(f) {
            Some(v) => {
                md.insert(f.into(), v.clone());
            }
            None => {
                md.remove(f);
            }
        }
    }
    md.remove("selfLink");
    if !md.contains_key("managedFields")
        && let Some(mf) = old_md.get("managedFields")
    {
        md.insert("managedFields".into(), mf.clone());
    }
}

/// What a status write stores: the old object with the new status (and
/// field ownership), as cloning `old` and setting those two would give —
/// without cloning the old status and managedFields only to replace them.
pub fn status_update(old: &Value, mut new: Value) -> Value {
    let Some(old_map) = old.as_object() else {
        return status_update_slow(old, &new);
    };
    let status = new.as_object_mut().and_then(|o| o.remove("status"));
    let mut mf = new
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|md| md.remove("managedFields"));
    let mut entries: Vec<(&String, &Value)> = old_map.iter().collect();
    // Without a new status the old one goes, as `Map::remove` (a swap-remove).
    let at = entries.iter().position(|(k, _)| *k == "status");
    if status.is_none()
        && let Some(i) = at
    {
        entries.swap_remove(i);
    }
    let mut status = status;
    let mut merged = Map::with_capacity(old_map.len() + 1);
    for (k, v) in entries {
        let v = match (k.as_str(), v.as_object()) {
            ("status", _) if status.is_some() => status.take().unwrap_or_default(),
            ("metadata", Some(md)) if mf.is_some() => {
                let mut md_new = Map::with_capacity(md.len() + 1);
                for (mk, mv) in md {
                    let mv = match (mk.as_str(), &mf) {
                        ("managedFields", Some(_)) => mf.take().unwrap_or_default(),
                        _ => mv.clone(),
                    };
                    md_new.insert(mk.clone(), mv);
                }
                if let Some(mf) = mf.take() {
                    md_new.insert("managedFields".into(), mf);
                }
                Value::Object(md_new)
            }
            _ => v.clone(),
        };
        merged.insert(k.clone(), v);
    }
    if let Some(status) = status {
        merged.insert("status".into(), status);
    }
    let mut merged = Value::Object(merged);
    if let Some(mf) = mf {
        meta::metadata_mut(&mut merged).insert("managedFields".into(), mf);
    }
    merged
}

/// The status write as it reads plainly (for an old object that is not a
/// map, which the store never holds).
fn status_update_slow(old: &Value, new: &Value) -> Value {
    let mut merged = old.clone();
    match new.get("status") {
        Some(s) => merged["status"] = s.clone(),
        None => {
            if let Some(o) = merged.as_object_mut() {
                o.remove("status");
            }
        }
    }
    if let Some(mf) = new.pointer("/metadata/managedFields") {
        meta::metadata_mut(&mut merged).insert("managedFields".into(), mf.clone());
    }
    merged
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

pub fn set_resource_version(obj: &mut Value, rev: i64) {
    meta::metadata_mut(obj).insert("resourceVersion".into(), rev.to_string().into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The comparison as it was: normalise clones, compare them.
    fn old_same_object(a: &Value, b: &Value) -> bool {
        let norm = |v: &Value| {
            let mut v = v.clone();
            if let Some(md) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                md.remove("resourceVersion");
                if let Some(Value::Array(mf)) = md.get_mut("managedFields") {
                    for e in mf {
                        if let Some(o) = e.as_object_mut() {
                            o.remove("time");
                        }
                    }
                }
            }
            v
        };
        norm(a) == norm(b)
    }

    fn old_spec_changed(new: &Value, old: &Value) -> bool {
        let strip = |v: &Value| -> Map<String, Value> {
            let mut m = v.as_object().cloned().unwrap_or_default();
            m.remove("metadata");
            m.remove("status");
            m
        };
        strip(new) != strip(old)
    }

    #[test]
    fn status_update_is_clone_and_set() {
        let olds = [
            json!({"apiVersion": "v1", "metadata": {"name": "p", "managedFields": [{"m": 1}], "uid": "u"},
                   "spec": {"a": 1}, "status": {"phase": "Pending"}, "z": 1}),
            json!({"metadata": {"name": "p"}, "spec": {}}),
            json!({"status": {"phase": "x"}, "spec": {}, "last": true}),
            json!({"metadata": "odd", "status": 1}),
            json!({"metadata": {"managedFields": null}, "status": null}),
        ];
        let news = [
            json!({"metadata": {"managedFields": [{"m": 2}], "name": "other"}, "status": {"phase": "Running"}}),
            json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}}),
            json!({"metadata": {"managedFields": [{"m": 3}]}}),
            json!({"spec": {"changed": true}}),
            json!({"metadata": "odd", "status": null}),
        ];
        for old in &olds {
            for new in &news {
                let want = status_update_slow(old, new);
                let got = status_update(old, new.clone());
                assert_eq!(
                    serde_json::to_string(&got).expect("json"),
                    serde_json::to_string(&want).expect("json"),
                    "{old} + {new}"
                );
            }
        }
    }

    #[test]
    fn comparisons_agree_with_normalising_copies() {
        let mf = |t: &str| json!([{"manager": "m", "time": t, "fieldsV1": {}}, "odd"]);
        let objs = [
            json!({"metadata": {"name": "a", "resourceVersion": "1", "managedFields": mf("t1")},
                   "spec": {"x": 1}, "status": {"s": 1}}),
            json!({"spec": {"x": 1}, "status": {"s": 2},
                   "metadata": {"managedFields": mf("t2"), "name": "a", "resourceVersion": "2"}}),
            json!({"metadata": {"name": "a", "managedFields": mf("t2")}, "spec": {"x": 1}}),
            json!({"metadata": {"name": "a", "managedFields": [{"manager": "m"}, "odd"]},
                   "spec": {"x": 1}, "status": {"s": 1}}),
            json!({"metadata": {"name": "a", "managedFields": "odd"}, "spec": {"x": 2}}),
            json!({"metadata": {"name": "a", "resourceVersion": "7", "managedFields": "odd"},
                   "spec": {"x": 2}}),
            json!({"metadata": "odd", "spec": {"x": 2}}),
            json!({"metadata": {"resourceVersion": "3"}}),
            json!({"metadata": {}}),
            json!({}),
            json!({"kind": "K", "metadata": null}),
            json!([1, 2]),
            json!(null),
        ];
        for a in &objs {
            for b in &objs {
                assert_eq!(same_object(a, b), old_same_object(a, b), "{a} vs {b}");
                assert_eq!(spec_changed(a, b), old_spec_changed(a, b), "{a} vs {b}");
            }
        }
        assert!(same_object(&objs[0], &objs[1]) == old_same_object(&objs[0], &objs[1]));
    }
}
