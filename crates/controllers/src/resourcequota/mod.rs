//! The ResourceQuota controller: keeps each quota's `status.hard` equal to
//! `spec.hard` and `status.used` counted from the informer caches of its
//! namespace. A change to any counted object re-counts the quotas of its
//! namespace (debounced, so a burst of pod creations costs one count), and
//! every quota is re-counted every five minutes as upstream's resync.
//! Enforcement is the API server's admission, not this controller.

pub mod usage;

use informer::{Change, Factory, Informer, ObjectKey, WorkQueue};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota,
    ResourceQuotaStatus, Secret, Service,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use kube::api::PostParams;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use usage::Sum;

const DEBOUNCE: Duration = Duration::from_millis(250);
const RESYNC: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("api: {0}")]
    Api(#[from] kube::Error),
}

struct Ctx {
    client: Client,
    quotas: Informer<ResourceQuota>,
    pods: Informer<Pod>,
    services: Informer<Service>,
    configmaps: Informer<ConfigMap>,
    secrets: Informer<Secret>,
    claims: Informer<PersistentVolumeClaim>,
    rcs: Informer<ReplicationController>,
    deployments: Informer<Deployment>,
    replicasets: Informer<ReplicaSet>,
    statefulsets: Informer<StatefulSet>,
    daemonsets: Informer<DaemonSet>,
    jobs: Informer<Job>,
    cronjobs: Informer<CronJob>,
    queue: WorkQueue<ObjectKey>,
}

pub async fn run(factory: Factory) {
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        quotas: factory.informer(),
        pods: factory.informer(),
        services: factory.informer(),
        configmaps: factory.informer(),
        secrets: factory.informer(),
        claims: factory.informer(),
        rcs: factory.informer(),
        deployments: factory.informer(),
        replicasets: factory.informer(),
        statefulsets: factory.informer(),
        daemonsets: factory.informer(),
        jobs: factory.informer(),
        cronjobs: factory.informer(),
        queue: WorkQueue::new(),
    });
    ctx.quotas.wait_synced().await;
    ctx.pods.wait_synced().await;
    ctx.services.wait_synced().await;
    ctx.configmaps.wait_synced().await;
    ctx.secrets.wait_synced().await;
    ctx.claims.wait_synced().await;
    ctx.rcs.wait_synced().await;
    let q = ctx.queue.clone();
    ctx.quotas
        .on_change(move |c| q.add(ObjectKey::of(c.object().as_ref())));
    replenish(&ctx, &ctx.pods);
    replenish(&ctx, &ctx.services);
    replenish(&ctx, &ctx.configmaps);
    replenish(&ctx, &ctx.secrets);
    replenish(&ctx, &ctx.claims);
    replenish(&ctx, &ctx.rcs);
    replenish(&ctx, &ctx.deployments);
    replenish(&ctx, &ctx.replicasets);
    replenish(&ctx, &ctx.statefulsets);
    replenish(&ctx, &ctx.daemonsets);
    replenish(&ctx, &ctx.jobs);
    replenish(&ctx, &ctx.cronjobs);

    let c = ctx.clone();
    let resync = async move {
        let mut tick = tokio::time::interval(RESYNC);
        tick.tick().await;
        loop {
            tick.tick().await;
            for q in c.quotas.list() {
                c.queue.add(ObjectKey::of(q.as_ref()));
            }
        }
    };
    let c = ctx.clone();
    let workers = ctx.queue.run(5, move |key| {
        let c = c.clone();
        async move { reconcile(&c, &key).await }
    });
    futures::join!(resync, workers);
}

/// Re-count the namespace's quotas (if it has any) when an object of `K` changes.
fn replenish<K>(ctx: &Arc<Ctx>, inf: &Informer<K>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let quotas = ctx.quotas.clone();
    let queue = ctx.queue.clone();
    inf.on_change(move |c: &Change<K>| {
        let Some(ns) = c.object().meta().namespace.as_deref() else {
            return;
        };
        for q in quotas.list_namespace(ns) {
            queue.add_after(ObjectKey::of(q.as_ref()), DEBOUNCE);
        }
    });
}

fn count<K>(inf: &Informer<K>, ns: &str) -> Sum
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    Sum::count(inf.list_namespace(ns).len())
}

/// Usage of one resource name in `ns`, or `None` when it is not counted here.
fn used(ctx: &Ctx, quota: &ResourceQuota, ns: &str, name: &str, pods: &[&Pod]) -> Option<Sum> {
    if let Some(s) = usage::pod_usage(name, pods) {
        return Some(s);
    }
    let spec = quota.spec.clone().unwrap_or_default();
    if spec.scopes.as_ref().is_some_and(|s| !s.is_empty()) || spec.scope_selector.is_some() {
        // Scopes apply to pods only; quota validation keeps other names out.
        return None;
    }
    let services = ctx.services.list_namespace(ns);
    let svc_refs: Vec<&Service> = services.iter().map(|s| s.as_ref()).collect();
    if let Some(s) = usage::service_usage(name, &svc_refs) {
        return Some(s);
    }
    let claims = ctx.claims.list_namespace(ns);
    let claim_refs: Vec<&PersistentVolumeClaim> = claims.iter().map(|c| c.as_ref()).collect();
    if let Some(s) = usage::pvc_usage(name, &claim_refs) {
        return Some(s);
    }
    Some(match name {
        "configmaps" | "count/configmaps" => count(&ctx.configmaps, ns),
        "secrets" | "count/secrets" => count(&ctx.secrets, ns),
        "replicationcontrollers" | "count/replicationcontrollers" => count(&ctx.rcs, ns),
        "resourcequotas" | "count/resourcequotas" => count(&ctx.quotas, ns),
        "count/deployments.apps" => count(&ctx.deployments, ns),
        "count/replicasets.apps" => count(&ctx.replicasets, ns),
        "count/statefulsets.apps" => count(&ctx.statefulsets, ns),
        "count/daemonsets.apps" => count(&ctx.daemonsets, ns),
        "count/jobs.batch" => count(&ctx.jobs, ns),
        "count/cronjobs.batch" => count(&ctx.cronjobs, ns),
        _ => return None,
    })
}

async fn reconcile(ctx: &Ctx, key: &ObjectKey) -> Result<Option<Duration>, Error> {
    let Some(quota) = ctx.quotas.get(key) else {
        return Ok(None);
    };
    if quota.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let spec = quota.spec.clone().unwrap_or_default();
    let hard: BTreeMap<String, KQuantity> = spec.hard.clone().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let all_pods = ctx.pods.list_namespace(&key.namespace);
    let pods: Vec<&Pod> = all_pods
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| usage::pod_counts(p, now) && usage::pod_in_scope(p, &spec))
        .collect();
    let mut used_map = BTreeMap::new();
    for name in hard.keys() {
        if let Some(s) = used(ctx, &quota, &key.namespace, name, &pods) {
            used_map.insert(name.clone(), s.to_quantity());
        }
    }
    let status = ResourceQuotaStatus {
        hard: Some(hard),
        used: Some(used_map),
    };
    if quota.status.as_ref() == Some(&status) {
        return Ok(None);
    }
    let mut updated = (*quota).clone();
    updated.status = Some(status);
    let api: Api<ResourceQuota> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let written = api
        .replace_status(&key.name, &PostParams::default(), &updated)
        .await?;
    ctx.quotas.apply(Arc::new(written));
    Ok(None)
}
