//! The CRI `LinuxContainerSecurityContext` from the pod's and container's
//! securityContext (upstream's `determineEffectiveSecurityContext` and
//! `convertToRuntimeSecurityContext`), and the pod's namespace options.

use crate::cri::api;
use api::security_profile::ProfileType;
use k8s_openapi::api::core::v1::{Container, Pod, SeccompProfile};
use std::path::Path;

/// Upstream's default masked /proc and /sys paths (procMount Default).
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
/// Upstream's default read-only /proc paths (procMount Default).
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Pod namespaces: host network/PID/IPC, or a PID namespace shared by the
/// pod's containers (`shareProcessNamespace`).
pub fn namespace_options(pod: &Pod) -> api::NamespaceOption {
    let spec = pod.spec.as_ref();
    let flag = |f: fn(&k8s_openapi::api::core::v1::PodSpec) -> Option<bool>| {
        spec.and_then(f).unwrap_or(false)
    };
    let mode = |host: bool, otherwise: api::NamespaceMode| {
        if host {
            api::NamespaceMode::Node as i32
        } else {
            otherwise as i32
        }
    };
    let pid_default = if flag(|s| s.share_process_namespace) {
        api::NamespaceMode::Pod
    } else {
        api::NamespaceMode::Container
    };
    api::NamespaceOption {
        network: mode(flag(|s| s.host_network), api::NamespaceMode::Pod),
        pid: mode(flag(|s| s.host_pid), pid_default),
        ipc: mode(flag(|s| s.host_ipc), api::NamespaceMode::Pod),
        ..Default::default()
    }
}

/// A seccomp profile as CRI wants it; `Localhost` is relative to `root`.
/// Unset is Unconfined (the kubelet's `--seccomp-default` off, upstream's default).
pub fn seccomp_profile(p: Option<&SeccompProfile>, root: &Path) -> api::SecurityProfile {
    match p.map(|p| p.type_.as_str()) {
        Some("RuntimeDefault") => api::SecurityProfile {
            profile_type: ProfileType::RuntimeDefault as i32,
            localhost_ref: String::new(),
        },
        Some("Localhost") => api::SecurityProfile {
            profile_type: ProfileType::Localhost as i32,
            localhost_ref: root
                .join(
                    p.and_then(|p| p.localhost_profile.as_deref())
                        .unwrap_or_default(),
                )
                .to_string_lossy()
                .into_owned(),
        },
        _ => api::SecurityProfile {
            profile_type: ProfileType::Unconfined as i32,
            localhost_ref: String::new(),
        },
    }
}

/// The container's effective security context in CRI terms.
/// `fsGroup` joins the supplemental groups (volumes are chowned to it).
pub fn security_context(
    pod: &Pod,
    container: &Container,
    seccomp_root: &Path,
) -> api::LinuxContainerSecurityContext {
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let csc = container.security_context.as_ref();
    let run_as_user = csc
        .and_then(|c| c.run_as_user)
        .or(psc.and_then(|p| p.run_as_user));
    let run_as_group = csc
        .and_then(|c| c.run_as_group)
        .or(psc.and_then(|p| p.run_as_group));
    let mut groups = vec![];
    if let Some(g) = psc.and_then(|p| p.fs_group) {
        groups.push(g);
    }
    groups.extend(
        psc.and_then(|p| p.supplemental_groups.clone())
            .unwrap_or_default(),
    );
    let seccomp = csc
        .and_then(|c| c.seccomp_profile.as_ref())
        .or(psc.and_then(|p| p.seccomp_profile.as_ref()));
    let privileged = csc.and_then(|c| c.privileged).unwrap_or(false);
    let unmasked = csc.and_then(|c| c.proc_mount.as_deref()) == Some("Unmasked");
    let paths = |d: &[&str]| {
        if unmasked {
            vec![]
        } else {
            d.iter().map(|s| s.to_string()).collect()
        }
    };
    let caps = csc.and_then(|c| c.capabilities.as_ref());
    let supplemental_groups_policy = match psc.and_then(|p| p.supplemental_groups_policy.as_deref())
    {
        Some("Strict") => api::SupplementalGroupsPolicy::Strict as i32,
        _ => api::SupplementalGroupsPolicy::Merge as i32,
    };
    api::LinuxContainerSecurityContext {
        capabilities: caps.map(|c| api::Capability {
            // CRI takes the API's names as they are ("NET_ADMIN", "ALL");
            // containerd adds the CAP_ prefix itself.
            add_capabilities: c.add.clone().unwrap_or_default(),
            drop_capabilities: c.drop.clone().unwrap_or_default(),
            ..Default::default()
        }),
        privileged,
        namespace_options: Some(namespace_options(pod)),
        run_as_user: run_as_user.map(|value| api::Int64Value { value }),
        run_as_group: run_as_group.map(|value| api::Int64Value { value }),
        readonly_rootfs: csc
            .and_then(|c| c.read_only_root_filesystem)
            .unwrap_or(false),
        supplemental_groups: groups,
        supplemental_groups_policy,
        // Upstream's AddNoNewPrivileges: only an explicit false sets it.
        no_new_privs: csc.and_then(|c| c.allow_privilege_escalation) == Some(false),
        masked_paths: paths(DEFAULT_MASKED_PATHS),
        readonly_paths: paths(DEFAULT_READONLY_PATHS),
        seccomp: Some(seccomp_profile(seccomp, seccomp_root)),
        ..Default::default()
    }
}
