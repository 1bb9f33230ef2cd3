//! Tests of label selectors: parsing, errors, matching, printing, the
//! structured form and its validation.

use super::label::*;
use rstest::rstest;
use serde_json::Value;
use serde_json::json;
use std::collections::BTreeMap;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[rstest]
#[case("", "")]
#[case("a=b", "a=b")]
#[case(" a = b ", "a=b")]
#[case("a==b", "a==b")]
#[case("a!=b", "a!=b")]
#[case("a in (y,x)", "a in (x,y)")]
#[case("a in (x,x)", "a in (x)")]
#[case("a notin (x)", "a notin (x)")]
#[case("a", "a")]
#[case("!a", "!a")]
#[case("a>1", "a>1")]
#[case("a<10", "a<10")]
#[case("z=1,a=2", "a=2,z=1")]
#[case("a=", "a=")]
#[case("a in ()", "a in ()")]
#[case("a in (,x)", "a in (,x)")]
#[case("a in (in,notin)", "a in (in,notin)")]
#[case("x=in", "x=in")]
#[case("example.com/app=web,tier", "example.com/app=web,tier")]
#[case("a\tin\n(b)", "a in (b)")]
fn parses_and_prints(#[case] input: &str, #[case] canonical: &str) {
    let s = LabelSelector::parse(input).unwrap();
    assert_eq!(s.to_string(), canonical);
    // The canonical form parses to the same selector.
    assert_eq!(LabelSelector::parse(canonical).unwrap(), s);
}

#[rstest]
#[case("a=b,", "found '', expected: identifier after ','")]
#[case(",a", "found ',', expected: !, identifier, or 'end of string'")]
#[case(
    "a b",
    "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
)]
#[case("a=b c", "found 'c', expected: ',' or 'end of string'")]
#[case(
    "a<-1",
    "unable to parse requirement: values[0][a]: Invalid value: \"-1\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)]
#[case("a in b", "unable to parse requirement: found 'b' expected: '('")]
#[case(
    "a in (b",
    "unable to parse requirement: found '', expected: ',' or ')'"
)]
#[case(
    "a in (b c)",
    "unable to parse requirement: found 'c', expected: ',' or ')'"
)]
#[case(
    "a=(b)",
    "unable to parse requirement: found '(', expected: identifier"
)]
#[case(
    "a>x",
    "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"
)]
#[case("!a=b", "found '=', expected: ',' or 'end of string'")]
#[case("a notin", "unable to parse requirement: found '' expected: '('")]
#[case("!", "unable to parse requirement: found '', expected: identifier")]
#[case("=b", "found '=', expected: !, identifier, or 'end of string'")]
fn parse_errors(#[case] input: &str, #[case] msg: &str) {
    assert_eq!(LabelSelector::parse(input).unwrap_err().to_string(), msg);
}

