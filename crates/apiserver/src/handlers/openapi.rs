//! `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<group-version>`. Documents
//! are rendered on first request and kept as bytes with their hash until the
//! set of served resources (the catalog) changes.

use crate::codec::{self, Resp};
use crate::request::Query;
use crate::serve::ApiServer;
use apimachinery::{ApiError, ResourceInfo, openapi};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use registry::engine::Catalog;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct OpenApiCache {
    inner: Mutex<Option<Rendered>>,
}

struct Rendered {
    /// The catalog the documents were made from.
    catalog: Arc<Catalog>,
    v2: Option<Bytes>,
    v2_proto: Option<Bytes>,
    /// Path (`api/v1`, `apis/apps/v1`) → (document, hash).
    v3: BTreeMap<String, (Option<Bytes>, String)>,
    v3_index: Option<Bytes>,
}

fn resources(cat: &Catalog) -> Vec<(ResourceInfo, Option<Value>)> {
    cat.all()
        .iter()
        .map(|r| ((**r).clone(), cat.custom(r).and_then(|c| c.schema.clone())))
        .collect()
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn split_gv_path(path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["api", v] => Some((String::new(), v.to_string())),
        ["apis", g, v] => Some((g.to_string(), v.to_string())),
        _ => None,
    }
}

impl OpenApiCache {
    fn with<R>(&self, cat: Arc<Catalog>, f: impl FnOnce(&mut Rendered) -> R) -> R {
        let mut guard = self.inner.lock().expect("openapi lock");
        let stale = guard
            .as_ref()
            .is_none_or(|r| r.catalog.fingerprint() != cat.fingerprint());
        if stale {
            let mut v3 = BTreeMap::new();
            for (g, vs) in cat.groups() {
                for v in vs {
                    v3.insert(gv_path(&g, &v), (None, String::new()));
                }
            }
            *guard = Some(Rendered {
                catalog: cat,
                v2: None,
                v2_proto: None,
                v3,
                v3_index: None,
            });
        }
        f(guard.as_mut().expect("rendered"))
    }
}

const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

impl Rendered {
    fn v2_json(&mut self) -> Bytes {
        let cat = self.catalog.clone();
        self.v2
            .get_or_insert_with(|| {
                Bytes::from(
                    serde_json::to_vec(&openapi::v2_document(&resources(&cat))).unwrap_or_default(),
                )
            })
            .clone()
    }

    fn v3_doc(&mut self, path: &str) -> Option<(Bytes, String)> {
        let (g, v) = split_gv_path(path)?;
        let entry = self.v3.get(path)?;
        if let Some(doc) = &entry.0 {
            return Some((doc.clone(), entry.1.clone()));
        }
        let doc = openapi::v3_group_version(&g, &v, &resources(&self.catalog));
        let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
        let hash = openapi::document_hash(&bytes);
        self.v3
            .insert(path.to_string(), (Some(bytes.clone()), hash.clone()));
        Some((bytes, hash))
    }
}

/// Rendering a document takes tens of milliseconds of CPU: do it off the
/// async workers.
pub async fn handle(
    srv: &Arc<ApiServer>,
    path: &str,
    query: &Query,
    headers: &http::HeaderMap,
) -> Result<Resp, ApiError> {
    let (srv, path, query, headers) = (
        srv.clone(),
        path.to_string(),
        query.clone(),
        headers.clone(),
    );
    tokio::task::spawn_blocking(move || render(&srv, &path, &query, &headers))
        .await
        .map_err(|e| ApiError::internal(format!("rendering OpenAPI: {e}")))?
}

fn render(
    srv: &Arc<ApiServer>,
    path: &str,
    query: &Query,
    headers: &http::HeaderMap,
) -> Result<Resp, ApiError> {
    let cat = srv.registry.catalog();
    // `/openapi/v2` comes as JSON or, for the clients that ask for it
    // (kubectl's fallback when a kind is missing from v3), as gnostic protobuf.
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    let mimes: Vec<&str> = accept
        .split(',')
        .map(|a| a.split(';').next().unwrap_or("").trim())
        .collect();
    let json_ok = mimes
        .iter()
        .any(|m| matches!(*m, "application/json" | "*/*" | "application/*"));
    let proto_ok = mimes.contains(&V2_PROTOBUF);
    let rest = path.trim_start_matches("/openapi/").trim_end_matches('/');
    srv.openapi.with(cat, |r| match rest {
        "v2" if proto_ok && !json_ok => {
            let json = r.v2_json();
            let bytes = r
                .v2_proto
                .get_or_insert_with(|| {
                    let doc: Value = serde_json::from_slice(&json).unwrap_or_default();
                    Bytes::from(openapi::v2_to_protobuf(&doc))
                })
                .clone();
            // Go cannot parse the requested media type back (the `@`), so
            // upstream answers with a plain binary content type.
            Ok(codec::bytes(
                StatusCode::OK,
                "application/octet-stream",
                bytes,
            ))
        }
        "v2" if !json_ok => Err(ApiError::not_acceptable(
            "only application/json and protobuf are served at /openapi/v2",
        )),
        "v2" => Ok(codec::bytes(
            StatusCode::OK,
            "application/json",
            r.v2_json(),
        )),
        "v3" => {
            if r.v3_index.is_none() {
                let paths: Vec<String> = r.v3.keys().cloned().collect();
                let mut pairs = vec![];
                for p in paths {
                    if let Some((_, hash)) = r.v3_doc(&p) {
                        pairs.push((p, hash));
                    }
                }
                r.v3_index = Some(Bytes::from(
                    serde_json::to_vec(&openapi::v3_discovery(&pairs)).unwrap_or_default(),
                ));
            }
            Ok(codec::bytes(
                StatusCode::OK,
                "application/json",
                r.v3_index.clone().unwrap_or_default(),
            ))
        }
        p if p.starts_with("v3/") => {
            let gv = &p[3..];
            let (bytes, hash) = r.v3_doc(gv).ok_or_else(ApiError::not_found_path)?;
            let mut resp = codec::bytes(StatusCode::OK, "application/json", bytes);
            // A request naming the current hash may be cached for good, as upstream.
            if query.get("hash").is_some_and(|h| *h == hash) {
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, immutable"),
                );
            }
            resp.headers_mut().insert(
                header::ETAG,
                HeaderValue::from_str(&format!("\"{hash}\""))
                    .unwrap_or(HeaderValue::from_static("\"\"")),
            );
            Ok(resp)
        }
        _ => Err(ApiError::not_found_path()),
    })
}
