//! Swagger 2.0: the single `/openapi/v2` document with every served
//! resource's paths and the definitions they reach (`$ref:
//! #/definitions/…`, the form the built-in definitions are kept in).

use serde_json::{Map, Value, json};

use super::ops::{self, Body, NAME, NAMESPACE, Op, PRETTY, Param};
use super::{KUBERNETES_VERSION, model, reachable};
use crate::resources::ResourceInfo;
use crate::schema::DEFINITIONS_PREFIX;

/// The Swagger 2.0 document of every served resource (a resource's
/// `Some(schema)` is a custom resource's `openAPIV3Schema`).
pub fn v2_document(resources: &[(ResourceInfo, Option<Value>)]) -> Value {
    let m = model(resources.iter());
    let mut paths = Map::new();
    for op in &m.ops {
        let item = paths
            .entry(op.path.clone())
            .or_insert_with(|| path_item(op));
        if let Value::Object(item) = item {
            item.insert(op.method.into(), operation(op));
        }
    }
    let custom = |name: &str| m.custom.contains_key(name);
    let definitions: Map<String, Value> = reachable(&m)
        .into_iter()
        .map(|(name, def)| {
            // Upstream's v2 cannot say what a CRD's v3 schema may say.
            let v = if custom(&name) {
                to_v2(def)
            } else {
                def.clone()
            };
            (name, v)
        })
        .collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {
            "description": "Bearer Token authentication", "type": "apiKey",
            "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    })
}

/// Drops what Swagger 2.0 schemas lack (`nullable`, `oneOf`, `anyOf`,
/// `not`), recursing through subschemas only.
fn to_v2(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, c) in obj {
        let converted = match k.as_str() {
            "nullable" | "oneOf" | "anyOf" | "not" => continue,
            "properties" | "patternProperties" => match c.as_object() {
                Some(p) => Value::Object(p.iter().map(|(n, s)| (n.clone(), to_v2(s))).collect()),
                None => c.clone(),
            },
            "items" | "additionalProperties" => to_v2(c),
            "allOf" => c
                .as_array()
                .map(|a| a.iter().map(to_v2).collect())
                .unwrap_or_default(),
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
    let mut v = json!({"name": p.name, "in": p.location, "description": p.description,
        "type": p.kind, "uniqueItems": true});
    if p.location == "path" {
        v["required"] = true.into();
    }
    v
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{DEFINITIONS_PREFIX}{name}")})
}

fn operation(op: &Op) -> Value {
    let (g, v, k) = &op.gvk;
    let mut params: Vec<Value> = Vec::new();
    let body = match op.body {
        Body::None => None,
        Body::Object => op.body_def.as_deref(),
        Body::Patch => Some("io.k8s.apimachinery.pkg.apis.meta.v1.Patch"),
        Body::Delete => Some("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    };
    if let Some(def) = body {
        params.push(
            json!({"name": "body", "in": "body", "required": op.body != Body::Delete,
            "schema": reference(def)}),
        );
    }
    params.extend(op.params.iter().map(param));
    let mut responses = Map::new();
    for code in op.codes {
        let description = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        let mut r = json!({"description": description});
        if let Some(def) = &op.response_def {
            r["schema"] = reference(def);
        }
        responses.insert(code.to_string(), r);
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let consumes: Vec<&str> = if op.body == Body::Patch {
        super::patch_types(op.body_def.as_deref()).to_vec()
    } else {
        vec!["*/*"]
    };
    json!({
        "consumes": consumes,
        "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
        "schemes": ["https"],
        "tags": [ops::tag(g, v)],
        "description": op.description,
        "operationId": op.operation_id,
        "parameters": params,
        "responses": responses,
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": {"group": g, "kind": k, "version": v},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swagger_document_has_paths_and_definitions() {
        let served = vec![
            (
                ResourceInfo::new("", "v1", "ConfigMap", "configmaps", true),
                None,
            ),
            (
                ResourceInfo::new("example.com", "v1", "Widget", "widgets", false),
                Some(
                    json!({"type": "object", "properties": {"spec": {"type": "object",
                    "nullable": true, "properties": {"size": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                    "x-kubernetes-int-or-string": true}}}}}),
                ),
            ),
        ];
        let doc = v2_document(&served);
        assert_eq!(doc["swagger"], "2.0");
        let defs = &doc["definitions"];
        assert_eq!(
            defs["io.k8s.api.core.v1.ConfigMap"]["x-kubernetes-group-version-kind"][0]["kind"],
            "ConfigMap"
        );
        let widget = &defs["com.example.v1.Widget"];
        assert!(widget["properties"]["spec"].get("nullable").is_none());
        assert!(
            widget["properties"]["spec"]["properties"]["size"]
                .get("anyOf")
                .is_none()
        );
        let post = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"];
        assert_eq!(post["operationId"], "createCoreV1NamespacedConfigMap");
        assert_eq!(post["parameters"][0]["in"], "body");
        assert_eq!(
            post["parameters"][0]["schema"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.ConfigMap"
        );
        assert!(
            doc["paths"]
                .get("/apis/example.com/v1/widgets/{name}")
                .is_some()
        );
        let text = serde_json::to_string(&doc).unwrap_or_default();
        for part in text.split("\"$ref\":\"").skip(1) {
            let target = part.split('"').next().unwrap_or_default();
            let name = target.trim_start_matches(DEFINITIONS_PREFIX);
            assert!(defs.get(name).is_some(), "dangling {target}");
        }
    }
}