#[test]
fn invalid_key_and_value_messages() {
    let e = LabelSelector::parse("-a=b").unwrap_err().to_string();
    assert!(
        e.starts_with(
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of"
        ),
        "{e}"
    );
    let e = LabelSelector::parse("a=-b").unwrap_err().to_string();
    assert!(
        e.starts_with("unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label must be an empty string"),
        "{e}"
    );
    let long = "x".repeat(64);
    let e = LabelSelector::parse(&format!("a={long}"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be no more than 63 characters"), "{e}");
    let e = LabelSelector::parse("a in (-x,-y)")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("unable to parse requirement: [values[0][a]"),
        "{e}"
    );
}

#[rstest]
#[case("", &[], true)]
#[case("a=b", &[("a", "b")], true)]
#[case("a=b", &[("a", "c")], false)]
#[case("a=b", &[], false)]
#[case("a==b", &[("a", "b")], true)]
#[case("a!=b", &[], true)]
#[case("a!=b", &[("a", "b")], false)]
#[case("a!=b", &[("a", "c")], true)]
#[case("a in (x,y)", &[("a", "y")], true)]
#[case("a in (x,y)", &[("a", "z")], false)]
#[case("a in (x,y)", &[], false)]
#[case("a notin (x,y)", &[("a", "z")], true)]
#[case("a notin (x,y)", &[], true)]
#[case("a notin (x,y)", &[("a", "x")], false)]
#[case("a", &[("a", "")], true)]
#[case("a", &[("b", "")], false)]
#[case("!a", &[("b", "")], true)]
#[case("!a", &[("a", "1")], false)]
#[case("a>5", &[("a", "6")], true)]
#[case("a>5", &[("a", "5")], false)]
#[case("a>5", &[("a", "x")], false)]
#[case("a>5", &[], false)]
#[case("a<5", &[("a", "-10")], true)]
#[case("a=", &[("a", "")], true)]
#[case("a=b,c", &[("a", "b")], false)]
#[case("a=b,c", &[("a", "b"), ("c", "d")], true)]
fn matching(#[case] sel: &str, #[case] ls: &[(&str, &str)], #[case] want: bool) {
    let s = LabelSelector::parse(sel).unwrap();
    assert_eq!(s.matches(&labels(ls)), want, "{sel} on {ls:?}");
    let json = serde_json::to_value(labels(ls)).unwrap();
    assert_eq!(s.matches_json(Some(&json)), want);
}

#[test]
fn empty_nothing_and_exact() {
    assert!(LabelSelector::parse("").unwrap().is_empty());
    assert!(LabelSelector::parse(" ").unwrap().is_empty());
    assert!(!LabelSelector::parse("a").unwrap().is_empty());
    let n = LabelSelector::nothing();
    assert!(!n.is_empty() && n.matches_nothing());
    assert!(!n.matches(&labels(&[])));
    let s = LabelSelector::parse("a in (x),b=y,c in (p,q)").unwrap();
    assert_eq!(s.requires_exact_match("a"), Some("x"));
    assert_eq!(s.requires_exact_match("b"), Some("y"));
    assert_eq!(s.requires_exact_match("c"), None);
    assert_eq!(s.requires_exact_match("d"), None);
    let set = LabelSelector::from_set(&labels(&[("b", "2"), ("a", "1")]));
    assert_eq!(set.to_string(), "a=1,b=2");
}

#[test]
fn structured_form() {
    let s = LabelSelector::from_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "team", "operator": "Exists"}
        ]
    }))
    .unwrap();
    assert_eq!(
        s.to_string(),
        "app=web,!canary,env notin (prod),team,tier in (be,fe)"
    );
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe"), ("team", "x")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "fe")])));
    assert!(LabelSelector::from_json(&json!({})).unwrap().is_empty());
    assert!(
        LabelSelector::from_json(&json!(null))
            .unwrap()
            .matches_nothing()
    );
}

#[rstest]
#[case(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}), "\"Gt\" is not a valid label selector operator")]
#[case(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}), "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty")]
#[case(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}), "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist")]
#[case(json!({"matchLabels": {"a b": "c"}}), "key: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")]
fn structured_errors(#[case] v: Value, #[case] msg: &str) {
    assert_eq!(LabelSelector::from_json(&v).unwrap_err().to_string(), msg);
}

#[test]
fn validation_causes() {
    let causes = validate_label_selector(
        &json!({
            "matchLabels": {"ok": "-bad"},
            "matchExpressions": [
                {"key": "a", "operator": "In"},
                {"key": "b", "operator": "Exists", "values": ["x"]},
                {"key": "-c", "operator": "Nope"}
            ]
        }),
        "spec.selector",
    );
    let fields: Vec<(&str, &str)> = causes
        .iter()
        .map(|c| (c.reason.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("FieldValueInvalid", "spec.selector.matchLabels"),
            (
                "FieldValueRequired",
                "spec.selector.matchExpressions[0].values"
            ),
            (
                "FieldValueForbidden",
                "spec.selector.matchExpressions[1].values"
            ),
            (
                "FieldValueInvalid",
                "spec.selector.matchExpressions[2].operator"
            ),
            ("FieldValueInvalid", "spec.selector.matchExpressions[2].key"),
        ]
    );
    assert!(validate_label_selector(&json!({"matchLabels": {"a": "b"}}), "s").is_empty());
}

proptest::proptest! {
    #[test]
    fn display_round_trips(
        keys in proptest::collection::vec("[a-z][a-z0-9]{0,5}", 1..4),
        vals in proptest::collection::vec("[a-z0-9]{0,4}", 1..4),
        op in 0usize..6,
    ) {
        let reqs: Vec<Requirement> = keys.iter().map(|k| {
            let (o, v) = match op {
                0 => (Operator::Equals, vec![vals[0].clone()]),
                1 => (Operator::NotEquals, vec![vals[0].clone()]),
                2 => (Operator::In, {
                    let mut v = vals.clone(); v.sort(); v.dedup(); v
                }),
                3 => (Operator::NotIn, {
                    let mut v = vals.clone(); v.sort(); v.dedup(); v
                }),
                4 => (Operator::Exists, vec![]),
                _ => (Operator::DoesNotExist, vec![]),
            };
            Requirement::new(k, o, v).unwrap()
        }).collect();
        let sel = LabelSelector::from_requirements(reqs);
        let back = LabelSelector::parse(&sel.to_string()).unwrap();
        proptest::prop_assert_eq!(back, sel);
    }
}
