//! The plugin registry: one row per plugin name with its default score
//! weight and a constructor. The configuration refers to plugins by these
//! names; a name not in the table is a configuration error.

use crate::framework::{Filter, PostFilter, PreEnqueue, PreFilter, PreScore, Score};
use std::sync::Arc;

/// What a constructor gets: the plugin's `pluginConfig` args (if any) and
/// the informer factory (None in config validation, unit tests and benches:
/// constructors must succeed without it).
pub struct PluginContext<'a> {
    pub args: Option<&'a serde_json::Value>,
    pub factory: Option<&'a informer::Factory>,
}

/// The extension points one plugin instance implements.
#[derive(Default, Clone)]
pub struct PluginSet {
    pub pre_enqueue: Option<Arc<dyn PreEnqueue>>,
    pub pre_filter: Option<Arc<dyn PreFilter>>,
    pub filter: Option<Arc<dyn Filter>>,
    pub post_filter: Option<Arc<dyn PostFilter>>,
    pub pre_score: Option<Arc<dyn PreScore>>,
    pub score: Option<Arc<dyn Score>>,
}

impl PluginSet {
    /// Whether the plugin implements extension point `point` (config names:
    /// `preEnqueue`, `preFilter`, `filter`, `postFilter`, `preScore`, `score`).
    pub fn implements(&self, point: &str) -> bool {
        match point {
            "preEnqueue" => self.pre_enqueue.is_some(),
            "preFilter" => self.pre_filter.is_some(),
            "filter" => self.filter.is_some(),
            "postFilter" => self.post_filter.is_some(),
            "preScore" => self.pre_score.is_some(),
            "score" => self.score.is_some(),
            _ => false,
        }
    }
}

/// Builds a plugin; an `Err` names what is wrong with its args.
pub type Constructor = fn(&PluginContext) -> Result<PluginSet, String>;

pub struct Registration {
    pub name: &'static str,
    /// Score weight when the configuration gives none (upstream's defaults).
    pub default_weight: i64,
    pub new: Constructor,
}

/// Plugins upstream's default profile enables, in upstream's order.
pub const DEFAULT_PLUGINS: &[&str] = &[
    "SchedulingGates",
    "PrioritySort",
    "NodeUnschedulable",
    "NodeName",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeBinding",
    "VolumeZone",
    "PodTopologySpread",
    "InterPodAffinity",
    "DefaultPreemption",
    "NodeResourcesBalancedAllocation",
    "ImageLocality",
    "DefaultBinder",
];

/// Upstream plugins rkube accepts in a configuration but that have nothing
/// to do here (no volumes yet; sorting and binding are built in).
pub const NO_OP_PLUGINS: &[&str] = &[
    "PrioritySort",
    "DefaultBinder",
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeBinding",
    "VolumeZone",
    "EBSLimits",
    "GCEPDLimits",
    "AzureDiskLimits",
    "CinderLimits",
    "NodeDeclaredFeatures",
    "DynamicResources",
];

fn set<T>(p: Arc<T>) -> (Arc<T>, PluginSet) {
    (p, PluginSet::default())
}

/// The table of plugins this scheduler knows.
pub fn registrations() -> Vec<Registration> {
    use super::*;
    vec![
        Registration {
            name: "SchedulingGates",
            default_weight: 1,
            new: |_| {
                let (p, mut s) = set(Arc::new(scheduling_gates::SchedulingGates));
                s.pre_enqueue = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "NodeUnschedulable",
            default_weight: 1,
            new: |_| {
                let (p, mut s) = set(Arc::new(node_unschedulable::NodeUnschedulable));
                s.filter = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "NodeName",
            default_weight: 1,
            new: |_| {
                let (p, mut s) = set(Arc::new(node_name::NodeName));
                s.filter = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "TaintToleration",
            default_weight: 3,
            new: |_| {
                let (p, mut s) = set(Arc::new(taint_toleration::TaintToleration));
                s.filter = Some(p.clone());
                s.pre_score = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "NodeAffinity",
            default_weight: 2,
            new: |_| {
                let (p, mut s) = set(Arc::new(node_affinity::NodeAffinity));
                s.pre_filter = Some(p.clone());
                s.filter = Some(p.clone());
                s.pre_score = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "NodePorts",
            default_weight: 1,
            new: |_| {
                let (p, mut s) = set(Arc::new(node_ports::NodePorts));
                s.pre_filter = Some(p.clone());
                s.filter = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "NodeResourcesFit",
            default_weight: 1,
            new: |ctx| {
                let fit = node_resources_fit::NodeResourcesFit::from_args(ctx.args)?;
                let (p, mut s) = set(Arc::new(fit));
                s.filter = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "NodeResourcesBalancedAllocation",
            default_weight: 1,
            new: |ctx| {
                let b = node_resources_balanced::BalancedAllocation::from_args(ctx.args)?;
                let (p, mut s) = set(Arc::new(b));
                s.pre_score = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "ImageLocality",
            default_weight: 1,
            new: |_| {
                let (p, mut s) = set(Arc::new(image_locality::ImageLocality));
                s.pre_score = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "InterPodAffinity",
            default_weight: 2,
            new: |ctx| {
                let p = match ctx.factory {
                    Some(f) => inter_pod_affinity::InterPodAffinity::with_namespace_informer(
                        f.informer::<k8s_openapi::api::core::v1::Namespace>(),
                    ),
                    None => inter_pod_affinity::InterPodAffinity::new(None),
                };
                let (p, mut s) = set(Arc::new(p));
                s.pre_filter = Some(p.clone());
                s.filter = Some(p.clone());
                s.pre_score = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "PodTopologySpread",
            default_weight: 2,
            new: |ctx| {
                let lookup = ctx
                    .factory
                    .map(pod_topology_spread::informer_selector_lookup);
                let (p, mut s) = set(Arc::new(pod_topology_spread::PodTopologySpread::new(
                    lookup,
                )));
                s.pre_filter = Some(p.clone());
                s.filter = Some(p.clone());
                s.pre_score = Some(p.clone());
                s.score = Some(p);
                Ok(s)
            },
        },
        Registration {
            name: "DefaultPreemption",
            default_weight: 1,
            new: |ctx| {
                let post_filter: Arc<dyn PostFilter> = match ctx.factory {
                    Some(f) => Arc::new(crate::preemption::DefaultPreemption::new(
                        f.clone(),
                        informer::Recorder::new(f.client(), "default-scheduler"),
                    )),
                    // Without an API there is nothing to evict (config
                    // validation, unit tests, the in-memory bench).
                    None => Arc::new(NoApiPreemption),
                };
                Ok(PluginSet {
                    post_filter: Some(post_filter),
                    ..Default::default()
                })
            },
        },
    ]
}

/// DefaultPreemption when the scheduler has no API client: it never helps.
struct NoApiPreemption;

impl crate::framework::Plugin for NoApiPreemption {
    fn name(&self) -> &'static str {
        "DefaultPreemption"
    }
}

#[async_trait::async_trait]
impl PostFilter for NoApiPreemption {
    async fn post_filter(
        &self,
        _ctx: crate::framework::PostFilterContext<'_>,
    ) -> Result<Option<String>, crate::framework::Status> {
        Ok(None)
    }
}

/// Look a plugin up by name.
pub fn find(name: &str) -> Option<Registration> {
    registrations().into_iter().find(|r| r.name == name)
}
