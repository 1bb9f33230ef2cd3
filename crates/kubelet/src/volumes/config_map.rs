//! configMap volumes (and projected configMap sources): the ConfigMap's
//! `data` and `binaryData` as files, all keys or the listed `items`.

use super::atomic_writer::{FileProjection, Payload};
use k8s_openapi::api::core::v1::{ConfigMap, KeyToPath};
use std::collections::BTreeMap;

/// Upstream's default file mode for configMap, secret, downwardAPI and projected.
pub const DEFAULT_MODE: i32 = 0o644;

pub(crate) fn mode(m: Option<i32>) -> u32 {
    (m.unwrap_or(DEFAULT_MODE) & 0o7777) as u32
}

/// Key→path projection shared with secrets. A missing listed key fails
/// unless `optional`; `what` names the source in the message.
pub(crate) fn project(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    what: &str,
) -> Result<Payload, String> {
    let mut payload = Payload::new();
    match items.filter(|i| !i.is_empty()) {
        None => {
            for (k, v) in data {
                payload.insert(
                    k.clone(),
                    FileProjection {
                        data: v.clone(),
                        mode: mode(default_mode),
                    },
                );
            }
        }
        Some(items) => {
            for item in items {
                let Some(v) = data.get(&item.key) else {
                    if optional {
                        continue;
                    }
                    return Err(format!(
                        "{what} references non-existent {} key: {}",
                        key_word(what),
                        item.key
                    ));
                };
                payload.insert(
                    item.path.clone(),
                    FileProjection {
                        data: v.clone(),
                        mode: mode(item.mode.or(default_mode)),
                    },
                );
            }
        }
    }
    Ok(payload)
}

fn key_word(what: &str) -> &'static str {
    if what == "configmap" {
        "config"
    } else {
        "secret"
    }
}

/// All of a ConfigMap's keys as bytes (`data` then `binaryData`).
pub fn data_of(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    out
}

/// The payload of a configMap source; `None` ConfigMap means not found.
pub fn payload(
    name: &str,
    cm: Option<&ConfigMap>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
) -> Result<Payload, String> {
    match cm {
        None if optional => Ok(Payload::new()),
        None => Err(format!("configmap \"{name}\" not found")),
        Some(cm) => project(&data_of(cm), items, default_mode, optional, "configmap"),
    }
}
