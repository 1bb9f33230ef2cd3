//! One reconcile of one Job: count finished pods, decide whether the Job has
//! failed (backoff limit, deadline, failure policy) or succeeded, then end
//! it, suspend it, or create and delete pods toward the wanted number.

use super::pods;
use super::policy::{self, pod_backoff};
use super::tracking::{
    self, FAILURE_TARGET, SUCCESS_CRITERIA_MET, condition, has_condition, indexed, set_condition,
    set_condition_status,
};
use super::{Ctx, Error};
use crate::replica_common::pods::CONTROLLER_UID_INDEX;
use informer::{EventType, ObjectKey};
use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, ResourceExt};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn finished(job: &Job) -> bool {
    has_condition(job, "Complete") || has_condition(job, "Failed")
}

fn owned_pods(ctx: &Ctx, job: &Job) -> Vec<Arc<Pod>> {
    let uid = job.uid().unwrap_or_default();
    let ns = job.namespace();
    ctx.pods
        .by_index(CONTROLLER_UID_INDEX, &uid)
        .into_iter()
        .filter(|p| p.namespace() == ns)
        .collect()
}

pub async fn sync(ctx: &Ctx, key: &ObjectKey) -> Result<Option<Duration>, Error> {
    let Some(job) = ctx.jobs.get(key) else {
        return Ok(None);
    };
    let job = (*job).clone();
    if finished(&job) {
        // Release pods a finished Job still holds; nothing more to count.
        for p in owned_pods(ctx, &job)
            .iter()
            .filter(|p| pods::has_finalizer(p))
        {
            tracking::remove_finalizer(ctx, p).await?;
        }
        ctx.backoff
            .lock()
            .expect("backoff lock")
            .remove(&job.uid().unwrap_or_default());
        return Ok(None);
    }
    let owned = owned_pods(ctx, &job);
    let job = tracking::track(ctx, job, &owned).await?;
    let owned = owned_pods(ctx, &job);
    let spec = job.spec.clone().unwrap_or_default();
    let mut status = job.status.clone().unwrap_or_default();
    let mut active: Vec<Arc<Pod>> = owned.iter().filter(|p| pods::active(p)).cloned().collect();
    let suspended = spec.suspend == Some(true);
    let now = jiff::Timestamp::now();
    let mut requeue: Option<Duration> = None;

    if !has_condition(&job, FAILURE_TARGET) && !has_condition(&job, SUCCESS_CRITERIA_MET) {
        if let Some((reason, message)) = failure(&spec, &status, &active, suspended, now) {
            set_condition(&mut status, FAILURE_TARGET, reason, message);
        } else if succeeded(&spec, &status, &active) {
            set_condition(
                &mut status,
                SUCCESS_CRITERIA_MET,
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            );
        } else if let (Some(ads), Some(start), false) = (
            spec.active_deadline_seconds,
            status.start_time.as_ref(),
            suspended,
        ) {
            let left = start.0.as_second() + ads - now.as_second();
            requeue = Some(Duration::from_secs(left.max(1) as u64));
        }
    }
    let target = |st: &JobStatus, t: &str| {
        st.conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == t && c.status == "True")
            .cloned()
    };
    if let Some(ending) =
        target(&status, FAILURE_TARGET).or_else(|| target(&status, SUCCESS_CRITERIA_MET))
    {
        for p in std::mem::take(&mut active) {
            delete_pod(ctx, &job, &p).await?;
        }
        let pods_left = owned_pods(ctx, &job)
            .iter()
            .any(|p| pods::active(p) || pods::terminating(p));
        if !pods_left {
            let reason = ending.reason.clone().unwrap_or_default();
            let message = ending.message.clone().unwrap_or_default();
            if ending.type_ == FAILURE_TARGET {
                set_condition(&mut status, "Failed", &reason, &message);
                ctx.recorder
                    .event(&job, EventType::Warning, &reason, message.clone());
            } else {
                set_condition(&mut status, "Complete", &reason, &message);
                status.completion_time = Some(Time(now));
                ctx.recorder
                    .event(&job, EventType::Normal, "Completed", "Job completed");
            }
        }
    } else if suspended {
        for p in std::mem::take(&mut active) {
            delete_pod(ctx, &job, &p).await?;
        }
        if condition(&job, "Suspended").is_none() {
            set_condition(&mut status, "Suspended", "JobSuspended", "Job suspended");
            ctx.recorder
                .event(&job, EventType::Normal, "Suspended", "Job suspended");
        }
    } else {
        if condition(&job, "Suspended").is_some() {
            set_condition_status(
                &mut status,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
            );
            status.start_time = Some(Time(now));
            ctx.recorder
                .event(&job, EventType::Normal, "Resumed", "Job resumed");
        }
        if status.start_time.is_none() {
            status.start_time = Some(Time(now));
            if let Some(ads) = spec.active_deadline_seconds {
                requeue = Some(Duration::from_secs(ads.max(1) as u64));
            }
        }
        let wait = manage(ctx, &job, &spec, &status, &mut active).await?;
        requeue = min_opt(requeue, wait);
    }

    status.active = Some(active.len() as i32);
    status.ready = Some(active.iter().filter(|p| pods::ready(p)).count() as i32);
    status.terminating = Some(
        owned_pods(ctx, &job)
            .iter()
            .filter(|p| pods::terminating(p))
            .count() as i32,
    );
    status.succeeded.get_or_insert(0);
    status.failed.get_or_insert(0);
    if job.status.as_ref() != Some(&status) {
        tracking::write_status(ctx, &job, status).await?;
    }
    Ok(requeue)
}

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Why the Job has failed, if it has: `(reason, message)`.
fn failure(
    spec: &JobSpec,
    status: &JobStatus,
    active: &[Arc<Pod>],
    suspended: bool,
    now: jiff::Timestamp,
) -> Option<(&'static str, &'static str)> {
    let limit = spec.backoff_limit.unwrap_or(6);
    let on_failure = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        == Some("OnFailure");
    let restarts: i64 = active.iter().map(|p| pods::restarts(p)).sum();
    let restarts_exceed = on_failure
        && if limit == 0 {
            restarts > 0
        } else {
            restarts >= i64::from(limit)
        };
    if status.failed.unwrap_or(0) > limit || restarts_exceed {
        return Some((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    }
    if let (Some(ads), Some(start), false) = (
        spec.active_deadline_seconds,
        status.start_time.as_ref(),
        suspended,
    ) && now.as_second() - start.0.as_second() >= ads
    {
        return Some((
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ));
    }
    None
}

fn succeeded(spec: &JobSpec, status: &JobStatus, active: &[Arc<Pod>]) -> bool {
    let done = status.succeeded.unwrap_or(0);
    match spec.completions {
        None => done > 0 && active.is_empty(),
        Some(c) => done >= c,
    }
}

/// Create or delete pods toward the wanted number; returns when to look
/// again if replacements wait for the failure backoff.
async fn manage(
    ctx: &Ctx,
    job: &Job,
    spec: &JobSpec,
    status: &JobStatus,
    active: &mut Vec<Arc<Pod>>,
) -> Result<Option<Duration>, Error> {
    let parallelism = spec.parallelism.unwrap_or(1).max(0) as usize;
    let done = status.succeeded.unwrap_or(0);
    let mut surplus: Vec<Arc<Pod>> = Vec::new();
    let to_create: Vec<Option<i32>> = if indexed(job) {
        let completions = spec.completions.unwrap_or(0);
        let completed = policy::parse_indexes(status.completed_indexes.as_deref().unwrap_or(""));
        let mut seen: HashSet<i32> = HashSet::new();
        // Oldest pod per index stays; invalid, finished and duplicate go.
        active.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
        active.retain(|p| {
            let keep = pods::completion_index(p)
                .is_some_and(|i| i < completions && !completed.contains(&i) && seen.insert(i));
            if !keep {
                surplus.push(p.clone());
            }
            keep
        });
        if active.len() > parallelism {
            active.sort_by_key(|p| pods::completion_index(p));
            surplus.extend(active.drain(parallelism..));
        }
        let busy = seen;
        (0..completions)
            .filter(|i| !completed.contains(i) && !busy.contains(i))
            .take(parallelism.saturating_sub(active.len()))
            .map(Some)
            .collect()
    } else {
        let want = match spec.completions {
            None if done > 0 => active.len(),
            None => parallelism,
            Some(c) => (c - done).clamp(0, parallelism as i32) as usize,
        };
        if active.len() > want {
            // Not-ready and newest pods go first, as they lose the least work.
            active.sort_by_key(|p| {
                (
                    pods::ready(p),
                    std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)),
                )
            });
            surplus.extend(active.drain(..active.len() - want));
        }
        vec![None; want.saturating_sub(active.len())]
    };
    for p in surplus {
        delete_pod(ctx, job, &p).await?;
    }
    if to_create.is_empty() {
        return Ok(None);
    }
    let uid = job.uid().unwrap_or_default();
    let wait = ctx
        .backoff
        .lock()
        .expect("backoff lock")
        .get(&uid)
        .map(|r| {
            let delay = pod_backoff(
                r.failures,
                ctx.config.pod_failure_backoff,
                ctx.config.max_pod_failure_backoff,
            );
            (r.last + delay).saturating_duration_since(Instant::now())
        });
    if let Some(w) = wait.filter(|w| !w.is_zero()) {
        return Ok(Some(w));
    }
    // Slow start, as upstream: batches of 1, 2, 4, … stop at the first error.
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let mut batch = 1;
    let mut rest = to_create.as_slice();
    while !rest.is_empty() {
        let (now, later) = rest.split_at(batch.min(rest.len()));
        rest = later;
        batch *= 2;
        let results = futures::future::join_all(now.iter().map(|ix| {
            let pod = pods::new_pod(job, *ix);
            let api = api.clone();
            async move { api.create(&PostParams::default(), &pod).await }
        }))
        .await;
        for r in results {
            match r {
                Ok(p) => {
                    ctx.recorder.event(
                        job,
                        EventType::Normal,
                        "SuccessfulCreate",
                        format!("Created pod: {}", p.name_any()),
                    );
                    let p = Arc::new(p);
                    ctx.pods.apply(p.clone());
                    active.push(p);
                }
                Err(e) => {
                    ctx.recorder.event(
                        job,
                        EventType::Warning,
                        "FailedCreate",
                        format!("Error creating: {e}"),
                    );
                    return Err(e.into());
                }
            }
        }
    }
    Ok(None)
}

async fn delete_pod(ctx: &Ctx, job: &Job, pod: &Pod) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(either) => {
            match either.left() {
                Some(p) => ctx.pods.apply(Arc::new(p)),
                None => ctx.pods.delete(&ObjectKey::of(pod)),
            }
            ctx.recorder.event(
                job,
                EventType::Normal,
                "SuccessfulDelete",
                format!("Deleted pod: {name}"),
            );
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
