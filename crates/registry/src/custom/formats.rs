//! String `format`s that custom-resource schemas validate, as upstream's
//! apiextensions-apiserver supports them (kube-openapi's `strfmt` registry,
//! restricted to the formats CRDs may use; any other format is ignored).
//!
//! Format names are normalised the way go-openapi does (dashes removed), so
//! `date-time` and `datetime` are the same format.

use regex::Regex;
use std::sync::LazyLock;

/// Normalised names of the string formats CRD schemas validate.
const SUPPORTED: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "k8sshortname",
    "k8slongname",
];

/// go-openapi's format-name normalisation.
pub fn normalize(format: &str) -> String {
    format.replace('-', "")
}

/// The format upstream keeps after stripping unsupported ones for a node whose
/// single type is `ty` (`""` when the node has no single type). Returns `""`
/// when the format is ignored.
pub fn effective_format<'a>(ty: &str, format: &'a str) -> &'a str {
    if format.is_empty() {
        return format;
    }
    let keep = match ty {
        "" | "string" => SUPPORTED.contains(&normalize(format).as_str()),
        "integer" => format == "int32" || format == "int64",
        "number" => format == "float" || format == "double",
        _ => false,
    };
    if keep { format } else { "" }
}

/// Whether the strfmt registry knows (and so validates) this string format.
pub fn is_string_format(format: &str) -> bool {
    SUPPORTED.contains(&normalize(format).as_str())
}

fn rx(p: &str) -> Regex {
    // Patterns are constants in this file; a failure is a programming error
    // caught by the tests, never user input.
    Regex::new(p).unwrap_or_else(|e| panic!("format regex {p}: {e}"))
}

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    )
});
static UUID: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"));
static UUID3: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static TIME_PART: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| rx(r"^(\d{4})-(\d{2})-(\d{2})$"));
static MAC: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^([0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){7}|[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){19}|[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){2}|[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){3}|[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){9})$",
    )
});
static HEXCOLOR: LazyLock<Regex> = LazyLock::new(|| rx(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGBCOLOR: LazyLock<Regex> = LazyLock::new(|| {
    let c = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*";
    rx(&format!(r"^rgb\({c},{c},{c}\)$"))
});
static SSN: LazyLock<Regex> = LazyLock::new(|| rx(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$"));
static CREDITCARD: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$",
    )
});
static GO_DURATION: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$"));
static HUMAN_DURATION: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^\d+\s*(ns|nanoseconds?|us|µs|microseconds?|ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?|w|wk|weeks?)$",
    )
});
static URI_SCHEME: LazyLock<Regex> = LazyLock::new(|| rx(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:"));
static SHORT_NAME: LazyLock<Regex> = LazyLock::new(|| rx(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static LONG_NAME: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));

fn is_date(s: &str) -> bool {
    let Some(c) = DATE.captures(s) else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(d)) = (c[1].parse::<i16>(), c[2].parse::<i8>(), c[3].parse::<i8>())
    else {
        return false;
    };
    jiff::civil::Date::new(y, m, d).is_ok()
}

/// strfmt's `IsDateTime`: a valid date, `t`, then a time with zone.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(c) = TIME_PART.captures(parts[1]) else {
        return false;
    };
    &c[1] <= "23" && &c[2] <= "59" && &c[3] <= "59"
}

