//! OpenAPI 3.0: the `/openapi/v3` discovery document and one document per
//! group-version, with `components.schemas` holding every definition its
//! kinds reach, `$ref`s at `#/components/schemas/…` and upstream's v3 shapes
//! (`allOf` around a `$ref` that has siblings; Quantity and IntOrString as
//! `oneOf`s).

use serde_json::{Map, Value, json};

use super::ops::{self, Body, NAME, NAMESPACE, Op, PRETTY, Param};
use super::{KUBERNETES_VERSION, model, reachable};
use crate::resources::ResourceInfo;
use crate::schema::DEFINITIONS_PREFIX;

const PREFIX: &str = "#/components/schemas/";

/// The `/openapi/v3` document: for each `(path, hash)` — path like `api/v1`
/// or `apis/apps/v1` — where to fetch its document.
pub fn v3_discovery(groups: &[(String, String)]) -> Value {
    let paths: Map<String, Value> = groups
        .iter()
        .map(|(path, hash)| {
            let url = format!("/openapi/v3/{path}?hash={hash}");
            (path.clone(), json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// The OpenAPI 3.0 document of one group-version. `resources` may hold every
/// served resource; those of other group-versions are ignored. A resource's
/// `Some(schema)` is a custom resource's `openAPIV3Schema`.
pub fn v3_group_version(
    group: &str,
    version: &str,
    resources: &[(ResourceInfo, Option<Value>)],
) -> Value {
    let m = model(
        resources
            .iter()
            .filter(|(r, _)| r.group == group && r.version == version),
    );
    let mut paths = Map::new();
    let discovery = format!("{}/", ops::gv_prefix(group, version));
    paths.insert(
        discovery,
        json!({"get": {
            "tags": [ops::tag(group, version)],
            "description": "get available resources",
            "operationId": format!("get{}{}APIResources", ops::group_camel(group), upper(version)),
            "responses": responses(&["200"], Some("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList")),
        }}),
    );
    for op in &m.ops {
        let item = paths
            .entry(op.path.clone())
            .or_insert_with(|| path_item(op));
        if let Value::Object(item) = item {
            item.insert(op.method.into(), operation(op));
        }
    }
    let schemas: Map<String, Value> = reachable(&m)
        .into_iter()
        .map(|(name, def)| {
            let v3 = match name.as_str() {
                "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
                    scalar(def, None, &["string", "number"])
                }
                "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
                    scalar(def, Some("int-or-string"), &["integer", "string"])
                }
                _ => schema(def),
            };
            (name, v3)
        })
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": {
                "type": "apiKey", "description": "Bearer Token authentication",
                "name": "authorization", "in": "header"}},
        },
    })
}

