//! Cluster plumbing groups: events, certificates, rbac, storage,
//! scheduling, coordination, node and flow control.

use crate::resources::ResourceInfo;

use super::with_storage_group;

pub(super) fn resources() -> Vec<ResourceInfo> {
    let rbac = |kind: &str, plural: &str, namespaced: bool| {
        ResourceInfo::new("rbac.authorization.k8s.io", "v1", kind, plural, namespaced)
    };
    let storage = |kind: &str, plural: &str, namespaced: bool| {
        ResourceInfo::new("storage.k8s.io", "v1", kind, plural, namespaced)
    };
    let flow = |kind: &str, plural: &str| {
        ResourceInfo::new("flowcontrol.apiserver.k8s.io", "v1", kind, plural, false)
            .with_subresources(&["status"])
    };
    vec![
        // events.k8s.io/v1 is another view of the core events.
        with_storage_group(
            ResourceInfo::new("events.k8s.io", "v1", "Event", "events", true)
                .with_short_names(&["ev"]),
            "",
        ),
        ResourceInfo::new(
            "certificates.k8s.io",
            "v1",
            "CertificateSigningRequest",
            "certificatesigningrequests",
            false,
        )
        .with_short_names(&["csr"])
        .with_subresources(&["approval", "status"]),
        rbac("ClusterRoleBinding", "clusterrolebindings", false),
        rbac("ClusterRole", "clusterroles", false),
        rbac("RoleBinding", "rolebindings", true),
        rbac("Role", "roles", true),
        storage("CSIDriver", "csidrivers", false),
        storage("CSINode", "csinodes", false),
        storage("CSIStorageCapacity", "csistoragecapacities", true),
        storage("StorageClass", "storageclasses", false).with_short_names(&["sc"]),
        storage("VolumeAttachment", "volumeattachments", false).with_subresources(&["status"]),
        ResourceInfo::new(
            "scheduling.k8s.io",
            "v1",
            "PriorityClass",
            "priorityclasses",
            false,
        )
        .with_short_names(&["pc"]),
        ResourceInfo::new("coordination.k8s.io", "v1", "Lease", "leases", true),
        ResourceInfo::new("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", false),
        flow("FlowSchema", "flowschemas"),
        flow("PriorityLevelConfiguration", "prioritylevelconfigurations"),
    ]
}
