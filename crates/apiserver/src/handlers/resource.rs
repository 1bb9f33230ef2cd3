//! Resource requests: find the resource, check scope and verb, decode the
//! options and body, call the registry, and encode the answer (plain JSON,
//! Table or PartialObjectMetadata).

use super::{review, subresource, watch};
use crate::authn::UserInfo;
use crate::codec::ReqBody;
use crate::codec::{self, Output, Resp};
use crate::request::{Query, RequestInfo, query_bool};
use crate::serve::ApiServer;
use apimachinery::{ApiError, ResourceInfo};
use bytes::Bytes;
use http::{Request, StatusCode};
use registry::engine::{ListResult, PatchKind};
use registry::options::{DeleteOptions, ListOptions, WatchOptions, WriteOptions};
use serde_json::Value;
use std::sync::Arc;

pub async fn handle(
    srv: &Arc<ApiServer>,
    req: Request<ReqBody>,
    info: RequestInfo,
    query: Query,
    user: &UserInfo,
) -> Result<Resp, ApiError> {
    let cat = srv.registry.catalog();
    let res = cat
        .find(&info.group, &info.version, &info.resource)
        .ok_or_else(ApiError::not_found_path)?;
    // Scope: a namespaced resource needs a namespace for single objects; a
    // cluster-scoped one never takes one.
    if !res.namespaced && !info.namespace.is_empty() {
        return Err(ApiError::not_found_path());
    }
    if res.namespaced
        && info.namespace.is_empty()
        && !matches!(info.verb.as_str(), "list" | "watch")
    {
        return Err(ApiError::not_found_path());
    }
    if !info.subresource.is_empty() && !res.has_subresource(&info.subresource) {
        return Err(ApiError::not_found_path());
    }
    let not_allowed = || {
        ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )
    };
    if info.subresource.is_empty() && !res.has_verb(&info.verb) {
        return Err(not_allowed());
    }
    // A collection takes no PUT; a named object no POST.
    match (
        info.verb.as_str(),
        info.name.is_empty(),
        info.subresource.is_empty(),
    ) {
        ("update" | "patch", true, _) | ("create", false, true) => return Err(not_allowed()),
        _ => {}
    }
    // status and scale are leaves: get, update and patch only.
    if matches!(info.subresource.as_str(), "status" | "scale") {
        if !info.rest.is_empty() {
            return Err(ApiError::not_found_path());
        }
        if !matches!(info.verb.as_str(), "get" | "update" | "patch") {
            return Err(not_allowed());
        }
    }
    let mut output = codec::negotiate(req.headers());
    if let Output::Table(_, inc) = &mut output
        && let Some(raw) = query.get("includeObject")
    {
        *inc = apimachinery::table::IncludeObject::parse(raw).ok_or_else(|| {
            ApiError::bad_request(format!(
                "includeObject: Unsupported value: \"{raw}\": supported values: \"Metadata\", \"None\", \"Object\""
            ))
        })?;
    }
    let (parts, body) = req.into_parts();
    let ns = info.namespace.as_str();
    let name = info.name.as_str();
    // Subresources served by the main verbs on a part of the object.
    let partial = matches!(
        info.subresource.as_str(),
        "status" | "ephemeralcontainers" | "approval"
    );
    if partial && !matches!(info.verb.as_str(), "get" | "update" | "patch") {
        return Err(not_allowed());
    }
    if !info.subresource.is_empty() && !partial {
        return subresource::handle(srv, &res, &info, parts, body, &query, user).await;
    }
    let sub = (!info.subresource.is_empty()).then_some(info.subresource.as_str());
    let reg = &srv.registry;
    match info.verb.as_str() {
        "get" => {
            let rv = query
                .get("resourceVersion")
                .map(String::as_str)
                .unwrap_or("");
            let obj = reg.get(&res, ns, name, rv).await?;
            Ok(render_object(
                &res,
                obj,
                &output,
                StatusCode::OK,
                &srv.registry,
            ))
        }
        "list" => {
            let opts = list_options(&query)?;
            let result = reg.list(&res, ns, &opts).await?;
            Ok(render_list(&res, result, &output, &srv.registry))
        }
        "watch" => {
            let mut opts = watch_options(&query)?;
            if !name.is_empty() {
                // A named watch (the deprecated /watch/ path) follows one object.
                if opts
                    .field_selector
                    .as_deref()
                    .is_some_and(|f| !f.is_empty())
                {
                    return Err(ApiError::bad_request(
                        "both a name and a field selector provided; please provide one or the other",
                    ));
                }
                opts.field_selector = Some(format!("metadata.name={name}"));
            }
            let stream = reg.watch(&res, ns, &opts).await?;
            Ok(watch::respond(
                res.clone(),
                stream,
                output,
                srv.registry.clone(),
                srv.metrics.watch_started(&info),
            ))
        }
        "create" if review::is_review(&res) => {
            let raw = codec::read_body(body).await?;
            let obj = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            review::create(srv, &res, ns, obj, user).await
        }
        "create" => {
            let opts = write_options(&query, &parts.headers, user)?;
            let raw = codec::read_body(body).await?;
            let obj = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            let warnings = check_fields(&res, &query, &raw, &obj, srv)?;
            let out = reg.create(&res, ns, obj, &opts).await?;
            let mut r = render_object(&res, out, &output, StatusCode::CREATED, &srv.registry);
            codec::add_warnings(&mut r, &warnings);
            Ok(r)
        }
        "update" => {
            let opts = write_options(&query, &parts.headers, user)?;
            let raw = codec::read_body(body).await?;
            let obj = codec::decode(&codec::content_type(&parts.headers), &raw)?;
            let warnings = check_fields(&res, &query, &raw, &obj, srv)?;
            let out = reg.update(&res, ns, name, obj, sub, &opts).await?;
            let mut r = render_object(&res, out, &output, StatusCode::OK, &srv.registry);
            codec::add_warnings(&mut r, &warnings);
            Ok(r)
        }
        "patch" => {
            let mut opts = write_options(&query, &parts.headers, user)?;
            let ct = codec::content_type(&parts.headers);
            let kind = match ct.as_str() {
                "application/json-patch+json" => PatchKind::Json,
                "application/merge-patch+json" => PatchKind::Merge,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/apply-patch+yaml" => PatchKind::Apply,
                other => {
                    return Err(ApiError::unsupported_media_type(format!(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
                    )));
                }
            };
            if kind == PatchKind::Apply {
                if opts.field_manager.is_none() {
                    return Err(ApiError::bad_request(
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    ));
                }
            } else if query.contains_key("force") {
                return Err(ApiError::bad_request(
                    "force: Forbidden: may not be specified for non-apply patch",
                ));
            }
            opts.force = query_bool(&query, "force");
            let raw = codec::read_body(body).await?;
            let patch = codec::decode(&ct, &raw)?;
            let mut warnings = vec![];
            if kind == PatchKind::Apply {
                warnings = check_fields(&res, &query, &raw, &patch, srv)?;
            }
            let (out, created) = reg.patch(&res, ns, name, kind, &patch, sub, &opts).await?;
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let mut r = render_object(&res, out, &output, code, &srv.registry);
            codec::add_warnings(&mut r, &warnings);
            Ok(r)
        }
        "delete" => {
            let opts = delete_options(
                &query,
                parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .is_some()
                    .then_some(body),
            )
            .await?;
            match reg.delete(&res, ns, name, &opts).await? {
                registry::engine::DeleteOutcome::Deleted(obj)
                    if reg.returns_deleted_object(&res) =>
                {
                    Ok(render_object(
                        &res,
                        obj,
                        &output,
                        StatusCode::OK,
                        &srv.registry,
                    ))
                }
                registry::engine::DeleteOutcome::Deleted(obj) => {
                    let status = apimachinery::error::success_status(
                        &res.group,
                        &res.plural,
                        name,
                        apimachinery::meta::uid(&obj),
                    );
                    Ok(codec::json(StatusCode::OK, &status))
                }
                registry::engine::DeleteOutcome::Pending(obj) => Ok(render_object(
                    &res,
                    obj,
                    &output,
                    StatusCode::OK,
                    &srv.registry,
                )),
            }
        }
        "deletecollection" => {
            let list = list_options(&query)?;
            let opts = delete_options(
                &query,
                parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .is_some()
                    .then_some(body),
            )
            .await?;
            let deleted = reg.delete_collection(&res, ns, &list, &opts).await?;
            let rv = srv.registry.cache.revision();
            let items: Vec<Value> = deleted;
            let list = serde_json::json!({"kind": res.list_kind(), "apiVersion": res.api_version(),
                "metadata": {"resourceVersion": rv.to_string()}, "items": items});
            Ok(codec::json(StatusCode::OK, &list))
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

fn rv_match(q: &Query) -> Result<String, ApiError> {
    match q.get("resourceVersionMatch").map(String::as_str) {
        None | Some("") => Ok(String::new()),
        Some(m @ ("NotOlderThan" | "Exact")) => Ok(m.to_string()),
        Some(other) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
        ))),
    }
}

