//! Strict field validation (`fieldValidation=Strict|Warn`): the fields of an
//! object its schema does not know, and the keys a raw JSON body repeats.
//! Paths are formatted as upstream's strict decoder does: fields joined by
//! `.`, list items as `[i]` (`spec.template.spec.containers[0].imagePullPolice`),
//! map keys as fields; the caller wraps them in `unknown field "…"` /
//! `duplicate field "…"`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::node::GetKey;
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
    walk_resource(node, obj, &Path::ROOT, &mut out);
    out
}

/// A path into the object, printed only when a problem is found: fields
/// joined by `.`, list items as `[i]`.
#[derive(Clone, Copy)]
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    step: Step<'p>,
}

#[derive(Clone, Copy)]
enum Step<'p> {
    Root,
    Field(&'p str),
    Index(usize),
}

impl<'p> Path<'p> {
    const ROOT: Path<'static> = Path {
        parent: None,
        step: Step::Root,
    };

    fn field(&'p self, name: &'p str) -> Path<'p> {
        Path {
            parent: Some(self),
            step: Step::Field(name),
        }
    }

    fn index(&'p self, i: usize) -> Path<'p> {
        Path {
            parent: Some(self),
            step: Step::Index(i),
        }
    }

    fn render(&self, out: &mut String) {
        if let Some(p) = self.parent {
            p.render(out);
        }
        match self.step {
            Step::Root => {}
            Step::Field(f) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(f);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
}

fn push(out: &mut Vec<String>, path: &Path) {
    let mut p = String::new();
    path.render(&mut p);
    if out.len() < MAX_ERRORS && !out.contains(&p) {
        out.push(p);
    }
}

/// `ObjectMeta`'s schema, for objects whose own schema leaves it open.
fn object_meta() -> Option<SchemaNode<'static>> {
    let defs = builtin_definitions();
    defs.get(OBJECT_META).map(|m| SchemaNode::new(m, defs))
}

/// A whole object (the root or an `x-kubernetes-embedded-resource`).
fn walk_resource(node: SchemaNode, obj: &Value, path: &Path, out: &mut Vec<String>) {
    let Some(map) = obj.as_object() else { return };
    for (key, value) in map {
        let child = path.field(key);
        match (key.as_str(), node.field(key)) {
            ("apiVersion" | "kind", _) => {}
            ("metadata", field) => {
                // A CRD's schema says only `metadata: {type: object}`.
                let meta = field
                    .filter(|f| f.raw().get_key("properties").is_some())
                    .or_else(|| object_meta());
                if let Some(meta) = meta {
                    walk(meta, value, &child, out);
                }
            }
            (_, Some(f)) => walk(f, value, &child, out),
            (_, None) if accepts_any_key(&node) => {}
            (_, None) => push(out, &child),
        }
    }
}

/// True when an object schema accepts keys it does not list.
fn accepts_any_key(node: &SchemaNode) -> bool {
    let raw = node.raw();
    node.open()
        || raw.get_key("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        // `type: object` with nothing more (RawExtension, FieldsV1, JSON).
        || (raw.get_key("properties").is_none() && raw.get_key("additionalProperties").is_none())
}

fn walk(node: SchemaNode, value: &Value, path: &Path, out: &mut Vec<String>) {
    if out.len() >= MAX_ERRORS {
        return;
    }
    match value {
        Value::Object(map) => {
            if node.raw().get_key("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
                return walk_resource(node, value, path, out);
            }
            if let Some(values) = node.additional_properties() {
                for (key, v) in map {
                    walk(values, v, &path.field(key), out);
                }
                return;
            }
            let open = accepts_any_key(&node);
            for (key, v) in map {
                match node.field(key) {
                    Some(f) => walk(f, v, &path.field(key), out),
                    None if open => {}
                    None => push(out, &path.field(key)),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items() {
                for (i, v) in items.iter().enumerate() {
                    walk(item, v, &path.index(i), out);
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
        path: &Path::ROOT,
        out: &mut out,
    };
    // An error means malformed JSON, reported by the real decode.
    let _ = seed.deserialize(&mut de);
    out
}

struct DupSeed<'p, 'o> {
    path: &'p Path<'p>,
    out: &'o mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for DupSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the body unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Visitor<'de> for DupSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Most objects have a few keys: a list is searched faster than a
        // set is hashed, until it grows.
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let path = self.path.field(&key);
            let seen = match &many {
                Some(set) => set.contains(&key),
                None => few.contains(&key),
            };
            if seen {
                push(self.out, &path);
            }
            map.next_value_seed(DupSeed {
                path: &path,
                out: self.out,
            })?;
            match &mut many {
                Some(set) => {
                    set.insert(key);
                }
                None => {
                    few.push(key);
                    if few.len() > 16 {
                        many = Some(few.drain(..).collect());
                    }
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path = self.path.index(i);
            let seed = DupSeed {
                path: &path,
                out: self.out,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
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
        // Paths as upstream joins them: items right after their list, and
        // no separator after an empty prefix.
        assert_eq!(
            duplicate_fields(br#"[{"a":1,"a":2},[{"b\u0041":1,"bA":2}]]"#),
            vec!["[0].a", "[1][0].bA"]
        );
        assert_eq!(
            duplicate_fields(br#"{"":{"x":1,"x":2},"y":{"":{"z":[],"z":{}}}}"#),
            vec!["x", "y..z"]
        );
        // Objects with many keys.
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let body = format!("{{{},\"k3\":1,\"k39\":2,\"k40\":3}}", keys.join(","));
        assert_eq!(duplicate_fields(body.as_bytes()), vec!["k3", "k39"]);
    }
}
