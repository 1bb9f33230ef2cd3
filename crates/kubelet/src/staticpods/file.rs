//! The file source of static pods (upstream's config/file.go): every
//! `*.yaml`, `*.yml` and `*.json` manifest of the directory becomes a pod
//! named `<name>-<node>`, bound to this node, with the config source, hash
//! and seen annotations, and a UID that is the manifest's hash, so a changed
//! manifest is a new pod and the old one is stopped.

use k8s_openapi::api::core::v1::Pod;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";
pub const CONFIG_SEEN: &str = "kubernetes.io/config.seen";
pub const CONFIG_MIRROR: &str = "kubernetes.io/config.mirror";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {msg}")]
    Invalid { path: PathBuf, msg: String },
}

/// The manifests of `dir`, sorted by file name. Files that cannot be read
/// or decoded are logged and skipped (upstream keeps going too).
pub fn read_dir(dir: &Path, node_name: &str) -> Vec<(PathBuf, Pod)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                && p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    paths.sort();
    for p in paths {
        match std::fs::read(&p) {
            Ok(bytes) => match decode(&p, &bytes, node_name) {
                Ok(pod) => out.push((p, pod)),
                Err(e) => tracing::warn!("static pod manifest: {e}"),
            },
            Err(e) => tracing::warn!("static pod manifest {}: {e}", p.display()),
        }
    }
    out
}

/// Turn one manifest into the pod this node runs.
pub fn decode(path: &Path, bytes: &[u8], node_name: &str) -> Result<Pod, ManifestError> {
    let bad = |msg: String| ManifestError::Invalid {
        path: path.to_path_buf(),
        msg,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
    let mut v: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?
    };
    if v.get("kind").and_then(|k| k.as_str()) != Some("Pod") {
        return Err(bad("not a Pod".into()));
    }
    registry::strategies::pod::defaults::default_pod(&mut v);
    let mut pod: Pod = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
    let name = pod
        .metadata
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("metadata.name is required".into()))?;
    let node = node_name.to_lowercase();
    let hash = manifest_hash(bytes, &node);
    pod.metadata.name = Some(format!("{name}-{node}"));
    if pod.metadata.namespace.as_deref().is_none_or(str::is_empty) {
        pod.metadata.namespace = Some("default".into());
    }
    pod.metadata.uid = Some(hash.clone());
    pod.metadata.resource_version = None;
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(node_name.to_string());
    let ann = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
    ann.insert(CONFIG_SOURCE.into(), "file".into());
    ann.insert(CONFIG_HASH.into(), hash);
    ann.insert(CONFIG_SEEN.into(), jiff::Timestamp::now().to_string());
    pod.status = None;
    Ok(pod)
}

/// The pod's UID and config hash: 32 hex digits of SHA-256 over the
/// manifest and the node (upstream hashes the decoded pod with MD5).
pub fn manifest_hash(bytes: &[u8], node: &str) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(b"\0");
    h.update(node.as_bytes());
    let d = h.finalize();
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_names_defaults_and_annotates() {
        let y = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: app\n    image: busybox\n";
        let p = decode(Path::new("/x/web.yaml"), y, "Node1").unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("web-node1"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
        let spec = p.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("Node1"));
        assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
        let a = p.metadata.annotations.as_ref().unwrap();
        assert_eq!(a[CONFIG_SOURCE], "file");
        assert_eq!(a[CONFIG_HASH], p.metadata.uid.clone().unwrap());
        assert_eq!(a[CONFIG_HASH].len(), 32);
        assert!(a.contains_key(CONFIG_SEEN));
        let changed = decode(
            Path::new("/x/web.yaml"),
            &[y.as_slice(), b"    command: [sh]\n"].concat(),
            "Node1",
        )
        .unwrap();
        assert_ne!(changed.metadata.uid, p.metadata.uid);
        assert!(decode(Path::new("/x/a.yaml"), b"kind: Service\n", "n").is_err());
    }
}
