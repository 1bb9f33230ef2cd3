//! The EndpointSlice controller (upstream's endpointslice-controller): for
//! every Service with a selector, EndpointSlices (at most 100 endpoints
//! each) listing the selected pods with ready/serving/terminating
//! conditions, owned by the Service so the garbage collector removes them
//! with it. `plan` decides; this module watches and writes.

pub mod plan;

use crate::endpoints::{TRIGGER_TIME, pods};
use informer::{Change, Factory, Informer, ObjectKey, WorkQueue};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use std::sync::Arc;

const SERVICE_INDEX: &str = "service";
const WORKERS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
}

#[derive(Clone)]
struct Ctx {
    client: kube::Client,
    services: Informer<Service>,
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    slices: Informer<EndpointSlice>,
}

/// `namespace/service` of a slice this controller manages.
fn managed_service(s: &EndpointSlice) -> Option<ObjectKey> {
    let labels = s.metadata.labels.as_ref()?;
    if labels.get(plan::MANAGED_BY_LABEL).map(String::as_str) != Some(plan::MANAGED_BY) {
        return None;
    }
    let svc = labels.get(plan::SERVICE_NAME_LABEL)?;
    Some(ObjectKey::new(
        s.metadata.namespace.clone().unwrap_or_default(),
        svc.clone(),
    ))
}

pub async fn run(factory: Factory) {
    let ctx = Ctx {
        client: factory.client(),
        services: factory.informer::<Service>(),
        pods: pods::pod_informer(&factory),
        nodes: factory.informer::<Node>(),
        slices: factory.informer_with::<EndpointSlice>(|inf| {
            inf.add_index(
                SERVICE_INDEX,
                Arc::new(|s: &EndpointSlice| {
                    managed_service(s)
                        .map(|k| k.to_string())
                        .into_iter()
                        .collect()
                }),
            )
        }),
    };
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    let q = queue.clone();
    ctx.services
        .on_change(move |c| q.add(ObjectKey::of(c.object().as_ref())));
    let q = queue.clone();
    let services = ctx.services.clone();
    ctx.pods.on_change(move |c| {
        let (old, new) = match c {
            Change::Added(p) => (None, Some(p.as_ref())),
            Change::Updated { old, new } => (Some(old.as_ref()), Some(new.as_ref())),
            Change::Deleted(p) => (Some(p.as_ref()), None),
        };
        for k in pods::services_for_pod(&services, old, new) {
            q.add(k);
        }
    });
    let q = queue.clone();
    ctx.slices.on_change(move |c| {
        // A slice of ours deleted by someone else is recreated.
        if let Change::Deleted(s) = c
            && let Some(k) = managed_service(s)
        {
            q.add(k);
        }
    });
    ctx.services.wait_synced().await;
    ctx.pods.wait_synced().await;
    ctx.nodes.wait_synced().await;
    ctx.slices.wait_synced().await;
    queue
        .run(WORKERS, move |key: ObjectKey| {
            let ctx = ctx.clone();
            async move { reconcile(&ctx, &key).await.map(|_| None) }
        })
        .await;
}

async fn reconcile(ctx: &Ctx, key: &ObjectKey) -> Result<(), Error> {
    // A deleted Service's slices are the garbage collector's (it owns them).
    let Some(svc) = ctx.services.get(key) else {
        return Ok(());
    };
    if pods::selector(&svc).is_none() || svc.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let selected = pods::selected_pods(&ctx.pods, &svc);
    let groups = plan::desired(&svc, &selected, &ctx.nodes);
    let existing = ctx.slices.by_index(SERVICE_INDEX, &key.to_string());
    let p = plan::plan(&svc, groups, &existing, plan::MAX_PER_SLICE);
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let now = pods::now_rfc3339();
    let stamp = |s: &mut EndpointSlice| {
        s.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(TRIGGER_TIME.to_string(), now.clone());
    };
    for mut s in p.update {
        stamp(&mut s);
        let name = s.metadata.name.clone().unwrap_or_default();
        let written = api.replace(&name, &PostParams::default(), &s).await?;
        ctx.slices.apply(Arc::new(written));
    }
    for mut s in p.create {
        stamp(&mut s);
        let written = api.create(&PostParams::default(), &s).await?;
        ctx.slices.apply(Arc::new(written));
    }
    for name in p.delete {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(e) => return Err(e.into()),
        }
        ctx.slices
            .delete(&ObjectKey::new(key.namespace.clone(), name));
    }
    Ok(())
}
