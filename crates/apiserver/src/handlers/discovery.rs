//! Discovery: legacy (`APIVersions`, `APIGroupList`, `APIResourceList`) and
//! aggregated (`apidiscovery.k8s.io` v2 and v2beta1), which kubectl asks for
//! first.

use crate::codec::{self, Resp};
use crate::serve::ApiServer;
use apimachinery::resources::subresource_info;
use apimachinery::{ApiError, ResourceInfo};
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn handle(srv: &Arc<ApiServer>, path: &str, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let cat = srv.registry.catalog();
    let aggregated = aggregated_version(headers);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api"] => {
            if let Some(v) = aggregated {
                return Ok(aggregated_response(v, &cat, true));
            }
            Ok(codec::json(
                StatusCode::OK,
                &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": srv.advertise}]}),
            ))
        }
        ["apis"] => {
            if let Some(v) = aggregated {
                return Ok(aggregated_response(v, &cat, false));
            }
            let groups: Vec<Value> = cat
                .groups()
                .into_iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, vs)| api_group(&g, &vs))
                .chain([crate::metrics_api::objects::api_group()])
                .collect();
            Ok(codec::json(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            ))
        }
        ["apis", group] if *group == crate::metrics_api::objects::GROUP => {
            let mut doc = crate::metrics_api::objects::api_group();
            doc["kind"] = "APIGroup".into();
            doc["apiVersion"] = "v1".into();
            Ok(codec::json(StatusCode::OK, &doc))
        }
        ["apis", group, version]
            if *group == crate::metrics_api::objects::GROUP
                && *version == crate::metrics_api::objects::VERSION =>
        {
            Ok(codec::json(
                StatusCode::OK,
                &crate::metrics_api::objects::resource_list(),
            ))
        }
        ["apis", group] => {
            let (g, vs) = cat
                .groups()
                .into_iter()
                .find(|(g, _)| g == group)
                .ok_or_else(ApiError::not_found_path)?;
            let mut doc = api_group(&g, &vs);
            doc["kind"] = "APIGroup".into();
            doc["apiVersion"] = "v1".into();
            Ok(codec::json(StatusCode::OK, &doc))
        }
        ["api", version] => resource_list(&cat.resources_in("", version), "", version),
        ["apis", group, version] => {
            resource_list(&cat.resources_in(group, version), group, version)
        }
        _ => Err(ApiError::not_found_path()),
    }
}

/// `v2` or `v2beta1` when the Accept header asks for aggregated discovery.
fn aggregated_version(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())?;
    for item in accept.split(',') {
        if !item.contains("as=APIGroupDiscoveryList") || !item.contains("g=apidiscovery.k8s.io") {
            continue;
        }
        if item.contains("v=v2beta1") {
            return Some("v2beta1");
        }
        if item.contains("v=v2") {
            return Some("v2");
        }
    }
    None
}

fn api_group(g: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"name": g, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or_default()})
}

fn resource_list(
    resources: &[Arc<ResourceInfo>],
    group: &str,
    version: &str,
) -> Result<Resp, ApiError> {
    if resources.is_empty() {
        return Err(ApiError::not_found_path());
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut list = vec![];
    for r in resources {
        let mut e = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": r.verbs});
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        list.push(e);
        for s in &r.subresources {
            let (g, v, k, verbs) = subresource_kind(r, s);
            let mut e = json!({"name": format!("{}/{s}", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": k, "verbs": verbs});
            if !v.is_empty() {
                e["group"] = g.into();
                e["version"] = v.into();
            }
            list.push(e);
        }
    }
    Ok(codec::json(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
    ))
}

/// The group, version, kind and verbs of a subresource, as upstream reports
/// them (group and version empty when they are the parent's).
fn subresource_kind(r: &ResourceInfo, sub: &str) -> (String, String, String, Vec<String>) {
    match subresource_info(r, sub) {
        Some(i) => (i.group, i.version, i.kind, i.verbs),
        None => (
            String::new(),
            String::new(),
            r.kind.clone(),
            vec!["get".into()],
        ),
    }
}

fn aggregated_response(version: &str, cat: &registry::engine::Catalog, core: bool) -> Resp {
    let mut items = vec![];
    for (g, vs) in cat.groups() {
        if g.is_empty() != core {
            continue;
        }
        let versions: Vec<Value> = vs
            .iter()
            .map(|v| {
                let resources: Vec<Value> = cat
                    .resources_in(&g, v)
                    .iter()
                    .map(|r| discovery_resource(r))
                    .collect();
                json!({"version": v, "resources": resources, "freshness": "Current"})
            })
            .collect();
        items.push(
            json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions}),
        );
    }
    if !core {
        items.push(crate::metrics_api::objects::aggregated_item());
    }
    let body = json!({"kind": "APIGroupDiscoveryList", "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {}, "items": items});
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    let mut r = codec::bytes(
        StatusCode::OK,
        &ct,
        serde_json::to_vec(&body).unwrap_or_default().into(),
    );
    r.headers_mut()
        .insert(header::VARY, http::HeaderValue::from_static("Accept"));
    r
}

fn discovery_resource(r: &ResourceInfo) -> Value {
    let mut e = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|s| {
                let (g, v, k, verbs) = subresource_kind(r, s);
                let (g, v) = if v.is_empty() { (r.group.clone(), r.version.clone()) } else { (g, v) };
                json!({"subresource": s, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": verbs})
            })
            .collect();
        e["subresources"] = subs.into();
    }
    e
}
