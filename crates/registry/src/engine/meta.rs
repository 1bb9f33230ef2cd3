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
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("metadata");
        m.remove("status");
        m
    };
    strip(new) != strip(old)
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
    let old_md = old.get("metadata").cloned().unwrap_or_default();
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

/// Serialize an object for the store: everything but the resourceVersion,
/// which the store's revision supplies on read.
pub fn encode_for_store(obj: &Value) -> Vec<u8> {
    let mut o = obj.clone();
    if let Some(md) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("resourceVersion");
    }
    serde_json::to_vec(&o).unwrap_or_default()
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
