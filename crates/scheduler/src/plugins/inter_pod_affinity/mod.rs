//! InterPodAffinity (upstream's `interpodaffinity` plugin): required pod
//! affinity and anti-affinity as a filter (both directions: the incoming
//! pod's terms, and existing pods' required anti-affinity against it), and
//! preferred terms as a score.
//!
//! Namespace selectors need namespace labels: the plugin takes a lookup
//! (`NamespaceLabelsFn`) at construction. Wire it from the Namespace
//! informer with [`InterPodAffinity::with_namespace_informer`].

mod filtering;
mod scoring;
pub mod terms;
#[cfg(test)]
mod tests;

use crate::framework::Plugin;
use k8s_openapi::api::core::v1::Namespace;
use std::sync::Arc;
pub use terms::{AffinityTerm, NamespaceLabelsFn, PodTerms, TopologyCounts};

pub const NAME: &str = "InterPodAffinity";

pub const ERR_AFFINITY_RULES: &str = "node(s) didn't match pod affinity rules";
pub const ERR_ANTI_AFFINITY_RULES: &str = "node(s) didn't match pod anti-affinity rules";
pub const ERR_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Upstream's default `hardPodAffinityWeight`.
pub const DEFAULT_HARD_POD_AFFINITY_WEIGHT: i32 = 1;

pub struct InterPodAffinity {
    ns_labels: Option<NamespaceLabelsFn>,
    /// Score weight of existing pods' required affinity terms the incoming pod matches.
    pub hard_pod_affinity_weight: i32,
}

impl InterPodAffinity {
    /// `ns_labels` answers the labels of a namespace (for namespaceSelector);
    /// `None` makes every namespace look unlabelled.
    pub fn new(ns_labels: Option<NamespaceLabelsFn>) -> Self {
        Self {
            ns_labels,
            hard_pod_affinity_weight: DEFAULT_HARD_POD_AFFINITY_WEIGHT,
        }
    }

    /// Namespace labels read from the shared Namespace informer's cache.
    pub fn with_namespace_informer(namespaces: informer::Informer<Namespace>) -> Self {
        let f: NamespaceLabelsFn = Arc::new(move |ns: &str| {
            namespaces
                .get_named(None, ns)
                .map(|n| n.metadata.labels.clone().unwrap_or_default())
        });
        Self::new(Some(f))
    }

    fn lookup_ns(&self, ns: &str) -> Option<std::collections::BTreeMap<String, String>> {
        self.ns_labels.as_ref().and_then(|f| f(ns))
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}
