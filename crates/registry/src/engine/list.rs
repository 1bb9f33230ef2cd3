//! LIST: served from the watch cache (consistent by default: the cache first
//! catches up with the store's current revision), except continued chunks and
//! exact-revision lists, which read the store at the revision of their first
//! chunk as upstream does.

use super::select::Selection;
use super::{Registry, store_error};
use crate::cache::{CachedObject, decode_object};
use crate::options::ListOptions;
use crate::{keys, strategies};
use apimachinery::{ApiError, ResourceInfo};
use base64::Engine;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use store::{RangeRequest, StoreError};

/// How long a read waits for the cache to reach a requested revision.
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);

pub struct ListResult {
    pub items: Vec<Arc<CachedObject>>,
    pub resource_version: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

const EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn encode_continue(rv: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(i64, String), ApiError> {
    let bad = |m: &str| ApiError::bad_request(format!("continue key is not valid: {m}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(token))
        .map_err(|_| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|_| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(bad("server does not recognize this encoded key"));
    }
    let rv = v
        .get("rv")
        .and_then(Value::as_i64)
        .filter(|r| *r > 0)
        .ok_or_else(|| bad("incorrect encoded start resourceVersion"))?;
    let start = v
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing start key"))?;
    if start.contains("..") || start.starts_with('/') {
        return Err(bad("key path is not valid"));
    }
    Ok((rv, start.to_string()))
}

impl Registry {
    pub(crate) async fn list_stored(
        &self,
        res: &ResourceInfo,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        let strategy = strategies::for_resource(&res.group, &res.plural);
        let sel = Selection::parse(
            opts.label_selector.as_deref(),
            opts.field_selector.as_deref(),
            strategy.as_ref(),
        )?;
        let prefix = keys::list_prefix(res, ns);
        let limit = opts.limit.max(0) as usize;
        if let Some(token) = opts.continue_token.as_deref().filter(|t| !t.is_empty()) {
            let (rv, start) = decode_continue(token)?;
            return self
                .list_from_store(&prefix, Some(format!("{prefix}{start}")), rv, limit, &sel)
                .await
                .map_err(|e| match e {
                    StoreError::Compacted { .. } => ApiError::expired(EXPIRED),
                    e => store_error(e),
                });
        }
        let rv = parse_rv(&opts.resource_version)?;
        if opts.resource_version_match == "Exact" {
            if rv == 0 {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
            return self
                .list_from_store(&prefix, None, rv, limit, &sel)
                .await
                .map_err(store_error);
        }
        self.wait_fresh(&opts.resource_version, rv).await?;
        let snap = self.cache.list(&prefix, |o| sel.matches(o));
        let mut items = snap.items;
        let mut continue_token = None;
        let mut remaining = None;
        if limit > 0 && items.len() > limit {
            let next = &items[limit].key;
            continue_token = Some(encode_continue(snap.revision, &next[prefix.len()..]));
            remaining = Some((items.len() - limit) as i64);
            items.truncate(limit);
        }
        Ok(ListResult {
            items,
            resource_version: snap.revision,
            continue_token,
            remaining,
        })
    }

    /// Make the cache at least as new as the request asks: the store's current
    /// revision for "", nothing for "0", the given revision otherwise.
    pub(crate) async fn wait_fresh(&self, raw: &str, rv: i64) -> Result<(), ApiError> {
        let target = match raw {
            "" => self.store.current_revision().await.map_err(store_error)?,
            "0" => return Ok(()),
            _ => rv,
        };
        if self.cache.revision() >= target {
            return Ok(());
        }
        if tokio::time::timeout(FRESHNESS_WAIT, self.cache.wait_for(target))
            .await
            .is_err()
        {
            let mut e = ApiError::timeout(format!(
                "Too large resource version: {target}, current: {}",
                self.cache.revision()
            ));
            e.retry_after_seconds = Some(1);
            return Err(e);
        }
        Ok(())
    }

    async fn list_from_store(
        &self,
        prefix: &str,
        mut start_key: Option<String>,
        rev: i64,
        limit: usize,
        sel: &Selection,
    ) -> Result<ListResult, StoreError> {
        let mut items = vec![];
        let page_size = if limit == 0 { 0 } else { limit.max(100) };
        loop {
            let page = self
                .store
                .range(RangeRequest {
                    prefix: prefix.to_string(),
                    start_key: start_key.clone(),
                    limit: page_size,
                    revision: rev,
                })
                .await?;
            for (i, kv) in page.kvs.iter().enumerate() {
                if limit > 0 && items.len() == limit {
                    let token = encode_continue(rev, &kv.key[prefix.len()..]);
                    return Ok(ListResult {
                        items,
                        resource_version: rev,
                        continue_token: Some(token),
                        remaining: None,
                    });
                }
                if let Some(obj) = decode_object(&kv.key, &kv.value, kv.mod_revision)
                    && sel.matches(&obj)
                {
                    items.push(Arc::new(obj));
                }
                let _ = i;
            }
            match (page.more, page.kvs.last()) {
                (true, Some(last)) => start_key = Some(format!("{}\0", last.key)),
                _ => {
                    return Ok(ListResult {
                        items,
                        resource_version: page.revision,
                        continue_token: None,
                        remaining: None,
                    });
                }
            }
        }
    }
}

/// Parse a resourceVersion parameter ("" and "0" are 0).
pub(crate) fn parse_rv(raw: &str) -> Result<i64, ApiError> {
    if raw.is_empty() {
        return Ok(0);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(42, "default/web\u{0}");
        assert_eq!(
            decode_continue(&t).unwrap(),
            (42, "default/web\u{0}".to_string())
        );
        assert_eq!(decode_continue("!!!").unwrap_err().code, 400);
    }
}
