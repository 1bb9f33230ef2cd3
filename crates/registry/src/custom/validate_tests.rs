//! Tests of [`super::validate`]: messages, reasons and fields as upstream
//! reports them for custom resources.

use super::validate::{validate, validate_schema};
use apimachinery::{ApiError, Cause};
use serde_json::{Value, json};

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^a"},
                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                    "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0.5, "multipleOf": 0.25},
                    "count": {"type": "integer", "format": "int32", "multipleOf": 3},
                    "mode": {"type": "string", "enum": ["a", "b"]},
                    "level": {"type": "integer", "enum": [1, 2]},
                    "when": {"type": "string", "format": "date-time"},
                    "port": {"x-kubernetes-int-or-string": true},
                    "opt": {"type": "string", "nullable": true},
                    "list": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
                    "uniq": {"type": "array", "uniqueItems": true, "items": {"type": "integer"}},
                    "labels": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}},
                    "closed": {"type": "object", "additionalProperties": false},
                    "choice": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                               "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
                    "either": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                               "anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
                    "nota": {"type": "string", "not": {"enum": ["bad"]}},
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
                }
            }
        }
    })
}

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
}

fn one(spec: Value) -> Cause {
    let errs = validate(&schema(), &obj(spec));
    assert_eq!(errs.len(), 1, "expected one cause, got {errs:#?}");
    errs.into_iter()
        .next()
        .unwrap_or_else(|| Cause::new("", "", ""))
}

fn summary(c: &Cause) -> String {
    c.summary()
}

#[test]
fn valid_object_has_no_causes() {
    let errs = validate(
        &schema(),
        &obj(
            json!({"name": "abc", "size": 3, "ratio": 0.75, "count": 9, "mode": "a",
                    "level": 2, "when": "2024-05-01T10:00:00Z", "port": "http", "opt": null,
                    "list": ["x"], "uniq": [1, 2], "labels": {"k": "v"}, "closed": {},
                    "choice": {"a": "1"}, "either": {"a": "1", "b": "2"}, "nota": "ok",
                    "tags": ["x", "y"]}),
        ),
    );
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn type_mismatch_reads_like_kubectl() {
    let c = one(json!({"name": "abc", "size": "string"}));
    assert_eq!(c.reason, "FieldValueTypeInvalid");
    assert_eq!(
        summary(&c),
        r#"spec.size: Invalid value: "string": spec.size in body must be of type integer: "string""#
    );
    let e = ApiError::invalid("example.com", "Widget", "w", vec![c]);
    assert_eq!(
        e.message,
        r#"Widget.example.com "w" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: "string""#
    );
}

#[test]
fn integral_float_is_an_integer_but_fraction_is_not() {
    assert!(validate(&schema(), &obj(json!({"name": "abc", "size": 2.0}))).is_empty());
    let errs = validate(&schema(), &obj(json!({"name": "abc", "size": 2.5})));
    let msgs: Vec<String> = errs.iter().map(Cause::summary).collect();
    assert!(msgs.contains(
        &r#"spec.size: Invalid value: "number": spec.size in body must be of type integer: "number""#
            .to_string()
    ));
    assert!(msgs.contains(
        &r#"<nil>: Invalid value: "": Checked value must be of type integer (default format) in spec.size"#
            .to_string()
    ));
}

#[test]
fn required_field() {
    let c = one(json!({}));
    assert_eq!(c.reason, "FieldValueRequired");
    assert_eq!(summary(&c), "spec.name: Required value");
}

#[test]
fn required_at_root() {
    let s =
        json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}});
    let errs = validate(&s, &json!({"kind": "W"}));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].summary(), "spec: Required value");
}

