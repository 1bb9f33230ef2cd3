//! The differences between two objects as upstream's comparison reports
//! them, and the field set of one object: the walks the field manager runs
//! on every write.
//!
//! Both build their sets bottom-up, one level at a time, and allocate a
//! path element only for fields that end up in a set. The `_skipping`
//! variants read objects as if `metadata.managedFields` were absent, so the
//! field manager need not copy objects to strip it.

use super::fieldpath::PathElement;
use super::fieldset::FieldSet;
use super::typed::{Node, Shape, index, item_pe, map_child, shape};
use crate::schema::SchemaNode;
use serde_json::{Map, Value};

const MANAGED_FIELDS: &str = "managedFields";

/// The differences between two objects: changed leaves are `modified`; new
/// or removed paths (including the non-leaf nodes of new or removed
/// subtrees) are `added` or `removed`.
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
    pub fn exclude(mut self, ignored: &FieldSet) -> Self {
        if ignored.is_empty() {
            return self;
        }
        self.added = self.added.without_recursive(ignored);
        self.modified = self.modified.without_recursive(ignored);
        self.removed = self.removed.without_recursive(ignored);
        self
    }
}

pub fn compare(old: &Value, new: &Value, schema: Option<SchemaNode>) -> Comparison {
    compare_at(Some(old), Some(new), schema, Skip::None).0
}

/// [`compare`] as if neither object had `metadata.managedFields`.
pub(crate) fn compare_skipping(old: &Value, new: &Value, schema: Option<SchemaNode>) -> Comparison {
    compare_at(Some(old), Some(new), schema, Skip::Root).0
}

/// Where `metadata.managedFields` is being ignored.
#[derive(Clone, Copy, PartialEq)]
enum Skip {
    None,
    /// At the object: ignore it in `metadata`.
    Root,
    /// At `metadata`: ignore its `managedFields` key.
    Here,
}

impl Skip {
    fn below(self, key: &str) -> Skip {
        if self == Skip::Root && key == "metadata" {
            Skip::Here
        } else {
            Skip::None
        }
    }

    fn skips(self, key: &str) -> bool {
        self == Skip::Here && key == MANAGED_FIELDS
    }

    /// `m`'s length, skipped key aside.
    fn len(self, m: &Map<String, Value>) -> usize {
        m.len() - usize::from(self == Skip::Here && m.contains_key(MANAGED_FIELDS))
    }

    /// `a == b`, the skipped key aside.
    fn eq(self, a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut ys = y.iter();
                self.len(x) == self.len(y)
                    && x.iter().filter(|(k, _)| !self.skips(k)).all(|(k, v)| {
                        // Objects of one kind usually list keys in the same
                        // order: look up by position first, by hash if not.
                        let at = ys.by_ref().find(|(k, _)| !self.skips(k));
                        let w = match at {
                            Some((yk, w)) if yk == k => Some(w),
                            _ => y.get(k),
                        };
                        w.is_some_and(|w| Skip::None.eq(v, w))
                    })
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(v, w)| Skip::None.eq(v, w))
            }
            _ => a == b,
        }
    }

    fn is_empty_container(self, v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Object(m)) => self.len(m) == 0,
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        }
    }
}

/// How a compared node itself differs.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    Added,
    Removed,
    Modified,
}

/// One level of a comparison being built: the nodes of each set.
#[derive(Default)]
struct Level {
    added: Vec<(PathElement, bool, FieldSet)>,
    modified: Vec<(PathElement, bool, FieldSet)>,
    removed: Vec<(PathElement, bool, FieldSet)>,
}

impl Level {
    /// Records the comparison of the child at `pe` (built only if needed).
    fn push(&mut self, pe: impl FnOnce() -> PathElement, sub: Comparison, change: Option<Change>) {
        let parts = [
            (&mut self.added, sub.added, change == Some(Change::Added)),
            (
                &mut self.modified,
                sub.modified,
                change == Some(Change::Modified),
            ),
            (
                &mut self.removed,
                sub.removed,
                change == Some(Change::Removed),
            ),
        ];
        if parts.iter().all(|(_, s, m)| s.is_empty() && !m) {
            return;
        }
        let pe = pe();
        for (out, set, member) in parts {
            if member || !set.is_empty() {
                out.push((pe.clone(), member, set));
            }
        }
    }

    fn finish(self) -> Comparison {
        Comparison {
            added: FieldSet::from_unsorted(self.added),
            modified: FieldSet::from_unsorted(self.modified),
            removed: FieldSet::from_unsorted(self.removed),
        }
    }
}