fn list_options(q: &Query) -> Result<ListOptions, ApiError> {
    let limit = match q.get("limit").map(String::as_str) {
        None | Some("") => 0,
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?,
    };
    let rv = q.get("resourceVersion").map(String::as_str).unwrap_or("");
    let cont = q.get("continue").map(String::as_str).unwrap_or("");
    if !cont.is_empty() && !rv.is_empty() && rv != "0" {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    if q.get("resourceVersionMatch").is_some_and(|m| !m.is_empty()) && rv.is_empty() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    Ok(ListOptions {
        label_selector: q.get("labelSelector").cloned(),
        field_selector: q.get("fieldSelector").cloned(),
        resource_version: q.get("resourceVersion").cloned().unwrap_or_default(),
        resource_version_match: rv_match(q)?,
        limit,
        continue_token: q.get("continue").cloned(),
    })
}

fn watch_options(q: &Query) -> Result<WatchOptions, ApiError> {
    let timeout_seconds = match q.get("timeoutSeconds").map(String::as_str) {
        None | Some("") => None,
        Some(t) => Some(
            t.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
        ),
    };
    let send_initial_events = match q.get("sendInitialEvents").map(String::as_str) {
        None | Some("") => None,
        Some("true") | Some("1") => Some(true),
        Some(_) => Some(false),
    };
    Ok(WatchOptions {
        label_selector: q.get("labelSelector").cloned(),
        field_selector: q.get("fieldSelector").cloned(),
        resource_version: q.get("resourceVersion").cloned().unwrap_or_default(),
        resource_version_match: rv_match(q)?,
        allow_bookmarks: query_bool(q, "allowWatchBookmarks"),
        send_initial_events,
        timeout_seconds,
    })
}

fn dry_run(q: &Query) -> Result<bool, ApiError> {
    match q.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
        ))),
    }
}

