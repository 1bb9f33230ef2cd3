//! The HorizontalPodAutoscaler controller (autoscaling/v2): every 15 s per
//! HPA it reads the target's `scale` subresource, enforces min/max, asks a
//! [`MetricsSource`] for each metric, normalizes the proposal (tolerance,
//! stabilization, behavior policies) and rescales through `scale`. With no
//! metrics API yet ([`NoMetrics`]) its status says why it cannot act, as
//! upstream's does when metrics are unavailable. By default resource metrics
//! come from metrics.k8s.io ([`metrics_api::MetricsApiSource`]).

pub mod algorithm;
pub mod metrics;
pub mod metrics_api;
mod sync;

use algorithm::History;
use informer::{Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::Client;
pub use metrics::{MetricsSource, NoMetrics, ResourceUsage};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upstream's `--horizontal-pod-autoscaler-sync-period`.
pub const SYNC_PERIOD: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("api: {0}")]
    Api(#[from] kube::Error),
}

pub(crate) struct Ctx {
    client: Client,
    hpas: Informer<HorizontalPodAutoscaler>,
    recorder: Recorder,
    metrics: Arc<dyn MetricsSource>,
    history: Mutex<HashMap<ObjectKey, History>>,
    sync_period: Duration,
}

pub async fn run(factory: Factory) {
    let source = Arc::new(metrics_api::MetricsApiSource::new(factory.client()));
    run_with(factory, source, SYNC_PERIOD).await
}

/// Run with a metrics source and sync period of the caller's choosing.
pub async fn run_with(factory: Factory, metrics: Arc<dyn MetricsSource>, sync_period: Duration) {
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        hpas: factory.informer(),
        recorder: Recorder::new(factory.client(), "horizontal-pod-autoscaler"),
        metrics,
        history: Mutex::default(),
        sync_period,
    });
    ctx.hpas.wait_synced().await;
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    let q = queue.clone();
    ctx.hpas
        .on_change(move |c| q.add(ObjectKey::of(c.object().as_ref())));
    let c = ctx.clone();
    queue
        .run(5, move |key| {
            let c = c.clone();
            async move {
                let Some(hpa) = c.hpas.get(&key) else {
                    c.history.lock().expect("lock").remove(&key);
                    return Ok::<_, Error>(None);
                };
                if let Err(e) = sync::reconcile(&c, &key, &hpa).await {
                    tracing::debug!(?key, "hpa: {e}");
                }
                // Upstream resyncs every HPA at a fixed period, errors or not.
                Ok(Some(c.sync_period))
            }
        })
        .await;
}