fn compare_at(
    l: Option<&Value>,
    r: Option<&Value>,
    node: Node,
    skip: Skip,
) -> (Comparison, Option<Change>) {
    let Some(sample) = r.or(l) else {
        return (Comparison::default(), None);
    };
    let same_kind = match (l, r) {
        (Some(a), Some(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
        _ => true,
    };
    let leaf = || match (l, r) {
        (None, Some(_)) => Some(Change::Added),
        (Some(_), None) => Some(Change::Removed),
        (Some(a), Some(b)) if !skip.eq(a, b) => Some(Change::Modified),
        _ => None,
    };
    let sh = shape(sample, node);
    let both_empty = skip.is_empty_container(l) && skip.is_empty_container(r);
    if !same_kind || both_empty || matches!(sh, Shape::Leaf) {
        return (Comparison::default(), leaf());
    }
    let mut level = Level::default();
    match sh {
        Shape::Map(n) => {
            let empty = Map::new();
            let lm = l.and_then(Value::as_object).unwrap_or(&empty);
            let rm = r.and_then(Value::as_object).unwrap_or(&empty);
            // Keys in the same order on both sides (the usual case) pair
            // up by position, without hashing.
            let mut aligned = lm.len() == rm.len();
            let mut rs = rm.iter();
            for (k, lv) in lm.iter() {
                let rv = match rs.next() {
                    Some((rk, rv)) if aligned && rk == k => Some(rv),
                    _ => {
                        aligned = false;
                        rm.get(k)
                    }
                };
                let below = skip.below(k);
                // Equal values have no differences, whatever their schema.
                if skip.skips(k) || rv.is_some_and(|rv| below.eq(lv, rv)) {
                    continue;
                }
                let (sub, change) = compare_at(Some(lv), rv, map_child(n, k).0, below);
                level.push(|| PathElement::field(k), sub, change);
            }
            if !aligned {
                for (k, rv) in rm
                    .iter()
                    .filter(|(k, _)| !skip.skips(k) && !lm.contains_key(*k))
                {
                    let (sub, change) =
                        compare_at(None, Some(rv), map_child(n, k).0, skip.below(k));
                    level.push(|| PathElement::field(k), sub, change);
                }
            }
        }
        Shape::List { keys, items } => {
            let empty = vec![];
            let ll = l.and_then(Value::as_array).unwrap_or(&empty);
            let rl = r.and_then(Value::as_array).unwrap_or(&empty);
            let (Some(li), Some(ri)) = (index(ll, keys, items), index(rl, keys, items)) else {
                return (Comparison::default(), leaf());
            };
            let mut pes: Vec<&PathElement> = li.iter().map(|(p, _)| p).collect();
            pes.extend(ri.iter().map(|(p, _)| p));
            pes.sort();
            pes.dedup();
            for pe in pes {
                let lv: Vec<&Value> = li.iter().filter(|(p, _)| p == pe).map(|x| x.1).collect();
                let rv: Vec<&Value> = ri.iter().filter(|(p, _)| p == pe).map(|x| x.1).collect();
                let (sub, change) = if lv.len() > 1 || rv.len() > 1 {
                    // Duplicated keys are compared as one atomic unit.
                    let change = match (lv.is_empty(), rv.is_empty()) {
                        (true, _) => Some(Change::Added),
                        (_, true) => Some(Change::Removed),
                        _ if lv != rv => Some(Change::Modified),
                        _ => None,
                    };
                    (Comparison::default(), change)
                } else {
                    match (lv.first().copied(), rv.first().copied()) {
                        (Some(a), Some(b)) if Skip::None.eq(a, b) => continue,
                        (a, b) => compare_at(a, b, items, Skip::None),
                    }
                };
                level.push(|| pe.clone(), sub, change);
            }
        }
        Shape::Leaf => {}
    }
    let change = match (l, r) {
        (None, Some(_)) => Some(Change::Added),
        (Some(_), None) => Some(Change::Removed),
        _ => None,
    };
    (level.finish(), change)
}

/// The fields an object sets, per schema: scalars, atomic lists and maps,
/// list items, map entries that are not declared struct fields, and empty
/// or null values are members; declared struct fields with content are not
/// (their content is).
pub fn fields_of(obj: &Value, schema: Option<SchemaNode>) -> FieldSet {
    collect(obj, schema, Skip::None)
}

/// [`fields_of`] as if the object had no `metadata.managedFields`.
pub(crate) fn fields_of_skipping(obj: &Value, schema: Option<SchemaNode>) -> FieldSet {
    collect(obj, schema, Skip::Root)
}

/// The paths below `v` (relative to `v`).
fn collect(v: &Value, node: Node, skip: Skip) -> FieldSet {
    match (shape(v, node), v) {
        (Shape::Map(n), Value::Object(m)) => {
            let mut items = Vec::with_capacity(m.len());
            for (k, cv) in m.iter().filter(|(k, _)| !skip.skips(k)) {
                let (cn, named) = map_child(n, k);
                let below = skip.below(k);
                let empty_map = cv.as_object().is_some_and(|m| below.len(m) == 0);
                let member = cv.is_null() || empty_map || !named || is_leaf(cv, cn);
                items.push((PathElement::field(k), member, collect(cv, cn, below)));
            }
            FieldSet::from_unsorted(items)
        }
        (Shape::List { keys, items }, Value::Array(list)) => FieldSet::from_unsorted(
            list.iter()
                .filter_map(|item| {
                    let pe = item_pe(item, keys, items).ok()?;
                    Some((pe, true, collect(item, items, Skip::None)))
                })
                .collect(),
        ),
        _ => FieldSet::new(),
    }
}

fn is_leaf(v: &Value, node: Node) -> bool {
    matches!(shape(v, node), Shape::Leaf)
}