pub(crate) fn write_options(
    q: &Query,
    headers: &http::HeaderMap,
    user: &UserInfo,
) -> Result<WriteOptions, ApiError> {
    let ua = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    // Upstream's default manager is the user agent's program name.
    let default_manager = ua
        .split('/')
        .next()
        .unwrap_or("unknown")
        .chars()
        .take(128)
        .collect();
    let field_manager = q.get("fieldManager").filter(|m| !m.is_empty()).cloned();
    if let Some(m) = &field_manager
        && m.len() > 128
    {
        return Err(ApiError::bad_request(
            "fieldManager: Too long: may not be longer than 128 characters",
        ));
    }
    match q.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Strict") | Some("Warn") | Some("Ignore") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            )));
        }
    }
    Ok(WriteOptions {
        dry_run: dry_run(q)?,
        field_manager,
        default_manager,
        force: false,
        applying: false,
        requester: Some(registry::options::Requester {
            name: user.name.clone(),
            uid: user.uid.clone(),
            groups: user.groups.clone(),
        }),
    })
}

async fn delete_options(q: &Query, body: Option<ReqBody>) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        dry_run: dry_run(q)?,
        ..Default::default()
    };
    if let Some(body) = body {
        let raw = codec::read_body(body).await?;
        if !raw.iter().all(u8::is_ascii_whitespace) {
            let v: Value = serde_json::from_slice(&raw)
                .map_err(|e| ApiError::bad_request(format!("json: {e}")))?;
            opts.grace_period_seconds = v.get("gracePeriodSeconds").and_then(Value::as_i64);
            opts.propagation_policy = v
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from);
            opts.orphan_dependents = v.get("orphanDependents").and_then(Value::as_bool);
            opts.precondition_uid = v
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(String::from);
            opts.precondition_resource_version = v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from);
            if v.get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x == "All"))
            {
                opts.dry_run = true;
            }
        }
    }
    if let Some(g) = q.get("gracePeriodSeconds") {
        opts.grace_period_seconds =
            Some(g.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid gracePeriodSeconds: {g:?}"))
            })?);
    }
    if let Some(p) = q.get("propagationPolicy") {
        opts.propagation_policy = Some(p.clone());
    }
    if let Some(p) = &opts.propagation_policy
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
        )));
    }
    Ok(opts)
}

