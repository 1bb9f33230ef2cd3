//! Lookups over a list of resources, and upstream's discovery order of API
//! groups. The registry keeps its own dynamic catalogue (built-ins plus
//! CRDs); this is the static part and the helpers it needs.

use super::{ResourceInfo, builtin_resources};

/// The API groups served under `/apis`, with their preferred version, in the
/// order upstream's discovery lists them. The core group is served apart,
/// at `/api` (version `v1`), and is not in this list.
pub fn preferred_group_order() -> Vec<(&'static str, &'static str)> {
    vec![
        ("apiregistration.k8s.io", "v1"),
        ("apps", "v1"),
        ("events.k8s.io", "v1"),
        ("authentication.k8s.io", "v1"),
        ("authorization.k8s.io", "v1"),
        ("autoscaling", "v2"),
        ("batch", "v1"),
        ("certificates.k8s.io", "v1"),
        ("networking.k8s.io", "v1"),
        ("policy", "v1"),
        ("rbac.authorization.k8s.io", "v1"),
        ("storage.k8s.io", "v1"),
        ("admissionregistration.k8s.io", "v1"),
        ("apiextensions.k8s.io", "v1"),
        ("scheduling.k8s.io", "v1"),
        ("coordination.k8s.io", "v1"),
        ("node.k8s.io", "v1"),
        ("discovery.k8s.io", "v1"),
        ("flowcontrol.apiserver.k8s.io", "v1"),
    ]
}

/// Position of a group in discovery order: the core group first, known
/// groups in upstream order, then any other group (CRDs) after them.
fn group_rank(group: &str) -> usize {
    if group.is_empty() {
        return 0;
    }
    preferred_group_order()
        .iter()
        .position(|(g, _)| *g == group)
        .map_or(usize::MAX, |i| i + 1)
}

/// An ordered, searchable list of resources.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    resources: Vec<ResourceInfo>,
}

impl Catalog {
    /// A catalogue of the given resources, put in discovery order: groups as
    /// upstream orders them (unknown groups after, in the order given),
    /// versions in the order given within a group.
    pub fn new(mut resources: Vec<ResourceInfo>) -> Self {
        // A stable sort keeps the given order of versions and resources.
        resources.sort_by_key(|r| group_rank(&r.group));
        Catalog { resources }
    }

    /// The built-in resources.
    pub fn builtin() -> Self {
        Catalog::new(builtin_resources())
    }

    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }

    /// Adds (or replaces, by group, version and plural) one resource.
    pub fn insert(&mut self, info: ResourceInfo) {
        self.resources.retain(|r| {
            !(r.group == info.group && r.version == info.version && r.plural == info.plural)
        });
        self.resources.push(info);
        self.resources.sort_by_key(|r| group_rank(&r.group));
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
    }

    /// The resource for a plural in a group at any version (the first
    /// served version, which is the preferred one for built-ins).
    pub fn find_any_version(&self, group: &str, plural: &str) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.plural == plural)
    }

    /// Versions served for a group, preferred first, without repeats.
    pub fn versions(&self, group: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in self.resources.iter().filter(|r| r.group == group) {
            if !out.contains(&r.version.as_str()) {
                out.push(&r.version);
            }
        }
        out
    }

    /// Groups served, in discovery order, without repeats (the core group,
    /// `""`, first when present).
    pub fn groups(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.resources {
            if !out.contains(&r.group.as_str()) {
                out.push(&r.group);
            }
        }
        out
    }

    /// Resources of one group-version, in catalogue order.
    pub fn group_version(&self, group: &str, version: &str) -> Vec<&ResourceInfo> {
        self.resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .collect()
    }

    /// Resolves what a user typed (`po`, `pods`, `pod`, `Pod`, as kubectl
    /// does) to resources; several when the name is served in more groups.
    pub fn resolve_name(&self, name: &str) -> Vec<&ResourceInfo> {
        let lower = name.to_lowercase();
        self.resources
            .iter()
            .filter(|r| {
                r.plural == lower
                    || r.singular == lower
                    || r.kind.to_lowercase() == lower
                    || r.short_names.contains(&lower)
            })
            .collect()
    }

    /// Resources in a category (`all`, `api-extensions`).
    pub fn in_category(&self, category: &str) -> Vec<&ResourceInfo> {
        self.resources
            .iter()
            .filter(|r| r.categories.iter().any(|c| c == category))
            .collect()
    }
}
