//! DELETE and DELETECOLLECTION: preconditions, graceful deletion (pods on a
//! node), finalizers (the object stays, with a deletionTimestamp, until the
//! last finalizer is removed) and propagation policy, recorded as the
//! `orphan` / `foregroundDeletion` finalizers the garbage collector acts on.

use super::meta::{self, finalizers};
use super::select::Selection;
use super::{Registry, decode_kv, store_error};
use crate::keys;
use crate::options::{DeleteOptions, ListOptions};
use apimachinery::{ApiError, ResourceInfo, meta as m};
use serde_json::Value;
use store::StoreError;

/// Upstream's finalizer for a CRD's custom resources.
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

pub enum DeleteOutcome {
    /// Gone from the store; the object as it was last.
    Deleted(Value),
    /// Still there with a deletionTimestamp (finalizers or a grace period).
    Pending(Value),
}

impl Registry {
    /// Whether a completed delete answers with the object rather than a
    /// `Status` (upstream's `ReturnDeletedObject`: pods, services, service
    /// accounts, storage classes and every custom resource).
    pub fn returns_deleted_object(&self, res: &ResourceInfo) -> bool {
        self.catalog().custom(res).is_some()
            || matches!(
                (res.group.as_str(), res.plural.as_str()),
                ("", "pods" | "services" | "serviceaccounts")
                    | ("storage.k8s.io", "storageclasses")
            )
    }

    pub(crate) async fn delete_stored(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, ApiError> {
        if res.group.is_empty()
            && res.plural == "namespaces"
            && matches!(name, "default" | "kube-system" | "kube-public")
        {
            return Err(ApiError::forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        let key = keys::object_key(res, ns, name);
        for _ in 0..16 {
            let (kv, _) = self.store.get(&key).await.map_err(store_error)?;
            let kv = kv.ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))?;
            let obj = decode_kv(&kv)?;
            if let Some(uid) = &opts.precondition_uid
                && uid != m::uid(&obj)
            {
                return Err(ApiError::conflict(
                    &res.group,
                    &res.plural,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        m::uid(&obj)
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_resource_version
                && *rv != kv.mod_revision.to_string()
            {
                return Err(ApiError::conflict(
                    &res.group,
                    &res.plural,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        kv.mod_revision
                    ),
                ));
            }
            let Some(pending) = self.mark_deleting(res, &obj, opts) else {
                if opts.dry_run {
                    return Ok(DeleteOutcome::Deleted(obj));
                }
                match self.store.delete(&key, Some(kv.mod_revision)).await {
                    Ok((_, rev)) => {
                        self.after_write(res, rev).await;
                        return Ok(DeleteOutcome::Deleted(obj));
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(StoreError::NotFound(_)) => {
                        return Err(ApiError::not_found(&res.group, &res.plural, name));
                    }
                    Err(e) => return Err(store_error(e)),
                }
            };
            if pending == obj || opts.dry_run {
                return Ok(DeleteOutcome::Pending(pending));
            }
            match self.store_update(&key, &pending, kv.mod_revision).await {
                Ok(rev) => {
                    self.after_write(res, rev).await;
                    let mut pending = pending;
                    meta::set_resource_version(&mut pending, rev);
                    return Ok(DeleteOutcome::Pending(pending));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound(_)) => {
                    return Err(ApiError::not_found(&res.group, &res.plural, name));
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(ApiError::conflict(
            &res.group,
            &res.plural,
            name,
            "too many concurrent updates; please try again",
        ))
    }

    /// The object marked for deletion, or None when it can go right away.
    fn mark_deleting(
        &self,
        res: &ResourceInfo,
        obj: &Value,
        opts: &DeleteOptions,
    ) -> Option<Value> {
        let mut fins = finalizers(obj);
        let policy = match (&opts.propagation_policy, opts.orphan_dependents) {
            (Some(p), _) => Some(p.as_str()),
            (None, Some(true)) => Some("Orphan"),
            (None, Some(false)) => Some("Background"),
            (None, None) => None,
        };
        let already = obj.pointer("/metadata/deletionTimestamp").is_some();
        if !already {
            let add = match policy {
                Some("Orphan") => Some("orphan"),
                Some("Foreground") => Some("foregroundDeletion"),
                _ => None,
            };
            if let Some(f) = add
                && !fins.iter().any(|x| x == f)
            {
                fins.push(f.to_string());
            }
            // A CRD goes only after its custom resources (the CRD cleanup
            // controller removes this finalizer once they are gone).
            if res.group == "apiextensions.k8s.io"
                && res.plural == "customresourcedefinitions"
                && !fins.iter().any(|x| x == CRD_CLEANUP_FINALIZER)
            {
                fins.push(CRD_CLEANUP_FINALIZER.to_string());
            }
        }
        let namespace_finalizing = res.group.is_empty()
            && res.plural == "namespaces"
            && obj
                .pointer("/spec/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
        let grace = self.grace_period(res, obj, opts);
        if fins.is_empty() && grace == 0 && !namespace_finalizing {
            return None;
        }
        let mut out = obj.clone();
        let md = m::metadata_mut(&mut out);
        if !fins.is_empty() {
            md.insert(
                "finalizers".into(),
                fins.into_iter()
                    .map(Value::String)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if !already {
            let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
            md.insert(
                "deletionTimestamp".into(),
                when.strftime("%Y-%m-%dT%H:%M:%SZ").to_string().into(),
            );
            md.insert("deletionGracePeriodSeconds".into(), grace.into());
            if let Some(g) = md.get("generation").and_then(Value::as_i64) {
                md.insert("generation".into(), (g + 1).into());
            }
        } else if grace
            < md.get("deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        {
            // A shorter grace period replaces a longer one, as upstream.
            md.insert("deletionGracePeriodSeconds".into(), grace.into());
            if grace == 0 && finalizers(&out).is_empty() {
                return None;
            }
        }
        if namespace_finalizing {
            out["status"]["phase"] = "Terminating".into();
        }
        Some(out)
    }

    /// Pods bound to a node are deleted gracefully (the kubelet finishes the
    /// job); everything else immediately.
    fn grace_period(&self, res: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> i64 {
        if !(res.group.is_empty() && res.plural == "pods") {
            return 0;
        }
        let on_node = obj
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let phase = obj
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !on_node || phase == "Succeeded" || phase == "Failed" {
            return 0;
        }
        let grace = opts
            .grace_period_seconds
            .or_else(|| {
                obj.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        // Upstream turns a negative grace period into the shortest real one.
        if grace < 0 { 1 } else { grace }
    }

    /// Delete every object the list options select; returns what was deleted
    /// or marked for deletion.
    pub async fn delete_collection(
        &self,
        res: &ResourceInfo,
        ns: &str,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Vec<Value>, ApiError> {
        let found = self
            .list(
                res,
                ns,
                &ListOptions {
                    limit: 0,
                    continue_token: None,
                    ..list.clone()
                },
            )
            .await?;
        let mut out = vec![];
        for obj in found.items {
            match self.delete(res, &obj.namespace, &obj.name, opts).await {
                Ok(DeleteOutcome::Deleted(v)) | Ok(DeleteOutcome::Pending(v)) => out.push(v),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let _ = Selection::parse;
        Ok(out)
    }
}
