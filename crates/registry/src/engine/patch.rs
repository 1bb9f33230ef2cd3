//! PATCH: JSON patch, merge patch, strategic merge patch and server-side
//! apply, applied to the current object and written back through the same
//! path as an update (so the strategy and validation run on the result).

use super::convert::convert_to;
use super::{Registry, store_error};
use crate::keys;
use crate::options::WriteOptions;
use apimachinery::patch as p;
use apimachinery::{ApiError, ResourceInfo, meta as m};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl Registry {
    /// Patch an object; for server-side apply a missing object is created.
    /// Returns the result and whether it was created.
    pub async fn patch(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        kind: PatchKind,
        patch: &Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        // `view` is the version the client speaks; `res` the one stored.
        let view = res;
        let stored = self.storage_of(view);
        let res: &ResourceInfo = stored.as_deref().unwrap_or(view);
        let custom = self.catalog().custom(res).is_some();
        if kind == PatchKind::Strategic && custom {
            return Err(ApiError::unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            ));
        }
        let mut applied = patch.clone();
        let patch = &mut applied;
        if kind == PatchKind::Apply {
            self.check_kind(view, patch)?;
            let key = keys::object_key(res, ns, name);
            let (kv, _) = self.store.get(&key).await.map_err(store_error)?;
            if kv.is_none() {
                if subresource.is_some() {
                    return Err(ApiError::not_found(&res.group, &res.plural, name));
                }
                let body_name = m::name(patch);
                if !body_name.is_empty() && body_name != name {
                    return Err(ApiError::bad_request(format!(
                        "the name of the object ({body_name}) does not match the name on the URL ({name})"
                    )));
                }
                let obj = self.apply_to(view, None, patch, opts, subresource)?;
                let create_opts = WriteOptions {
                    applying: true,
                    ..opts.clone()
                };
                return self
                    .create(view, ns, obj, &create_opts)
                    .await
                    .map(|o| (o, true));
            }
        }
        let precondition = patch_precondition(patch);
        let opts = &WriteOptions {
            applying: kind == PatchKind::Apply,
            ..opts.clone()
        };
        let result = self
            .guaranteed_update(res, ns, name, subresource, None, opts, |stored_old| {
                let converted;
                let old = if stored.is_some() {
                    converted = convert_to(stored_old, view)?;
                    &converted
                } else {
                    stored_old
                };
                if let Some(rv) = &precondition
                    && rv != m::resource_version(old)
                {
                    return Err(ApiError::stale(&res.group, &res.plural, name));
                }
                let mut new = match kind {
                    PatchKind::Json => {
                        p::json::apply_json_patch(old, patch).map_err(|e| e.to_api_error())?
                    }
                    PatchKind::Merge => {
                        p::merge::apply_merge_patch(old, patch).map_err(|e| e.to_api_error())?
                    }
                    PatchKind::Strategic => self
                        .with_schema(view, |schema| {
                            p::strategic::apply_strategic_merge_patch(old, patch, schema)
                        })
                        .map_err(|e| e.to_api_error())?,
                    PatchKind::Apply => self.apply_to(view, Some(old), patch, opts, subresource)?,
                };
                // The patched object keeps its identity whatever the patch said.
                for f in ["name", "namespace", "uid"] {
                    if let Some(v) = old.pointer(&format!("/metadata/{f}")) {
                        m::metadata_mut(&mut new).insert(f.into(), v.clone());
                    }
                }
                if kind != PatchKind::Apply {
                    m::metadata_mut(&mut new)
                        .insert("resourceVersion".into(), m::resource_version(old).into());
                }
                match stored.is_some() {
                    true => convert_to(&new, res),
                    false => Ok(new),
                }
            })
            .await?;
        let result = if stored.is_some() {
            convert_to(&result, view)?
        } else {
            result
        };
        Ok((result, false))
    }
}

/// A patch that names a resourceVersion makes it a precondition.
fn patch_precondition(patch: &Value) -> Option<String> {
    patch
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}
