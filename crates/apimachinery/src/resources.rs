//! The resource catalogue: every built-in resource with upstream's group,
//! version, kind, plural, singular, scope, verbs, short names, categories and
//! subresources. Custom resources are added at run time by the registry from
//! CustomResourceDefinitions, with the same [`ResourceInfo`] shape.

mod builtin;
mod catalog;
mod subresource;
#[cfg(test)]
mod tests;

pub use builtin::builtin_resources;
pub use catalog::{Catalog, preferred_group_order};
pub use subresource::{SubresourceInfo, subresource_info};

/// One servable resource at one group-version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Lower-case plural, the path segment: `deployments`.
    pub plural: String,
    /// Lower-case singular: `deployment`.
    pub singular: String,
    pub namespaced: bool,
    /// Upstream's verbs, e.g. create, delete, deletecollection, get, list,
    /// patch, update, watch.
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Subresources served, e.g. `status`, `scale`, `binding`, `eviction`,
    /// `log`, `exec`, `attach`, `portforward`, `proxy`, `finalize`, `ephemeralcontainers`.
    pub subresources: Vec<String>,
    /// The group and resource whose storage this version shares (for a
    /// resource served at several versions, e.g. HPA autoscaling/v1 and v2,
    /// the storage key uses the group and plural given here).
    pub storage_group: String,
}

/// Verbs of an ordinary read-write resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceInfo {
    /// A resource with all the ordinary verbs and no aliases; chain the
    /// `with_*` methods to add the rest.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        ResourceInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced,
            verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
            short_names: vec![],
            categories: vec![],
            subresources: vec![],
            storage_group: group.into(),
        }
    }
    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn with_categories(mut self, cats: &[&str]) -> Self {
        self.categories = cats.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn with_subresources(mut self, subs: &[&str]) -> Self {
        self.subresources = subs.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn with_verbs(mut self, verbs: &[&str]) -> Self {
        self.verbs = verbs.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.iter().any(|s| s == sub)
    }
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|s| s == verb)
    }
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}
