//! The CronJob controller: starts Jobs from `jobTemplate` at the schedule's
//! times (in `spec.timeZone`), named `<cronjob>-<minutes since epoch>`,
//! keeps `status.active` / `lastScheduleTime` / `lastSuccessfulTime`,
//! applies the concurrency policy, deletes finished Jobs past the history
//! limits, and requeues each CronJob exactly at its next time.
//!
//! `plan` is the pure scheduling decision; `sync` does the API work. Time
//! comes from a `Clock`, so tests can move it.

pub mod plan;
mod sync;

use informer::{Change, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use std::sync::{Arc, Mutex};

/// Jobs by the uid of the CronJob that controls them.
pub const JOB_INDEX: &str = "cronjob-controller-uid";
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// The source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that tests set by hand.
pub struct FakeClock(Mutex<Timestamp>);

impl FakeClock {
    pub fn new(t: Timestamp) -> Self {
        Self(Mutex::new(t))
    }

    pub fn set(&self, t: Timestamp) {
        *self.0.lock().expect("clock lock") = t;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

#[derive(Clone)]
pub struct Config {
    pub workers: usize,
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workers: 5,
            clock: Arc::new(SystemClock),
        }
    }
}

pub(crate) struct Ctx {
    pub client: kube::Client,
    pub cronjobs: Informer<CronJob>,
    pub jobs: Informer<Job>,
    pub recorder: Recorder,
    pub clock: Arc<dyn Clock>,
}

/// The uid of the CronJob controlling `job`, if one does.
pub fn controller_uid(job: &Job) -> Option<&str> {
    job.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "CronJob")
        .map(|o| o.uid.as_str())
}

pub async fn run(factory: Factory) {
    run_with(factory, Config::default()).await
}

pub async fn run_with(factory: Factory, config: Config) {
    let cronjobs = factory.informer::<CronJob>();
    let jobs = factory.informer_with::<Job>(|inf| {
        inf.add_index(
            JOB_INDEX,
            Arc::new(|j: &Job| controller_uid(j).map(String::from).into_iter().collect()),
        )
    });
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    {
        let q = queue.clone();
        cronjobs.on_change(move |c: &Change<CronJob>| q.add(ObjectKey::of(c.object().as_ref())));
    }
    {
        let q = queue.clone();
        jobs.on_change(move |c: &Change<Job>| {
            let job = c.object();
            let owner = job
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind == "CronJob");
            if let Some(o) = owner {
                q.add(ObjectKey::new(
                    job.metadata.namespace.clone().unwrap_or_default(),
                    o.name.clone(),
                ));
            }
        });
    }
    cronjobs.wait_synced().await;
    jobs.wait_synced().await;
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        recorder: Recorder::new(factory.client(), "cronjob-controller"),
        cronjobs,
        jobs,
        clock: config.clock.clone(),
    });
    queue
        .run(config.workers, move |key| {
            let ctx = ctx.clone();
            async move { sync::sync(&ctx, &key).await }
        })
        .await;
}
