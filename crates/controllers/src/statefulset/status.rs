//! StatefulSet status from its pods (pure): replica counts by readiness,
//! availability and revision, and the end of a rolling update (the current
//! revision becomes the update revision once every replica runs it ready).

use super::pods::{is_running_and_ready, is_terminating, revision_of};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use std::sync::Arc;
use std::time::Duration;

/// The status `set` should show, and how long until a ready pod becomes
/// available (to requeue then).
pub fn compute(
    set: &StatefulSet,
    pods: &[Arc<Pod>],
    current_revision: &str,
    update_revision: &str,
    collision_count: Option<i32>,
    now: jiff::Timestamp,
) -> (StatefulSetStatus, Option<Duration>) {
    let spec = set.spec.clone();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let mut st = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        collision_count,
        current_revision: Some(current_revision.into()),
        update_revision: Some(update_revision.into()),
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
        ..Default::default()
    };
    let (mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0);
    let mut requeue: Option<Duration> = None;
    for p in pods {
        st.replicas += 1;
        if is_running_and_ready(p) {
            ready += 1;
            match super::pods::available_in(p, min_ready, now) {
                Some(Ok(())) => available += 1,
                Some(Err(wait)) => {
                    requeue = Some(requeue.map_or(wait, |r: Duration| r.min(wait)));
                }
                None => {}
            }
        }
        if !is_terminating(p) {
            match revision_of(p) {
                Some(r) if r == current_revision => current += 1,
                _ => {}
            }
            match revision_of(p) {
                Some(r) if r == update_revision => updated += 1,
                _ => {}
            }
        }
    }
    st.ready_replicas = Some(ready);
    st.available_replicas = Some(available);
    st.current_replicas = Some(current);
    st.updated_replicas = Some(updated);
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    if rolling && updated == st.replicas && ready == st.replicas {
        st.current_replicas = Some(updated);
        st.current_revision = st.update_revision.clone();
    }
    (st, requeue)
}

/// Whether `new` differs from what the set shows (conditions are ours to keep).
pub fn changed(set: &StatefulSet, new: &StatefulSetStatus) -> bool {
    set.status.as_ref() != Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::REVISION_HASH_LABEL;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(rev: &str, ready: bool) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                labels: Some([(REVISION_HASH_LABEL.to_string(), rev.to_string())].into()),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        })
    }

    #[test]
    fn counts_and_completes_rollout() {
        let set = StatefulSet::default();
        let now = jiff::Timestamp::now();
        let pods = vec![pod("a", true), pod("b", true), pod("b", false)];
        let (st, _) = compute(&set, &pods, "a", "b", None, now);
        assert_eq!(st.replicas, 3);
        assert_eq!(st.ready_replicas, Some(2));
        assert_eq!(st.current_replicas, Some(1));
        assert_eq!(st.updated_replicas, Some(2));
        assert_eq!(st.current_revision.as_deref(), Some("a"));

        let pods = vec![pod("b", true), pod("b", true)];
        let (st, _) = compute(&set, &pods, "a", "b", None, now);
        assert_eq!(st.current_revision.as_deref(), Some("b"));
        assert_eq!(st.current_replicas, Some(2));
        assert_eq!(st.available_replicas, Some(2));
    }
}
