//! A container's CRI mounts: its volumeMounts (readOnly, propagation,
//! subPath/subPathExpr kept inside the volume), the termination-log file and
//! the managed `/etc/hosts`.

use super::{PodVolumes, VolumeError, pod_files};
use crate::container::env::expand;
use crate::cri::api;
use k8s_openapi::api::core::v1::Container;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

fn fail(msg: String) -> VolumeError {
    VolumeError::Failed(msg)
}

/// Upstream's subPath rules: relative and without `..`.
pub fn validate_sub_path(sub: &str) -> Result<(), String> {
    if Path::new(sub).is_absolute() {
        return Err(format!(
            "error SubPath `{sub}` must not be an absolute path"
        ));
    }
    if Path::new(sub)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(format!("error SubPath `{sub}` must not contain '..'"));
    }
    Ok(())
}

/// `volume/sub`, created (with the volume's mode) when missing, refused if
/// it resolves (through symlinks) outside the volume.
pub fn sub_path(volume: &Path, sub: &str) -> Result<PathBuf, String> {
    validate_sub_path(sub)?;
    let target = volume.join(sub);
    if std::fs::symlink_metadata(&target).is_err() {
        let perm = std::fs::metadata(volume)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o755);
        std::fs::create_dir_all(&target)
            .map_err(|e| format!("unable to provision SubPath `{sub}`: {e}"))?;
        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(perm));
    }
    let root = std::fs::canonicalize(volume)
        .map_err(|e| format!("unable to resolve volume {}: {e}", volume.display()))?;
    let resolved = std::fs::canonicalize(&target)
        .map_err(|e| format!("unable to resolve SubPath `{sub}`: {e}"))?;
    if !resolved.starts_with(&root) {
        return Err(format!(
            "subpath \"{}\" not within volume path \"{}\"",
            resolved.display(),
            root.display()
        ));
    }
    Ok(resolved)
}

impl PodVolumes {
    /// The CRI mounts for `container`, with `subPathExpr` expanded against `env`.
    pub fn mounts_for_env(
        &self,
        container: &Container,
        env: &[(String, String)],
    ) -> Result<Vec<api::Mount>, VolumeError> {
        let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let privileged = container
            .security_context
            .as_ref()
            .and_then(|s| s.privileged)
            .unwrap_or(false);
        let mut mounts = vec![];
        for vm in container.volume_mounts.iter().flatten() {
            let host = self.paths.get(&vm.name).ok_or_else(|| {
                fail(format!(
                    "cannot find volume \"{}\" to mount into container \"{}\"",
                    vm.name, container.name
                ))
            })?;
            let sub = match (vm.sub_path.as_deref(), vm.sub_path_expr.as_deref()) {
                (Some(s), _) if !s.is_empty() => Some(s.to_string()),
                (_, Some(e)) if !e.is_empty() => Some(expand(e, &lookup)),
                _ => None,
            };
            let host_path = match sub {
                Some(s) => sub_path(host, &s).map_err(fail)?,
                None => host.clone(),
            };
            let propagation = match vm.mount_propagation.as_deref() {
                Some("HostToContainer") => api::MountPropagation::PropagationHostToContainer,
                Some("Bidirectional") if !privileged => {
                    return Err(fail("Bidirectional mount propagation is available only to privileged containers".into()));
                }
                Some("Bidirectional") => api::MountPropagation::PropagationBidirectional,
                _ => api::MountPropagation::PropagationPrivate,
            };
            mounts.push(api::Mount {
                container_path: vm.mount_path.clone(),
                host_path: host_path.to_string_lossy().into_owned(),
                readonly: vm.read_only.unwrap_or(false) || self.read_only.contains(&vm.name),
                selinux_relabel: false,
                propagation: propagation as i32,
                ..Default::default()
            });
        }
        let mounted = |p: &str| mounts.iter().any(|m: &api::Mount| m.container_path == p);
        let term = container
            .termination_message_path
            .clone()
            .unwrap_or_else(|| pod_files::DEFAULT_TERMINATION_MESSAGE_PATH.into());
        let mut extra = vec![];
        if !term.is_empty() && !mounted(&term) && !self.pod_dir.as_os_str().is_empty() {
            let file = pod_files::new_termination_log(&self.pod_dir, &container.name)
                .map_err(|e| fail(format!("create termination-log file: {e}")))?;
            extra.push(api::Mount {
                container_path: term,
                host_path: file.to_string_lossy().into_owned(),
                ..Default::default()
            });
        }
        if let Some(hosts) = &self.etc_hosts
            && !mounted(pod_files::ETC_HOSTS)
        {
            extra.push(api::Mount {
                container_path: pod_files::ETC_HOSTS.into(),
                host_path: hosts.to_string_lossy().into_owned(),
                ..Default::default()
            });
        }
        mounts.extend(extra);
        Ok(mounts)
    }
}
