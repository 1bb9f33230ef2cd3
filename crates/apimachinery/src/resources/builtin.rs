//! Upstream's built-in resources.

use super::ResourceInfo;

/// Every built-in resource at every served version.
pub fn builtin_resources() -> Vec<ResourceInfo> {
    vec![
        ResourceInfo::new("", "v1", "Namespace", "namespaces", false)
            .with_short_names(&["ns"])
            .with_subresources(&["status", "finalize"]),
        ResourceInfo::new("", "v1", "ConfigMap", "configmaps", true).with_short_names(&["cm"]),
    ]
}
