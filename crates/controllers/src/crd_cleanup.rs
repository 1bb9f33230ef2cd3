//! The CRD finalizer: when a CustomResourceDefinition is deleted, delete
//! every custom resource it defines, then remove the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer the API server put
//! on it, so the CRD goes (and recreating it does not bring old objects back).

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

pub const FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
}

pub async fn run(client: Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(client))
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("crd cleanup: {e}");
            }
        })
        .await;
}

fn error_policy(_crd: Arc<CustomResourceDefinition>, err: &Error, _client: Arc<Client>) -> Action {
    tracing::warn!("crd cleanup: {err}");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile(
    crd: Arc<CustomResourceDefinition>,
    client: Arc<Client>,
) -> Result<Action, Error> {
    if crd.metadata.deletion_timestamp.is_none() || !crd.finalizers().iter().any(|f| f == FINALIZER)
    {
        return Ok(Action::await_change());
    }
    let spec = &crd.spec;
    // A CRD that names a built-in resource never served anything: its
    // "objects" are the built-in ones, which must not be touched.
    let builtin = apimachinery_builtin(&spec.group, &spec.names.plural);
    // Every version shares one storage: any served version sees them all.
    if let Some(version) = spec.versions.iter().find(|v| v.served).filter(|_| !builtin) {
        let ar = ApiResource {
            group: spec.group.clone(),
            version: version.name.clone(),
            api_version: format!("{}/{}", spec.group, version.name),
            kind: spec.names.kind.clone(),
            plural: spec.names.plural.clone(),
        };
        let all: Api<DynamicObject> = Api::all_with((*client).clone(), &ar);
        let items = match all.list_metadata(&ListParams::default()).await {
            Ok(list) => list.items,
            // Never served (not established): nothing to delete.
            Err(kube::Error::Api(s)) if s.code == 404 => vec![],
            Err(e) => return Err(e.into()),
        };
        if !items.is_empty() {
            for item in &items {
                let api: Api<DynamicObject> = match item.namespace() {
                    Some(ns) => Api::namespaced_with((*client).clone(), &ns, &ar),
                    None => Api::all_with((*client).clone(), &ar),
                };
                match api
                    .delete(&item.name_any(), &DeleteParams::background())
                    .await
                {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(Action::requeue(Duration::from_secs(1)));
        }
    }
    let remaining: Vec<String> = crd
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    let patch = serde_json::json!({"metadata": {"finalizers": remaining, "resourceVersion": crd.resource_version()}});
    let api: Api<CustomResourceDefinition> = Api::all((*client).clone());
    api.patch(
        &crd.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(Action::await_change())
}

/// Whether (group, plural) is a built-in resource of the API server.
fn apimachinery_builtin(group: &str, plural: &str) -> bool {
    apimachinery::resources::Catalog::builtin()
        .find_any_version(group, plural)
        .is_some()
}
