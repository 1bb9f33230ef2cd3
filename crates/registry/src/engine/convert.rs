//! Resources served at several versions that share one storage version
//! (core/v1 and events.k8s.io/v1 Events stored as core/v1; autoscaling/v1
//! and v2 HorizontalPodAutoscalers stored as v2, as upstream). The public
//! verbs take the version the client asked for; this module converts at the
//! boundary and the engine underneath only ever sees the storage version.

use super::watch::{WatchEventOut, WatchStream};
use super::{ListResult, Registry};
use crate::cache::CachedObject;
use crate::options::{DeleteOptions, ListOptions, WatchOptions, WriteOptions};
use apimachinery::{ApiError, ResourceInfo, conversion};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use std::sync::Arc;

/// Convert an object to a resource's version.
pub(crate) fn convert_to(obj: &Value, res: &ResourceInfo) -> Result<Value, ApiError> {
    match conversion::convert(obj, &res.group, &res.version) {
        Ok(v) => Ok(v),
        // Versions of one custom resource convert with upstream's `None`
        // strategy: only the apiVersion changes.
        Err(conversion::ConversionError::Unsupported { .. })
            if apimachinery::GroupVersion::parse(
                apimachinery::meta::str_at(obj, &["apiVersion"]).unwrap_or(""),
            )
            .group
                == res.group =>
        {
            let mut out = obj.clone();
            out["apiVersion"] = res.api_version().into();
            Ok(out)
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "converting to {}: {e}",
            res.api_version()
        ))),
    }
}

/// A cached object as seen at another version (same metadata, new bytes).
fn convert_cached(o: &Arc<CachedObject>, res: &ResourceInfo) -> Arc<CachedObject> {
    let value = o.value();
    if value.get("apiVersion").and_then(Value::as_str) == Some(res.api_version().as_str()) {
        return o.clone();
    }
    match convert_to(&value, res)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok())
    {
        Some(json) => Arc::new(CachedObject {
            key: o.key.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
            rv: o.rv,
            json: Bytes::from(json),
            labels: o.labels.clone(),
            fields: o.fields.clone(),
            rv_at: None,
            exact: false,
        }),
        None => o.clone(),
    }
}

impl Registry {
    /// The storage version's resource when `res` is served from another one.
    pub(crate) fn storage_of(&self, res: &ResourceInfo) -> Option<Arc<ResourceInfo>> {
        let cat = self.catalog();
        if let Some(custom) = cat.custom(res) {
            if custom.storage_version.is_empty() || custom.storage_version == res.version {
                return None;
            }
            return cat.find(&res.group, &custom.storage_version, &res.plural);
        }
        let (g, v) = match (res.storage_group.as_str(), res.plural.as_str()) {
            ("", "events") => ("", "v1"),
            ("autoscaling", "horizontalpodautoscalers") => ("autoscaling", "v2"),
            _ => return None,
        };
        if res.group == g && res.version == v {
            return None;
        }
        self.catalog().find(g, v, &res.plural)
    }

    fn present(&self, v: Value, view: &ResourceInfo, stored: bool) -> Result<Value, ApiError> {
        if stored { convert_to(&v, view) } else { Ok(v) }
    }

    /// Read one object. `resource_version` "" reads the latest state from the
    /// store (consistent); anything else may be served from the cache.
    pub async fn get(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        rv: &str,
    ) -> Result<Value, ApiError> {
        let stored = self.storage_of(res);
        let v = self
            .get_stored(stored.as_deref().unwrap_or(res), ns, name, rv)
            .await?;
        self.present(
            v,
            res,
            stored.is_some() || self.catalog().custom(res).is_some(),
        )
    }

    pub async fn list(
        &self,
        res: &ResourceInfo,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        let stored = self.storage_of(res);
        let mut out = self
            .list_stored(stored.as_deref().unwrap_or(res), ns, opts)
            .await?;
        // Custom resources written at another version (before a storage
        // version change) are presented at the one asked for, too.
        if stored.is_some() || self.catalog().custom(res).is_some() {
            out.items = out.items.iter().map(|o| convert_cached(o, res)).collect();
        }
        Ok(out)
    }

    pub async fn watch(
        self: &Arc<Self>,
        res: &ResourceInfo,
        ns: &str,
        opts: &WatchOptions,
    ) -> Result<WatchStream, ApiError> {
        let stored = self.storage_of(res);
        let stream = self
            .watch_stored(stored.as_deref().unwrap_or(res), ns, opts)
            .await?;
        if stored.is_none() && self.catalog().custom(res).is_none() {
            return Ok(stream);
        }
        let view = res.clone();
        Ok(Box::pin(stream.map(move |ev| match ev {
            WatchEventOut::Event { kind, object } => WatchEventOut::Event {
                kind,
                object: convert_cached(&object, &view),
            },
            other => other,
        })))
    }

    pub async fn create(
        &self,
        res: &ResourceInfo,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let Some(stored) = self.storage_of(res) else {
            return self.create_stored(res, ns, obj, opts).await;
        };
        self.check_kind(res, &mut obj)?;
        let v = self
            .create_stored(&stored, ns, convert_to(&obj, &stored)?, opts)
            .await?;
        convert_to(&v, res)
    }

    /// PUT of the main resource or of its `status` subresource.
    pub async fn update(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        mut obj: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let Some(stored) = self.storage_of(res) else {
            return self
                .update_stored(res, ns, name, obj, subresource, opts)
                .await;
        };
        self.check_kind(res, &mut obj)?;
        let v = self
            .update_stored(
                &stored,
                ns,
                name,
                convert_to(&obj, &stored)?,
                subresource,
                opts,
            )
            .await?;
        convert_to(&v, res)
    }

    pub async fn delete(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<super::DeleteOutcome, ApiError> {
        let stored = self.storage_of(res);
        let out = self
            .delete_stored(stored.as_deref().unwrap_or(res), ns, name, opts)
            .await?;
        if stored.is_none() {
            return Ok(out);
        }
        Ok(match out {
            super::DeleteOutcome::Deleted(v) => super::DeleteOutcome::Deleted(convert_to(&v, res)?),
            super::DeleteOutcome::Pending(v) => super::DeleteOutcome::Pending(convert_to(&v, res)?),
        })
    }
}
