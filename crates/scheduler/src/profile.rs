//! A scheduling profile: the plugins enabled at each extension point, in
//! order, with their score weights, built from the configuration the way
//! upstream merges it (defaults, then `multiPoint`, then per-point
//! enabled/disabled).

use crate::config::{ConfigError, SchedulerConfig, invalid};
use crate::framework::{
    CycleState, Filter, FilterRunner, NodeInfo, PodInfo, PostFilter, PreEnqueue, PreFilter,
    PreScore, Score, Status,
};
use crate::plugins::registry::{self, PluginContext, PluginSet};
use std::collections::HashMap;
use std::sync::Arc;

/// Extension points rkube runs plugins at.
const RUN_POINTS: &[&str] = &[
    "preEnqueue",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
];

#[derive(Clone, Default)]
pub struct Profile {
    pub scheduler_name: String,
    pub percentage_of_nodes_to_score: i32,
    pub pre_enqueue: Vec<Arc<dyn PreEnqueue>>,
    pub pre_filter: Vec<Arc<dyn PreFilter>>,
    pub filter: Vec<Arc<dyn Filter>>,
    pub post_filter: Vec<Arc<dyn PostFilter>>,
    pub pre_score: Vec<Arc<dyn PreScore>>,
    pub score: Vec<(Arc<dyn Score>, i64)>,
}

