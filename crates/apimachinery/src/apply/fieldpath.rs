//! Field paths as server-side apply tracks them: path elements, their
//! `FieldsV1` keys (`f:`, `k:`, `v:`, `i:`), upstream's order over them and
//! the way conflicts print them. Sets of paths are [`FieldSet`]s.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;

pub use super::fieldset::FieldSet;

/// One step of a path into an object.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A field of a map or struct: `f:<name>`.
    Field(String),
    /// An element of a list keyed by fields (sorted by name): `k:{...}`.
    Key(Vec<(String, Value)>),
    /// An element of a set of scalars: `v:<json>`.
    Value(Value),
    /// An element of a list by index: `i:<n>` (rare).
    Index(i64),
}

impl PathElement {
    pub fn field(name: &str) -> Self {
        PathElement::Field(name.to_string())
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key for this element.
    pub fn serialize(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(k) => {
                let m: Map<String, Value> = k.iter().cloned().collect();
                format!("k:{}", go_json(&Value::Object(m)))
            }
            PathElement::Value(v) => format!("v:{}", go_json(v)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key. `Ok(None)` for an unknown element type,
    /// which upstream drops silently so newer forms stay readable.
    pub fn parse(s: &str) -> Result<Option<Self>, String> {
        let (kind, rest) = match (s.get(..1), s.get(1..2), s.get(2..)) {
            (Some(k), Some(":"), Some(rest)) => (k, rest),
            _ => return Err(format!("invalid path element {s:?}")),
        };
        Ok(Some(match kind {
            "f" => PathElement::Field(rest.to_string()),
            "v" => PathElement::Value(
                serde_json::from_str(rest).map_err(|e| format!("invalid value in {s:?}: {e}"))?,
            ),
            "k" => {
                let v: Value =
                    serde_json::from_str(rest).map_err(|e| format!("invalid key in {s:?}: {e}"))?;
                let Value::Object(m) = v else {
                    return Err(format!("key is not an object: {s:?}"));
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                PathElement::Key(fields)
            }
            "i" => PathElement::Index(
                rest.parse()
                    .map_err(|e| format!("invalid index in {s:?}: {e}"))?,
            ),
            _ => return Ok(None),
        }))
    }
}

/// JSON as Go's encoder writes it (HTML-sensitive characters escaped), so
/// keys match the ones upstream servers wrote byte for byte.
fn go_json(v: &Value) -> String {
    let s = v.to_string();
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    // These characters can only occur inside JSON strings, so a plain
    // replacement is safe.
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Upstream's total order over values: floats, ints, strings, bools,
/// lists, maps, null (numbers compare numerically across int and float).
pub fn value_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(n) if n.is_f64() => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
            Value::Null => 6,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x.cmp(&y);
            }
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return x.cmp(&y);
            }
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = value_cmp(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for (p, q) in xs.iter().zip(&ys) {
                let c = p.0.cmp(q.0).then_with(|| value_cmp(p.1, q.1));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => {
                for (p, q) in a.iter().zip(b) {
                    let c = p.0.cmp(&q.0).then_with(|| value_cmp(&p.1, &q.1));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (PathElement::Value(a), PathElement::Value(b)) => value_cmp(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}
impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for PathElement {}

/// A value as upstream prints it inside a path (`"x"`, `80`, `true`).
fn value_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(value_string).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", value_string(v)))
            .collect(),
        other => other.to_string(),
    }
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(n) => write!(f, ".{n}"),
            PathElement::Key(k) => {
                let parts: Vec<String> = k
                    .iter()
                    .map(|(n, v)| format!("{n}={}", value_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path printed as upstream does in conflicts: `.spec.containers[name="x"].image`.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::field(n)
    }

    #[test]
    fn key_fields_sorted_and_go_escaped() {
        let pe = PathElement::parse(r#"k:{"protocol":"TCP","containerPort":80}"#)
            .unwrap()
            .unwrap();
        assert_eq!(pe.serialize(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(pe.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        let v = PathElement::Value(json!("a<b"));
        assert_eq!(v.serialize(), r#"v:"a\u003cb""#);
        assert!(PathElement::parse("x:foo").unwrap().is_none());
        assert!(PathElement::parse("f").is_err());
    }

    #[test]
    fn element_order_fields_before_keys_before_values() {
        let mut v = [
            PathElement::Index(0),
            PathElement::Value(json!(1)),
            PathElement::Key(vec![]),
            f("b"),
            f("a"),
        ];
        v.sort();
        assert_eq!(path_string(&v), ".a.b[][=1][0]");
    }
}
