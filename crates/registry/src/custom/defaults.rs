//! Structural defaulting of a custom resource, as upstream's
//! `structuraldefaulting.Default` does after pruning.
//!
//! A property's `default` is applied when the field is absent, or present as
//! `null` while the field is not `nullable`. Defaulting recurses into objects
//! (properties and `additionalProperties`), array items and into freshly
//! applied defaults, so nested defaults fill in too. A `null` for a nullable
//! field stays `null`.

use super::{additional_properties, default_of, items, nullable, properties};
use serde_json::Value;

/// Apply the `default`s of `schema` to `obj`, in place.
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    default_node(obj, schema);
}

/// A `null` that the schema does not allow and that its default replaces.
fn replaceable_null(x: &Value, s: &Value) -> bool {
    x.is_null() && !nullable(s)
}

fn default_node(x: &mut Value, s: &Value) {
    match x {
        Value::Object(map) => {
            if let Some(props) = properties(s) {
                for (k, prop) in props {
                    let Some(default) = default_of(prop) else {
                        continue;
                    };
                    let absent_or_null = match map.get(k) {
                        None => true,
                        Some(v) => replaceable_null(v, prop),
                    };
                    if absent_or_null {
                        map.insert(k.clone(), default.clone());
                    }
                }
            }
            let additional = additional_properties(s).flatten();
            for (k, v) in map.iter_mut() {
                if let Some(prop) = properties(s).and_then(|p| p.get(k)) {
                    default_node(v, prop);
                } else if let Some(ap) = additional {
                    if replaceable_null(v, ap)
                        && let Some(d) = default_of(ap)
                    {
                        *v = d.clone();
                    }
                    default_node(v, ap);
                }
            }
        }
        Value::Array(arr) => {
            let Some(item_schema) = items(s) else { return };
            for v in arr.iter_mut() {
                if replaceable_null(v, item_schema)
                    && let Some(d) = default_of(item_schema)
                {
                    *v = d.clone();
                }
                default_node(v, item_schema);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "default": {},
                    "properties": {
                        "replicas": {"type": "integer", "default": 1},
                        "mode": {"type": "string", "default": "fast"},
                        "note": {"type": "string", "nullable": true, "default": "n"},
                        "ports": {"type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "port": {"type": "integer"},
                                "protocol": {"type": "string", "default": "TCP"}
                            }
                        }},
                        "tags": {"type": "array", "items": {"type": "string", "default": "t"}},
                        "limits": {"type": "object", "additionalProperties": {
                            "type": "object",
                            "default": {"max": 5},
                            "properties": {"max": {"type": "integer"}, "unit": {"type": "string", "default": "m"}}
                        }}
                    }
                }
            }
        })
    }

    #[test]
    fn absent_fields_get_defaults_recursively() {
        let mut obj = json!({"apiVersion": "x/v1", "kind": "W"});
        apply_defaults(&schema(), &mut obj);
        // spec defaults to {}, then its own properties default inside it.
        assert_eq!(
            obj["spec"],
            json!({"replicas": 1, "mode": "fast", "note": "n"})
        );
    }

    #[test]
    fn present_values_are_kept() {
        let mut obj = json!({"spec": {"replicas": 3, "mode": "slow", "note": "x"}});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(obj["spec"]["replicas"], 3);
        assert_eq!(obj["spec"]["mode"], "slow");
        assert_eq!(obj["spec"]["note"], "x");
    }

    #[test]
    fn null_handling_depends_on_nullable() {
        let mut obj = json!({"spec": {"replicas": null, "note": null}});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(obj["spec"]["replicas"], 1);
        assert_eq!(obj["spec"]["note"], Value::Null);
    }

    #[test]
    fn items_and_additional_properties_are_defaulted() {
        let mut obj = json!({"spec": {
            "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}],
            "tags": ["a", null],
            "limits": {"cpu": {"max": 2}, "mem": null}
        }});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(
            obj["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
        );
        assert_eq!(obj["spec"]["tags"], json!(["a", "t"]));
        assert_eq!(obj["spec"]["limits"]["cpu"], json!({"max": 2, "unit": "m"}));
        // null map value: replaced by the additionalProperties default, then
        // that default is defaulted further.
        assert_eq!(obj["spec"]["limits"]["mem"], json!({"max": 5, "unit": "m"}));
    }

    #[test]
    fn wrong_shapes_are_left_alone() {
        let mut obj = json!({"spec": "not-an-object"});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(obj["spec"], "not-an-object");
    }
}