fn is_hostname(s: &str) -> bool {
    HOSTNAME.is_match(s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

fn is_email(s: &str) -> bool {
    // Approximates net/mail.ParseAddress: `local@domain`, optionally inside
    // `Name <…>`.
    let addr = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(_)) => &s[i + 1..s.len() - 1],
        _ => s.trim(),
    };
    match addr.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !addr.contains(char::is_whitespace)
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

fn is_uri(s: &str) -> bool {
    // url.ParseRequestURI: an absolute URI or an absolute path.
    !s.is_empty()
        && !s.contains(|c: char| c.is_whitespace() || c.is_control())
        && (s.starts_with('/') || URI_SCHEME.is_match(s))
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

fn isbn10(s: &str) -> bool {
    let s: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if s.len() != 10 {
        return false;
    }
    let mut sum = 0;
    for (i, c) in s.chars().enumerate() {
        let v = match (i, c) {
            (9, 'X') => 10,
            (_, c) => match c.to_digit(10) {
                Some(d) => d,
                None => return false,
            },
        };
        sum += (i as u32 + 1) * v;
    }
    sum % 11 == 0
}

fn isbn13(s: &str) -> bool {
    let s: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if s.len() != 13 || !s.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = s
        .chars()
        .take(12)
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    let check = (10 - sum % 10) % 10;
    s.chars().nth(12).and_then(|c| c.to_digit(10)) == Some(check)
}

/// Whether `s` is a valid value of string format `format` (any name, before
/// normalisation). Unknown formats are valid.
pub fn valid(format: &str, s: &str) -> bool {
    use base64::Engine;
    match normalize(format).as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "uuid" => UUID.is_match(s),
        "uuid3" => UUID3.is_match(s),
        "uuid4" => UUID4.is_match(s),
        "uuid5" => UUID5.is_match(s),
        "hostname" => is_hostname(s),
        "email" => is_email(s),
        "uri" => is_uri(s),
        "ipv4" => s.parse::<std::net::IpAddr>().is_ok() && s.contains('.'),
        "ipv6" => s.parse::<std::net::IpAddr>().is_ok() && s.contains(':'),
        "cidr" => is_cidr(s),
        "mac" => MAC.is_match(s),
        "hexcolor" => HEXCOLOR.is_match(s),
        "rgbcolor" => RGBCOLOR.is_match(s),
        "ssn" => SSN.is_match(s),
        "bsonobjectid" => s.len() == 24 && s.chars().all(|c| c.is_ascii_hexdigit()),
        "byte" => base64::engine::general_purpose::STANDARD.decode(s).is_ok(),
        "duration" => s == "0" || GO_DURATION.is_match(s) || HUMAN_DURATION.is_match(s),
        "creditcard" => {
            let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
            CREDITCARD.is_match(&digits) && luhn(&digits)
        }
        "isbn10" => isbn10(s),
        "isbn13" => isbn13(s),
        "isbn" => isbn10(s) || isbn13(s),
        "k8sshortname" => s.len() <= 63 && SHORT_NAME.is_match(s),
        "k8slongname" => s.len() <= 253 && LONG_NAME.is_match(s),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_follows_the_type() {
        assert_eq!(effective_format("string", "date-time"), "date-time");
        assert_eq!(effective_format("string", "int32"), "");
        assert_eq!(effective_format("integer", "int32"), "int32");
        assert_eq!(effective_format("integer", "date-time"), "");
        assert_eq!(effective_format("number", "double"), "double");
        assert_eq!(effective_format("boolean", "byte"), "");
        assert_eq!(effective_format("", "uuid"), "uuid");
    }

    #[test]
    fn date_time_and_date() {
        assert!(valid("date-time", "2024-01-02T03:04:05Z"));
        assert!(valid("date-time", "2024-01-02t03:04:05.123+02:00"));
        assert!(!valid("date-time", "2024-01-02"));
        assert!(!valid("date-time", "2024-02-30T00:00:00Z"));
        assert!(!valid("date-time", "2024-01-02T24:00:00Z"));
        assert!(valid("date", "2024-02-29"));
        assert!(!valid("date", "2023-02-29"));
    }

    #[test]
    fn network_formats() {
        assert!(valid("ipv4", "10.0.0.1"));
        assert!(!valid("ipv4", "::1"));
        assert!(valid("ipv6", "fe80::1"));
        assert!(!valid("ipv6", "10.0.0.1"));
        assert!(valid("cidr", "10.0.0.0/8"));
        assert!(!valid("cidr", "10.0.0.0/33"));
        assert!(valid("mac", "00:1a:2b:3c:4d:5e"));
        assert!(!valid("mac", "00:1a:2b"));
        assert!(valid("hostname", "example.com"));
        assert!(!valid("hostname", "-bad-"));
        assert!(valid("uri", "https://example.com/x"));
        assert!(!valid("uri", "not a uri"));
        assert!(valid("email", "a@example.com"));
        assert!(!valid("email", "nope"));
    }

    #[test]
    fn misc_formats() {
        assert!(valid("uuid", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(!valid("uuid", "xyz"));
        assert!(valid("byte", "aGVsbG8="));
        assert!(!valid("byte", "!!"));
        assert!(valid("duration", "1h30m"));
        assert!(valid("duration", "3 days"));
        assert!(!valid("duration", "soon"));
        assert!(valid("k8s-short-name", "my-name"));
        assert!(!valid("k8s-short-name", "My-Name"));
        assert!(valid("k8s-long-name", "a.b-c.d"));
        assert!(valid("creditcard", "4111 1111 1111 1111"));
        assert!(!valid("creditcard", "4111 1111 1111 1112"));
        assert!(valid("isbn10", "0321751043"));
        assert!(valid("isbn13", "978-0321751041"));
        assert!(valid("hexcolor", "#fff"));
        assert!(valid("rgbcolor", "rgb(255, 0, 10)"));
        assert!(valid("password", "anything"));
        assert!(valid("unknown-format", "anything"));
    }
}
