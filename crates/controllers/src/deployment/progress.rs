//! Rollout progress: the Progressing condition (NewReplicaSetAvailable,
//! ReplicaSetUpdated, ProgressDeadlineExceeded), paused/resumed, replica
//! failures surfaced from ReplicaSets, and the requeue that notices a
//! stuck rollout when its deadline passes.

use super::sync::calculate_status;
use super::util::*;
use super::{Ctx, Error};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use kube::ResourceExt;
use std::time::Duration;

/// Upstream's `DeploymentComplete`.
pub(super) fn complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = replicas(d);
    s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && s.observed_generation >= d.metadata.generation
}

/// Upstream's `DeploymentProgressing`: more updated, fewer old, or more
/// ready/available replicas than the status last said.
fn progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let g = |v: Option<i32>| v.unwrap_or(0);
    g(new.updated_replicas) > g(old.updated_replicas)
        || g(new.replicas) - g(new.updated_replicas) < g(old.replicas) - g(old.updated_replicas)
        || g(new.ready_replicas) > g(old.ready_replicas)
        || g(new.available_replicas) > g(old.available_replicas)
}

fn timed_out(d: &Deployment, s: &DeploymentStatus, now: jiff::Timestamp) -> bool {
    let (Some(secs), Some(c)) = (progress_deadline(d), condition(s, PROGRESSING)) else {
        return false;
    };
    match c.reason.as_deref() {
        Some("NewReplicaSetAvailable") => false,
        Some("ProgressDeadlineExceeded") => true,
        _ => c
            .last_update_time
            .as_ref()
            .is_some_and(|t| t.0 + jiff::SignedDuration::from_secs(i64::from(secs)) < now),
    }
}

fn replica_failure(old: &[ReplicaSet], new: Option<&ReplicaSet>) -> Option<DeploymentCondition> {
    let failure = |rs: &ReplicaSet| {
        rs.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_.as_deref() == Some(REPLICA_FAILURE))
            .map(|c| DeploymentCondition {
                type_: Some(REPLICA_FAILURE.into()),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_update_time: c.last_transition_time.clone(),
                last_transition_time: c.last_transition_time.clone(),
            })
    };
    new.and_then(failure)
        .or_else(|| old.iter().find_map(failure))
}

impl Ctx {
    /// Upstream's `syncRolloutStatus`; returns when to look again for a
    /// rollout that may miss its deadline.
    pub(super) async fn sync_rollout_status(
        &self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<Option<Duration>, Error> {
        let mut status = calculate_status(d, old, new);
        let now = jiff::Timestamp::now();
        let deadline = progress_deadline(d).is_some();
        if !deadline {
            remove_condition(&mut status, PROGRESSING);
        }
        let prev = d.status.clone().unwrap_or_default();
        let current = condition(&prev, PROGRESSING).cloned();
        let already_complete = status.replicas == status.updated_replicas
            && current.as_ref().and_then(|c| c.reason.as_deref()) == Some("NewReplicaSetAvailable");
        if deadline && !already_complete {
            let name = new.map(|rs| rs.name_any());
            let subject = |what: &str| match &name {
                Some(n) => format!("ReplicaSet {n:?} {what}"),
                None => format!("Deployment {:?} {what}", d.name_any()),
            };
            if complete(d, &status) {
                let c = new_condition(
                    PROGRESSING,
                    "True",
                    "NewReplicaSetAvailable",
                    subject("has successfully progressed."),
                );
                set_condition(&mut status, c);
            } else if progressing(d, &status) {
                let mut c = new_condition(
                    PROGRESSING,
                    "True",
                    "ReplicaSetUpdated",
                    subject("is progressing."),
                );
                if let Some(cur) = &current {
                    if cur.status.as_deref() == Some("True") {
                        c.last_transition_time = cur.last_transition_time.clone();
                    }
                    remove_condition(&mut status, PROGRESSING);
                }
                set_condition(&mut status, c);
            } else if timed_out(d, &status, now) {
                let c = new_condition(
                    PROGRESSING,
                    "False",
                    "ProgressDeadlineExceeded",
                    subject("has timed out progressing."),
                );
                set_condition(&mut status, c);
            }
        }
        match replica_failure(old, new) {
            Some(c) => set_condition(&mut status, c),
            None => remove_condition(&mut status, REPLICA_FAILURE),
        }
        if prev == status {
            return Ok(self.requeue_stuck(d, &status, now));
        }
        self.put_status(d, status).await?;
        Ok(None)
    }

    fn requeue_stuck(
        &self,
        d: &Deployment,
        status: &DeploymentStatus,
        now: jiff::Timestamp,
    ) -> Option<Duration> {
        let secs = progress_deadline(d)?;
        let cur = condition(d.status.as_ref()?, PROGRESSING)?;
        if complete(d, status) || cur.reason.as_deref() == Some("ProgressDeadlineExceeded") {
            return None;
        }
        let from = cur.last_update_time.as_ref()?.0;
        let due = from + jiff::SignedDuration::from_secs(i64::from(secs));
        let after = now.duration_until(due);
        let after = Duration::try_from(after).unwrap_or_default();
        Some(after.max(Duration::from_secs(1)))
    }

    /// Upstream's `checkPausedConditions`.
    pub(super) async fn check_paused_conditions(&self, d: &mut Deployment) -> Result<(), Error> {
        if progress_deadline(d).is_none() {
            return Ok(());
        }
        let mut status = d.status.clone().unwrap_or_default();
        let reason = condition(&status, PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some("ProgressDeadlineExceeded") {
            return Ok(());
        }
        let paused_cond = reason.as_deref() == Some("DeploymentPaused");
        let paused = d.spec.paused == Some(true);
        let c = if paused && !paused_cond {
            new_condition(
                PROGRESSING,
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
            )
        } else if !paused && paused_cond {
            new_condition(
                PROGRESSING,
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
            )
        } else {
            return Ok(());
        };
        set_condition(&mut status, c);
        self.put_status(d, status).await
    }
}
