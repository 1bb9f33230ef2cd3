//! The JSONPath subset CRD printer columns use (kubectl's template syntax
//! without the braces): `.spec.replicas`, `.items[0]`, `.a[*].b`,
//! `['dotted.key']`, and filters such as
//! `.status.conditions[?(@.type=="Ready")].status`.

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonPathError {
    #[error("invalid JSONPath {path:?}: {reason}")]
    Invalid { path: String, reason: String },
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    /// `[?(@.path)]` (existence) or `[?(@.path op literal)]`.
    Filter {
        path: Vec<Segment>,
        cmp: Option<(Cmp, Value)>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

impl JsonPath {
    pub fn parse(path: &str) -> Result<Self, JsonPathError> {
        let err = |reason: &str| JsonPathError::Invalid {
            path: path.into(),
            reason: reason.into(),
        };
        let trimmed = path.trim();
        let trimmed = trimmed
            .strip_prefix('{')
            .and_then(|p| p.strip_suffix('}'))
            .unwrap_or(trimmed);
        let trimmed = trimmed.strip_prefix('$').unwrap_or(trimmed);
        let segments = parse_segments(trimmed).map_err(|r| err(&r))?;
        Ok(JsonPath { segments })
    }

    /// Every value the path selects, in document order.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        eval(&self.segments, root)
    }
}

fn parse_segments(mut rest: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    while !rest.is_empty() {
        if rest.starts_with("..") {
            return Err("recursive descent is not supported".into());
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err("empty field name".into());
            }
            segments.push(if name == "*" {
                Segment::Wildcard
            } else {
                Segment::Field(name.to_string())
            });
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = matching_bracket(r).ok_or("unclosed [")?;
            let inner = r[..close].trim();
            segments.push(parse_bracket(inner)?);
            rest = &r[close + 1..];
        } else {
            // A leading bare name (`spec.replicas`).
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(Segment::Field(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    Ok(segments)
}

/// The index of the `]` closing a bracket opened just before `s`, skipping
/// quoted strings and nested brackets.
fn matching_bracket(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
}

fn parse_bracket(inner: &str) -> Result<Segment, String> {
    if inner == "*" {
        return Ok(Segment::Wildcard);
    }
    if let Some(key) = unquote(inner) {
        return Ok(Segment::Field(key.to_string()));
    }
    if let Ok(i) = inner.parse::<i64>() {
        return Ok(Segment::Index(i));
    }
    let filter = inner
        .strip_prefix("?(")
        .and_then(|f| f.strip_suffix(')'))
        .ok_or_else(|| format!("unsupported selector [{inner}]"))?;
    let (lhs, cmp) = match (filter.find("=="), filter.find("!=")) {
        (Some(i), _) => (&filter[..i], Some((Cmp::Eq, &filter[i + 2..]))),
        (None, Some(i)) => (&filter[..i], Some((Cmp::Ne, &filter[i + 2..]))),
        (None, None) => (filter, None),
    };
    let path = lhs
        .trim()
        .strip_prefix('@')
        .ok_or("a filter must start with @")?;
    let path = parse_segments(path)?;
    let cmp = match cmp {
        None => None,
        Some((op, literal)) => Some((op, parse_literal(literal.trim())?)),
    };
    Ok(Segment::Filter { path, cmp })
}

fn parse_literal(s: &str) -> Result<Value, String> {
    if let Some(text) = unquote(s) {
        return Ok(Value::String(text.to_string()));
    }
    serde_json::from_str(s).map_err(|_| format!("bad literal {s}"))
}

fn eval<'a>(segments: &[Segment], root: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![root];
    for seg in segments {
        let mut next = Vec::new();
        for v in current {
            match seg {
                Segment::Field(name) => next.extend(v.get(name.as_str())),
                Segment::Index(i) => {
                    if let Some(a) = v.as_array() {
                        let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
                        let idx = if *i < 0 { len + i } else { *i };
                        next.extend(usize::try_from(idx).ok().and_then(|idx| a.get(idx)));
                    }
                }
                Segment::Wildcard => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Segment::Filter { path, cmp } => {
                    if let Some(a) = v.as_array() {
                        next.extend(a.iter().filter(|item| {
                            let found = eval(path, item);
                            match cmp {
                                None => !found.is_empty(),
                                Some((Cmp::Eq, lit)) => {
                                    found.first().is_some_and(|f| loose_eq(f, lit))
                                }
                                Some((Cmp::Ne, lit)) => {
                                    found.first().is_some_and(|f| !loose_eq(f, lit))
                                }
                            }
                        }));
                    }
                }
            }
        }
        current = next;
    }
    current
}

/// Numbers compare by value (1 == 1.0), everything else structurally.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, v: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .expect("parse")
            .find(v)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn simple_paths_and_indexes() {
        let v = json!({"spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 443}]},
                       "metadata": {"labels": {"app.kubernetes.io/name": "web"}}});
        assert_eq!(find(".spec.replicas", &v), [json!(3)]);
        assert_eq!(find("{.spec.ports[1].port}", &v), [json!(443)]);
        assert_eq!(find(".spec.ports[-1].port", &v), [json!(443)]);
        assert_eq!(find(".spec.ports[*].port", &v), [json!(80), json!(443)]);
        assert_eq!(
            find(".metadata.labels['app.kubernetes.io/name']", &v),
            [json!("web")]
        );
        assert!(find(".spec.missing", &v).is_empty());
    }

    #[test]
    fn filters() {
        let v = json!({"status": {"conditions": [
            {"type": "Progressing", "status": "True"},
            {"type": "Ready", "status": "False"}
        ]}});
        assert_eq!(
            find(".status.conditions[?(@.type==\"Ready\")].status", &v),
            [json!("False")]
        );
        assert_eq!(
            find(".status.conditions[?(@.type != 'Ready')].type", &v),
            [json!("Progressing")]
        );
        assert_eq!(find(".status.conditions[?(@.status)].type", &v).len(), 2);
    }

    #[test]
    fn rejects_unsupported() {
        assert!(JsonPath::parse(".a..b").is_err());
        assert!(JsonPath::parse(".a[1:2]").is_err());
        assert!(JsonPath::parse(".a[").is_err());
    }
}
