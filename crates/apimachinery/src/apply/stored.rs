//! Questions about a manager's field set asked of its stored `FieldsV1`
//! form directly, without decoding it into a [`FieldSet`]: most writes touch
//! the fields of one manager, and every other entry can then be written
//! back as stored.
//!
//! The answers are those [`FieldSet::from_fields_v1`]'s reading gives:
//! `"."` or an empty object makes a node a member, keys that do not parse
//! (or whose value is not an object) are dropped, and keys that parse to
//! the same element (differently written list keys) merge.

use super::fieldpath::PathElement;
use super::fieldset::FieldSet;
use serde_json::{Map, Value};

type Fields = Map<String, Value>;

/// Whether `k` (with value `v`) is read as a path element.
fn readable(k: &str, v: &Value) -> bool {
    v.is_object()
        && k != "."
        && (k.starts_with("f:") || matches!(PathElement::parse(k), Ok(Some(_))))
}

/// Whether the stored set is empty.
pub(crate) fn is_empty(m: &Fields) -> bool {
    !m.iter().any(|(k, v)| readable(k, v))
}

/// Whether the node holding `sub` is itself a member of the set.
fn is_member(sub: &Fields) -> bool {
    sub.contains_key(".") || is_empty(sub)
}

/// The readable entries of `m` that may match a node of `set`: every
/// field, and other elements only when `set` has some at this level.
fn entries<'m, 's>(
    m: &'m Fields,
    set: &'s FieldSet,
) -> impl Iterator<Item = (&'m Fields, bool, Option<&'s FieldSet>)> {
    let others = set.has_non_fields();
    m.iter().filter_map(move |(k, v)| {
        let Value::Object(sub) = v else { return None };
        let (member, children) = match k.strip_prefix("f:") {
            Some(name) => set.field(name),
            None if others && k != "." => {
                let pe = PathElement::parse(k).ok()??;
                (set.is_member(&pe), set.child(&pe))
            }
            None => return None,
        };
        (member || children.is_some()).then_some((sub, member, children))
    })
}

/// Whether a path is a member both of the stored set and of `set`.
pub(crate) fn intersects(m: &Fields, set: &FieldSet) -> bool {
    !set.is_empty()
        && entries(m, set).any(|(sub, member, children)| {
            (member && is_member(sub)) || children.is_some_and(|c| intersects(sub, c))
        })
}

