//! Strict field validation (`fieldValidation=Strict|Warn`): the fields of an
//! object its schema does not know, and the keys a raw JSON body repeats.
//! Paths are formatted as upstream's strict decoder does: fields joined by
//! `.`, list items as `[i]` (`spec.template.spec.containers[0].imagePullPolice`),
//! map keys as fields; the caller wraps them in `unknown field "…"` /
//! `duplicate field "…"`.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{SchemaNode, builtin_definitions};

/// Upstream keeps at most this many strict errors per request.
const MAX_ERRORS: usize = 100;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Paths of the fields of `obj` that `node` (the schema of a whole object)
/// does not declare. `apiVersion` and `kind` are always known at the root;
/// `metadata` is checked against ObjectMeta even when a custom resource's
/// schema leaves it open. `additionalProperties` maps and
/// `x-kubernetes-preserve-unknown-fields` accept any key.
pub fn unknown_fields(node: SchemaNode, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_resource(node, obj, "", &mut out);
    out
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn push(out: &mut Vec<String>, path: String) {
    if out.len() < MAX_ERRORS && !out.contains(&path) {
        out.push(path);
    }
}

/// A whole object (the root or an `x-kubernetes-embedded-resource`).
fn walk_resource(node: SchemaNode, obj: &Value, path: &str, out: &mut Vec<String>) {
    let Some(map) = obj.as_object() else { return };
    let defs = builtin_definitions();
    for (key, value) in map {
        let child = join(path, key);
        match (key.as_str(), node.field(key)) {
            ("apiVersion" | "kind", _) => {}
            ("metadata", field) => {
                // A CRD's schema says only `metadata: {type: object}`.
                let meta = field
                    .filter(|f| f.raw().get("properties").is_some())
                    .or_else(|| defs.get(OBJECT_META).map(|m| SchemaNode::new(m, defs)));
                if let Some(meta) = meta {
                    walk(meta, value, &child, out);
                }
            }
            (_, Some(f)) => walk(f, value, &child, out),
            (_, None) if accepts_any_key(&node) => {}
            (_, None) => push(out, child),
        }
    }
}

/// True when an object schema accepts keys it does not list.
fn accepts_any_key(node: &SchemaNode) -> bool {
    let raw = node.raw();
    node.open()
        || raw.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        // `type: object` with nothing more (RawExtension, FieldsV1, JSON).
        || (raw.get("properties").is_none() && raw.get("additionalProperties").is_none())
}

fn walk(node: SchemaNode, value: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ERRORS {
        return;
    }
    match value {
        Value::Object(map) => {
            if node.raw().get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
                return walk_resource(node, value, path, out);
            }
            if let Some(values) = node.additional_properties() {
                for (key, v) in map {
                    walk(values, v, &join(path, key), out);
                }
                return;
            }
            let open = accepts_any_key(&node);
            for (key, v) in map {
                match node.field(key) {
                    Some(f) => walk(f, v, &join(path, key), out),
                    None if open => {}
                    None => push(out, join(path, key)),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items() {
                for (i, v) in items.iter().enumerate() {
                    walk(item, v, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Paths of the object keys that `raw_json` repeats (upstream's strict
/// decoder reports them as `duplicate field "<path>"`). Empty when the body
/// has no duplicates or is not valid JSON (decoding reports that).
pub fn duplicate_fields(raw_json: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(raw_json);
    let seed = DupSeed {
        path: String::new(),
        out: &mut out,
    };
    // An error means malformed JSON, reported by the real decode.
    let _ = seed.deserialize(&mut de);
    out
}

struct DupSeed<'o> {
    path: String,
    out: &'o mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for DupSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key) {
                push(self.out, path.clone());
            }
            map.next_value_seed(DupSeed {
                path,
                out: self.out,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(DupSeed {
                path: format!("{}[{i}]", self.path),
                out: self.out,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Definitions, schema_for_kind};
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": "1"}}}]}
                }
            }
        })
    }

    #[test]
    fn valid_deployment_has_no_unknown_fields() {
        let node = schema_for_kind("apps", "v1", "Deployment").expect("schema");
        assert_eq!(unknown_fields(node, &deployment()), Vec::<String>::new());
    }

    #[test]
    fn finds_typos_at_every_depth() {
        let node = schema_for_kind("apps", "v1", "Deployment").expect("schema");
        let mut d = deployment();
        d["spec"]["replica"] = json!(3);
        d["metadata"]["labelz"] = json!({});
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = json!("Always");
        assert_eq!(
            unknown_fields(node, &d),
            vec![
                "metadata.labelz",
                "spec.template.spec.containers[0].imagePullPolice",
                "spec.replica"
            ]
        );
    }

    #[test]
    fn custom_schemas_respect_preserve_unknown_and_maps() {
        let defs = Definitions::new();
        let schema = json!({"type": "object", "properties": {
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "tags": {"type": "object", "additionalProperties": {"type": "object",
                    "properties": {"v": {"type": "string"}}}}
            }}
        }});
        let node = SchemaNode::new(&schema, &defs);
        let obj = json!({"apiVersion": "x/v1", "kind": "X",
            "metadata": {"name": "a", "nam": "b"},
            "spec": {"free": {"anything": 1}, "tags": {"a": {"v": "1", "w": 2}}, "extra": true}});
        assert_eq!(
            unknown_fields(node, &obj),
            vec!["metadata.nam", "spec.tags.a.w", "spec.extra"]
        );
    }

    #[test]
    fn duplicate_keys_are_reported_with_paths() {
        let body =
            br#"{"kind":"Pod","kind":"Pod","metadata":{"name":"a","labels":{"x":"1","x":"2"}},
            "spec":{"containers":[{"name":"c","name":"d"}]}}"#;
        assert_eq!(
            duplicate_fields(body),
            vec!["kind", "metadata.labels.x", "spec.containers[0].name"]
        );
        assert!(duplicate_fields(br#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#).is_empty());
        assert!(duplicate_fields(b"{not json").is_empty());
    }
}
