//! Label key and value syntax (qualified names, DNS-1123 subdomains), with
//! the exact messages upstream's validation prints, plus a small field-error
//! type that renders like upstream's `field.Error` so selector parse errors
//! read the same as the real API server's.

use serde_json::Value;

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// Longest label value and label-key name part.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// Longest DNS-1123 subdomain (and label-key prefix).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} bytes")
}

/// Upstream's regex error text: message, examples, then the regex.
fn regex_error(msg: &str, re: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push_str(&format!("'{e}', "));
    }
    s.push_str(&format!("regex used for validation is '{re}')"));
    s
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`: non-empty, alphanumeric at
/// both ends, `-_.` allowed inside.
fn is_label_token(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns1123_label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            (f.is_ascii_lowercase() || f.is_ascii_digit())
                && (l.is_ascii_lowercase() || l.is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        }
        _ => false,
    }
}

/// Messages for a value that is not a lowercase RFC 1123 subdomain; empty if valid.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !value.split('.').all(is_dns1123_label_shape) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Messages for an invalid label key (a qualified name: optional DNS
/// subdomain prefix and `/`, then a name of at most 63 characters).
pub fn is_label_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(LABEL_VALUE_MAX_LENGTH)
        ));
    }
    if !is_label_token(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_MSG,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Messages for an invalid label value (empty, or at most 63 characters of
/// the label alphabet).
pub fn is_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !is_label_token(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

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
            "name part must be no more than 63 bytes"
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
            vec!["must be no more than 63 bytes"]
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
