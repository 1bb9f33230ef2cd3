//! A pod's container turned into a CRI `ContainerConfig`: command and args,
//! env, resources and cgroups, securityContext, labels and annotations.
//! Parts: `env` (environment and downward-API field values), `command`
//! (`$(VAR)` in command/args), `resources` (QoS, cgroups, CRI resources),
//! `security` (security context and namespaces).

pub mod command;
pub mod env;
pub mod resources;
pub mod security;

pub use resources::{pod_cgroup_parent, qos_class};

use crate::cri::{api, labels};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContainerConfigError {
    /// e.g. `configmap "app-config" not found`, as upstream's CreateContainerConfigError message.
    #[error("{0}")]
    Config(String),
}

/// Where env `valueFrom`/`envFrom` read ConfigMaps and Secrets from, and the
/// node facts a container's config may need. The provided methods have
/// defaults so a minimal source only answers ConfigMaps and Secrets.
#[async_trait]
pub trait EnvSources: Send + Sync {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, String>;
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, String>;
    /// Services of `namespace` for service-link env vars (`KUBERNETES_SERVICE_HOST`, …).
    /// Default: none, so containers get no service links.
    async fn services(&self, namespace: &str) -> Result<Vec<Service>, String> {
        let _ = namespace;
        Ok(vec![])
    }
    /// The Node's allocatable; unset limits read through `resourceFieldRef`
    /// resolve to it. Default: this machine's CPUs and MemTotal.
    fn node_allocatable(&self) -> Option<BTreeMap<String, Quantity>> {
        None
    }
    /// The node's memory in bytes for Burstable OOM scores. Default: MemTotal.
    fn memory_capacity(&self) -> i64 {
        resources::machine_memory_bytes()
    }
    /// Where `Localhost` seccomp profiles live (upstream `ROOT/seccomp`).
    fn seccomp_profile_root(&self) -> PathBuf {
        PathBuf::from("/var/lib/kubelet/seccomp")
    }
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
    let envs = env::make_env(ctx, container).await?;
    let (command, args) = command::command_and_args(container, &envs);
    let mut res = resources::linux_resources(ctx.pod, container, ctx.sources.memory_capacity());
    // The container's cgroup lives under the pod's; runc derives its own
    // directory from the parent, so nothing else is needed here.
    let _ = ctx.cgroup_parent;
    res.hugepage_limits = vec![];
    Ok(api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: container.name.clone(),
            attempt: ctx.restart_count,
        }),
        image: Some(api::ImageSpec {
            image: ctx.image.to_string(),
            user_specified_image: container.image.clone().unwrap_or_default(),
            ..Default::default()
        }),
        command,
        args,
        working_dir: container.working_dir.clone().unwrap_or_default(),
        envs: envs
            .into_iter()
            .map(|(key, value)| api::KeyValue { key, value })
            .collect(),
        mounts: ctx.mounts.clone(),
        labels: container_labels(ctx.pod, container),
        annotations: container_annotations(ctx.pod, container, ctx.restart_count),
        log_path: ctx.log_path.clone(),
        stdin: container.stdin.unwrap_or(false),
        stdin_once: container.stdin_once.unwrap_or(false),
        tty: container.tty.unwrap_or(false),
        linux: Some(api::LinuxContainerConfig {
            resources: Some(res),
            security_context: Some(security::security_context(
                ctx.pod,
                container,
                &ctx.sources.seccomp_profile_root(),
            )),
        }),
        ..Default::default()
    })
}

/// Upstream's container labels: which pod and container this is.
pub fn container_labels(pod: &Pod, container: &Container) -> HashMap<String, String> {
    let m = &pod.metadata;
    HashMap::from([
        (labels::POD_NAME.into(), m.name.clone().unwrap_or_default()),
        (
            labels::POD_NAMESPACE.into(),
            m.namespace.clone().unwrap_or_default(),
        ),
        (labels::POD_UID.into(), m.uid.clone().unwrap_or_default()),
        (labels::CONTAINER_NAME.into(), container.name.clone()),
    ])
}

/// Upstream's container annotations: spec hash, restart count, termination
/// message settings, grace period, preStop handler and ports.
pub fn container_annotations(
    pod: &Pod,
    container: &Container,
    restart_count: u32,
) -> HashMap<String, String> {
    let mut a = HashMap::from([
        (labels::CONTAINER_HASH.into(), container_hash(container)),
        (
            labels::CONTAINER_RESTART_COUNT.into(),
            restart_count.to_string(),
        ),
        (
            labels::CONTAINER_TERMINATION_MESSAGE_PATH.into(),
            container
                .termination_message_path
                .clone()
                .unwrap_or_else(|| "/dev/termination-log".into()),
        ),
        (
            labels::CONTAINER_TERMINATION_MESSAGE_POLICY.into(),
            container
                .termination_message_policy
                .clone()
                .unwrap_or_else(|| "File".into()),
        ),
    ]);
    if let Some(g) = pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
    {
        a.insert(labels::POD_TERMINATION_GRACE_PERIOD.into(), g.to_string());
    }
    if let Some(pre_stop) = container
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        && let Ok(j) = serde_json::to_string(pre_stop)
    {
        a.insert(labels::CONTAINER_PRESTOP_HANDLER.into(), j);
    }
    if let Some(ports) = container.ports.as_ref().filter(|p| !p.is_empty())
        && let Ok(j) = serde_json::to_string(ports)
    {
        a.insert(labels::CONTAINER_PORTS.into(), j);
    }
    a
}

/// A stable hash of the container spec: FNV-1a (32 bit) of its JSON, in hex,
/// so a changed spec shows as a changed hash across agent restarts.
pub fn container_hash(container: &Container) -> String {
    let bytes = serde_json::to_vec(container).unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:x}")
}

#[cfg(test)]
mod tests;
