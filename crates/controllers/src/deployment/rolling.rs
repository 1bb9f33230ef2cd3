//! The two rollout strategies. RollingUpdate grows the new ReplicaSet up to
//! `replicas + maxSurge` pods in total and shrinks old ones while at least
//! `replicas - maxUnavailable` stay available; Recreate scales every old
//! ReplicaSet to zero, waits for their pods to go, then scales the new one.

use super::sync::all_of;
use super::util::*;
use super::{Ctx, Error};
use crate::replica_common::pods::CONTROLLER_UID_INDEX;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;
use std::time::Duration;

/// Upstream's `NewRSNewReplicas`: how big the new ReplicaSet may be now.
pub(super) fn new_rs_new_replicas(d: &Deployment, all: &[ReplicaSet], new: &ReplicaSet) -> i32 {
    let want = replicas(d);
    if !is_rolling(d) {
        return want;
    }
    let current = spec_total(all)
        + if all
            .iter()
            .any(|rs| rs.uid().is_some() && rs.uid() == new.uid())
        {
            0
        } else {
            rs_replicas(new)
        };
    let max_total = want + max_surge(d);
    if current >= max_total {
        return rs_replicas(new);
    }
    let up = (max_total - current).min(want - rs_replicas(new));
    rs_replicas(new) + up
}

/// How far old ReplicaSets may shrink now without dropping below
/// `replicas - maxUnavailable` available (unavailable new pods count against it).
pub(super) fn max_scaled_down(d: &Deployment, all: &[ReplicaSet], new: &ReplicaSet) -> i32 {
    let min_available = replicas(d) - max_unavailable(d);
    let new_unavailable = rs_replicas(new) - rs_available(new);
    spec_total(all) - min_available - new_unavailable
}

impl Ctx {
    pub(super) async fn rollout_rolling(
        &self,
        d: &mut Deployment,
        rs_list: &[ReplicaSet],
    ) -> Result<Option<Duration>, Error> {
        let (new, mut old) = self.all_replica_sets(d, rs_list, true).await?;
        let Some(mut new) = new else {
            return self.sync_rollout_status(d, &old, None).await;
        };
        // Grow the new ReplicaSet.
        let all = all_of(Some(&new), &old);
        let want = replicas(d);
        let scaled_up = if rs_replicas(&new) == want {
            false
        } else if rs_replicas(&new) > want {
            self.scale_rs_and_record(d, &mut new, want).await?
        } else {
            let n = new_rs_new_replicas(d, &all, &new);
            self.scale_rs_and_record(d, &mut new, n).await?
        };
        if scaled_up {
            return self.sync_rollout_status(d, &old, Some(&new)).await;
        }
        // Shrink old ones.
        if self.reconcile_old(d, &mut old, &new).await? {
            return self.sync_rollout_status(d, &old, Some(&new)).await;
        }
        let status = super::sync::calculate_status(d, &old, Some(&new));
        if super::progress::complete(d, &status) {
            self.cleanup(d, &old).await?;
        }
        self.sync_rollout_status(d, &old, Some(&new)).await
    }

