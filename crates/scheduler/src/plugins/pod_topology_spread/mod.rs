//! PodTopologySpread (upstream's `podtopologyspread` plugin): spreads
//! matching pods over topology domains. DoNotSchedule constraints filter
//! (maxSkew, minDomains, node inclusion policies, matchLabelKeys);
//! ScheduleAnyway constraints score. Pods without constraints get the
//! system defaults (zone maxSkew 5, hostname maxSkew 3, ScheduleAnyway)
//! over the selector of the Services / controllers that own them, which the
//! plugin asks a [`SelectorLookupFn`] for (wire it with
//! [`informer_selector_lookup`]).

mod constraints;
mod filtering;
pub mod node_inclusion;
mod scoring;
#[cfg(test)]
mod tests;

use crate::framework::Plugin;
use apimachinery::selectors::LabelSelector;
use k8s_openapi::api::core::v1::{Pod, TopologySpreadConstraint};
use std::sync::Arc;

pub use constraints::{Constraint, informer_selector_lookup};

pub const NAME: &str = "PodTopologySpread";
pub const ERR_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// The selector of the Services, ReplicationController, ReplicaSet and
/// StatefulSet that select/own a pod (upstream's `DefaultSelector`), used
/// for the default constraints; `None` (or an empty selector) means none.
pub type SelectorLookupFn = Arc<dyn Fn(&Pod) -> Option<LabelSelector> + Send + Sync>;

pub struct PodTopologySpread {
    default_constraints: Vec<TopologySpreadConstraint>,
    /// The defaults are the system's (not configured): nodes without a
    /// zone label still score by hostname.
    system_defaulted: bool,
    selector_lookup: Option<SelectorLookupFn>,
}

/// Upstream's system default constraints.
pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    [(LABEL_ZONE, 5), (LABEL_HOSTNAME, 3)]
        .into_iter()
        .map(|(key, skew)| TopologySpreadConstraint {
            topology_key: key.into(),
            max_skew: skew,
            when_unsatisfiable: "ScheduleAnyway".into(),
            ..Default::default()
        })
        .collect()
}

impl PodTopologySpread {
    /// With the system default constraints; `selector_lookup` finds the
    /// selector they spread over (`None`: pods without constraints are not spread).
    pub fn new(selector_lookup: Option<SelectorLookupFn>) -> Self {
        Self {
            default_constraints: system_default_constraints(),
            system_defaulted: true,
            selector_lookup,
        }
    }

    /// With configured default constraints (the plugin's `defaultConstraints`
    /// arg with `defaultingType: List`).
    pub fn with_default_constraints(
        defaults: Vec<TopologySpreadConstraint>,
        selector_lookup: Option<SelectorLookupFn>,
    ) -> Self {
        Self {
            default_constraints: defaults,
            system_defaulted: false,
            selector_lookup,
        }
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
}
