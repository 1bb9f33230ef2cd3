//! Label key and value syntax (from `crate::validation`), plus a small
//! field-error type that renders like upstream's `field.Error` so selector
//! parse errors read the same as the real API server's.

use serde_json::Value;

pub use crate::validation::{
    is_dns1123_subdomain, is_qualified_name as is_label_key, is_valid_label_value as is_label_value,
};

/// One field error, rendered as upstream's `field.Error`:
/// `<path>: Invalid value: "<v>": <detail>`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldErr {
    pub path: String,
    pub bad: Value,
    pub detail: String,
}

impl FieldErr {
    pub fn invalid(path: impl Into<String>, bad: Value, detail: impl Into<String>) -> Self {
        FieldErr {
            path: path.into(),
            bad,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for FieldErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Strings print Go-quoted, other values as JSON, as upstream does.
        let v = match &self.bad {
            Value::String(s) => go_quote(s),
            other => other.to_string(),
        };
        write!(f, "{}: Invalid value: {v}", self.path)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Go's `%q` for the printable strings selectors deal in.
pub(crate) fn go_quote(s: &str) -> String {
    // JSON string escaping coincides with Go's %q for printable input.
    Value::String(s.to_string()).to_string()
}

/// Upstream's aggregate error text: one error alone, else `[a, b]` with
/// duplicates dropped.
pub(crate) fn aggregate(errs: &[FieldErr]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        let m = e.to_string();
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    if seen.len() == 1 {
        seen.remove(0)
    } else {
        format!("[{}]", seen.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("app")]
    #[case("app.kubernetes.io/name")]
    #[case("a")]
    #[case("A-b_c.d9")]
    #[case("example.com/X")]
    fn valid_keys(#[case] k: &str) {
        assert!(is_label_key(k).is_empty(), "{k}: {:?}", is_label_key(k));
    }

    #[rstest]
    #[case("", 2)]
    #[case("-a", 1)]
    #[case("a-", 1)]
    #[case("a/b/c", 1)]
    #[case("/a", 1)]
    #[case("Example.com/a", 1)]
    #[case("example.com/", 2)]
    #[case(&"a".repeat(64), 1)]
    fn invalid_keys(#[case] k: &str, #[case] n: usize) {
        assert_eq!(is_label_key(k).len(), n, "{k}: {:?}", is_label_key(k));
    }

    #[test]
    fn key_messages_match_upstream() {
        assert_eq!(
            is_label_key("-a"),
            vec![
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ]
        );
        assert_eq!(is_label_key("/a"), vec!["prefix part must be non-empty"]);
        assert_eq!(
            is_label_key(&"a".repeat(64))[0],
            "name part must be no more than 63 characters"
        );
    }

    #[rstest]
    #[case("", true)]
    #[case("v1", true)]
    #[case("a.b-c_d", true)]
    #[case("-a", false)]
    #[case("a b", false)]
    #[case("é", false)]
    fn values(#[case] v: &str, #[case] ok: bool) {
        assert_eq!(is_label_value(v).is_empty(), ok);
    }

    #[test]
    fn long_value() {
        assert_eq!(
            is_label_value(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
        assert!(is_label_value(&"a".repeat(63)).is_empty());
    }

    #[test]
    fn field_err_renders_like_upstream() {
        let e = FieldErr::invalid("values[0][a]", Value::String("-b".into()), "bad");
        assert_eq!(e.to_string(), "values[0][a]: Invalid value: \"-b\": bad");
        let one = aggregate(&[e.clone(), e.clone()]);
        assert_eq!(one, e.to_string());
        let two = aggregate(&[e.clone(), FieldErr::invalid("x", Value::Null, "")]);
        assert_eq!(two, format!("[{e}, x: Invalid value: null]"));
    }
}
