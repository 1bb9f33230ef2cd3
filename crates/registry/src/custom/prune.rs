//! Pruning of unknown fields from a custom resource, as upstream's structural
//! pruning does before defaulting and validation.
//!
//! Rules (upstream `pruning.PruneWithOptions` with `isResourceRoot`):
//! - a field is kept when the schema names it in `properties`, or when the
//!   object has `additionalProperties` (its value is then pruned against that
//!   schema, or against nothing when `additionalProperties` is a boolean);
//! - `x-kubernetes-preserve-unknown-fields: true` keeps unknown fields at that
//!   level, still pruning inside the known ones;
//! - `apiVersion`, `kind` and `metadata` are kept at the root and inside
//!   `x-kubernetes-embedded-resource` objects (metadata is checked as ObjectMeta
//!   elsewhere);
//! - an object value with no schema at all loses all its fields.
//!
//! After pruning, non-nullable `null`s whose schema has no default are removed,
//! as upstream does in the same decoding step (nulls with a default are left for
//! [`super::apply_defaults`]).

use super::{additional_properties, default_of, embedded_resource, items, nullable};
use super::{preserve_unknown, properties, schema_for_key};
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Remove fields of `obj` that `schema` does not specify. Returns the removed
/// paths, sorted, in the form upstream puts in its `unknown field "…"` warnings
/// and strict field-validation errors (`spec.foo`, `spec.items[0].bar`).
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let unknown = prune_unknown(schema, obj, true);
    drop_nulls(obj, Some(schema));
    unknown
}

/// Unknown-field pruning alone. `resource_root` keeps `apiVersion`, `kind`
/// and `metadata` at the top level (a whole object, or an embedded resource).
pub fn prune_unknown(schema: &Value, obj: &mut Value, resource_root: bool) -> Vec<String> {
    let mut pruner = Pruner {
        path: String::new(),
        unknown: Vec::new(),
    };
    pruner.prune(obj, Some(schema), resource_root);
    let mut unknown = pruner.unknown;
    unknown.sort();
    unknown
}

struct Pruner {
    /// Path of the node being visited, as upstream's `ParentPath` joined.
    path: String,
    unknown: Vec<String>,
}

impl Pruner {
    fn push_key(&mut self, k: &str) -> usize {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(k);
        len
    }

    fn push_index(&mut self, i: usize) -> usize {
        let len = self.path.len();
        self.path.push_str(&format!("[{i}]"));
        len
    }

    fn record(&mut self, k: &str) {
        let len = self.push_key(k);
        self.unknown.push(self.path.clone());
        self.path.truncate(len);
    }

