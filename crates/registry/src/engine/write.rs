//! CREATE and UPDATE (including the status subresource): the strategy runs
//! in a fixed order (prepare → default → validate), then the write goes to
//! the store with compare-and-swap on the object's revision.

use super::meta::{
    self, carry_update_meta, init_create_meta, same_object, spec_changed, tracks_generation,
};
use super::{Registry, crd, decode_kv, store_error};
use crate::options::WriteOptions;
use crate::strategies::namespaces;
use crate::strategy::Strategy;
use crate::{keys, strategies, validation};
use apimachinery::{ApiError, Cause, ResourceInfo, meta as m};
use serde_json::Value;
use std::sync::Arc;
use store::StoreError;

/// How many times an update without a client precondition retries a
/// compare-and-swap that lost a race.
const MAX_RETRIES: usize = 16;

impl Registry {
    /// For Services: serialise allocation and make sure the cache has seen
    /// every earlier write, so the allocator sees every address in use.
    async fn allocation_guard(
        &self,
        res: &ResourceInfo,
    ) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, ApiError> {
        if !super::services::is_services(res) {
            return Ok(None);
        }
        let guard = self.alloc_lock.lock().await;
        self.wait_fresh("", 0).await?;
        Ok(Some(guard))
    }

    /// A CRD write changes what is served: make the catalog reflect it
    /// before answering, so the client can use its resource at once.
    pub(crate) async fn after_write(&self, res: &ResourceInfo, rev: i64) {
        if res.group == "apiextensions.k8s.io" && res.plural == "customresourcedefinitions" {
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(3), self.cache.wait_for(rev))
                    .await;
            self.refresh_catalog();
        }
    }

    /// Whether the CRD behind a custom resource is being deleted.
    fn crd_terminating(&self, res: &ResourceInfo) -> bool {
        let key = keys::object_key(
            &crd::crd_resource(),
            "",
            &format!("{}.{}", res.plural, res.group),
        );
        self.cache
            .get(&key)
            .is_some_and(|o| o.value().pointer("/metadata/deletionTimestamp").is_some())
    }

    pub(crate) fn strategy(&self, res: &ResourceInfo) -> Arc<dyn Strategy> {
        strategies::for_resource(&res.group, &res.plural)
    }

    fn is_custom(&self, res: &ResourceInfo) -> bool {
        self.catalog().custom(res).is_some()
    }

    /// The body must be of this resource's kind and version; a body without
    /// them gets them from the URL, as upstream's decoder defaults them.
    pub(crate) fn check_kind(&self, res: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
        let Some(map) = obj.as_object_mut() else {
            return Err(ApiError::bad_request(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            ));
        };
        let kind = map
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let av = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if kind.is_empty() {
            map.insert("kind".into(), res.kind.clone().into());
        } else if kind != res.kind {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                res.kind
            )));
        }
        if av.is_empty() {
            map.insert("apiVersion".into(), res.api_version().into());
        } else if av != res.api_version() {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                res.api_version()
            )));
        }
        Ok(())
    }

    /// New objects may only go into a namespace that exists and is not terminating.
    pub(crate) async fn check_namespace(&self, ns: &str) -> Result<(), ApiError> {
        let nsres = ResourceInfo::new("", "v1", "Namespace", "namespaces", false);
        let key = keys::object_key(&nsres, "", ns);
        let terminating = match self.cache.get(&key) {
            Some(o) => namespaces::terminating_json(&o.json)
                .unwrap_or_else(|| namespaces::terminating(&o.value())),
            None => match self.store.get(&key).await.map_err(store_error)? {
                (Some(kv), _) => namespaces::terminating(&decode_kv(&kv)?),
                (None, _) => return Err(ApiError::not_found("", "namespaces", ns)),
            },
        };
        if terminating {
            let mut e = ApiError::forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ));
            e.reason = "Forbidden".into();
            e = e.with_cause(Cause::new(
                "NamespaceTerminating",
                "metadata.namespace",
                format!("namespace {ns} is being terminated"),
            ));
            return Err(e);
        }
        Ok(())
    }

    /// Everything a create does before the store: metadata, strategy, validation.
    pub(crate) fn prepare_create(
        &self,
        res: &ResourceInfo,
        ns: &str,
        obj: &mut Value,
        opts: &WriteOptions,
    ) -> Result<(), ApiError> {
        let now = meta::now();
        let md = m::metadata_mut(obj);
        let name = md
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty()
            && let Some(prefix) = md
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
        {
            let generated = meta::generate_name(prefix);
            md.insert("name".into(), generated.into());
        }
        record_requester(res, obj, opts);
        init_create_meta(obj, ns, res.namespaced, &now);
        let strategy = self.strategy(res);
        let custom = self.is_custom(res);
        if custom {
            self.custom_prepare(res, obj)?;
            if res.has_subresource("status")
                && let Some(o) = obj.as_object_mut()
            {
                o.remove("status");
            }
        } else {
            self.decode_builtin(res, obj)?;
            strategy.prepare_create(obj);
            strategy.default(obj);
            strategy.finalize_create(obj);
        }
        if res.group == "apiextensions.k8s.io" && res.plural == "customresourcedefinitions" {
            crd::set_crd_status(obj, &now);
        }
        if super::services::is_services(res) {
            self.allocate_service(obj, None)?;
        }
        let mut causes =
            validation::validate_object_meta(obj, res.namespaced, strategy.name_rule());
        causes.extend(strategy.validate_create(obj));
        if custom {
            causes.extend(self.custom_validate(res, obj));
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(
                &res.group,
                &res.kind,
                m::name(obj),
                causes,
            ));
        }
        if tracks_generation(&res.storage_group, &res.plural, custom) {
            m::metadata_mut(obj).insert("generation".into(), 1.into());
        }
        self.track_fields(res, None, obj, opts, None, &now)?;
        Ok(())
    }

    pub(crate) async fn create_stored(
        &self,
        res: &ResourceInfo,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.check_kind(res, &mut obj)?;
        let body_ns = m::namespace(&obj);
        if res.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if res.namespaced {
            self.check_namespace(ns).await?;
        }
        if self.is_custom(res) && self.crd_terminating(res) {
            return Err(ApiError::method_not_allowed(
                "create not allowed while custom resource definition is terminating",
            ));
        }
        let _alloc = self.allocation_guard(res).await?;
        if res.group.is_empty() && res.plural == "pods" {
            self.admit_new_pod(ns, &mut obj).await?;
        }
        self.prepare_create(res, ns, &mut obj, opts)?;
        if opts.dry_run {
            // A dry run still answers AlreadyExists, as upstream.
            let key = keys::object_key(res, ns, m::name(&obj));
            if self.store.get(&key).await.map_err(store_error)?.0.is_some() {
                return Err(ApiError::already_exists(
                    &res.group,
                    &res.plural,
                    m::name(&obj),
                ));
            }
            return Ok(obj);
        }
        let key = keys::object_key(res, ns, m::name(&obj));
        match self.store_create(&key, &obj).await {
            Ok(rev) => {
                meta::set_resource_version(&mut obj, rev);
                self.after_write(res, rev).await;
                Ok(obj)
            }
            Err(StoreError::AlreadyExists(_)) => Err(ApiError::already_exists(
                &res.group,
                &res.plural,
                m::name(&obj),
            )),
            Err(e) => Err(store_error(e)),
        }
    }

    /// PUT of the main resource or of its `status` subresource.
    pub(crate) async fn update_stored(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        mut obj: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.check_kind(res, &mut obj)?;
        let body_name = m::name(&obj);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = m::namespace(&obj);
        if res.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // "0" means no precondition, as upstream.
        let precondition = match m::resource_version(&obj) {
            "" | "0" => None,
            rv => Some(rv.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    &res.group,
                    &res.kind,
                    name,
                    vec![Cause::invalid(
                        "metadata.resourceVersion",
                        &rv.into(),
                        "must be a number",
                    )],
                )
            })?),
        };
        let body = obj;
        self.guaranteed_update(res, ns, name, subresource, precondition, opts, move |old| {
            // A uid in the body is a precondition too.
            let uid = m::uid(&body);
            if !uid.is_empty() && uid != m::uid(old) {
                return Err(ApiError::conflict(
                    &res.group,
                    &res.plural,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        m::uid(old)
                    ),
                ));
            }
            Ok(body.clone())
        })
        .await
    }

    /// Read the current object, let `mutate` produce the new one, finish it
    /// (metadata, status split, strategy, validation) and write it with
    /// compare-and-swap; retry lost races unless the client gave a
    /// precondition. Returns the stored result.
    ///
    /// The first attempt starts from the watch cache's copy, as upstream's
    /// does: when it turns out stale, nothing taken on it is reported and
    /// the attempt is made again on the store's state, not counting as a
    /// retry. What the client sees is what starting from the store gives.
    pub(crate) async fn guaranteed_update(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        subresource: Option<&str>,
        precondition: Option<i64>,
        opts: &WriteOptions,
        mutate: impl Fn(&Value) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let key = keys::object_key(res, ns, name);
        let _alloc = self.allocation_guard(res).await?;
        // Service allocation reads other objects besides this one; a dry
        // run answers without the compare-and-swap that would catch a stale
        // copy. Both start from the store.
        let mut from_cache = !opts.dry_run && !super::services::is_services(res);
        let mut retries = 0;
        while retries < MAX_RETRIES {
            let cur = self
                .current(&key, from_cache)
                .await?
                .ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))?;
            // A copy that may be stale decides nothing: such an outcome
            // goes back to the store's state.
            let cached = cur.cached;
            from_cache = false;
            let old = &cur.obj;
            if let Some(p) = precondition
                && p != cur.mod_revision
            {
                if cached {
                    continue;
                }
                return Err(ApiError::stale(&res.group, &res.plural, name));
            }
            let new =
                mutate(old).and_then(|new| self.finish_update(res, subresource, old, new, opts));
            let mut new = match new {
                Ok(new) => new,
                Err(e) => {
                    if cached {
                        continue;
                    }
                    return Err(e);
                }
            };
            if same_object(&new, old) {
                if cached {
                    continue;
                }
                return Ok(cur.obj);
            }
            if opts.dry_run {
                return Ok(new);
            }
            let deleting = new.pointer("/metadata/deletionTimestamp").is_some()
                && meta::finalizers(&new).is_empty()
                && !namespace_finalizing(res, &new);
            let result = if deleting && graceful_done(&new) {
                self.store
                    .delete(&key, Some(cur.mod_revision))
                    .await
                    .map(|(_, rev)| rev)
            } else {
                self.store_update(&key, &new, cur.mod_revision).await
            };
            match result {
                Ok(rev) => {
                    meta::set_resource_version(&mut new, rev);
                    self.after_write(res, rev).await;
                    return Ok(new);
                }
                Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound(_)) if cached => {}
                Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound(_))
                    if precondition.is_none() =>
                {
                    retries += 1;
                }
                Err(StoreError::Conflict { .. }) => {
                    return Err(ApiError::stale(&res.group, &res.plural, name));
                }
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

    /// Turn a client's new object into what is stored, given the old one.
    fn finish_update(
        &self,
        res: &ResourceInfo,
        subresource: Option<&str>,
        old: &Value,
        mut new: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let now = meta::now();
        carry_update_meta(&mut new, old);
        let strategy = self.strategy(res);
        let custom = self.is_custom(res);
        // The engine's own writes (binding, finalize) and the owned-field
        // subresources start from the stored object: no client body to decode.
        if !custom && !matches!(subresource, Some("binding" | "finalize")) {
            self.decode_builtin(res, &mut new)?;
        }
        let status_only = subresource == Some("status");
        // Binding and finalize are the engine's own writes: the strategy's
        // update rules (e.g. pod spec immutability) do not apply to them, and
        // they may set status (binding's PodScheduled condition).
        let internal = matches!(subresource, Some("binding") | Some("finalize"));
        // Subresources that own one field of the object: the write changes
        // that field only.
        let owned: Option<&[&str]> = match subresource {
            Some("ephemeralcontainers") => Some(&["spec", "ephemeralContainers"]),
            Some("approval") => Some(&["status", "conditions"]),
            _ => None,
        };
        let internal = internal || owned.is_some();
        if let Some(path) = owned {
            let mut merged = old.clone();
            let (parent, leaf) = (path[0], path[1]);
            let value = new.get(parent).and_then(|p| p.get(leaf)).cloned();
            if !merged.get(parent).is_some_and(Value::is_object) {
                merged[parent] = serde_json::json!({});
            }
            match value {
                Some(v) => merged[parent][leaf] = v,
                None => {
                    if let Some(o) = merged[parent].as_object_mut() {
                        o.remove(leaf);
                    }
                }
            }
            if let Some(mf) = new.pointer("/metadata/managedFields") {
                m::metadata_mut(&mut merged).insert("managedFields".into(), mf.clone());
            }
            new = merged;
        } else if status_only {
            // A status write changes status (and field ownership) only.
            new = meta::status_update(old, new);
        } else if res.has_subresource("status") && !internal {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(o) = new.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        }
        if custom {
            self.custom_prepare(res, &mut new)?;
        }
        if !custom && !status_only && !internal {
            strategy.prepare_update(&mut new, old);
            strategy.default(&mut new);
            if super::services::is_services(res) {
                self.allocate_service(&mut new, Some(old))?;
            }
        }
        let mut causes =
            validation::validate_object_meta(&new, res.namespaced, strategy.name_rule());
        causes.extend(no_new_finalizers_while_deleting(&new, old));
        causes.extend(owned_field_causes(subresource, &new, old));
        if status_only {
            causes.extend(strategy.validate_status_update(&new, old));
        } else if !internal {
            causes.extend(strategy.validate_update(&new, old));
        }
        if custom {
            causes.extend(self.custom_validate(res, &new));
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(
                &res.group,
                &res.kind,
                m::name(&new),
                causes,
            ));
        }
        if tracks_generation(&res.storage_group, &res.plural, custom) && spec_changed(&new, old) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            m::metadata_mut(&mut new).insert("generation".into(), (g + 1).into());
        }
        self.track_fields(res, Some(old), &mut new, opts, subresource, &now)?;
        Ok(new)
    }
}

