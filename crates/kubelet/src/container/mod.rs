//! A pod's container turned into a CRI `ContainerConfig`: command and args,
//! env, resources and cgroups, securityContext, labels and annotations.
//! (Interface placeholder: the container-config work fills it in.)

use crate::cri::api;
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};

#[derive(Debug, thiserror::Error)]
pub enum ContainerConfigError {
    /// e.g. `configmap "app-config" not found`, as upstream's CreateContainerConfigError message.
    #[error("{0}")]
    Config(String),
}

/// Where env `valueFrom`/`envFrom` read ConfigMaps and Secrets from.
#[async_trait]
pub trait EnvSources: Send + Sync {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, String>;
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, String>;
}

/// What the container's config depends on besides the pod spec.
pub struct ContainerContext<'a> {
    pub pod: &'a Pod,
    pub pod_ip: Option<&'a str>,
    pub host_ip: &'a str,
    pub node_name: &'a str,
    /// From `PodVolumes::mounts_for`.
    pub mounts: Vec<api::Mount>,
    pub restart_count: u32,
    /// The image reference to run (what the pull returned, or the spec's image).
    pub image: &'a str,
    /// The log path relative to the sandbox's log directory (`<name>/<restart>.log`).
    pub log_path: String,
    /// The pod's cgroup parent, from `sandbox_config`.
    pub cgroup_parent: &'a str,
    pub sources: &'a dyn EnvSources,
}

/// The CRI config for `container` of `ctx.pod`.
pub async fn container_config(
    ctx: &ContainerContext<'_>,
    container: &Container,
) -> Result<api::ContainerConfig, ContainerConfigError> {
    Ok(api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: container.name.clone(),
            attempt: ctx.restart_count,
        }),
        image: Some(api::ImageSpec {
            image: ctx.image.to_string(),
            ..Default::default()
        }),
        command: container.command.clone().unwrap_or_default(),
        args: container.args.clone().unwrap_or_default(),
        mounts: ctx.mounts.clone(),
        log_path: ctx.log_path.clone(),
        ..Default::default()
    })
}

/// The pod's QoS class (Guaranteed, Burstable, BestEffort), upstream's rules.
pub fn qos_class(pod: &Pod) -> &'static str {
    let _ = pod;
    "BestEffort"
}

/// The pod-level cgroup parent under `cgroup_root` (`/kubepods/burstable/pod<uid>`).
pub fn pod_cgroup_parent(pod: &Pod, cgroup_root: &str) -> String {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    format!("{cgroup_root}/besteffort/pod{uid}")
}
