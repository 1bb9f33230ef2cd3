//! Field selectors (`?fieldSelector=metadata.name=x,status.phase!=Running`):
//! parsing with upstream's escaping (`\,` `\=` `\\` in values), listing the
//! terms so a resource can reject fields it does not support, and matching.

use std::fmt;

use super::SelectorError;

/// `=` and `==` are the same test; `!=` its negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOperator {
    Equals,
    NotEquals,
}

impl FieldOperator {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        }
    }
}

/// One `field op value` term, the value unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOperator,
    pub value: String,
}

impl FieldRequirement {
    fn matches(&self, actual: &str) -> bool {
        match self.op {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.field,
            self.op.as_str(),
            escape_value(&self.value)
        )
    }
}

/// A conjunction of field terms; empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the query syntax. Terms are split on unescaped commas, sorted
    /// (as upstream does, so the string form is canonical), and empty terms
    /// are skipped; no whitespace is trimmed.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((field, op, rhs)) = split_term(part) else {
                return Err(SelectorError::Field(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            terms.push(FieldRequirement {
                field: field.to_string(),
                op,
                value: unescape_value(rhs)?,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// `field=value` for each pair.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        FieldSelector {
            terms: pairs
                .into_iter()
                .map(|(f, v)| FieldRequirement {
                    field: f.into(),
                    op: FieldOperator::Equals,
                    value: v.into(),
                })
                .collect(),
        }
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.terms
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether every term holds; `get` returns a field's value, and a
    /// missing field reads as the empty string, as upstream.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms
            .iter()
            .all(|t| t.matches(get(&t.field).as_deref().unwrap_or("")))
    }

    /// The value `field` must equal, if an `=` term pins it.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.op == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }

    /// Rewrites each term's field and value (e.g. legacy field names), dropping
    /// terms for which `f` returns an empty field and value.
    pub fn transform<E>(
        &self,
        f: impl Fn(&str, &str) -> Result<(String, String), E>,
    ) -> Result<Self, E> {
        let mut terms = Vec::new();
        for t in &self.terms {
            let (field, value) = f(&t.field, &t.value)?;
            if !(field.is_empty() && value.is_empty()) {
                terms.push(FieldRequirement {
                    field,
                    op: t.op,
                    value,
                });
            }
        }
        Ok(FieldSelector { terms })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// Escapes `\`, `,` and `=` in a value.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Undoes [`escape_value`]; an unknown escape or a bare `,`/`=` is an error.
pub fn unescape_value(s: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::Field(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                )));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Upstream prints the rune with %v, i.e. its code point.
            ',' | '=' => {
                return Err(SelectorError::Field(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                )));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err(SelectorError::Field(
            "invalid field selector: invalid escape sequence: \\".into(),
        ));
    }
    Ok(out)
}

/// Splits on commas not preceded by a backslash escape.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// The first operator (`!=`, `==`, `=`, tried in that order at each
/// position) splits the term into field and raw value.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (tok, op) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(tok) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::HashMap;

    fn reqs(s: &str) -> Vec<(String, &'static str, String)> {
        FieldSelector::parse(s)
            .unwrap()
            .requirements()
            .iter()
            .map(|r| (r.field.clone(), r.op.as_str(), r.value.clone()))
            .collect()
    }

    #[test]
    fn parses_operators_and_sorts() {
        assert_eq!(
            reqs("status.phase!=Running,metadata.name==x,spec.nodeName=n1"),
            vec![
                ("metadata.name".into(), "=", "x".into()),
                ("spec.nodeName".into(), "=", "n1".into()),
                ("status.phase".into(), "!=", "Running".into()),
            ]
        );
    }

    #[rstest]
    #[case("", 0)]
    #[case(",", 0)]
    #[case("a=b,,c=d", 2)]
    #[case("a=", 1)]
    fn empty_terms_are_skipped(#[case] s: &str, #[case] n: usize) {
        assert_eq!(FieldSelector::parse(s).unwrap().requirements().len(), n);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            reqs(r"a=x\,y\=z\\w"),
            vec![("a".into(), "=", r"x,y=z\w".into())]
        );
        let s = FieldSelector::parse(r"a=x\,y").unwrap();
        assert_eq!(s.to_string(), r"a=x\,y");
        // A value starting with `=`: the first `=` is the operator.
        assert_eq!(
            FieldSelector::parse("a==b").unwrap().requirements()[0].value,
            "b"
        );
    }

    #[rstest]
    #[case("abc", "invalid selector: 'abc'; can't understand 'abc'")]
    #[case("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'")]
    #[case(r"a=b\x", r"invalid field selector: invalid escape sequence: \x")]
    #[case(r"a=b\", r"invalid field selector: invalid escape sequence: \")]
    #[case("a=b=c", "invalid field selector: unescaped character in value: 61")]
    fn errors(#[case] s: &str, #[case] msg: &str) {
        assert_eq!(FieldSelector::parse(s).unwrap_err().to_string(), msg);
    }

    #[test]
    fn matching() {
        let obj: HashMap<&str, &str> = [("metadata.name", "web"), ("status.phase", "Running")]
            .into_iter()
            .collect();
        let get = |f: &str| obj.get(f).map(|s| s.to_string());
        assert!(FieldSelector::parse("").unwrap().matches(get));
        assert!(
            FieldSelector::parse("metadata.name=web")
                .unwrap()
                .matches(get)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=web")
                .unwrap()
                .matches(get)
        );
        assert!(
            !FieldSelector::parse("metadata.name=web,status.phase!=Running")
                .unwrap()
                .matches(get)
        );
        // Missing fields read as "".
        assert!(FieldSelector::parse("spec.nodeName=").unwrap().matches(get));
        assert!(
            FieldSelector::parse("spec.nodeName!=n1")
                .unwrap()
                .matches(get)
        );
    }

    #[test]
    fn exact_match_and_transform() {
        let s = FieldSelector::parse("metadata.name=a,spec.x!=b").unwrap();
        assert_eq!(s.requires_exact_match("metadata.name"), Some("a"));
        assert_eq!(s.requires_exact_match("spec.x"), None);
        let t = s
            .transform(|f, v| {
                if f == "spec.x" {
                    Ok::<_, ()>((String::new(), String::new()))
                } else {
                    Ok((f.to_string(), v.to_string()))
                }
            })
            .unwrap();
        assert_eq!(t.to_string(), "metadata.name=a");
    }

    proptest::proptest! {
        #[test]
        fn escape_round_trips(v in ".*") {
            proptest::prop_assert_eq!(unescape_value(&escape_value(&v)).unwrap(), v.clone());
            let sel = FieldSelector::from_pairs([("f", v.as_str())]);
            let back = FieldSelector::parse(&sel.to_string()).unwrap();
            proptest::prop_assert_eq!(back.requirements()[0].value.clone(), v);
        }
    }
}