/// A deletion whose grace period has run out (or had none) completes once
/// the last finalizer is gone.
fn graceful_done(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        == 0
}

/// A terminating namespace stays until its `spec.finalizers` are gone too.
fn namespace_finalizing(res: &ResourceInfo, obj: &Value) -> bool {
    res.group.is_empty()
        && res.plural == "namespaces"
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
}

/// Upstream refuses new finalizers on an object that is being deleted.
fn no_new_finalizers_while_deleting(new: &Value, old: &Value) -> Option<Cause> {
    old.pointer("/metadata/deletionTimestamp")?;
    let before = meta::finalizers(old);
    let added: Vec<String> = meta::finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return None;
    }
    let list = added
        .iter()
        .map(|f| format!("{f:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(Cause::forbidden(
        "metadata.finalizers",
        format!(
            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
        ),
    ))
}

/// Upstream's checks of the owned-field subresources: ephemeral containers
/// are added, never changed or removed, and each names itself and an image;
/// a CSR is not both approved and denied.
fn owned_field_causes(subresource: Option<&str>, new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = vec![];
    match subresource {
        Some("ephemeralcontainers") => {
            let list = |v: &Value| {
                v.pointer("/spec/ephemeralContainers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            let (now, before) = (list(new), list(old));
            for (i, c) in now.iter().enumerate() {
                let path = format!("spec.ephemeralContainers[{i}]");
                if c.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    causes.push(Cause::required(format!("{path}.name")));
                }
                if c.get("image")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    causes.push(Cause::required(format!("{path}.image")));
                }
            }
            for b in &before {
                let name = b.get("name");
                match now.iter().find(|c| c.get("name") == name) {
                    Some(c) if c == b => {}
                    _ => causes.push(Cause::forbidden(
                        "spec.ephemeralContainers",
                        "existing ephemeral containers may not be removed or changed",
                    )),
                }
            }
        }
        Some("approval") => {
            let conds = new
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let has = |t: &str| {
                conds
                    .iter()
                    .any(|c| c["type"] == t && c["status"] == "True")
            };
            if has("Approved") && has("Denied") {
                causes.push(Cause::invalid(
                    "status.conditions",
                    &Value::String("Approved".into()),
                    "Approved and Denied conditions are mutually exclusive",
                ));
            }
        }
        _ => {}
    }
    causes
}

/// A CertificateSigningRequest records who asked for it, whatever the body
/// said (upstream's CSR strategy does this from the request's user).
fn record_requester(res: &ResourceInfo, obj: &mut Value, opts: &WriteOptions) {
    if res.group != "certificates.k8s.io" || res.plural != "certificatesigningrequests" {
        return;
    }
    let Some(who) = &opts.requester else { return };
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("username".into(), who.name.clone().into());
        spec.insert("groups".into(), who.groups.clone().into());
        if who.uid.is_empty() {
            spec.remove("uid");
        } else {
            spec.insert("uid".into(), who.uid.clone().into());
        }
        spec.remove("extra");
    }
}
