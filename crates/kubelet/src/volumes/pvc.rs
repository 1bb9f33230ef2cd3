//! persistentVolumeClaim (and generic ephemeral) volumes: the claim's bound
//! PersistentVolume, usable here when it is a hostPath or local volume.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::{Api, Client};
use std::path::PathBuf;

/// The node path behind `claim` and the hostPath type to check it with.
pub async fn resolve(
    client: &Client,
    ns: &str,
    claim: &str,
) -> Result<(PathBuf, Option<String>), String> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let pvc = pvcs
        .get_opt(claim)
        .await
        .map_err(|e| format!("error getting persistentvolumeclaim \"{claim}\": {e}"))?
        .ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" not found"))?;
    let pv_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|n| !n.is_empty());
    let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let (Some(pv_name), true) = (pv_name, bound) else {
        return Err(format!("persistentvolumeclaim \"{claim}\" not bound"));
    };
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pv = pvs
        .get_opt(&pv_name)
        .await
        .map_err(|e| format!("error getting persistentvolume \"{pv_name}\": {e}"))?
        .ok_or_else(|| format!("persistentvolume \"{pv_name}\" not found"))?;
    let spec = pv.spec.unwrap_or_default();
    if let Some(h) = spec.host_path {
        return Ok((PathBuf::from(h.path), h.type_));
    }
    if let Some(l) = spec.local {
        return Ok((PathBuf::from(l.path), Some("Directory".into())));
    }
    Err(format!(
        "persistentvolume \"{pv_name}\" has no hostPath or local source this node can mount"
    ))
}