    async fn reconcile_old(
        &self,
        d: &Deployment,
        old: &mut [ReplicaSet],
        new: &ReplicaSet,
    ) -> Result<bool, Error> {
        if spec_total(old) == 0 {
            return Ok(false);
        }
        let all = all_of(Some(new), old);
        let max_down = max_scaled_down(d, &all, new);
        if max_down <= 0 {
            return Ok(false);
        }
        // First the unhealthy replicas of old ReplicaSets, oldest first.
        old.sort_by(|a, b| {
            created(a)
                .cmp(&created(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_down {
                break;
            }
            let unhealthy = rs_replicas(rs) - rs_available(rs);
            if rs_replicas(rs) == 0 || unhealthy <= 0 {
                continue;
            }
            let down = (max_down - cleaned).min(unhealthy);
            let target = rs_replicas(rs) - down;
            self.scale_rs_and_record(d, rs, target).await?;
            cleaned += down;
        }
        // Then available ones, while availability stays above the minimum.
        let min_available = replicas(d) - max_unavailable(d);
        let all = all_of(Some(new), old);
        let available = status_totals(&all).2;
        let mut scaled = 0;
        if available > min_available {
            let budget = available - min_available;
            for rs in old.iter_mut() {
                if scaled >= budget {
                    break;
                }
                if rs_replicas(rs) == 0 {
                    continue;
                }
                let down = rs_replicas(rs).min(budget - scaled);
                let target = rs_replicas(rs) - down;
                self.scale_rs_and_record(d, rs, target).await?;
                scaled += down;
            }
        }
        Ok(cleaned + scaled > 0)
    }

    pub(super) async fn rollout_recreate(
        &self,
        d: &mut Deployment,
        rs_list: &[ReplicaSet],
    ) -> Result<Option<Duration>, Error> {
        let (mut new, mut old) = self.all_replica_sets(d, rs_list, false).await?;
        let mut scaled_down = false;
        for rs in old.iter_mut().filter(|rs| rs_replicas(rs) > 0) {
            scaled_down |= self.scale_rs_and_record(d, rs, 0).await?;
        }
        if scaled_down || self.old_pods_running(&old) {
            return self.sync_rollout_status(d, &old, new.as_ref()).await;
        }
        if new.is_none() {
            (new, old) = self.all_replica_sets(d, rs_list, true).await?;
        }
        if let Some(rs) = new.as_mut() {
            let want = replicas(d);
            self.scale_rs_and_record(d, rs, want).await?;
        }
        let status = super::sync::calculate_status(d, &old, new.as_ref());
        if super::progress::complete(d, &status) {
            self.cleanup(d, &old).await?;
        }
        self.sync_rollout_status(d, &old, new.as_ref()).await
    }

    /// Any pod of an old ReplicaSet that has not finished (terminating ones included).
    fn old_pods_running(&self, old: &[ReplicaSet]) -> bool {
        if status_totals(old).0 > 0 {
            return true;
        }
        old.iter().any(|rs| {
            let uid = rs.uid().unwrap_or_default();
            self.pods
                .by_index(CONTROLLER_UID_INDEX, &uid)
                .iter()
                .any(|p| {
                    !matches!(
                        p.status.as_ref().and_then(|s| s.phase.as_deref()),
                        Some("Failed") | Some("Succeeded")
                    )
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(replicas: i32, surge: i32, unavail: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {}, "template": {},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}}}
        }))
        .unwrap()
    }

    fn rs(uid: &str, replicas: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": uid, "uid": uid},
            "spec": {"replicas": replicas, "selector": {}},
            "status": {"replicas": replicas, "availableReplicas": available}
        }))
        .unwrap()
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        let d = deploy(10, 3, 2);
        let old = rs("old", 10, 10);
        let new = rs("new", 0, 0);
        assert_eq!(
            new_rs_new_replicas(&d, &[old.clone(), new.clone()], &new),
            3
        );
        let new = rs("new", 3, 0);
        assert_eq!(new_rs_new_replicas(&d, &[old, new.clone()], &new), 3);
        let new = rs("new", 8, 8);
        assert_eq!(
            new_rs_new_replicas(&d, &[rs("old", 2, 2), new.clone()], &new),
            10
        );
    }

    #[test]
    fn old_replica_sets_shrink_within_unavailability() {
        let d = deploy(10, 3, 2);
        // 13 pods, 3 new unavailable: 13 - 8 - 3 = 2 may go.
        let new = rs("new", 3, 0);
        assert_eq!(
            max_scaled_down(&d, &[rs("old", 10, 10), new.clone()], &new),
            2
        );
        let new = rs("new", 3, 3);
        assert_eq!(
            max_scaled_down(&d, &[rs("old", 10, 10), new.clone()], &new),
            5
        );
    }
}
