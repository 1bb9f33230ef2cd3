//! JSON values as YAML text for gnostic `Any.yaml` fields: block style,
//! with every string a YAML 1.1 reader (kube-openapi uses yaml.v2) could
//! read as something else double-quoted.

use serde_json::Value;

/// A JSON value as block-style YAML text, as gnostic stores in `Any.yaml`.
/// Strings that a YAML 1.1 reader (kube-openapi uses yaml.v2) could take
/// for anything but a string are double-quoted.
pub(super) fn yaml(v: &Value) -> String {
    let mut lines = Vec::new();
    yaml_lines(v, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn yaml_lines(v: &Value, out: &mut Vec<String>) {
    let nested = |c: &Value| match c {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let key = yaml_string(k);
                if nested(c) {
                    out.push(format!("{key}:"));
                    let mut sub = Vec::new();
                    yaml_lines(c, &mut sub);
                    out.extend(sub.into_iter().map(|l| format!("  {l}")));
                } else {
                    out.push(format!("{key}: {}", yaml_scalar(c)));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for c in a {
                let mut sub = Vec::new();
                yaml_lines(c, &mut sub);
                for (i, l) in sub.into_iter().enumerate() {
                    out.push(if i == 0 {
                        format!("- {l}")
                    } else {
                        format!("  {l}")
                    });
                }
            }
        }
        _ => out.push(yaml_scalar(v)),
    }
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn yaml_string(s: &str) -> String {
    const SPECIAL: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && !SPECIAL.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Control characters, line separators YAML would fold, and
            // characters a YAML reader refuses, as escapes.
            '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_text_is_unambiguous_for_yaml_1_1() {
        assert_eq!(yaml(&json!(true)), "true\n");
        assert_eq!(yaml(&json!("true")), "\"true\"\n");
        assert_eq!(yaml(&json!("On")), "\"On\"\n");
        assert_eq!(yaml(&json!("1.0")), "\"1.0\"\n");
        assert_eq!(yaml(&json!("")), "\"\"\n");
        assert_eq!(yaml(&json!(null)), "null\n");
        assert_eq!(yaml(&json!(-2.5)), "-2.5\n");
        assert_eq!(
            yaml(&json!("a \"b\"\nc\u{2028}\u{1}")),
            "\"a \\\"b\\\"\\nc\\u2028\\u0001\"\n"
        );
        assert_eq!(
            yaml(&json!({"a": [1, {"b": "c d", "e": []}], "f": {}, "g": [[1, 2]]})),
            "a:\n  - 1\n  - b: \"c d\"\n    e: []\nf: {}\ng:\n  - - 1\n    - 2\n"
        );
    }
}
