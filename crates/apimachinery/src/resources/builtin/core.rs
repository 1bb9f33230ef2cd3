//! The core group, `v1`, as upstream serves it at `/api/v1`.

use super::CREATE_ONLY;
use crate::resources::ResourceInfo;

/// Namespaces are deleted one at a time (their finalizer empties them), so
/// upstream serves no `deletecollection` for them.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub(super) fn resources() -> Vec<ResourceInfo> {
    let v1 = |kind: &str, plural: &str, namespaced: bool| {
        ResourceInfo::new("", "v1", kind, plural, namespaced)
    };
    vec![
        v1("Binding", "bindings", true).with_verbs(CREATE_ONLY),
        v1("ComponentStatus", "componentstatuses", false)
            .with_verbs(&["get", "list"])
            .with_short_names(&["cs"]),
        v1("ConfigMap", "configmaps", true).with_short_names(&["cm"]),
        v1("Endpoints", "endpoints", true).with_short_names(&["ep"]),
        v1("Event", "events", true).with_short_names(&["ev"]),
        v1("LimitRange", "limitranges", true).with_short_names(&["limits"]),
        v1("Namespace", "namespaces", false)
            .with_verbs(NAMESPACE_VERBS)
            .with_short_names(&["ns"])
            .with_subresources(&["finalize", "status"]),
        v1("Node", "nodes", false)
            .with_short_names(&["no"])
            .with_subresources(&["proxy", "status"]),
        v1("PersistentVolumeClaim", "persistentvolumeclaims", true)
            .with_short_names(&["pvc"])
            .with_subresources(&["status"]),
        v1("PersistentVolume", "persistentvolumes", false)
            .with_short_names(&["pv"])
            .with_subresources(&["status"]),
        v1("Pod", "pods", true)
            .with_short_names(&["po"])
            .with_categories(&["all"])
            .with_subresources(&[
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "resize",
                "status",
            ]),
        v1("PodTemplate", "podtemplates", true),
        v1("ReplicationController", "replicationcontrollers", true)
            .with_short_names(&["rc"])
            .with_categories(&["all"])
            .with_subresources(&["scale", "status"]),
        v1("ResourceQuota", "resourcequotas", true)
            .with_short_names(&["quota"])
            .with_subresources(&["status"]),
        v1("Secret", "secrets", true),
        v1("ServiceAccount", "serviceaccounts", true)
            .with_short_names(&["sa"])
            .with_subresources(&["token"]),
        v1("Service", "services", true)
            .with_short_names(&["svc"])
            .with_categories(&["all"])
            .with_subresources(&["proxy", "status"]),
    ]
}
