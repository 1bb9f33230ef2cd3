//! Object-name rules per resource, over the generic validators in
//! `apimachinery::validation`.

pub use apimachinery::validation::*;

use crate::strategy::NameRule;

/// Validate an object name under `rule`. With `prefix` (a generateName),
/// a trailing dash is allowed, as upstream's `maskTrailingDash`.
pub fn validate_name(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    let masked;
    let name = if prefix && name.len() > 1 && name.ends_with('-') {
        masked = format!("{}a", &name[..name.len() - 1]);
        masked.as_str()
    } else {
        name
    };
    match rule {
        NameRule::Subdomain => is_dns1123_subdomain(name),
        NameRule::Label => is_dns1123_label(name),
        NameRule::Dns1035Label => is_dns1035_label(name),
        NameRule::PathSegment => is_path_segment_name(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_name_prefix_may_end_with_a_dash() {
        assert!(validate_name(NameRule::Subdomain, "web-", true).is_empty());
        assert_eq!(validate_name(NameRule::Subdomain, "web-", false).len(), 1);
    }
}