    /// `root` marks the resource root, which upstream treats as an embedded
    /// resource so that its type and object meta survive.
    fn prune(&mut self, x: &mut Value, s: Option<&Value>, root: bool) {
        if let Some(s) = s
            && preserve_unknown(s)
        {
            self.skip_prune(x, s, root);
            return;
        }
        match x {
            Value::Object(map) => {
                let Some(s) = s else {
                    let keys: Vec<String> = map.keys().cloned().collect();
                    for k in keys {
                        self.record(&k);
                    }
                    map.clear();
                    return;
                };
                let embedded = root || embedded_resource(s);
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    if embedded && META_FIELDS.contains(&k.as_str()) {
                        continue;
                    }
                    let sub = if let Some(p) = properties(s).and_then(|p| p.get(&k)) {
                        Some(Some(p))
                    } else {
                        additional_properties(s)
                    };
                    match sub {
                        Some(sub) => {
                            let len = self.push_key(&k);
                            if let Some(v) = map.get_mut(&k) {
                                self.prune(v, sub, false);
                            }
                            self.path.truncate(len);
                        }
                        None => {
                            if !META_FIELDS.contains(&k.as_str()) || !self.path.is_empty() {
                                self.record(&k);
                            }
                            map.shift_remove(&k);
                        }
                    }
                }
            }
            Value::Array(arr) => {
                let item_schema = s.and_then(items);
                for (i, v) in arr.iter_mut().enumerate() {
                    let len = self.push_index(i);
                    self.prune(v, item_schema, false);
                    self.path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// Under `x-kubernetes-preserve-unknown-fields`: keep unknown fields, but
    /// prune inside the ones the schema does specify.
    fn skip_prune(&mut self, x: &mut Value, s: &Value, root: bool) {
        match x {
            Value::Object(map) => {
                let embedded = root || embedded_resource(s);
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    if embedded && META_FIELDS.contains(&k.as_str()) {
                        continue;
                    }
                    let sub = if let Some(p) = properties(s).and_then(|p| p.get(&k)) {
                        Some(Some(p))
                    } else {
                        additional_properties(s)
                    };
                    if let Some(sub) = sub {
                        let len = self.push_key(&k);
                        if let Some(v) = map.get_mut(&k) {
                            self.prune(v, sub, false);
                        }
                        self.path.truncate(len);
                    }
                }
            }
            Value::Array(arr) => {
                // Upstream keeps skipping (not pruning) into items here.
                let Some(item_schema) = items(s) else { return };
                for (i, v) in arr.iter_mut().enumerate() {
                    let len = self.push_index(i);
                    self.skip_prune(v, item_schema, false);
                    self.path.truncate(len);
                }
            }
            _ => {}
        }
    }
}

/// Remove `null`s whose schema is non-nullable and has no default
/// (upstream `PruneNonNullableNullsWithoutDefaults`).
fn drop_nulls(x: &mut Value, s: Option<&Value>) {
    match x {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let sub = s.and_then(|s| schema_for_key(s, &k));
                let drop = match (map.get(&k), sub) {
                    (Some(Value::Null), Some(sub)) => !nullable(sub) && default_of(sub).is_none(),
                    _ => false,
                };
                if drop {
                    map.shift_remove(&k);
                } else if let Some(v) = map.get_mut(&k) {
                    drop_nulls(v, sub);
                }
            }
        }
        Value::Array(arr) => {
            let item_schema = s.and_then(items);
            for v in arr.iter_mut() {
                drop_nulls(v, item_schema);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn widget_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "size": {"type": "integer"},
                        "items": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}}
                        }},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                 "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                     "properties": {"spec": {"type": "object"}}},
                        "opt": {"type": "string", "nullable": true},
                        "req": {"type": "string"},
                        "withDefault": {"type": "string", "default": "d"}
                    }
                },
                "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
            }
        })
    }

    #[test]
    fn root_meta_is_kept_and_unknowns_are_reported_sorted() {
        let mut obj = json!({
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "whatever": 1},
            "spec": {"size": 3, "zeta": 1, "alpha": {"x": 1}},
            "extra": true
        });
        let unknown = prune(&widget_schema(), &mut obj);
        assert_eq!(unknown, vec!["extra", "spec.alpha", "spec.zeta"]);
        assert_eq!(
            obj,
            json!({
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "w", "whatever": 1},
                "spec": {"size": 3}
            })
        );
    }

    #[test]
    fn arrays_maps_preserve_and_embedded() {
        let mut obj = json!({
            "spec": {
                "items": [{"name": "a", "bad": 1}, {"name": "b"}],
                "labels": {"x": "1", "y": "2"},
                "free": {"anything": {"deep": 1}, "known": {"a": "k", "b": "drop"}},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"x": 1}, "other": 2}
            }
        });
        let unknown = prune(&widget_schema(), &mut obj);
        assert_eq!(
            unknown,
            vec![
                "spec.free.known.b",
                "spec.items[0].bad",
                "spec.template.other",
                "spec.template.spec.x"
            ]
        );
        assert_eq!(obj["spec"]["items"][0], json!({"name": "a"}));
        assert_eq!(obj["spec"]["labels"], json!({"x": "1", "y": "2"}));
        assert_eq!(obj["spec"]["free"]["anything"], json!({"deep": 1}));
        assert_eq!(obj["spec"]["free"]["known"], json!({"a": "k"}));
        assert_eq!(
            obj["spec"]["template"],
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})
        );
    }

    #[test]
    fn nested_meta_names_are_pruned_outside_embedded_resources() {
        let mut obj = json!({"spec": {"kind": "x", "metadata": {}}});
        let unknown = prune(&widget_schema(), &mut obj);
        assert_eq!(unknown, vec!["spec.kind", "spec.metadata"]);
        assert_eq!(obj["spec"], json!({}));
    }

    #[test]
    fn whole_root_preserve_unknown_keeps_everything() {
        let schema = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
        let mut obj = json!({"spec": {"a": [1, {"b": 2}]}, "kind": "K"});
        let before = obj.clone();
        assert!(prune(&schema, &mut obj).is_empty());
        assert_eq!(obj, before);
    }

    #[test]
    fn non_nullable_nulls_without_default_are_dropped() {
        let mut obj = json!({"spec": {"opt": null, "req": null, "withDefault": null, "size": 1}});
        let unknown = prune(&widget_schema(), &mut obj);
        assert!(unknown.is_empty());
        assert_eq!(
            obj["spec"],
            json!({"opt": null, "withDefault": null, "size": 1})
        );
    }

    #[test]
    fn object_without_schema_is_emptied() {
        // items without a schema: objects inside lose every field.
        let schema = json!({"type": "object", "properties": {
            "list": {"type": "array"}
        }});
        let mut obj = json!({"list": [{"a": 1}, 2]});
        assert_eq!(prune(&schema, &mut obj), vec!["list[0].a"]);
        assert_eq!(obj, json!({"list": [{}, 2]}));
    }
}
