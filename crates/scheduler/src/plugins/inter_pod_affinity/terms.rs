//! Pod (anti-)affinity terms parsed from a pod spec, and the matching rules
//! upstream's `framework.AffinityTerm` applies: a term selects pods by label
//! in a set of namespaces (its own list, or those a namespaceSelector picks;
//! both empty means the owning pod's namespace).

use apimachinery::selectors::{LabelSelector, Operator, Requirement};
use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;
use std::collections::{BTreeMap, HashMap};

/// Labels of a namespace, `None` when it is not known.
pub type NamespaceLabelsFn =
    std::sync::Arc<dyn Fn(&str) -> Option<BTreeMap<String, String>> + Send + Sync>;

/// One parsed term; `weight` is 1 for required terms.
#[derive(Debug, Clone)]
pub struct AffinityTerm {
    pub selector: LabelSelector,
    pub namespaces: Vec<String>,
    /// `None` when the term has no namespaceSelector (selects no namespace).
    pub namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
    pub weight: i32,
}

impl AffinityTerm {
    fn parse(term: &PodAffinityTerm, owner_ns: &str, weight: i32) -> Self {
        let namespace_selector = term
            .namespace_selector
            .as_ref()
            .map(|s| convert_selector(Some(s)));
        let mut namespaces = term.namespaces.clone().unwrap_or_default();
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.push(owner_ns.to_string());
        }
        Self {
            selector: convert_selector(term.label_selector.as_ref()),
            namespaces,
            namespace_selector,
            topology_key: term.topology_key.clone(),
            weight,
        }
    }

    /// Whether `pod` is selected; `ns_labels` are the labels of the pod's
    /// namespace (only read when the term has a namespaceSelector).
    pub fn matches(&self, pod: &Pod, ns_labels: Option<&BTreeMap<String, String>>) -> bool {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let ns_ok = self.namespaces.iter().any(|n| n == ns)
            || self
                .namespace_selector
                .as_ref()
                .is_some_and(|s| match ns_labels {
                    Some(l) => s.matches(l),
                    None => s.matches(&BTreeMap::new()),
                });
        ns_ok && self.selector.matches(labels_of(pod))
    }

    /// Like `matches`, looking namespace labels up (cached per call site).
    pub fn matches_lookup(&self, pod: &Pod, ns: &mut NsCache<'_>) -> bool {
        if self.namespace_selector.is_none() {
            return self.matches(pod, None);
        }
        let labels = ns.get(pod.metadata.namespace.as_deref().unwrap_or(""));
        self.matches(pod, labels)
    }
}

/// Memoised namespace-label lookups for one scheduling cycle.
pub struct NsCache<'a> {
    lookup: Option<&'a NamespaceLabelsFn>,
    cache: HashMap<String, Option<BTreeMap<String, String>>>,
}

impl<'a> NsCache<'a> {
    pub fn new(lookup: Option<&'a NamespaceLabelsFn>) -> Self {
        Self {
            lookup,
            cache: HashMap::new(),
        }
    }

    pub fn get(&mut self, ns: &str) -> Option<&BTreeMap<String, String>> {
        if !self.cache.contains_key(ns) {
            let v = self.lookup.and_then(|f| f(ns));
            self.cache.insert(ns.to_string(), v);
        }
        self.cache.get(ns).and_then(Option::as_ref)
    }
}

/// The four term lists of a pod's spec.affinity.
#[derive(Debug, Clone, Default)]
pub struct PodTerms {
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<AffinityTerm>,
    pub preferred_anti_affinity: Vec<AffinityTerm>,
}

impl PodTerms {
    pub fn of(pod: &Pod) -> Self {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let Some(aff) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else {
            return Self::default();
        };
        let mut out = Self::default();
        if let Some(a) = &aff.pod_affinity {
            for t in a
                .required_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.required_affinity.push(AffinityTerm::parse(t, ns, 1));
            }
            for w in a
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.preferred_affinity.push(AffinityTerm::parse(
                    &w.pod_affinity_term,
                    ns,
                    w.weight,
                ));
            }
        }
        if let Some(a) = &aff.pod_anti_affinity {
            for t in a
                .required_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.required_anti_affinity
                    .push(AffinityTerm::parse(t, ns, 1));
            }
            for w in a
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
            {
                out.preferred_anti_affinity.push(AffinityTerm::parse(
                    &w.pod_affinity_term,
                    ns,
                    w.weight,
                ));
            }
        }
        out
    }

    pub fn has_required(&self) -> bool {
        !self.required_affinity.is_empty() || !self.required_anti_affinity.is_empty()
    }

    pub fn has_preferred(&self) -> bool {
        !self.preferred_affinity.is_empty() || !self.preferred_anti_affinity.is_empty()
    }
}

/// The required anti-affinity terms of a pod (existing pods' side).
pub fn required_anti_affinity(pod: &Pod) -> Vec<AffinityTerm> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|v| v.iter().map(|t| AffinityTerm::parse(t, ns, 1)).collect())
        .unwrap_or_default()
}

pub fn labels_of(pod: &Pod) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    pod.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

/// Converts an API label selector as upstream's `LabelSelectorAsSelector`:
/// absent selects nothing, `{}` everything; an invalid one selects nothing.
pub fn convert_selector(sel: Option<&ApiLabelSelector>) -> LabelSelector {
    let Some(sel) = sel else {
        return LabelSelector::nothing();
    };
    let mut reqs = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        match Requirement::new(k, Operator::Equals, vec![v.clone()]) {
            Ok(r) => reqs.push(r),
            Err(_) => return LabelSelector::nothing(),
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let op = match e.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => return LabelSelector::nothing(),
        };
        match Requirement::new(&e.key, op, e.values.clone().unwrap_or_default()) {
            Ok(r) => reqs.push(r),
            Err(_) => return LabelSelector::nothing(),
        }
    }
    LabelSelector::from_requirements(reqs)
}

/// Counts per topology pair (key → value → count); zero entries are removed
/// so "no pair counted" is `is_empty`.
#[derive(Debug, Clone, Default)]
pub struct TopologyCounts(HashMap<String, HashMap<String, i64>>);

impl TopologyCounts {
    /// Adds `delta` to the pair (key, the node's value for key), if the node has the label.
    pub fn update(&mut self, node_labels: &BTreeMap<String, String>, key: &str, delta: i64) {
        let Some(value) = node_labels.get(key) else {
            return;
        };
        let inner = self.0.entry(key.to_string()).or_default();
        let c = inner.entry(value.clone()).or_insert(0);
        *c += delta;
        if *c == 0 {
            inner.remove(value);
            if inner.is_empty() {
                self.0.remove(key);
            }
        }
    }

    pub fn get(&self, key: &str, value: &str) -> i64 {
        self.0
            .get(key)
            .and_then(|m| m.get(value))
            .copied()
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
