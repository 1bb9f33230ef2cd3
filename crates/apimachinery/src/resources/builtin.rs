//! Upstream's built-in resources, one file per family of API groups.
//! Within a group-version, resources are sorted by plural as upstream's
//! discovery lists them; [`super::Catalog`] puts the groups in upstream's
//! discovery order.

mod admission;
mod cluster;
mod core;
mod networking;
mod workloads;

use super::ResourceInfo;

/// Verbs of a resource that only accepts creation (reviews, bindings).
pub(crate) const CREATE_ONLY: &[&str] = &["create"];

/// Every built-in resource at every served version.
pub fn builtin_resources() -> Vec<ResourceInfo> {
    let mut all = core::resources();
    all.extend(workloads::resources());
    all.extend(networking::resources());
    all.extend(cluster::resources());
    all.extend(admission::resources());
    all
}

/// A resource that shares its storage with the same resource in another
/// group (events.k8s.io/v1 events are core events).
pub(crate) fn with_storage_group(mut info: ResourceInfo, group: &str) -> ResourceInfo {
    info.storage_group = group.into();
    info
}