/// fieldValidation: unknown and duplicate fields fail the request (Strict),
/// come back as warnings (Warn, the default), or are ignored.
fn check_fields(
    res: &ResourceInfo,
    q: &Query,
    raw: &Bytes,
    obj: &Value,
    srv: &Arc<ApiServer>,
) -> Result<Vec<String>, ApiError> {
    let mode = q
        .get("fieldValidation")
        .map(String::as_str)
        .unwrap_or("Warn");
    if mode == "Ignore" {
        return Ok(vec![]);
    }
    let problems = srv.registry.field_problems(res, raw, obj);
    if problems.is_empty() {
        return Ok(vec![]);
    }
    if mode == "Strict" {
        // Upstream's decoder wraps the strict errors in its own sentence.
        let msg = format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            problems.join(", "),
            kind = res.kind,
            version = res.version
        );
        return Err(ApiError::bad_request(msg));
    }
    Ok(problems)
}

/// One object as the client asked for it.
pub(crate) fn render_object(
    res: &ResourceInfo,
    obj: Value,
    output: &Output,
    code: StatusCode,
    reg: &registry::engine::Registry,
) -> Resp {
    match output {
        Output::Plain => codec::json(code, &obj),
        Output::Metadata(v) => codec::json(code, &codec::partial_metadata(&obj, v)),
        Output::Table(v, inc) => {
            let rv = apimachinery::meta::resource_version(&obj).to_string();
            codec::json(
                code,
                &reg.table(
                    res,
                    &[obj],
                    v,
                    *inc,
                    serde_json::json!({"resourceVersion": rv}),
                ),
            )
        }
    }
}

fn render_list(
    res: &ResourceInfo,
    result: ListResult,
    output: &Output,
    reg: &registry::engine::Registry,
) -> Resp {
    let mut meta = serde_json::json!({"resourceVersion": result.resource_version.to_string()});
    if let Some(c) = &result.continue_token {
        meta["continue"] = c.clone().into();
    }
    if let Some(r) = result.remaining {
        meta["remainingItemCount"] = r.into();
    }
    match output {
        Output::Plain => {
            // Items are already encoded: splice their bytes into the list.
            let size: usize = result.items.iter().map(|o| o.json.len() + 1).sum();
            let mut buf = Vec::with_capacity(size + 256);
            buf.extend_from_slice(b"{\"kind\":");
            buf.extend_from_slice(
                serde_json::to_string(&res.list_kind())
                    .unwrap_or_default()
                    .as_bytes(),
            );
            buf.extend_from_slice(b",\"apiVersion\":");
            buf.extend_from_slice(
                serde_json::to_string(&res.api_version())
                    .unwrap_or_default()
                    .as_bytes(),
            );
            buf.extend_from_slice(b",\"metadata\":");
            buf.extend_from_slice(meta.to_string().as_bytes());
            buf.extend_from_slice(b",\"items\":[");
            for (i, o) in result.items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(&o.json);
            }
            buf.extend_from_slice(b"]}");
            codec::bytes(StatusCode::OK, "application/json", buf.into())
        }
        Output::Metadata(v) => {
            // One item at a time, straight into the body: a tree of every
            // item at once would be garbage the size of the whole list.
            let mut buf = Vec::new();
            let head = serde_json::json!({"kind": "PartialObjectMetadataList",
                "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta});
            let mut head = serde_json::to_vec(&head).unwrap_or_default();
            head.pop(); // the closing brace: items follow
            buf.extend_from_slice(&head);
            buf.extend_from_slice(b",\"items\":[");
            for (i, o) in result.items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                let item = codec::partial_metadata_of(&o.json, v);
                buf.extend_from_slice(&serde_json::to_vec(&item).unwrap_or_default());
            }
            buf.extend_from_slice(b"]}");
            codec::bytes(StatusCode::OK, "application/json", buf.into())
        }
        Output::Table(v, inc) => {
            let objs: Vec<Value> = result.items.iter().map(|o| o.value()).collect();
            codec::json(StatusCode::OK, &reg.table(res, &objs, v, *inc, meta))
        }
    }
}
