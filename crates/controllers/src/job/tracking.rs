//! Counting finished pods exactly once, as upstream's tracking with
//! finalizers does: a finished pod's uid is first recorded in
//! `status.uncountedTerminatedPods` (with, for an Indexed Job, its index in
//! `completedIndexes`, and any `FailureTarget` its failure policy asks for),
//! then its finalizer is removed, then the uid moves into the counters. A
//! crash between steps repeats a step; it never counts a pod twice.

use super::pods::{self, FINALIZER};
use super::policy::{self, Action};
use super::{BackoffRecord, Ctx, Error};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

pub const FAILURE_TARGET: &str = "FailureTarget";
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";

pub fn has_condition(job: &Job, type_: &str) -> bool {
    condition(job, type_).is_some()
}

pub fn condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// Set condition `type_` to True (a no-op when it already is).
pub fn set_condition(status: &mut JobStatus, type_: &str, reason: &str, message: &str) {
    set_condition_status(status, type_, "True", reason, message);
}

pub fn set_condition_status(
    status: &mut JobStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
) {
    let now = Time(jiff::Timestamp::now());
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conds.iter_mut().find(|c| c.type_ == type_) {
        if c.status == value {
            return;
        }
        c.status = value.into();
        c.reason = Some(reason.into());
        c.message = Some(message.into());
        c.last_probe_time = Some(now.clone());
        c.last_transition_time = Some(now);
        return;
    }
    conds.push(JobCondition {
        type_: type_.into(),
        status: value.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now),
    });
}

/// Write `status` to the Job and make the cache see it.
pub async fn write_status(ctx: &Ctx, job: &Job, status: JobStatus) -> Result<Job, Error> {
    let mut updated = job.clone();
    updated.status = Some(status);
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let written = api
        .replace_status(&job.name_any(), &PostParams::default(), &updated)
        .await?;
    ctx.jobs.apply(Arc::new(written.clone()));
    Ok(written)
}

/// Remove the tracking finalizer from `pod`; a pod already gone is fine.
pub async fn remove_finalizer(ctx: &Ctx, pod: &Pod) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "metadata": { "$deleteFromPrimitiveList/finalizers": [FINALIZER] }
    });
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
    {
        Ok(p) => {
            ctx.pods.apply(Arc::new(p));
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn completions(job: &Job) -> Option<i32> {
    job.spec.as_ref().and_then(|s| s.completions)
}

pub fn indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// Count the Job's finished pods and release their finalizers. Returns the
/// Job as last written.
pub async fn track(ctx: &Ctx, job: Job, owned: &[Arc<Pod>]) -> Result<Job, Error> {
    let mut status = job.status.clone().unwrap_or_default();
    let unc = status.uncounted_terminated_pods.clone().unwrap_or_default();
    let mut unc_s: BTreeSet<String> = unc.succeeded.unwrap_or_default().into_iter().collect();
    let mut unc_f: BTreeSet<String> = unc.failed.unwrap_or_default().into_iter().collect();
    let mut completed = policy::parse_indexes(status.completed_indexes.as_deref().unwrap_or(""));
    let policy = job.spec.as_ref().and_then(|s| s.pod_failure_policy.clone());
    let mut changed = false;
    let mut release: Vec<&Arc<Pod>> = Vec::new();
    let mut fail_job: Option<String> = None;
    for pod in owned.iter().filter(|p| pods::has_finalizer(p)) {
        let uid = pod.uid().unwrap_or_default();
        if unc_s.contains(&uid) || unc_f.contains(&uid) {
            release.push(pod);
            continue;
        }
        if pods::succeeded(pod) {
            unc_s.insert(uid);
            if indexed(&job)
                && let Some(i) = pods::completion_index(pod)
                && completions(&job).is_some_and(|c| i < c)
            {
                completed.insert(i);
            }
        } else if pods::counts_as_failed(pod, &job) {
            let action = match (&policy, pods::failed_phase(pod)) {
                (Some(p), true) => policy::evaluate(p, pod),
                _ => None,
            };
            match action {
                Some(Action::Ignore) => {
                    release.push(pod);
                    continue;
                }
                Some(Action::FailJob(msg)) => {
                    fail_job.get_or_insert(msg);
                }
                _ => {}
            }
            unc_f.insert(uid);
        } else {
            continue;
        }
        changed = true;
        release.push(pod);
    }
    let mut job = job;
    if changed {
        if let Some(msg) = &fail_job
            && !has_condition(&job, FAILURE_TARGET)
        {
            set_condition(&mut status, FAILURE_TARGET, "PodFailurePolicy", msg);
        }
        if indexed(&job) {
            status.completed_indexes = Some(policy::format_indexes(&completed));
        }
        status.uncounted_terminated_pods = Some(uncounted(&unc_s, &unc_f));
        job = write_status(ctx, &job, status.clone()).await?;
    }
    if unc_s.is_empty() && unc_f.is_empty() {
        return Ok(job);
    }
    for pod in &release {
        remove_finalizer(ctx, pod).await?;
    }
    // Every uncounted pod is now gone, or released above.
    let new_failed = unc_f.len() as i32;
    let new_succeeded = unc_s.len() as i32;
    status.failed = Some(status.failed.unwrap_or(0) + new_failed);
    status.succeeded = Some(if indexed(&job) {
        completed.len() as i32
    } else {
        status.succeeded.unwrap_or(0) + new_succeeded
    });
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
    let job = write_status(ctx, &job, status).await?;
    record_backoff(ctx, &job, new_failed, new_succeeded);
    Ok(job)
}

fn uncounted(s: &BTreeSet<String>, f: &BTreeSet<String>) -> UncountedTerminatedPods {
    UncountedTerminatedPods {
        succeeded: (!s.is_empty()).then(|| s.iter().cloned().collect()),
        failed: (!f.is_empty()).then(|| f.iter().cloned().collect()),
    }
}

/// Failures extend the Job's backoff; a success with no failure resets it.
fn record_backoff(ctx: &Ctx, job: &Job, failed: i32, succeeded: i32) {
    let uid = job.uid().unwrap_or_default();
    let mut map = ctx.backoff.lock().expect("backoff lock");
    if failed > 0 {
        let rec = map.entry(uid).or_insert(BackoffRecord {
            failures: 0,
            last: Instant::now(),
        });
        rec.failures += failed as u32;
        rec.last = Instant::now();
    } else if succeeded > 0 {
        map.remove(&uid);
    }
}
