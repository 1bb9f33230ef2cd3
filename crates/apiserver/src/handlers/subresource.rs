//! Subresources other than `status`: `scale` (get, update, patch),
//! `pods/binding`, `pods/eviction`, `serviceaccounts/token` and
//! `namespaces/finalize`. The node-side ones (log, exec, attach,
//! portforward, proxy) go to `kubelet_proxy`.

use super::resource::{render_object, write_options};
use crate::authn::UserInfo;
use crate::codec::ReqBody;
use crate::codec::{self, Output};
use crate::request::{Query, RequestInfo};
use crate::serve::ApiServer;
use apimachinery::{ApiError, ResourceInfo};
use http::StatusCode;
use http::request::Parts;
use registry::engine::PatchKind;
use registry::options::DeleteOptions;
use serde_json::Value;
use std::sync::Arc;

pub async fn handle(
    srv: &Arc<ApiServer>,
    res: &Arc<ResourceInfo>,
    info: &RequestInfo,
    parts: Parts,
    body: ReqBody,
    query: &Query,
    user: &UserInfo,
) -> Result<codec::Resp, ApiError> {
    let reg = &srv.registry;
    let (ns, name) = (info.namespace.as_str(), info.name.as_str());
    let opts = write_options(query, &parts.headers, user)?;
    match (info.subresource.as_str(), info.verb.as_str()) {
        ("scale", "get") => {
            let obj = reg.get(res, ns, name, "").await?;
            Ok(codec::json(StatusCode::OK, &reg.scale_of(res, &obj)?))
        }
        ("scale", "update") | ("scale", "patch") => {
            let raw = codec::read_body(body).await?;
            let ct = codec::content_type(&parts.headers);
            let input = codec::decode(&ct, &raw)?;
            let kind = match (info.verb.as_str(), ct.as_str()) {
                ("update", _) => None,
                (_, "application/json-patch+json") => Some(PatchKind::Json),
                (_, "application/merge-patch+json") => Some(PatchKind::Merge),
                (_, "application/strategic-merge-patch+json") => Some(PatchKind::Strategic),
                (_, "application/apply-patch+yaml") => Some(PatchKind::Apply),
                (_, other) => {
                    return Err(ApiError::unsupported_media_type(format!(
                        "unsupported patch type {other:?}"
                    )));
                }
            };
            let scale = reg.update_scale(res, ns, name, kind, &input, &opts).await?;
            Ok(codec::json(StatusCode::OK, &scale))
        }
        ("binding", "create") => {
            let raw = codec::read_body(body).await?;
            let binding = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            reg.bind_pod(ns, name, &binding, &opts).await?;
            Ok(codec::json(
                StatusCode::CREATED,
                &serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        ("eviction", "create") => {
            let raw = codec::read_body(body).await?;
            let eviction = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            let body_dry = eviction
                .pointer("/deleteOptions/dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x == "All"));
            // As upstream's propagateDryRun: only two different, non-empty
            // settings conflict.
            let body_set = eviction
                .pointer("/deleteOptions/dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if body_set && opts.dry_run != body_dry && query.contains_key("dryRun") {
                return Err(ApiError::bad_request(
                    "the dry run option in the eviction's deleteOptions must match the request's dryRun",
                ));
            }
            let mut del = DeleteOptions {
                dry_run: opts.dry_run || body_dry,
                ..Default::default()
            };
            if let Some(o) = eviction.get("deleteOptions") {
                del.grace_period_seconds = o.get("gracePeriodSeconds").and_then(Value::as_i64);
                del.precondition_uid = o
                    .pointer("/preconditions/uid")
                    .and_then(Value::as_str)
                    .map(String::from);
                del.precondition_resource_version = o
                    .pointer("/preconditions/resourceVersion")
                    .and_then(Value::as_str)
                    .map(String::from);
            }
            reg.delete(res, ns, name, &del).await?;
            Ok(codec::json(
                StatusCode::CREATED,
                &serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        ("token", "create") if res.plural == "serviceaccounts" => {
            let tokens = srv
                .sa_tokens
                .as_ref()
                .ok_or_else(ApiError::not_found_path)?;
            let raw = codec::read_body(body).await?;
            let req = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            let out = crate::satoken::request::create(tokens, reg, ns, name, req).await?;
            Ok(codec::json(StatusCode::CREATED, &out))
        }
        ("finalize", "update") => {
            let raw = codec::read_body(body).await?;
            let obj = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            let out = reg.finalize_namespace(name, &obj, &opts).await?;
            Ok(render_object(res, out, &Output::Plain, StatusCode::OK, reg))
        }
        ("log" | "exec" | "attach" | "portforward" | "proxy", _) => {
            super::kubelet_proxy::handle(srv, res, info, parts, body).await
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}