/// Whether every path of `set` is in the stored set.
pub(crate) fn contains(m: &Fields, set: &FieldSet) -> bool {
    let mut key = String::new();
    let mut others: Option<Vec<(PathElement, &Fields)>> = None;
    for (pe, member, children) in set.entries() {
        let ok = match pe {
            PathElement::Field(name) => {
                key.clear();
                key.push_str("f:");
                key.push_str(name);
                match m.get(key.as_str()) {
                    Some(Value::Object(sub)) => {
                        (!member || is_member(sub))
                            && (children.is_empty() || contains(sub, children))
                    }
                    _ => false,
                }
            }
            _ => {
                let others = others.get_or_insert_with(|| {
                    m.iter()
                        .filter(|(k, _)| !k.starts_with("f:") && k.as_str() != ".")
                        .filter_map(|(k, v)| Some((PathElement::parse(k).ok()??, v.as_object()?)))
                        .collect()
                });
                let subs: Vec<&Fields> = others
                    .iter()
                    .filter(|(p, _)| p == pe)
                    .map(|x| x.1)
                    .collect();
                match subs.as_slice() {
                    [] => false,
                    [sub] => {
                        (!member || is_member(sub))
                            && (children.is_empty() || contains(sub, children))
                    }
                    // Several keys read as this element: their sets merge.
                    _ => {
                        (!member || subs.iter().any(|s| is_member(s)))
                            && (children.is_empty()
                                || children.difference(&union_of(&subs)).is_empty())
                    }
                }
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Whether the stored set has a path that `set` does not.
pub(crate) fn has_outside(m: &Fields, set: &FieldSet) -> bool {
    m.iter().any(|(k, v)| {
        let Value::Object(sub) = v else { return false };
        let (member, children) = match k.strip_prefix("f:") {
            Some(name) => set.field(name),
            None if k == "." => return false,
            None => match PathElement::parse(k) {
                Ok(Some(pe)) => (set.is_member(&pe), set.child(&pe)),
                _ => return false,
            },
        };
        (is_member(sub) && !member)
            || match children {
                Some(c) => has_outside(sub, c),
                None => !is_empty(sub),
            }
    })
}

fn union_of(subs: &[&Fields]) -> FieldSet {
    subs.iter().fold(FieldSet::new(), |acc, s| {
        acc.union_owned(FieldSet::from_map(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        v.as_object().cloned().unwrap_or_default()
    }

    fn set(v: Value) -> FieldSet {
        FieldSet::from_fields_v1(&v).unwrap()
    }

    /// The stored answers agree with the decoded set's.
    fn check(stored: Value, other: Value) {
        let m = fields(stored.clone());
        let (a, b) = (set(stored), set(other));
        assert_eq!(is_empty(&m), a.is_empty());
        assert_eq!(intersects(&m, &b), a.intersects(&b), "{a:?} ∩ {b:?}");
        assert_eq!(
            contains(&m, &b),
            b.difference(&a).is_empty(),
            "{b:?} ⊆ {a:?}"
        );
        assert_eq!(
            has_outside(&m, &b),
            !a.difference(&b).is_empty(),
            "{a:?} ⊄ {b:?}"
        );
    }

    #[test]
    fn answers_match_the_decoded_set() {
        let pod = json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}},
                "f:nodeName": {}}});
        for other in [
            json!({}),
            json!({"f:spec": {"f:nodeName": {}}}),
            json!({"f:spec": {".": {}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {}}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\": \"c\"}": {"f:image": {}}}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"d\"}": {}}}}),
            json!({"f:metadata": {"f:labels": {"f:app": {}, "f:x": {}}}}),
            json!({"f:metadata": {"f:labels": {}}}),
            json!({"f:status": {"f:phase": {}}}),
        ] {
            check(pod.clone(), other);
        }
        // Keys written differently that read as the same element merge.
        let odd = json!({"f:l": {"k:{\"a\":1,\"b\":2}": {"f:x": {}},
            "k:{\"b\":2,\"a\":1}": {".": {}, "f:y": {}}, "zz": {}, "f:n": 1}});
        for other in [
            json!({"f:l": {"k:{\"a\":1,\"b\":2}": {"f:x": {}, "f:y": {}}}}),
            json!({"f:l": {"k:{\"a\":1,\"b\":2}": {}}}),
            json!({"f:l": {"k:{\"a\":1,\"b\":2}": {"f:z": {}}}}),
            json!({"f:n": {}}),
        ] {
            check(odd.clone(), other);
        }
        check(json!({"zz": {}, "f:a": 1}), json!({"f:a": {}}));
    }

    /// A small random `FieldsV1` object: fields, list keys (some written
    /// differently), values, dots, unreadable keys and non-object values.
    fn next(seed: &mut u64, n: u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) % n
    }

    fn random_fields(seed: &mut u64, depth: u32) -> Value {
        let keys = [
            "f:a",
            "f:b",
            "f:c",
            ".",
            "k:{\"n\":1}",
            "k:{ \"n\": 1 }",
            "k:{\"n\":2}",
            "v:\"x\"",
            "i:0",
            "zz",
            "k:[1]",
        ];
        let mut m = Map::new();
        for _ in 0..next(seed, 5) {
            let k = keys[next(seed, keys.len() as u64) as usize];
            let v = match next(seed, 6) {
                0 => json!(1),
                1 | 2 if depth < 3 => random_fields(seed, depth + 1),
                _ => json!({}),
            };
            m.insert(k.to_string(), v);
        }
        Value::Object(m)
    }

    #[test]
    fn random_sets_get_the_decoded_answers() {
        let mut seed = 7;
        for _ in 0..3000 {
            let a = random_fields(&mut seed, 0);
            let b = random_fields(&mut seed, 0);
            check(a, b);
        }
    }
}
