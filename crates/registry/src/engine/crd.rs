//! CustomResourceDefinitions: the catalog follows them, and a new CRD's
//! status says its names are accepted and it is established (there is no
//! separate controller: the registry serves a CRD as soon as it is stored).

use super::Registry;
use crate::keys;
use apimachinery::ResourceInfo;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn crd_resource() -> ResourceInfo {
    ResourceInfo::new(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    )
}

/// Rebuild the catalog whenever a CRD changes (and after the cache
/// reloaded, which ends every subscription).
pub fn spawn_catalog_follower(reg: &Arc<Registry>) {
    use tokio::sync::broadcast::error::RecvError;
    let weak = Arc::downgrade(reg);
    let prefix = keys::resource_prefix(&crd_resource());
    let Ok(start) = reg.cache.watch(&prefix, 0) else {
        return;
    };
    let mut live = start.live;
    tokio::spawn(async move {
        loop {
            let closed = matches!(live.recv().await, Err(RecvError::Closed));
            let Some(reg) = weak.upgrade() else { return };
            if closed {
                match reg.cache.watch(&prefix, 0) {
                    Ok(start) => live = start.live,
                    Err(_) => return,
                }
            }
            reg.refresh_catalog();
        }
    });
}

/// Conditions a CRD gets once stored: names accepted, established.
pub fn set_crd_status(obj: &mut Value, now: &str) {
    let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    if accepted.get("singular").is_none()
        && let Some(k) = names.get("kind").and_then(Value::as_str)
    {
        accepted["singular"] = k.to_lowercase().into();
    }
    if accepted.get("listKind").is_none()
        && let Some(k) = names.get("kind").and_then(Value::as_str)
    {
        accepted["listKind"] = format!("{k}List").into();
    }
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    obj["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
        ],
        "storedVersions": stored,
    });
}
