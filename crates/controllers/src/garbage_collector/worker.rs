//! The collector's workers (upstream's attemptToDeleteItem and
//! attemptToOrphan): decide from live GETs, never from the graph alone,
//! whether an object's owners are gone, waiting, or solid, and act with
//! uid preconditions so a recreated namesake is never touched.

use super::graph::{FOREGROUND, Identity, ORPHAN};
use super::{Error, Resource, Shared};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::core::PartialObjectMeta;
use serde_json::json;

const ABSENT_CACHE_MAX: usize = 500;

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn resource(shared: &Shared, api_version: &str, kind: &str) -> Result<Resource, Error> {
    shared
        .resources
        .read()
        .expect("gc lock")
        .lookup(api_version, kind)
        .ok_or_else(|| Error::UnknownKind(api_version.to_string(), kind.to_string()))
}

fn api_for(shared: &Shared, res: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
    match (res.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(shared.client.clone(), ns, &res.ar),
        _ => Api::all_with(shared.client.clone(), &res.ar),
    }
}

/// The live object of `id`, or `None` when it is gone or its uid differs.
async fn live(
    shared: &Shared,
    id: &Identity,
) -> Result<Option<(Resource, PartialObjectMeta<DynamicObject>)>, Error> {
    let res = resource(shared, &id.api_version, &id.kind)?;
    let api = api_for(shared, &res, id.namespace.as_deref());
    match api.get_metadata_opt(&id.name).await? {
        Some(obj) if obj.metadata.uid.as_deref() == Some(id.uid.as_str()) => Ok(Some((res, obj))),
        _ => Ok(None),
    }
}

enum OwnerState {
    Dangling,
    WaitingForDependents,
    Solid,
}

/// Whether the owner `r` of a dependent in `namespace` still exists.
async fn classify(
    shared: &Shared,
    namespace: Option<&str>,
    r: &OwnerReference,
) -> Result<OwnerState, Error> {
    let res = resource(shared, &r.api_version, &r.kind)?;
    // A cluster-scoped dependent cannot have a namespaced owner: upstream
    // treats that reference as pointing at nothing.
    if res.namespaced && namespace.is_none() {
        return Ok(OwnerState::Dangling);
    }
    let owner_ns = if res.namespaced { namespace } else { None };
    let cache_key = (owner_ns.unwrap_or("").to_string(), r.uid.clone());
    if shared.absent.lock().expect("gc lock").contains(&cache_key) {
        return Ok(OwnerState::Dangling);
    }
    let api = api_for(shared, &res, owner_ns);
    let owner = api.get_metadata_opt(&r.name).await?;
    match owner {
        Some(o) if o.metadata.uid.as_deref() == Some(r.uid.as_str()) => {
            let fg = o
                .metadata
                .finalizers
                .as_ref()
                .is_some_and(|f| f.iter().any(|x| x == FOREGROUND));
            if o.metadata.deletion_timestamp.is_some() && fg {
                Ok(OwnerState::WaitingForDependents)
            } else {
                Ok(OwnerState::Solid)
            }
        }
        _ => {
            let mut absent = shared.absent.lock().expect("gc lock");
            if absent.len() >= ABSENT_CACHE_MAX {
                absent.clear();
            }
            absent.insert(cache_key);
            Ok(OwnerState::Dangling)
        }
    }
}

fn drop_absent_node(shared: &Shared, uid: &str) {
    let work = shared.graph.lock().expect("gc lock").remove_absent(uid);
    shared.dispatch(work);
}

/// Look at one object: delete it if all its owners are gone or waiting for
/// their dependents, finish a foreground deletion, or verify a virtual node.
pub(crate) async fn attempt_to_delete(shared: &Shared, uid: &str) -> Result<(), Error> {
    let Some(node) = shared.graph.lock().expect("gc lock").get(uid).cloned() else {
        return Ok(());
    };
    if node.deleting_dependents && !node.virtual_node {
        return process_deleting_dependents(shared, uid, &node.identity).await;
    }
    if node.being_deleted && !node.virtual_node {
        return Ok(());
    }
    let Some((res, latest)) = live(shared, &node.identity).await? else {
        drop_absent_node(shared, uid);
        return Ok(());
    };
    if node.virtual_node {
        // The owner exists; the watch will report it (unless it is of a
        // resource that cannot be watched, then keep checking with backoff).
        return Err(Error::NotObserved(node.identity.name.clone()));
    }
    let owners = latest.metadata.owner_references.clone().unwrap_or_default();
    if owners.is_empty() {
        return Ok(());
    }
    let ns = latest.metadata.namespace.clone();
    let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    for r in &owners {
        match classify(shared, ns.as_deref(), r).await? {
            OwnerState::Solid => solid.push(r.uid.clone()),
            OwnerState::Dangling => dangling.push(r.uid.clone()),
            OwnerState::WaitingForDependents => waiting.push(r.uid.clone()),
        }
    }
    let api = api_for(shared, &res, ns.as_deref());
    let name = node.identity.name.as_str();
    if !solid.is_empty() {
        if dangling.is_empty() && waiting.is_empty() {
            return Ok(());
        }
        // Keep the object; drop the references to owners that are gone or
        // going.
        let keep: Vec<&OwnerReference> = owners.iter().filter(|r| solid.contains(&r.uid)).collect();
        return patch_meta(&api, name, &latest, json!({ "ownerReferences": keep })).await;
    }
    let has_dependents = !node.dependents.is_empty();
    let fins = latest.metadata.finalizers.clone().unwrap_or_default();
    let policy = if !waiting.is_empty() && has_dependents {
        // Our owner waits for us, and we have dependents of our own: stop
        // blocking it, then delete ourselves in the foreground too.
        let unblocked: Vec<OwnerReference> = owners
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if waiting.contains(&r.uid) {
                    r.block_owner_deletion = Some(false);
                }
                r
            })
            .collect();
        patch_meta(&api, name, &latest, json!({ "ownerReferences": unblocked })).await?;
        "Foreground"
    } else if fins.iter().any(|f| f == ORPHAN) {
        "Orphan"
    } else if fins.iter().any(|f| f == FOREGROUND) {
        "Foreground"
    } else {
        "Background"
    };
    delete(&api, name, uid, policy).await
}

