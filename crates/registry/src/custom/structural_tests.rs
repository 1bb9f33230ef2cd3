//! Tests of [`super::validate_crd_schema`].

use super::validate_crd_schema;
use serde_json::{Value, json};

const F: &str = "spec.versions[0].schema.openAPIV3Schema";

fn summaries(schema: &Value) -> Vec<String> {
    validate_crd_schema(schema, F)
        .iter()
        .map(|c| c.summary())
        .collect()
}

fn ok(schema: Value) {
    let s = summaries(&schema);
    assert!(s.is_empty(), "unexpected causes: {s:#?}");
}

fn has(schema: Value, expected: &str) {
    let s = summaries(&schema);
    assert!(
        s.iter().any(|m| m == expected),
        "missing {expected:?} in {s:#?}"
    );
}

#[test]
fn a_typical_structural_schema_passes() {
    ok(json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "default": 1, "minimum": 0},
                "port": {"x-kubernetes-int-or-string": true,
                         "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "mode": {"type": "string", "enum": ["a", "b"], "pattern": "^[ab]$"},
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["port"],
                          "items": {"type": "object", "required": ["port"],
                                    "properties": {"port": {"type": "integer"}}}},
                "choice": {"type": "object",
                           "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                           "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
            }},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    }));
}

#[test]
fn missing_types() {
    let s = json!({"type": "object", "properties": {
        "spec": {"properties": {"x": {"type": "string"}}},
        "list": {"type": "array", "items": {}},
        "arr": {"type": "array"}
    }});
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
    );
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[list].items.type: Required value: must not be empty for specified array items",
    );
    has(
        s,
        "spec.versions[0].schema.openAPIV3Schema.properties[arr].items: Required value: must be specified",
    );
    has(
        json!({"properties": {}}),
        "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root",
    );
    has(
        json!({"type": "string"}),
        "spec.versions[0].schema.openAPIV3Schema.type: Invalid value: \"string\": must be object at the root",
    );
}

#[test]
fn structural_errors_are_sorted() {
    let s = summaries(&json!({"type": "object", "properties": {
        "b": {}, "a": {}
    }}));
    assert_eq!(s.len(), 2);
    assert!(s[0].contains("properties[a]"));
    assert!(s[1].contains("properties[b]"));
}

#[test]
fn metadata_restrictions() {
    ok(
        json!({"type": "object", "properties": {"metadata": {"type": "object",
        "properties": {"name": {"type": "string", "maxLength": 10}}}}}),
    );
    has(
        json!({"type": "object", "properties": {"metadata": {"type": "object",
            "properties": {"labels": {"type": "object"}}}}}),
        "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
    );
    has(
        json!({"type": "object", "properties": {"metadata": {"type": "string"}}}),
        "spec.versions[0].schema.openAPIV3Schema.properties[metadata].type: Invalid value: \"string\": must be object",
    );
    has(
        json!({"type": "object", "properties": {"kind": {"type": "integer"}}}),
        "spec.versions[0].schema.openAPIV3Schema.properties[kind].type: Invalid value: \"integer\": must be string",
    );
}

#[test]
fn nested_value_validations_must_not_declare_types() {
    let s = json!({"type": "object", "properties": {"x": {"type": "string",
        "anyOf": [{"type": "string", "description": "d"}]}}});
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[x].anyOf[0].type: Forbidden: must be empty to be structural",
    );
    has(
        s,
        "spec.versions[0].schema.openAPIV3Schema.properties[x].anyOf[0].description: Forbidden: must be empty to be structural",
    );
}

#[test]
fn completeness_of_root_value_validations() {
    has(
        json!({"type": "object", "properties": {"a": {"type": "string"}},
               "anyOf": [{"properties": {"b": {"minLength": 1}}}]}),
        "spec.versions[0].schema.openAPIV3Schema.properties[b]: Required value: because it is defined in spec.versions[0].schema.openAPIV3Schema.anyOf[0].properties[b]",
    );
}

#[test]
fn unsupported_openapi_features() {
    let s = json!({"type": "object", "properties": {
        "r": {"$ref": "#/definitions/x"},
        "u": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
        "both": {"type": "object", "properties": {"a": {"type": "string"}},
                 "additionalProperties": {"type": "string"}},
        "p": {"type": "object", "x-kubernetes-preserve-unknown-fields": false},
        "t": {"type": "date"}
    }});
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[r].$ref: Forbidden: $ref is not supported",
    );
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[u].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
    );
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[both].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
    );
    has(
        s.clone(),
        "spec.versions[0].schema.openAPIV3Schema.properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
    );
    has(
        s,
        "spec.versions[0].schema.openAPIV3Schema.properties[t].type: Unsupported value: \"date\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
    );
}

#[test]
fn root_rules() {
    has(
        json!({"type": "object", "nullable": true}),
        "spec.versions[0].schema.openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root",
    );
    has(
        json!({"type": "object", "additionalProperties": {"type": "string"}}),
        "spec.versions[0].schema.openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root",
    );
    has(
        json!({"type": "object", "properties": {"metadata": {"type": "object", "default": {}}}}),
        "spec.versions[0].schema.openAPIV3Schema.properties[metadata].default: Forbidden: must not be set in top-level metadata",
    );
}

#[test]
fn embedded_resources() {
    has(
        json!({"type": "object", "properties": {"t": {"x-kubernetes-embedded-resource": true}}}),
        "spec.versions[0].schema.openAPIV3Schema.properties[t].type: Required value: must be object if x-kubernetes-embedded-resource is true",
    );
    has(
        json!({"type": "object", "properties": {"t": {"type": "object", "x-kubernetes-embedded-resource": true}}}),
        "spec.versions[0].schema.openAPIV3Schema.properties[t].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
    );
}

#[test]
fn list_types() {
    let s = json!({"type": "object", "properties": {
        "a": {"type": "string", "x-kubernetes-list-type": "set"},
        "b": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}},
        "c": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "string"}},
        "d": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k", "z"],
              "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
        "e": {"type": "array", "x-kubernetes-list-map-keys": ["k"], "items": {"type": "object",
              "properties": {"k": {"type": "string"}}}}
    }});
    let p = "spec.versions[0].schema.openAPIV3Schema.properties";
    has(
        s.clone(),
        &format!(
            "{p}[a].type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified"
        ),
    );
    has(
        s.clone(),
        &format!(
            "{p}[b].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", \"map\""
        ),
    );
    has(
        s.clone(),
        &format!(
            "{p}[c].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
        ),
    );
    has(
        s.clone(),
        &format!(
            "{p}[c].items.type: Invalid value: \"string\": must be object if parent array's x-kubernetes-list-type is map"
        ),
    );
    has(
        s.clone(),
        &format!(
            "{p}[d].x-kubernetes-list-map-keys: Invalid value: [\"k\",\"z\"]: entries must all be names of item properties"
        ),
    );
    has(
        s.clone(),
        &format!(
            "{p}[d].items.properties[k].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
        ),
    );
    has(
        s,
        &format!(
            "{p}[e].x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is non-empty"
        ),
    );
}

#[test]
fn defaults_must_validate_and_be_pruned() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "n": {"type": "integer", "default": "x"},
        "o": {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "1", "b": 2}}
    }}}});
    let p = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties";
    has(
        s.clone(),
        // The default is validated as a root value: kube-openapi names it "".
        &format!(
            "{p}[n].default: Invalid value: \"string\":  in body must be of type integer: \"string\""
        ),
    );
    has(
        s,
        &format!(
            "{p}[o].default: Invalid value: {{\"a\":\"1\",\"b\":2}}: must not have unknown fields"
        ),
    );
}
