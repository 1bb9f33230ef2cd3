//! Name and identifier validators (`IsDNS1123Label`, `IsQualifiedName`,
//! `IsValidLabelValue`, `IsCIdentifier`, `IsConfigMapKey`, ports, …), as
//! upstream's `k8s.io/apimachinery/pkg/util/validation`. Each returns
//! upstream's messages; callers wrap them into `Invalid` causes.

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const C_IDENTIFIER_FMT: &str = "[A-Za-z_][A-Za-z0-9_]*";
const C_IDENTIFIER_MSG: &str = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/// Upstream's `RegexError`: the message, examples and the regex.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let ex = examples
        .iter()
        .map(|e| format!("'{e}', "))
        .collect::<Vec<_>>()
        .join(" or ");
    format!("{msg} (e.g. {ex}regex used for validation is '{fmt}')")
}

/// `must be no more than N characters`.
pub fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_lower_alnum(b[0])
        && is_lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

/// `IsDNS1123Label`: at most 63 characters of `[a-z0-9-]`, alphanumeric ends.
pub fn is_dns1123_label(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !matches_dns1123_label(s) {
        errs.push(regex_error(
            DNS1123_LABEL_MSG,
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    errs
}

/// `IsDNS1123Subdomain`: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !s.split('.').all(matches_dns1123_label) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1035Label`: like a DNS-1123 label but starting with a letter.
pub fn is_dns1035_label(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !matches_dns1123_label(s) || !s.as_bytes()[0].is_ascii_lowercase() {
        errs.push(regex_error(
            DNS1035_LABEL_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

fn matches_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
}

/// `IsQualifiedName`: `[prefix/]name` as used by label and annotation keys.
pub fn is_qualified_name(s: &str) -> Vec<String> {
    let mut errs = vec![];
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for m in is_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !matches_qualified_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `IsValidLabelValue`: empty, or a qualified-name part of at most 63 chars.
pub fn is_valid_label_value(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !s.is_empty() && !matches_qualified_part(s) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `IsCIdentifier`.
pub fn is_c_identifier(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_');
    if ok {
        vec![]
    } else {
        vec![regex_error(
            C_IDENTIFIER_MSG,
            C_IDENTIFIER_FMT,
            &["my_name", "MY_NAME", "MyName"],
        )]
    }
}

/// Environment variable names: since RelaxedEnvironmentVariableValidation
/// went GA, any printable ASCII except `=`.
pub fn is_env_var_name(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.is_empty() {
        errs.push("environment variable name must be non-empty".to_string());
    }
    if s.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        errs.push(
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .to_string(),
        );
    }
    errs
}

/// `IsConfigMapKey`: keys of ConfigMap/Secret data.
pub fn is_config_map_key(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.len() > 253 {
        errs.push(max_len_error(253));
    }
    let ok = !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
    if !ok {
        errs.push(regex_error(
            CONFIG_KEY_MSG,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if s == "." {
        errs.push("must not be '.'".into());
    } else if s == ".." {
        errs.push("must not be '..'".into());
    } else if s.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}

/// `ValidatePathSegmentName` (RBAC objects and other loosely named types).
pub fn is_path_segment_name(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s == "." || s == ".." {
        errs.push(format!("may not be '{s}'"));
    }
    if s.contains('/') {
        errs.push("may not contain '/'".into());
    }
    if s.contains('%') {
        errs.push("may not contain '%'".into());
    }
    errs
}

/// `IsValidPortNum`.
pub fn is_valid_port_num(p: i64) -> Vec<String> {
    if (1..=65535).contains(&p) {
        vec![]
    } else {
        vec!["must be between 1 and 65535, inclusive".into()]
    }
}

/// `IsValidPortName` (IANA_SVC_NAME).
pub fn is_valid_port_name(p: &str) -> Vec<String> {
    let mut errs = vec![];
    if p.len() > 15 {
        errs.push(max_len_error(15));
    }
    if p.is_empty()
        || !p
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !p.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if p.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if p.starts_with('-') || p.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_message_matches_upstream() {
        assert!(is_dns1123_subdomain("example.com").is_empty());
        let e = is_dns1123_subdomain("Bad_Name");
        assert_eq!(
            e[0],
            r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        assert_eq!(is_dns1123_subdomain(&"a".repeat(254)).len(), 1);
    }

    #[test]
    fn labels_and_1035() {
        assert!(is_dns1123_label("123-abc").is_empty());
        assert!(is_dns1123_label("a.b").len() == 1);
        assert!(is_dns1123_label("a.b")[0].contains("(e.g. 'my-name',  or '123-abc', regex"));
        assert!(is_dns1035_label("abc-1").is_empty());
        assert_eq!(is_dns1035_label("1abc").len(), 1);
        assert_eq!(is_dns1035_label(&"a".repeat(64)), vec![max_len_error(63)]);
    }

    #[test]
    fn qualified_names() {
        assert!(is_qualified_name("app.kubernetes.io/name").is_empty());
        assert!(is_qualified_name("MyName").is_empty());
        assert!(is_qualified_name("/x")[0].starts_with("prefix part must be non-empty"));
        assert!(is_qualified_name("a/b/c")[0].starts_with("a qualified name must consist"));
        let e = is_qualified_name("x/");
        assert_eq!(e[0], "name part must be non-empty");
        assert!(is_qualified_name("Bad_/x")[0].starts_with("prefix part a lowercase RFC 1123"));
    }

    #[test]
    fn label_values_env_and_keys() {
        assert!(is_valid_label_value("").is_empty());
        assert!(is_valid_label_value("v1.2_x").is_empty());
        assert_eq!(is_valid_label_value("-x").len(), 1);
        assert!(is_env_var_name("1FOO-bar.x").is_empty());
        assert_eq!(is_env_var_name("A=B").len(), 1);
        assert!(is_config_map_key("a.b-c_D").is_empty());
        assert_eq!(is_config_map_key("a b").len(), 1);
        assert_eq!(
            is_config_map_key(".."),
            vec!["must not be '..'".to_string()]
        );
        assert!(is_c_identifier("_a1").is_empty());
        assert_eq!(is_c_identifier("1a").len(), 1);
    }

    #[test]
    fn ports_and_segments() {
        assert!(is_valid_port_num(80).is_empty());
        assert_eq!(is_valid_port_num(0).len(), 1);
        assert!(is_valid_port_name("http").is_empty());
        assert_eq!(
            is_valid_port_name("-a--b"),
            vec![
                "must not contain consecutive hyphens".to_string(),
                "must not begin or end with a hyphen".to_string()
            ]
        );
        assert_eq!(
            is_valid_port_name("8080")[0],
            "must contain at least one letter (a-z)"
        );
        assert!(is_path_segment_name("system:admin").is_empty());
        assert_eq!(
            is_path_segment_name("a/b"),
            vec!["may not contain '/'".to_string()]
        );
    }
}