#[test]
fn enum_values() {
    let c = one(json!({"name": "abc", "mode": "x"}));
    assert_eq!(c.reason, "FieldValueNotSupported");
    assert_eq!(
        summary(&c),
        r#"spec.mode: Unsupported value: "x": supported values: "a", "b""#
    );
    let c = one(json!({"name": "abc", "level": 3}));
    assert_eq!(
        summary(&c),
        r#"spec.level: Unsupported value: 3: supported values: "1", "2""#
    );
}

#[test]
fn numeric_bounds() {
    let c = one(json!({"name": "abc", "size": 0}));
    assert_eq!(c.reason, "FieldValueInvalid");
    assert_eq!(
        summary(&c),
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
    );
    let c = one(json!({"name": "abc", "size": 11}));
    assert_eq!(
        summary(&c),
        "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"
    );
    let c = one(json!({"name": "abc", "ratio": 0.5}));
    assert_eq!(
        summary(&c),
        "spec.ratio: Invalid value: 0.5: spec.ratio in body should be greater than 0.5"
    );
    let c = one(json!({"name": "abc", "ratio": 0.8}));
    assert_eq!(
        summary(&c),
        "spec.ratio: Invalid value: 0.8: spec.ratio in body should be a multiple of 0.25"
    );
    let c = one(json!({"name": "abc", "count": 4}));
    assert_eq!(
        summary(&c),
        "spec.count: Invalid value: 4: spec.count in body should be a multiple of 3"
    );
}

#[test]
fn int32_range() {
    let c = one(json!({"name": "abc", "count": 3_000_000_000i64}));
    assert_eq!(
        summary(&c),
        r#"<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.count"#
    );
}

#[test]
fn string_lengths_and_pattern() {
    let c = one(json!({"name": "abcdef"}));
    assert_eq!(c.reason, "FieldValueTooLong");
    assert_eq!(
        summary(&c),
        "spec.name: Too long: may not be more than 5 bytes"
    );
    let c = one(json!({"name": "a"}));
    assert_eq!(
        summary(&c),
        r#"spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long"#
    );
    let c = one(json!({"name": "bcd"}));
    assert_eq!(
        summary(&c),
        r#"spec.name: Invalid value: "bcd": spec.name in body should match '^a'"#
    );
    // Lengths count characters, not bytes.
    assert!(validate(&schema(), &obj(json!({"name": "aéééé"}))).is_empty());
}

#[test]
fn formats() {
    let c = one(json!({"name": "abc", "when": "yesterday"}));
    assert_eq!(c.reason, "FieldValueTypeInvalid");
    assert_eq!(
        summary(&c),
        r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#
    );
}

#[test]
fn nullable_and_null() {
    assert!(validate(&schema(), &obj(json!({"name": "abc", "opt": null}))).is_empty());
    let c = one(json!({"name": "abc", "size": null}));
    assert_eq!(
        summary(&c),
        r#"spec.size: Invalid value: "null": spec.size in body must be of type integer: "null""#
    );
}

#[test]
fn int_or_string() {
    assert!(validate(&schema(), &obj(json!({"name": "abc", "port": 80}))).is_empty());
    let c = one(json!({"name": "abc", "port": true}));
    assert_eq!(
        summary(&c),
        r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#
    );
}

#[test]
fn array_bounds_and_items() {
    let c = one(json!({"name": "abc", "list": []}));
    assert_eq!(
        summary(&c),
        "spec.list: Invalid value: 0: spec.list in body should have at least 1 items"
    );
    let c = one(json!({"name": "abc", "list": ["a", "b", "c"]}));
    assert_eq!(c.reason, "FieldValueTooMany");
    assert_eq!(
        summary(&c),
        "spec.list: Too many: 3: must have at most 2 items"
    );
    let c = one(json!({"name": "abc", "list": [1]}));
    assert_eq!(c.field, "spec.list[0]");
    assert_eq!(
        c.message,
        r#"Invalid value: "integer": spec.list[0] in body must be of type string: "integer""#
    );
    let c = one(json!({"name": "abc", "uniq": [1, 1]}));
    assert_eq!(
        summary(&c),
        r#"spec.uniq: Invalid value: "": spec.uniq in body shouldn't contain duplicates"#
    );
}