impl Profile {
    /// Build the profile `cfg` describes. `factory` is None when only
    /// validating (plugins must then not touch the API).
    pub fn build(
        cfg: &SchedulerConfig,
        factory: Option<&informer::Factory>,
    ) -> Result<Profile, ConfigError> {
        let empty = Default::default();
        let point_cfg = |p: &str| cfg.plugins.get(p).unwrap_or(&empty);
        let mut instances: HashMap<String, (PluginSet, i64)> = HashMap::new();
        let mut instance = |name: &str| -> Result<Option<(PluginSet, i64)>, ConfigError> {
            if let Some(i) = instances.get(name) {
                return Ok(Some(i.clone()));
            }
            let Some(reg) = registry::find(name) else {
                return Ok(None);
            };
            let ctx = PluginContext {
                args: cfg.plugin_config.get(name).filter(|a| !a.is_null()),
                factory,
            };
            let set = (reg.new)(&ctx).map_err(|e| {
                let i = cfg
                    .plugin_config
                    .keys()
                    .position(|k| k == name)
                    .unwrap_or(0);
                invalid(format!("profiles[0].pluginConfig[{i}] ({name})"), e)
            })?;
            instances.insert(name.to_string(), (set.clone(), reg.default_weight));
            Ok(Some((set, reg.default_weight)))
        };

        // multiPoint: the defaults, minus what it disables, plus what it enables.
        let mp = point_cfg("multiPoint");
        let mut multi: Vec<(String, i64)> = Vec::new();
        if !mp.disabled.iter().any(|d| d == "*") {
            for d in registry::DEFAULT_PLUGINS {
                if !mp.disabled.iter().any(|x| x == d) {
                    multi.push((d.to_string(), 0));
                }
            }
        }
        for e in &mp.enabled {
            match multi.iter_mut().find(|(n, _)| *n == e.name) {
                Some(slot) => slot.1 = e.weight,
                None => multi.push((e.name.clone(), e.weight)),
            }
        }

        let mut profile = Profile {
            scheduler_name: cfg.scheduler_name.clone(),
            percentage_of_nodes_to_score: cfg.percentage_of_nodes_to_score,
            ..Default::default()
        };
        for point in RUN_POINTS {
            let pc = point_cfg(point);
            let all_off = pc.disabled.iter().any(|d| d == "*");
            let mut list: Vec<(String, i64)> = Vec::new();
            if !all_off {
                for (name, w) in &multi {
                    if pc.disabled.contains(name) {
                        continue;
                    }
                    if let Some((set, _)) = instance(name)?
                        && set.implements(point)
                    {
                        list.push((name.clone(), *w));
                    }
                }
            }
            for (i, e) in pc.enabled.iter().enumerate() {
                let field = format!("profiles[0].plugins.{point}.enabled[{i}].name");
                match instance(&e.name)? {
                    Some((set, _)) if !set.implements(point) => {
                        return Err(invalid(
                            field,
                            format!("plugin {:?} does not extend {point}", e.name),
                        ));
                    }
                    Some(_) => {}
                    // Accepted upstream names with nothing to run here.
                    None => continue,
                }
                match list.iter_mut().find(|(n, _)| *n == e.name) {
                    Some(slot) => {
                        if e.weight != 0 {
                            slot.1 = e.weight;
                        }
                    }
                    None => list.push((e.name.clone(), e.weight)),
                }
            }
            for (name, w) in list {
                let Some((set, default_weight)) = instance(&name)? else {
                    continue;
                };
                match *point {
                    "preEnqueue" => profile.pre_enqueue.extend(set.pre_enqueue),
                    "preFilter" => profile.pre_filter.extend(set.pre_filter),
                    "filter" => profile.filter.extend(set.filter),
                    "postFilter" => profile.post_filter.extend(set.post_filter),
                    "preScore" => profile.pre_score.extend(set.pre_score),
                    "score" => {
                        if let Some(s) = set.score {
                            profile
                                .score
                                .push((s, if w == 0 { default_weight } else { w }));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(profile)
    }

    /// Run the PreEnqueue plugins; the first rejection keeps the pod out of
    /// the active queue.
    pub fn run_pre_enqueue(&self, pod: &PodInfo) -> Status {
        for p in &self.pre_enqueue {
            let mut s = p.pre_enqueue(pod);
            if !s.is_success() {
                s.plugin = p.name();
                return s;
            }
        }
        Status::success()
    }

    /// Names of the score plugins with their weights (for logs and tests).
    pub fn score_weights(&self) -> Vec<(&'static str, i64)> {
        self.score.iter().map(|(p, w)| (p.name(), *w)).collect()
    }
}

impl FilterRunner for Profile {
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for f in &self.filter {
            if state.skip_filter.contains(f.name()) {
                continue;
            }
            let mut s = f.filter(state, pod, node);
            if !s.is_success() {
                s.plugin = f.name();
                return s;
            }
        }
        Status::success()
    }

    fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        victim: &PodInfo,
        node: &NodeInfo,
    ) {
        for p in &self.pre_filter {
            if !state.skip_filter.contains(p.name()) {
                p.add_pod(state, pod, victim, node);
            }
        }
    }

    fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        victim: &PodInfo,
        node: &NodeInfo,
    ) {
        for p in &self.pre_filter {
            if !state.skip_filter.contains(p.name()) {
                p.remove_pod(state, pod, victim, node);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<T: ?Sized + crate::framework::Plugin>(v: &[Arc<T>]) -> Vec<&'static str> {
        v.iter().map(|p| p.name()).collect()
    }

    #[test]
    fn default_profile_has_upstream_order_and_weights() {
        let p = Profile::build(&SchedulerConfig::default(), None).unwrap();
        assert_eq!(
            names(&p.filter),
            [
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        assert_eq!(names(&p.pre_enqueue), ["SchedulingGates"]);
        assert_eq!(p.post_filter.len(), 1, "DefaultPreemption");
        assert!(w_has(&p, "PodTopologySpread", 2) && w_has(&p, "InterPodAffinity", 2));
        let w = p.score_weights();
        assert!(w.contains(&("TaintToleration", 3)));
        assert!(w.contains(&("NodeAffinity", 2)));
        assert!(w.contains(&("NodeResourcesFit", 1)));
        assert!(w.contains(&("ImageLocality", 1)));
    }

    fn w_has(p: &Profile, name: &str, weight: i64) -> bool {
        p.score_weights()
            .iter()
            .any(|(n, w)| *n == name && *w == weight)
    }

    #[test]
    fn config_disables_and_reweights() {
        let cfg = SchedulerConfig::from_yaml(
            "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    score:
      disabled: [{name: '*'}]
      enabled: [{name: NodeResourcesFit, weight: 7}]
    filter:
      disabled: [{name: TaintToleration}]
",
        )
        .unwrap();
        let p = Profile::build(&cfg, None).unwrap();
        assert_eq!(p.score_weights(), [("NodeResourcesFit", 7)]);
        assert!(!names(&p.filter).contains(&"TaintToleration"));
        assert!(names(&p.filter).contains(&"NodeResourcesFit"));
    }
}
