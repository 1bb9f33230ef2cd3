//! downwardAPI volumes (and projected downwardAPI sources): pod fields and
//! container resource values as files.

use super::atomic_writer::{FileProjection, Payload};
use super::config_map::mode;
use crate::container::env::{find_container, pod_field_value};
use crate::container::resources::resource_field_value;
use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, Pod};

pub fn payload(
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
) -> Result<Payload, String> {
    let mut payload = Payload::new();
    let mut errors = vec![];
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            pod_field_value(pod, &f.field_path, None, None)
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.as_deref().unwrap_or_default();
            match find_container(pod, name) {
                Some(c) => resource_field_value(c, &r.resource, r.divisor.as_ref(), None),
                None => Err(format!("container {name} not found")),
            }
        } else {
            continue;
        };
        match value {
            Ok(v) => {
                payload.insert(
                    item.path.clone(),
                    FileProjection {
                        data: v.into_bytes(),
                        mode: mode(item.mode.or(default_mode)),
                    },
                );
            }
            Err(e) => errors.push(format!("unable to extract field {}: {e}", item.path)),
        }
    }
    if errors.is_empty() {
        Ok(payload)
    } else {
        Err(errors.join(", "))
    }
}