fn upper(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn scalar(def: &Value, format: Option<&str>, types: &[&str]) -> Value {
    let mut out = Map::new();
    if let Some(d) = def.get("description") {
        out.insert("description".into(), d.clone());
    }
    if let Some(f) = format {
        out.insert("format".into(), f.into());
    }
    out.insert(
        "oneOf".into(),
        types.iter().map(|t| json!({"type": t})).collect(),
    );
    Value::Object(out)
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{PREFIX}{name}")})
}

/// A schema in v3 form. Keys holding subschemas are converted; others
/// (`enum`, `default`, extensions) are copied as they are, so a property
/// named `$ref` (JSONSchemaProps has one) is never taken for a reference.
pub(super) fn schema(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    let mut out = Map::new();
    let target = obj
        .get("$ref")
        .and_then(Value::as_str)
        .map(|r| r.strip_prefix(DEFINITIONS_PREFIX).unwrap_or(r));
    if let Some(name) = target {
        if obj.len() == 1 {
            return reference(name);
        }
        out.insert("allOf".into(), json!([reference(name)]));
    }
    for (k, c) in obj {
        let converted = match k.as_str() {
            "$ref" => continue,
            "properties" | "patternProperties" => match c.as_object() {
                Some(props) => {
                    Value::Object(props.iter().map(|(n, s)| (n.clone(), schema(s))).collect())
                }
                None => c.clone(),
            },
            "items" | "additionalProperties" | "not" => schema(c),
            "allOf" | "anyOf" | "oneOf" => match c.as_array() {
                Some(a) => a.iter().map(schema).collect(),
                None => c.clone(),
            },
            _ => c.clone(),
        };
        out.insert(k.clone(), converted);
    }
    Value::Object(out)
}

fn path_item(op: &Op) -> Value {
    let mut params = Vec::new();
    if op.named {
        params.push(param(&NAME));
    }
    if op.namespaced_path {
        params.push(param(&NAMESPACE));
    }
    params.push(param(&PRETTY));
    json!({"parameters": params})
}

fn param(p: &Param) -> Value {
    let mut v = json!({
        "name": p.name, "in": p.location, "description": p.description,
        "schema": {"type": p.kind, "uniqueItems": true},
    });
    if p.location == "path" {
        v["required"] = true.into();
    }
    v
}

fn content(def: &str, types: &[&str]) -> Value {
    let schema = reference(def);
    Value::Object(
        types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": schema})))
            .collect(),
    )
}

fn responses(codes: &[&str], def: Option<&str>) -> Value {
    let mut out = Map::new();
    for code in codes {
        let description = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        let mut r = json!({"description": description});
        if let Some(def) = def {
            r["content"] = content(def, &["application/json", "application/yaml"]);
        }
        out.insert(code.to_string(), r);
    }
    out.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(out)
}

fn operation(op: &Op) -> Value {
    let (g, v, k) = &op.gvk;
    let mut o = json!({
        "tags": [ops::tag(g, v)],
        "description": op.description,
        "operationId": op.operation_id,
        "parameters": op.params.iter().map(param).collect::<Vec<_>>(),
        "responses": responses(op.codes, op.response_def.as_deref()),
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": {"group": g, "kind": k, "version": v},
    });
    let body = match op.body {
        Body::None => None,
        Body::Object => op.body_def.as_deref().map(|d| content(d, &["*/*"])),
        Body::Patch => Some(content(
            "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
            super::patch_types(op.body_def.as_deref()),
        )),
        Body::Delete => Some(content(
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            &["*/*"],
        )),
    };
    if let Some(body) = body {
        o["requestBody"] = json!({"content": body, "required": op.body != Body::Delete});
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Vec<(ResourceInfo, Option<Value>)> {
        vec![
            (
                ResourceInfo::new("apps", "v1", "Deployment", "deployments", true)
                    .with_subresources(&["status", "scale"]),
                None,
            ),
            (ResourceInfo::new("", "v1", "Pod", "pods", true), None),
            (
                ResourceInfo::new("stable.example.com", "v1", "CronTab", "crontabs", true),
                Some(json!({"type": "object", "properties": {
                    "metadata": {"type": "object"},
                    "spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}}})),
            ),
        ]
    }

    fn all_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    match (k.as_str(), c) {
                        ("$ref", Value::String(s)) => out.push(s.clone()),
                        _ => all_refs(c, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| all_refs(c, out)),
            _ => {}
        }
    }

    #[test]
    fn apps_v1_document_has_deployment_with_gvk() {
        let doc = v3_group_version("apps", "v1", &served());
        assert_eq!(doc["openapi"], "3.0.0");
        let schemas = &doc["components"]["schemas"];
        let dep = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            dep["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert_eq!(
            dep["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert!(schemas.get("io.k8s.api.apps.v1.DeploymentList").is_some());
        assert!(schemas.get("io.k8s.api.autoscaling.v1.Scale").is_some());
        // Pods live in core/v1's document, not here.
        assert!(schemas.get("io.k8s.api.core.v1.Pod").is_none());
        assert_eq!(
            schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
        let get = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["get"];
        assert_eq!(get["x-kubernetes-action"], "get");
        assert_eq!(get["operationId"], "readAppsV1NamespacedDeployment");
        assert_eq!(
            get["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        // Every reference resolves within the document.
        let mut refs = Vec::new();
        all_refs(&doc, &mut refs);
        assert!(refs.len() > 50);
        for r in refs {
            let name = r
                .strip_prefix(PREFIX)
                .unwrap_or_else(|| panic!("bad ref {r}"));
            assert!(schemas.get(name).is_some(), "dangling {r}");
        }
    }

    #[test]
    fn custom_resources_get_upstream_names_and_metadata() {
        let doc = v3_group_version("stable.example.com", "v1", &served());
        let schemas = &doc["components"]["schemas"];
        let ct = &schemas["com.example.stable.v1.CronTab"];
        assert_eq!(ct["x-kubernetes-group-version-kind"][0]["kind"], "CronTab");
        assert_eq!(
            ct["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(
            ct["properties"]["spec"]["properties"]["cronSpec"]["type"],
            "string"
        );
        assert!(schemas.get("com.example.stable.v1.CronTabList").is_some());
        assert!(
            schemas
                .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
                .is_some()
        );
        assert!(
            doc["paths"]
                .get("/apis/stable.example.com/v1/namespaces/{namespace}/crontabs")
                .is_some()
        );
    }

    #[test]
    fn discovery_points_at_hashed_documents() {
        let d = v3_discovery(&[("apis/apps/v1".into(), "ABC".into())]);
        assert_eq!(
            d["paths"]["apis/apps/v1"]["serverRelativeURL"],
            "/openapi/v3/apis/apps/v1?hash=ABC"
        );
    }

    #[test]
    fn property_named_ref_is_not_a_reference() {
        let s = schema(&json!({"properties": {"$ref": {"type": "string"}},
            "items": {"$ref": "#/definitions/X", "description": "d"}}));
        assert_eq!(s["properties"]["$ref"]["type"], "string");
        assert_eq!(s["items"]["allOf"][0]["$ref"], "#/components/schemas/X");
        assert_eq!(s["items"]["description"], "d");
    }
}
