//! Type checks of a built-in object against its schema: what upstream's
//! typed JSON decoding refuses (`json: cannot unmarshal number into Go struct
//! field ConfigMap.data of type string`). Nulls pass, as they decode to the
//! zero value; quantities accept numbers; int-or-string accepts both.

use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

use super::node::GetKey;
use super::{SchemaNode, builtin_definitions};

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The first type mismatch in `obj`, as upstream's decoder words it, with
/// `kind` (e.g. `ConfigMap`) naming the root struct.
pub fn type_error(node: SchemaNode, obj: &Value, kind: &str) -> Option<String> {
    check(
        node,
        obj,
        &Path {
            parent: None,
            name: kind,
        },
    )
}

/// The Go struct field being checked (`Pod.spec.containers`), printed only
/// when a mismatch is found.
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    name: &'p str,
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}.")?;
        }
        f.write_str(self.name)
    }
}

fn is_quantity(node: &SchemaNode) -> bool {
    static QUANTITY_DEF: OnceLock<Option<&'static Value>> = OnceLock::new();
    QUANTITY_DEF
        .get_or_init(|| builtin_definitions().get(QUANTITY))
        .is_some_and(|q| std::ptr::eq(q, node.raw()))
}

fn mismatch(got: &Value, path: &Path, want: &str) -> Option<String> {
    let got = match got {
        Value::Number(n) => format!("number {n}"),
        other => json_kind(other).to_string(),
    };
    Some(format!(
        "json: cannot unmarshal {got} into Go struct field {path} of type {want}"
    ))
}

fn check(node: SchemaNode, v: &Value, path: &Path) -> Option<String> {
    if v.is_null() {
        return None;
    }
    if is_quantity(&node) {
        return match v {
            Value::String(_) | Value::Number(_) => None,
            _ => mismatch(v, path, "resource.Quantity"),
        };
    }
    let raw = node.raw();
    let format = raw.get_key("format").and_then(Value::as_str);
    if format == Some("int-or-string")
        || raw.get_key("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
    {
        return match v {
            Value::String(_) => None,
            Value::Number(n) if n.is_i64() || n.is_u64() => None,
            _ => mismatch(v, path, "intstr.IntOrString"),
        };
    }
    let format = format.unwrap_or("");
    match node.type_name() {
        Some("string") => (!v.is_string())
            .then(|| mismatch(v, path, "string"))
            .flatten(),
        Some("boolean") => (!v.is_boolean())
            .then(|| mismatch(v, path, "bool"))
            .flatten(),
        Some("integer") => {
            let ok = v.as_i64().is_some() || v.as_u64().is_some();
            let want = if format.is_empty() { "int64" } else { format };
            (!ok).then(|| mismatch(v, path, want)).flatten()
        }
        Some("number") => (!v.is_number())
            .then(|| mismatch(v, path, "float64"))
            .flatten(),
        Some("array") => {
            let Value::Array(items) = v else {
                return mismatch(v, path, "[]");
            };
            let item = node.items()?;
            items.iter().find_map(|x| check(item, x, path))
        }
        Some("object") | None => {
            let Value::Object(map) = v else {
                // Untyped nodes (RawExtension, JSON) take anything.
                return node.type_name().and_then(|_| mismatch(v, path, "object"));
            };
            if let Some(values) = node.additional_properties() {
                return map.iter().find_map(|(_, x)| check(values, x, path));
            }
            map.iter().find_map(|(k, x)| {
                let f = node.field(k)?;
                check(
                    f,
                    x,
                    &Path {
                        parent: Some(path),
                        name: k,
                    },
                )
            })
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema_for_kind;
    use serde_json::json;

    #[test]
    fn refuses_what_typed_decoding_refuses() {
        let cm = schema_for_kind("", "v1", "ConfigMap").unwrap();
        assert_eq!(
            type_error(cm, &json!({"data": {"a": 1}}), "ConfigMap").as_deref(),
            Some(
                "json: cannot unmarshal number 1 into Go struct field ConfigMap.data of type string"
            )
        );
        assert!(
            type_error(
                cm,
                &json!({"data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}}),
                "ConfigMap"
            )
            .is_none()
        );
        let d = schema_for_kind("apps", "v1", "Deployment").unwrap();
        assert!(
            type_error(d, &json!({"spec": {"replicas": "3"}}), "Deployment")
                .unwrap()
                .contains("Deployment.spec.replicas of type int32")
        );
        assert!(type_error(d, &json!({"spec": "x"}), "Deployment").is_some());
        let pod = json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
            "ports": [{"containerPort": 80}]}]}, "status": null});
        let p = schema_for_kind("", "v1", "Pod").unwrap();
        assert!(type_error(p, &pod, "Pod").is_none());
        let s = schema_for_kind("", "v1", "Service").unwrap();
        assert!(
            type_error(
                s,
                &json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}]}}),
                "Service"
            )
            .is_none()
        );
        assert!(type_error(s, &json!({"spec": {"ports": [5]}}), "Service").is_some());
        let bad =
            json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}});
        assert_eq!(
            type_error(p, &bad, "Pod").as_deref(),
            Some(
                "json: cannot unmarshal string into Go struct field Pod.spec.containers.ports.containerPort of type int32"
            )
        );
        let bad = json!({"metadata": {"labels": {"a": true}}});
        assert_eq!(
            type_error(p, &bad, "Pod").as_deref(),
            Some(
                "json: cannot unmarshal bool into Go struct field Pod.metadata.labels of type string"
            )
        );
    }
}