#[test]
fn objects() {
    let c = one(json!({"name": "abc", "labels": {"a": "1", "b": "2"}}));
    assert_eq!(
        summary(&c),
        "spec.labels: Too many: 2: must have at most 1 item"
    );
    let c = one(json!({"name": "abc", "labels": {"a": 1}}));
    assert_eq!(
        summary(&c),
        r#"spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer""#
    );
    let c = one(json!({"name": "abc", "closed": {"x": 1}}));
    assert_eq!(
        summary(&c),
        r#"spec.closed: Invalid value: "x": spec.closed.x in body is a forbidden property"#
    );
}

#[test]
fn combinators() {
    let errs = validate(
        &schema(),
        &obj(json!({"name": "abc", "choice": {"a": "1", "b": "2"}})),
    );
    assert_eq!(
        errs.iter().map(Cause::summary).collect::<Vec<_>>(),
        vec![
            r#"<nil>: Invalid value: "": "spec.choice" must validate one and only one schema (oneOf). Found 2 valid alternatives"#
        ]
    );
    let errs = validate(&schema(), &obj(json!({"name": "abc", "choice": {}})));
    let msgs: Vec<String> = errs.iter().map(Cause::summary).collect();
    assert_eq!(
        msgs[0],
        r#"<nil>: Invalid value: "": "spec.choice" must validate one and only one schema (oneOf). Found none valid"#
    );
    assert_eq!(msgs[1], "spec.choice.a: Required value");
    let errs = validate(&schema(), &obj(json!({"name": "abc", "either": {}})));
    let msgs: Vec<String> = errs.iter().map(Cause::summary).collect();
    assert_eq!(
        msgs[0],
        r#"<nil>: Invalid value: "": "spec.either" must validate at least one schema (anyOf)"#
    );
    let c = one(json!({"name": "abc", "nota": "bad"}));
    assert_eq!(
        summary(&c),
        r#"<nil>: Invalid value: "": "spec.nota" must not validate the schema (not)"#
    );
}

#[test]
fn all_of_reports_every_failure() {
    let s = json!({"type": "object", "properties": {"n": {"type": "integer",
        "allOf": [{"minimum": 5}, {"maximum": 3}]}}});
    let errs = validate(&s, &json!({"n": 4}));
    let msgs: Vec<String> = errs.iter().map(Cause::summary).collect();
    assert_eq!(
        msgs,
        vec![
            "n: Invalid value: 4: n in body should be greater than or equal to 5",
            "n: Invalid value: 4: n in body should be less than or equal to 3",
            r#"<nil>: Invalid value: "": "n" must validate all the schemas (allOf). None validated"#,
        ]
    );
}

#[test]
fn list_set_duplicates_are_part_of_validate() {
    let c = one(json!({"name": "abc", "tags": ["x", "x"]}));
    assert_eq!(c.reason, "FieldValueDuplicate");
    assert_eq!(summary(&c), r#"spec.tags[1]: Duplicate value: "x""#);
}

#[test]
fn status_root_path() {
    let status_schema = json!({"type": "object", "properties": {"ready": {"type": "boolean"}}});
    let errs = validate_schema(&status_schema, &json!({"ready": "yes"}), Some("status"));
    assert_eq!(
        errs[0].summary(),
        r#"status.ready: Invalid value: "string": ready in body must be of type boolean: "string""#
    );
    let errs = validate_schema(&status_schema, &json!("x"), Some("status"));
    assert_eq!(errs[0].field, "status");
}

#[test]
fn errors_at_the_root_use_nil_path() {
    let s = json!({"type": "object"});
    let errs = validate(&s, &json!([1]));
    assert_eq!(
        errs[0].summary(),
        r#"<nil>: Invalid value: "array":  in body must be of type object: "array""#
    );
}