async fn delete(
    api: &Api<DynamicObject>,
    name: &str,
    uid: &str,
    policy: &str,
) -> Result<(), Error> {
    let mut dp = match policy {
        "Foreground" => DeleteParams::foreground(),
        "Orphan" => DeleteParams::orphan(),
        _ => DeleteParams::background(),
    };
    dp.preconditions = Some(Preconditions {
        uid: Some(uid.to_string()),
        resource_version: None,
    });
    match api.delete(name, &dp).await {
        Ok(_) => Ok(()),
        // Gone already, or a namesake with another uid: nothing to do.
        Err(e) if matches!(code(&e), Some(404 | 409)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Merge-patch `metadata` fields of `obj`, guarded by its resourceVersion
/// (a conflict retries with fresh data).
async fn patch_meta(
    api: &Api<DynamicObject>,
    name: &str,
    obj: &PartialObjectMeta<DynamicObject>,
    fields: serde_json::Value,
) -> Result<(), Error> {
    let mut meta = fields;
    meta["resourceVersion"] = json!(obj.metadata.resource_version);
    meta["uid"] = json!(obj.metadata.uid);
    let body = json!({ "metadata": meta });
    match api
        .patch_metadata(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some(404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An owner deleted in the foreground: when no dependent blocks it any
/// more, remove its `foregroundDeletion` finalizer; until then, make sure
/// the blocking dependents are being deleted.
async fn process_deleting_dependents(
    shared: &Shared,
    uid: &str,
    id: &Identity,
) -> Result<(), Error> {
    let blocking: Vec<(String, bool)> = {
        let g = shared.graph.lock().expect("gc lock");
        g.blocking_dependents(uid)
            .iter()
            .map(|d| (d.identity.uid.clone(), d.deleting_dependents))
            .collect()
    };
    if blocking.is_empty() {
        return remove_finalizer(shared, id, FOREGROUND).await;
    }
    for (dep, deleting) in blocking {
        if !deleting {
            shared.delete_queue.add(dep);
        }
    }
    Ok(())
}

async fn remove_finalizer(shared: &Shared, id: &Identity, finalizer: &str) -> Result<(), Error> {
    let Some((res, obj)) = live(shared, id).await? else {
        return Ok(());
    };
    let fins = obj.metadata.finalizers.clone().unwrap_or_default();
    if !fins.iter().any(|f| f == finalizer) {
        return Ok(());
    }
    let rest: Vec<&String> = fins.iter().filter(|f| *f != finalizer).collect();
    let api = api_for(shared, &res, obj.metadata.namespace.as_deref());
    patch_meta(&api, &id.name, &obj, json!({ "finalizers": rest })).await
}

/// An owner deleted with the `orphan` finalizer: remove the references to
/// it from every dependent, then remove the finalizer.
pub(crate) async fn attempt_to_orphan(shared: &Shared, uid: &str) -> Result<(), Error> {
    let (owner, dependents) = {
        let g = shared.graph.lock().expect("gc lock");
        let Some(node) = g.get(uid) else {
            return Ok(());
        };
        let deps: Vec<Identity> = node
            .dependents
            .iter()
            .filter_map(|d| g.get(d))
            .filter(|d| !d.virtual_node)
            .map(|d| d.identity.clone())
            .collect();
        (node.identity.clone(), deps)
    };
    for dep in &dependents {
        let Some((res, obj)) = live(shared, dep).await? else {
            continue;
        };
        let refs = obj.metadata.owner_references.clone().unwrap_or_default();
        if !refs.iter().any(|r| r.uid == uid) {
            continue;
        }
        let keep: Vec<&OwnerReference> = refs.iter().filter(|r| r.uid != uid).collect();
        let api = api_for(shared, &res, obj.metadata.namespace.as_deref());
        patch_meta(&api, &dep.name, &obj, json!({ "ownerReferences": keep })).await?;
    }
    remove_finalizer(shared, &owner, ORPHAN).await
}
