//! One reconcile of one CronJob: bring `status.active` in line with its
//! Jobs, act on the scheduling plan (replace, create), write the status,
//! and delete finished Jobs beyond the history limits.

use super::plan::{self, PlanError};
use super::{Ctx, Error, JOB_INDEX, SCHEDULED_TIMESTAMP};
use informer::recorder::object_ref;
use informer::{EventType, ObjectKey};
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::api::{DeleteParams, PostParams, PropagationPolicy};
use kube::{Api, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// The finished condition of a Job ("Complete" or "Failed"), if any.
fn finished(job: &Job) -> Option<&'static str> {
    let conds = job.status.as_ref()?.conditions.as_ref()?;
    ["Complete", "Failed"]
        .into_iter()
        .find(|t| conds.iter().any(|c| c.type_ == *t && c.status == "True"))
}

pub async fn sync(ctx: &Ctx, key: &ObjectKey) -> Result<Option<Duration>, Error> {
    let Some(cj) = ctx.cronjobs.get(key) else {
        return Ok(None);
    };
    let mut cj = (*cj).clone();
    let original = cj.status.clone();
    let ns = key.namespace.clone();
    let jobs: Vec<Arc<Job>> = ctx
        .jobs
        .by_index(JOB_INDEX, &cj.uid().unwrap_or_default())
        .into_iter()
        .filter(|j| j.namespace().as_deref() == Some(ns.as_str()))
        .collect();
    let status = cj.status.get_or_insert_with(Default::default);
    let mut active = status.active.take().unwrap_or_default();
    for job in &jobs {
        let uid = job.uid();
        let listed = active.iter().any(|r| r.uid == uid);
        match finished(job) {
            Some(cond) => {
                if listed {
                    active.retain(|r| r.uid != uid);
                    ctx.recorder.event(
                        &cj,
                        EventType::Normal,
                        "SawCompletedJob",
                        format!("Saw completed job: {}, condition: {cond}", job.name_any()),
                    );
                }
                let done = job.status.as_ref().and_then(|s| s.completion_time.clone());
                let status = cj.status.get_or_insert_with(Default::default);
                if cond == "Complete"
                    && let Some(t) = done
                    && status
                        .last_successful_time
                        .as_ref()
                        .is_none_or(|l| l.0 < t.0)
                {
                    status.last_successful_time = Some(t);
                }
            }
            None if !listed => ctx.recorder.event(
                &cj,
                EventType::Warning,
                "UnexpectedJob",
                format!(
                    "Saw a job that the controller did not create or forgot: {}",
                    job.name_any()
                ),
            ),
            None => {}
        }
    }
    // A Job that no longer exists cannot keep the CronJob active.
    active.retain(|r| jobs.iter().any(|j| j.uid() == r.uid));
    cj.status.get_or_insert_with(Default::default).active =
        (!active.is_empty()).then(|| active.clone());

    let mut requeue = None;
    if cj.metadata.deletion_timestamp.is_none() {
        match plan::plan(&cj, ctx.clock.now()) {
            Err(PlanError::Invalid(reason, message)) => {
                ctx.recorder.event(&cj, EventType::Warning, reason, message);
            }
            Ok(p) => {
                for (t, reason, message) in &p.events {
                    ctx.recorder.event(&cj, *t, reason, message.clone());
                }
                requeue = p.requeue;
                if p.replace_active {
                    for r in std::mem::take(&mut active) {
                        let name = r.name.clone().unwrap_or_default();
                        delete_job(ctx, &ns, &name).await?;
                        ctx.recorder.event(
                            &cj,
                            EventType::Normal,
                            "SuccessfulDelete",
                            format!("Deleted job {name}"),
                        );
                    }
                }
                if let Some(at) = p.start {
                    let job = create_job(ctx, &cj, at).await?;
                    active.push(object_ref(&job));
                    let status = cj.status.get_or_insert_with(Default::default);
                    status.last_schedule_time = Some(Time(at));
                }
                cj.status.get_or_insert_with(Default::default).active =
                    (!active.is_empty()).then(|| active.clone());
            }
        }
    }
    if cj.status != original {
        let api: Api<CronJob> = Api::namespaced(ctx.client.clone(), &ns);
        let written = api
            .replace_status(&cj.name_any(), &PostParams::default(), &cj)
            .await?;
        ctx.cronjobs.apply(Arc::new(written));
    }
    cleanup_history(ctx, &cj, &jobs).await?;
    Ok(requeue)
}

/// Create the Job for `scheduled` (an existing one of ours counts as made).
async fn create_job(ctx: &Ctx, cj: &CronJob, scheduled: Timestamp) -> Result<Job, Error> {
    let ns = cj.namespace().unwrap_or_default();
    let name = plan::job_name(&cj.name_any(), scheduled);
    let template = cj.spec.job_template.clone();
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    let tz = plan::time_zone(cj).unwrap_or(jiff::tz::TimeZone::UTC);
    annotations.insert(
        SCHEDULED_TIMESTAMP.into(),
        scheduled
            .to_zoned(tz)
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
            .replace("+00:00", "Z"),
    );
    let job = Job {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            labels: tmeta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cj.name_any(),
                uid: cj.uid().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(template.spec.unwrap_or_default()),
        status: None,
    };
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    match api.create(&PostParams::default(), &job).await {
        Ok(created) => {
            ctx.jobs.apply(Arc::new(created.clone()));
            ctx.recorder.event(
                cj,
                EventType::Normal,
                "SuccessfulCreate",
                format!("Created job {name}"),
            );
            Ok(created)
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api.get(&name).await?;
            Ok(existing)
        }
        Err(e) => {
            ctx.recorder.event(
                cj,
                EventType::Warning,
                "FailedCreate",
                format!("Error creating job: {e}"),
            );
            Err(e.into())
        }
    }
}

async fn delete_job(ctx: &Ctx, ns: &str, name: &str) -> Result<(), Error> {
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => {
            ctx.jobs.delete(&ObjectKey::new(ns, name));
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Delete the oldest finished Jobs beyond the history limits.
async fn cleanup_history(ctx: &Ctx, cj: &CronJob, jobs: &[Arc<Job>]) -> Result<(), Error> {
    let spec = cj.spec.clone();
    let ns = cj.namespace().unwrap_or_default();
    for (cond, limit) in [
        ("Complete", spec.successful_jobs_history_limit),
        ("Failed", spec.failed_jobs_history_limit),
    ] {
        let Some(limit) = limit else { continue };
        let mut done: Vec<&Arc<Job>> = jobs.iter().filter(|j| finished(j) == Some(cond)).collect();
        let excess = done.len().saturating_sub(limit.max(0) as usize);
        if excess == 0 {
            continue;
        }
        done.sort_by_key(|j| {
            j.status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .or(j.metadata.creation_timestamp.as_ref())
                .map(|t| t.0)
        });
        for j in done.into_iter().take(excess) {
            delete_job(ctx, &ns, &j.name_any()).await?;
            ctx.recorder.event(
                cj,
                EventType::Normal,
                "SuccessfulDelete",
                format!("Deleted job {}", j.name_any()),
            );
        }
    }
    Ok(())
}
