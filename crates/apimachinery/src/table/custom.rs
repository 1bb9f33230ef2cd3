//! Tables for custom resources, from the `additionalPrinterColumns` of the
//! served CRD version. A CRD version without printer columns prints Name
//! and Age, as upstream does.

use jiff::Timestamp;
use serde_json::Value;

use super::jsonpath::JsonPath;
use super::util::{get, name, parse_time, s};
use super::{ColumnDefinition, IncludeObject, assemble_table, docs, name_column, row_object};

/// The columns of one CRD version, ready to print objects.
#[derive(Clone, Debug)]
pub struct CustomColumns {
    definitions: Vec<ColumnDefinition>,
    /// One per column after Name; `None` for a path that does not parse
    /// (its cells are empty).
    paths: Vec<Option<JsonPath>>,
}

/// Columns from a CRD version's `additionalPrinterColumns` (an array; any
/// other value, or an empty array, means the default Age column).
pub fn custom_columns(additional_printer_columns: &Value) -> CustomColumns {
    let columns = additional_printer_columns
        .as_array()
        .filter(|a| !a.is_empty())
        .cloned()
        .unwrap_or_else(|| {
            vec![serde_json::json!({
                "name": "Age",
                "type": "date",
                "description": docs::meta_created(),
                "jsonPath": ".metadata.creationTimestamp",
            })]
        });
    let mut definitions = vec![name_column()];
    let mut paths = Vec::new();
    for c in &columns {
        definitions.push(ColumnDefinition {
            name: s(c, &["name"]).into(),
            type_: s(c, &["type"]).into(),
            format: s(c, &["format"]).into(),
            description: s(c, &["description"]).into(),
            priority: get(c, &["priority"])
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(0),
        });
        paths.push(JsonPath::parse(s(c, &["jsonPath"])).ok());
    }
    CustomColumns { definitions, paths }
}

impl CustomColumns {
    pub fn definitions(&self) -> &[ColumnDefinition] {
        &self.definitions
    }

    /// One row's cells: the name, then each column's first match, typed as
    /// the column says (`null` when the path finds nothing).
    pub fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let mut cells = vec![name(obj)];
        for (def, path) in self.definitions.iter().skip(1).zip(&self.paths) {
            let found = path.as_ref().and_then(|p| p.find(obj).into_iter().next());
            cells.push(found.map_or(Value::Null, |v| cell(&def.type_, v, now)));
        }
        cells
    }

    /// The Table for custom resources of this CRD version.
    pub fn build_table(
        &self,
        objs: &[Value],
        include_object: IncludeObject,
        now: Timestamp,
        list_metadata: Value,
    ) -> Value {
        let rows = objs
            .iter()
            .map(|o| (self.cells(o, now), None, row_object(o, include_object)))
            .collect();
        assemble_table(&self.definitions, rows, list_metadata)
    }
}

/// A value typed for its column (`cellForJSONValue`); a string column
/// prints any value as kubectl's JSONPath printer does.
fn cell(type_: &str, v: &Value, now: Timestamp) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match type_ {
        "string" => Value::String(go_print(v)),
        "integer" => match v {
            Value::Number(n) => n
                .as_i64()
                // Go converts a float64 to int64 by truncation.
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map_or(Value::Null, Value::from),
            _ => Value::Null,
        },
        "number" => v.as_f64().map_or(Value::Null, Value::from),
        "boolean" => v.as_bool().map_or(Value::Null, Value::Bool),
        "date" => match v.as_str() {
            Some(t) => Value::String(match parse_time(t) {
                Some(t) => super::human_since(t, now),
                None => "<invalid>".into(),
            }),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Go's `fmt.Print` of a decoded JSON value: maps as `map[k:v]` with
/// sorted keys, slices as `[a b]`.
fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_print).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_print(&m[k])))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().expect("ts")
    }

    #[test]
    fn default_is_name_and_age() {
        let cols = custom_columns(&json!([]));
        let names: Vec<_> = cols.definitions().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Name", "Age"]);
        assert_eq!(cols.definitions()[1].type_, "date");
        let obj = json!({"metadata": {"name": "x", "creationTimestamp": "2024-05-01T11:00:00Z"}});
        assert_eq!(cols.cells(&obj, now()), [json!("x"), json!("60m")]);
    }

    #[test]
    fn typed_printer_columns() {
        let apc = json!([
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "priority": 1},
            {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
            {"name": "Paused", "type": "boolean", "jsonPath": ".spec.paused"},
            {"name": "Labels", "type": "string", "jsonPath": ".metadata.labels"},
            {"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"},
            {"name": "Started", "type": "date", "jsonPath": ".status.started"}
        ]);
        let cols = custom_columns(&apc);
        assert_eq!(cols.definitions().len(), 8);
        assert_eq!(cols.definitions()[2].priority, 1);
        let obj = json!({
            "metadata": {"name": "db", "labels": {"b": "2", "a": "1"}},
            "spec": {"replicas": 3.0, "ratio": 2, "paused": false},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "started": "not-a-date"}
        });
        assert_eq!(
            cols.cells(&obj, now()),
            [
                json!("db"),
                json!(3),
                json!("True"),
                json!(2.0),
                json!(false),
                json!("map[a:1 b:2]"),
                Value::Null,
                json!("<invalid>")
            ]
        );
    }

    #[test]
    fn builds_a_table() {
        let cols = custom_columns(&Value::Null);
        let objs = [json!({"metadata": {"name": "a", "resourceVersion": "5"}})];
        let t = cols.build_table(
            &objs,
            IncludeObject::None,
            now(),
            json!({"resourceVersion": "9"}),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["metadata"]["resourceVersion"], "9");
        // No creationTimestamp: the path finds nothing, the cell is null.
        assert_eq!(t["rows"][0]["cells"], json!(["a", null]));
        assert!(t["rows"][0].get("object").is_none());
    }
}
