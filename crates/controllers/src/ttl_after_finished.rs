//! The TTL-after-finished controller: deletes a finished Job (a true
//! `Complete` or `Failed` condition) `spec.ttlSecondsAfterFinished` after
//! it finished, with foreground propagation as upstream (so its pods go
//! first), and requeues each Job exactly at its expiry.

use informer::{Change, Factory, ObjectKey, WorkQueue};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{DeleteParams, PropagationPolicy};
use kube::{Api, ResourceExt};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// When `job` finished: the transition time of its terminal condition.
pub fn finish_time(job: &Job) -> Option<jiff::Timestamp> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| {
            c.last_transition_time
                .as_ref()
                .map_or(jiff::Timestamp::now(), |t| t.0)
        })
}

/// How long until `job` expires (zero when due); `None` if it never does.
pub fn time_left(job: &Job, now: jiff::Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let expire = finish_time(job)?.as_second() + i64::from(ttl);
    Some(Duration::from_secs((expire - now.as_second()).max(0) as u64))
}

pub async fn run(factory: Factory) {
    let jobs = factory.informer::<Job>();
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    {
        let q = queue.clone();
        jobs.on_change(move |c: &Change<Job>| {
            if !matches!(c, Change::Deleted(_))
                && time_left(c.object(), jiff::Timestamp::now()).is_some()
            {
                q.add(ObjectKey::of(c.object().as_ref()));
            }
        });
    }
    jobs.wait_synced().await;
    let client = factory.client();
    queue
        .run(5, move |key: ObjectKey| {
            let jobs = jobs.clone();
            let client = client.clone();
            async move {
                let Some(job) = jobs.get(&key) else {
                    return Ok(None);
                };
                match time_left(&job, jiff::Timestamp::now()) {
                    None => return Ok(None),
                    Some(d) if !d.is_zero() => return Ok(Some(d)),
                    Some(_) => {}
                }
                // The cache may be stale: check the live Job before deleting.
                let api: Api<Job> = Api::namespaced(client, &key.namespace);
                let live = match api.get(&key.name).await {
                    Ok(j) => j,
                    Err(kube::Error::Api(e)) if e.code == 404 => return Ok(None),
                    Err(e) => return Err(Error::from(e)),
                };
                match time_left(&live, jiff::Timestamp::now()) {
                    None => return Ok(None),
                    Some(d) if !d.is_zero() => return Ok(Some(d)),
                    Some(_) => {}
                }
                let dp = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Foreground),
                    preconditions: Some(kube::api::Preconditions {
                        uid: live.uid(),
                        resource_version: live.resource_version(),
                    }),
                    ..Default::default()
                };
                match api.delete(&key.name, &dp).await {
                    Ok(_) => Ok(None),
                    Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
                    Err(e) => Err(Error::from(e)),
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn expiry_counts_from_the_terminal_condition() {
        let t0: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let mut job = Job {
            spec: Some(JobSpec {
                ttl_seconds_after_finished: Some(100),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(time_left(&job, t0), None);
        job.status = Some(JobStatus {
            conditions: Some(vec![JobCondition {
                type_: "Complete".into(),
                status: "True".into(),
                last_transition_time: Some(Time(t0)),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let later = t0.checked_add(jiff::SignedDuration::from_secs(30)).unwrap();
        assert_eq!(time_left(&job, later), Some(Duration::from_secs(70)));
        let much_later = t0
            .checked_add(jiff::SignedDuration::from_secs(300))
            .unwrap();
        assert_eq!(time_left(&job, much_later), Some(Duration::ZERO));
    }
}
