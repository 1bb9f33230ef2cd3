//! Upstream's ServiceAccount admission plugin for new pods: the pod runs as
//! `default` unless it names an account; the account must exist; unless
//! automounting is off (pod first, then account) every container and init
//! container without something at /var/run/secrets/kubernetes.io/serviceaccount
//! gets the `kube-api-access-xxxxx` projected volume (a bound token, the
//! cluster CA from `kube-root-ca.crt`, the namespace) mounted there
//! read-only; a pod without image pull secrets gets the account's.
//!
//! One departure: the `default` account is created by a controller a moment
//! after its namespace, and servers without controllers (tests) never get
//! one, so a missing `default` is treated as an account with no settings
//! instead of rejecting the pod. Any other missing account is rejected as
//! upstream does.

use super::{Registry, meta};
use crate::keys;
use apimachinery::{ApiError, ResourceInfo, meta as m};
use serde_json::{Value, json};

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Upstream's `ServiceAccountVolumeName`; the volume is this plus `-xxxxx`.
pub const VOLUME_PREFIX: &str = "kube-api-access";
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

fn service_accounts() -> ResourceInfo {
    ResourceInfo::new("", "v1", "ServiceAccount", "serviceaccounts", true)
}

/// The projected volume upstream injects (`TokenVolumeSource`).
pub fn token_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
}

fn forbidden(pod: &Value, msg: String) -> ApiError {
    match m::name(pod) {
        "" => ApiError::forbidden(format!("pods is forbidden: {msg}")),
        name => ApiError::forbidden(format!("pods \"{name}\" is forbidden: {msg}")),
    }
}

impl Registry {
    /// Admit a new pod in namespace `ns` as upstream's ServiceAccount plugin.
    pub(crate) async fn admit_pod_service_account(
        &self,
        ns: &str,
        pod: &mut Value,
    ) -> Result<(), ApiError> {
        let spec_str = |pod: &Value, k: &str| {
            pod.pointer(&format!("/spec/{k}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        if pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(MIRROR_ANNOTATION))
            .is_some()
        {
            // The kubelet owns a mirror pod's spec: nothing is added to it.
            if !spec_str(pod, "serviceAccountName").is_empty() {
                return Err(forbidden(
                    pod,
                    "a mirror pod may not reference service accounts".into(),
                ));
            }
            return Ok(());
        }
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let mut sa_name = spec
            .get("serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if sa_name.is_empty() {
            // The deprecated field still names the account when set alone.
            sa_name = spec
                .get("serviceAccount")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(DEFAULT_SERVICE_ACCOUNT)
                .to_string();
            spec.insert("serviceAccountName".into(), json!(sa_name));
        }
        let key = keys::object_key(&service_accounts(), ns, &sa_name);
        let sa = match self.consistent_get(&key).await? {
            Some(sa) => sa,
            None if sa_name == DEFAULT_SERVICE_ACCOUNT => json!({}),
            None => {
                return Err(forbidden(
                    pod,
                    format!(
                        "error looking up service account {ns}/{sa_name}: serviceaccount \"{sa_name}\" not found"
                    ),
                ));
            }
        };
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let automount = spec
            .get("automountServiceAccountToken")
            .and_then(Value::as_bool)
            .or_else(|| {
                sa.get("automountServiceAccountToken")
                    .and_then(Value::as_bool)
            })
            .unwrap_or(true);
        if automount {
            mount_token(spec);
        }
        let has_pull_secrets = spec
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !has_pull_secrets
            && let Some(secrets) = sa
                .get("imagePullSecrets")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
        {
            spec.insert("imagePullSecrets".into(), Value::Array(secrets.clone()));
        }
        Ok(())
    }
}

/// Mount the token volume into every container that has nothing at the
/// token path, adding the volume when one needed it and none was there.
fn mount_token(spec: &mut serde_json::Map<String, Value>) {
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .and_then(|vols| {
            vols.iter()
                .filter_map(|v| v.get("name").and_then(Value::as_str))
                .find(|n| n.starts_with(&format!("{VOLUME_PREFIX}-")))
                .map(String::from)
        });
    let volume_name = existing
        .clone()
        .unwrap_or_else(|| meta::generate_name(&format!("{VOLUME_PREFIX}-")));
    let mut needed = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers.iter_mut().filter(|c| c.is_object()) {
            let mounts = c
                .as_object_mut()
                .map(|o| o.entry("volumeMounts").or_insert_with(|| json!([])));
            let Some(Value::Array(mounts)) = mounts else {
                continue;
            };
            let taken = mounts
                .iter()
                .any(|mnt| mnt.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if !taken {
                mounts.push(
                    json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}),
                );
                needed = true;
            }
        }
    }
    if needed && existing.is_none() {
        let vols = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Value::Array(vols) = vols {
            vols.push(token_volume(&volume_name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_existing_mounts_and_volumes() {
        let mut spec = json!({
            "containers": [
                {"name": "a", "volumeMounts": [{"name": "mine", "mountPath": TOKEN_MOUNT_PATH}]},
                {"name": "b"},
            ],
            "volumes": [{"name": "kube-api-access-abcde", "emptyDir": {}}],
        });
        mount_token(spec.as_object_mut().unwrap());
        assert_eq!(
            spec["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            spec["containers"][1]["volumeMounts"][0]["name"],
            "kube-api-access-abcde"
        );
        assert_eq!(
            spec["volumes"].as_array().unwrap().len(),
            1,
            "the pod's own volume is reused"
        );

        let mut spec = json!({"containers": [{"name": "a", "volumeMounts": [{"name": "x", "mountPath": TOKEN_MOUNT_PATH}]}]});
        mount_token(spec.as_object_mut().unwrap());
        assert!(spec.get("volumes").is_none(), "nobody needed the volume");
    }
}
