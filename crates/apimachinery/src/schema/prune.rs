//! Dropping the fields a built-in type's schema does not know, as upstream
//! does by decoding into its typed structs (after `fieldValidation` has
//! reported or refused them). Same rules as [`super::unknown_fields`].

use serde_json::Value;
use std::sync::OnceLock;

use super::node::GetKey;
use super::{SchemaNode, builtin_definitions};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Remove from `obj` every field `node` (the schema of a whole object) does
/// not declare.
pub fn prune_unknown_fields(node: SchemaNode, obj: &mut Value) {
    prune_resource(node, obj);
}

fn accepts_any_key(node: &SchemaNode) -> bool {
    let raw = node.raw();
    node.open()
        || raw.get_key("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || (raw.get_key("properties").is_none() && raw.get_key("additionalProperties").is_none())
}

/// `ObjectMeta`'s schema, for objects whose own schema leaves it out.
fn object_meta() -> Option<SchemaNode<'static>> {
    static META: OnceLock<Option<&'static Value>> = OnceLock::new();
    let defs = builtin_definitions();
    META.get_or_init(|| defs.get(OBJECT_META))
        .map(|m| SchemaNode::new(m, defs))
}

fn prune_resource(node: SchemaNode, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let open = accepts_any_key(&node);
    map.retain(|key, value| match (key.as_str(), node.field(key)) {
        ("apiVersion" | "kind", _) => true,
        ("metadata", field) => {
            let meta = field
                .filter(|f| f.raw().get_key("properties").is_some())
                .or_else(|| object_meta());
            if let Some(meta) = meta {
                prune(meta, value);
            }
            true
        }
        (_, Some(f)) => {
            prune(f, value);
            true
        }
        (_, None) => open,
    });
}

fn prune(node: SchemaNode, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if node.raw().get_key("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
                return prune_resource(node, value);
            }
            if let Some(values) = node.additional_properties() {
                for v in map.values_mut() {
                    prune(values, v);
                }
                return;
            }
            let open = accepts_any_key(&node);
            map.retain(|key, v| match node.field(key) {
                Some(f) => {
                    prune(f, v);
                    true
                }
                None => open,
            });
        }
        Value::Array(items) => {
            if let Some(item) = node.items() {
                for v in items.iter_mut() {
                    prune(item, v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema_for_kind;
    use serde_json::json;

    #[test]
    fn drops_unknown_fields_and_keeps_known_ones() {
        let node = schema_for_kind("apps", "v1", "Deployment").expect("schema");
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "bogus": 1,
            "metadata": {"name": "x", "labels": {"a": "b"}, "nope": true},
            "spec": {"replica": 2, "replicas": 3, "template": {"spec": {"containers": [{"name": "c", "imagePullPolice": "x"}]}}}});
        prune_unknown_fields(node, &mut d);
        assert!(d.get("bogus").is_none());
        assert!(d.pointer("/metadata/nope").is_none());
        assert_eq!(d.pointer("/metadata/labels/a"), Some(&json!("b")));
        assert!(d.pointer("/spec/replica").is_none());
        assert_eq!(d.pointer("/spec/replicas"), Some(&json!(3)));
        assert!(
            d.pointer("/spec/template/spec/containers/0/imagePullPolice")
                .is_none()
        );
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/name"),
            Some(&json!("c"))
        );
    }
}
