//! Pure parts of the DaemonSet controller: which nodes should run a daemon
//! pod (nodeSelector, required node affinity, taints against tolerations),
//! the tolerations upstream adds to every daemon pod, and the daemon pod for
//! one node, pinned there by a required `metadata.name` node affinity so the
//! default scheduler places it.

use crate::history::{REVISION_HASH_LABEL, controller_ref};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The annotation the API server keeps the template generation in.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

/// The template generation pods are labelled with.
pub fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION))
        .and_then(|g| g.parse().ok())
        .or(ds.metadata.generation)
}

/// Add the tolerations every daemon pod gets, so node conditions that keep
/// ordinary pods away do not evict or block daemons.
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let tols = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in wanted {
        let t = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Default::default()
        };
        // Upstream replaces a toleration of the same key and effect.
        tols.retain(|x| !(x.key.as_deref() == Some(key) && x.effect.as_deref() == Some(effect)));
        tols.push(t);
    }
}

fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    let exists = t.operator.as_deref() == Some("Exists");
    if key.is_empty() {
        return exists;
    }
    if key != taint.key {
        return false;
    }
    exists || t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// One required node-affinity term: every expression and field requirement holds.
fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let name = node.metadata.name.as_deref();
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            let v = if r.key == "metadata.name" { name } else { None };
            requirement_matches(r, v)
        })
}

/// nodeSelector and required node affinity both admit `node`.
pub fn fits_node_affinity(spec: &PodSpec, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(sel) = &spec.node_selector
        && !sel.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match required {
        Some(r) => r.node_selector_terms.iter().any(|t| term_matches(t, node)),
        None => true,
    }
}

/// (should run, should continue running) a daemon pod with `spec` on `node`.
pub fn node_should_run(spec: &PodSpec, node: &Node) -> (bool, bool) {
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty())
        && Some(n) != node.metadata.name.as_deref()
    {
        return (false, false);
    }
    if !fits_node_affinity(spec, node) {
        return (false, false);
    }
    let tols = spec.tolerations.as_deref().unwrap_or_default();
    let untolerated = |effect: &str| {
        node.spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
            .iter()
            .filter(|t| t.effect == effect)
            .any(|t| !tols.iter().any(|x| tolerates(x, t)))
    };
    let no_execute = untolerated("NoExecute");
    let no_schedule = untolerated("NoSchedule");
    (!no_execute && !no_schedule, !no_execute)
}

/// The template's pod spec as the daemon pods will carry it (tolerations added).
pub fn daemon_pod_spec(ds: &DaemonSet) -> PodSpec {
    let mut spec = ds.spec.template.spec.clone().unwrap_or_default();
    add_daemon_tolerations(&mut spec);
    spec
}

/// Pin `spec` to `node`: its required node affinity becomes exactly
/// `metadata.name In [node]` (eligibility was already checked against the
/// template's own terms).
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.into()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let na = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
}

/// The node a daemon pod is bound or pinned to.
pub fn target_node(pod: &Pod) -> Option<&str> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(n);
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first())
        .map(String::as_str)
}

/// The daemon pod for `node` at revision `hash`.
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let tm = ds.spec.template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    if let Some(g) = template_generation(ds) {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    let mut spec = daemon_pod_spec(ds);
    pin_to_node(&mut spec, node);
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.metadata.name.as_deref().unwrap_or(""))),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref(ds)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Whether `pod` runs the DaemonSet's current template.
pub fn is_updated(pod: &Pod, hash: &str, ds: &DaemonSet) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let annotated = ds
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION));
    label(REVISION_HASH_LABEL) == Some(hash)
        || annotated.is_some_and(|g| label(TEMPLATE_GENERATION_LABEL) == Some(g.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeSpec;

    fn node(name: &str, labels: &[(&str, &str)], taints: Vec<Taint>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                taints: Some(taints),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Default::default()
        }
    }

    #[test]
    fn node_selector_and_affinity_pick_nodes() {
        let mut spec = PodSpec {
            node_selector: Some([("disk".to_string(), "ssd".to_string())].into()),
            ..Default::default()
        };
        assert_eq!(
            node_should_run(&spec, &node("a", &[("disk", "ssd")], vec![])),
            (true, true)
        );
        assert_eq!(
            node_should_run(&spec, &node("b", &[], vec![])),
            (false, false)
        );
        spec.node_selector = None;
        pin_to_node(&mut spec, "a");
        assert!(fits_node_affinity(&spec, &node("a", &[], vec![])));
        assert!(!fits_node_affinity(&spec, &node("b", &[], vec![])));
    }

    #[test]
    fn taints_need_tolerations() {
        let mut spec = PodSpec::default();
        add_daemon_tolerations(&mut spec);
        let master = node(
            "m",
            &[],
            vec![taint("node-role.kubernetes.io/control-plane", "NoSchedule")],
        );
        assert_eq!(node_should_run(&spec, &master), (false, true));
        let evicting = node("e", &[], vec![taint("dedicated", "NoExecute")]);
        assert_eq!(node_should_run(&spec, &evicting), (false, false));
        // Daemon tolerations cover node conditions.
        let cordoned = node(
            "c",
            &[],
            vec![taint("node.kubernetes.io/unschedulable", "NoSchedule")],
        );
        assert_eq!(node_should_run(&spec, &cordoned), (true, true));
        let not_ready = node(
            "n",
            &[],
            vec![taint("node.kubernetes.io/not-ready", "NoExecute")],
        );
        assert_eq!(node_should_run(&spec, &not_ready), (true, true));
        let net = node(
            "x",
            &[],
            vec![taint(
                "node.kubernetes.io/network-unavailable",
                "NoSchedule",
            )],
        );
        assert!(!node_should_run(&spec, &net).0);
        spec.host_network = Some(true);
        add_daemon_tolerations(&mut spec);
        assert!(node_should_run(&spec, &net).0);
        // PreferNoSchedule never blocks.
        let soft = node("s", &[], vec![taint("x", "PreferNoSchedule")]);
        assert_eq!(node_should_run(&spec, &soft), (true, true));
    }

    #[test]
    fn affinity_operators() {
        let r = |op: &str, vals: &[&str]| NodeSelectorRequirement {
            key: "k".into(),
            operator: op.into(),
            values: Some(vals.iter().map(|v| v.to_string()).collect()),
        };
        assert!(requirement_matches(&r("In", &["a"]), Some("a")));
        assert!(!requirement_matches(&r("In", &["a"]), None));
        assert!(requirement_matches(&r("NotIn", &["a"]), None));
        assert!(requirement_matches(&r("Gt", &["3"]), Some("4")));
        assert!(!requirement_matches(&r("Lt", &["3"]), Some("4")));
        assert!(requirement_matches(&r("DoesNotExist", &[]), None));
    }

    #[test]
    fn new_pod_is_pinned_and_labelled() {
        let mut ds = DaemonSet::default();
        ds.metadata.name = Some("fluentd".into());
        ds.metadata.generation = Some(3);
        let p = new_pod(&ds, "node-1", "abc");
        assert_eq!(target_node(&p), Some("node-1"));
        assert_eq!(p.spec.as_ref().and_then(|s| s.node_name.clone()), None);
        let l = p.metadata.labels.clone().unwrap_or_default();
        assert_eq!(l[REVISION_HASH_LABEL], "abc");
        assert_eq!(l[TEMPLATE_GENERATION_LABEL], "3");
        assert_eq!(p.metadata.generate_name.as_deref(), Some("fluentd-"));
        assert!(is_updated(&p, "abc", &ds));
        assert!(!is_updated(&p, "xyz", &ds));
    }
}
