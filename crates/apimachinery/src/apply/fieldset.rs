//! [`FieldSet`]: a set of field paths as server-side apply tracks them, with
//! the `FieldsV1` wire form used in `metadata.managedFields`.
//!
//! A set is a tree kept as one sorted `Vec` of nodes per level: a node is a
//! path element that is itself in the set (a `member`: a leaf, or a node
//! owned as a whole), has paths below it (`children`), or both (`FieldsV1`
//! writes that as a `".": {}` entry). Set operations are linear merges of
//! sorted levels, which the field manager runs on every write.

use super::fieldpath::PathElement;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Sorted by element, unique; every node is a member or has children.
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    pe: PathElement,
    member: bool,
    children: FieldSet,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }
}

/// The order of path elements against a field name, without building a
/// `PathElement` (fields sort before every other kind of element).
fn cmp_field(pe: &PathElement, name: &str) -> Ordering {
    match pe {
        PathElement::Field(f) => f.as_str().cmp(name),
        _ => Ordering::Greater,
    }
}

impl FieldSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn find(&self, pe: &PathElement) -> Result<usize, usize> {
        self.nodes.binary_search_by(|n| n.pe.cmp(pe))
    }

    fn node(&self, pe: &PathElement) -> Option<&Node> {
        self.find(pe).ok().map(|i| &self.nodes[i])
    }

    /// The node of field `name`, without allocating a path element.
    fn field_node(&self, name: &str) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| cmp_field(&n.pe, name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The node for `pe`, created (empty) when missing: callers make it a
    /// member or give it children.
    fn slot(&mut self, pe: PathElement) -> &mut Node {
        let i = match self.find(&pe) {
            Ok(i) => i,
            Err(i) => {
                self.nodes.insert(
                    i,
                    Node {
                        pe,
                        member: false,
                        children: FieldSet::new(),
                    },
                );
                i
            }
        };
        &mut self.nodes[i]
    }

    /// Adds a path. The empty path (the whole object) is not representable
    /// and is ignored, as upstream does.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [pe] => self.add_member(pe.clone()),
            [pe, rest @ ..] => {
                let i = match self.find(pe) {
                    Ok(i) => i,
                    Err(i) => {
                        self.nodes.insert(
                            i,
                            Node {
                                pe: pe.clone(),
                                member: false,
                                children: FieldSet::new(),
                            },
                        );
                        i
                    }
                };
                self.nodes[i].children.insert(rest);
            }
        }
    }

    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [pe] => self.is_member(pe),
            [pe, rest @ ..] => self.node(pe).is_some_and(|n| n.children.has(rest)),
        }
    }

    pub fn is_member(&self, pe: &PathElement) -> bool {
        self.node(pe).is_some_and(|n| n.member)
    }

    /// The subset below `pe`, if any.
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.node(pe).map(|n| &n.children).filter(|c| !c.is_empty())
    }

    /// Whether field `name` is a member, and the subset below it.
    pub(crate) fn field(&self, name: &str) -> (bool, Option<&FieldSet>) {
        match self.field_node(name) {
            Some(n) => (n.member, Some(&n.children).filter(|c| !c.is_empty())),
            None => (false, None),
        }
    }

    /// Whether this level has elements other than fields (list items).
    pub(crate) fn has_non_fields(&self) -> bool {
        self.nodes
            .last()
            .is_some_and(|n| !matches!(n.pe, PathElement::Field(_)))
    }

    pub(crate) fn add_member(&mut self, pe: PathElement) {
        self.slot(pe).member = true;
    }

    pub(crate) fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.nodes
            .iter()
            .filter(|n| !n.children.is_empty())
            .map(|n| (&n.pe, &n.children))
    }

    /// Every node of this level: its element, whether it is a member, and
    /// the subset below it (possibly empty).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&PathElement, bool, &FieldSet)> {
        self.nodes.iter().map(|n| (&n.pe, n.member, &n.children))
    }

    /// Attaches `sub` below `pe` (merging with what is there).
    pub(crate) fn insert_child(&mut self, pe: PathElement, sub: FieldSet) {
        if sub.is_empty() {
            return;
        }
        let slot = self.slot(pe);
        if slot.children.is_empty() {
            slot.children = sub;
        } else {
            let mine = std::mem::take(&mut slot.children);
            slot.children = mine.union_owned(sub);
        }
    }

    /// Builds a level from nodes in any order (duplicates merge).
    pub(crate) fn from_unsorted(items: Vec<(PathElement, bool, FieldSet)>) -> FieldSet {
        let mut nodes: Vec<Node> = items
            .into_iter()
            .map(|(pe, member, children)| Node {
                pe,
                member,
                children,
            })
            .filter(|n| !n.is_empty())
            .collect();
        if nodes.windows(2).all(|w| w[0].pe < w[1].pe) {
            return FieldSet { nodes };
        }
        nodes.sort_by(|a, b| a.pe.cmp(&b.pe));
        let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
        for n in nodes {
            match out.last_mut() {
                Some(last) if last.pe == n.pe => {
                    last.member |= n.member;
                    let mine = std::mem::take(&mut last.children);
                    last.children = mine.union_owned(n.children);
                }
                _ => out.push(n),
            }
        }
        FieldSet { nodes: out }
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        self.clone().union_owned(other.clone())
    }

    /// [`FieldSet::union`] reusing both sets' nodes.
    pub(crate) fn union_owned(self, other: FieldSet) -> FieldSet {
        if other.is_empty() {
            return self;
        }
        if self.is_empty() {
            return other;
        }
        let mut out = Vec::with_capacity(self.nodes.len().max(other.nodes.len()));
        let (mut a, mut b) = (self.nodes.into_iter(), other.nodes.into_iter());
        let (mut x, mut y) = (a.next(), b.next());
        loop {
            match (x.take(), y.take()) {
                (Some(p), Some(q)) => match p.pe.cmp(&q.pe) {
                    Ordering::Less => {
                        out.push(p);
                        (x, y) = (a.next(), Some(q));
                    }
                    Ordering::Greater => {
                        out.push(q);
                        (x, y) = (Some(p), b.next());
                    }
                    Ordering::Equal => {
                        out.push(Node {
                            pe: p.pe,
                            member: p.member || q.member,
                            children: p.children.union_owned(q.children),
                        });
                        (x, y) = (a.next(), b.next());
                    }
                },
                (Some(p), None) => {
                    out.push(p);
                    out.extend(a);
                    break;
                }
                (None, Some(q)) => {
                    out.push(q);
                    out.extend(b);
                    break;
                }
                (None, None) => break,
            }
        }
        FieldSet { nodes: out }
    }

    /// Merges two sets level by level: `f` gets each element's node on
    /// either side and returns the node to keep, if any.
    fn merge_with(
        &self,
        other: &FieldSet,
        mut f: impl FnMut(&Node, Option<&Node>) -> Option<Node>,
    ) -> FieldSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.nodes.len() {
            let a = &self.nodes[i];
            match other.nodes.get(j).map(|b| a.pe.cmp(&b.pe)) {
                Some(Ordering::Greater) => j += 1,
                Some(Ordering::Equal) => {
                    out.extend(f(a, Some(&other.nodes[j])).filter(|n| !n.is_empty()));
                    i += 1;
                    j += 1;
                }
                _ => {
                    out.extend(f(a, None).filter(|n| !n.is_empty()));
                    i += 1;
                }
            }
        }
        FieldSet { nodes: out }
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        self.merge_with(other, |a, b| {
            b.map(|b| Node {
                pe: a.pe.clone(),
                member: a.member && b.member,
                children: a.children.intersection(&b.children),
            })
        })
    }

    /// Paths in `self` that are not in `other`, node by node: a member of
    /// `other` does not remove the paths below it (see
    /// [`FieldSet::recursive_difference`] for that).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        if other.is_empty() {
            return self.clone();
        }
        self.merge_with(other, |a, b| match b {
            Some(b) => Some(Node {
                pe: a.pe.clone(),
                member: a.member && !b.member,
                children: a.children.difference(&b.children),
            }),
            None => Some(a.clone()),
        })
    }

    /// Like `difference`, but a member of `other` also removes everything below it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        if other.is_empty() {
            return self.clone();
        }
        self.merge_with(other, |a, b| match b {
            Some(b) if b.member => None,
            Some(b) => Some(Node {
                pe: a.pe.clone(),
                member: a.member,
                children: a.children.recursive_difference(&b.children),
            }),
            None => Some(a.clone()),
        })
    }

    /// [`FieldSet::difference`], reusing this set's nodes.
    pub(crate) fn without(self, other: &FieldSet) -> FieldSet {
        self.merge_owned(other, |mut a, b| {
            a.member &= !b.member;
            a.children = a.children.without(&b.children);
            Some(a)
        })
    }

    /// [`FieldSet::recursive_difference`], reusing this set's nodes.
    pub(crate) fn without_recursive(self, other: &FieldSet) -> FieldSet {
        self.merge_owned(other, |mut a, b| {
            if b.member {
                return None;
            }
            a.children = a.children.without_recursive(&b.children);
            Some(a)
        })
    }

    /// Walks this set's nodes beside `other`'s: `f` gets each node that
    /// `other` also has and returns the node to keep; the others stay.
    fn merge_owned(self, other: &FieldSet, f: impl Fn(Node, &Node) -> Option<Node>) -> FieldSet {
        if other.is_empty() {
            return self;
        }
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut theirs = other.nodes.iter().peekable();
        for a in self.nodes {
            while theirs.next_if(|b| b.pe < a.pe).is_some() {}
            match theirs.next_if(|b| b.pe == a.pe) {
                Some(b) => out.extend(f(a, b).filter(|n| !n.is_empty())),
                None => out.push(a),
            }
        }
        FieldSet { nodes: out }
    }

    /// Whether a path is a member of both sets.
    pub fn intersects(&self, other: &FieldSet) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.nodes.len() && j < other.nodes.len() {
            let (a, b) = (&self.nodes[i], &other.nodes[j]);
            match a.pe.cmp(&b.pe) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    if (a.member && b.member) || a.children.intersects(&b.children) {
                        return true;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        false
    }

    /// Every member path, members of a node before its children, in order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for n in self.nodes.iter().filter(|n| n.member) {
            let mut p = prefix.clone();
            p.push(n.pe.clone());
            out.push(p);
        }
        for n in self.nodes.iter().filter(|n| !n.children.is_empty()) {
            prefix.push(n.pe.clone());
            n.children.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `FieldsV1` form.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::with_capacity(self.nodes.len() + usize::from(include_self));
        if include_self && !self.is_empty() {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for n in &self.nodes {
            let v = if n.children.is_empty() {
                Map::new()
            } else {
                n.children.emit(n.member)
            };
            out.insert(n.pe.serialize(), Value::Object(v));
        }
        out
    }

    /// Parses `FieldsV1`.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        let Value::Object(m) = v else {
            return Err("FieldsV1 must be a JSON object".into());
        };
        Ok(Self::read(m).0)
    }

    /// Reads the `FieldsV1` object `m`.
    pub(crate) fn from_map(m: &Map<String, Value>) -> FieldSet {
        Self::read(m).0
    }

    /// The set read from `m`, and whether the node holding `m` is itself a
    /// member (`"."`, or nothing readable below it).
    fn read(m: &Map<String, Value>) -> (FieldSet, bool) {
        let mut items = Vec::with_capacity(m.len());
        let mut dot = false;
        for (k, v) in m {
            if k == "." {
                dot = true;
                continue;
            }
            let Ok(Some(pe)) = PathElement::parse(k) else {
                // Unknown or malformed elements are dropped, as upstream
                // drops forms it does not understand.
                continue;
            };
            let Value::Object(sub) = v else { continue };
            let (children, member) = Self::read(sub);
            items.push((pe, member, children));
        }
        let set = Self::from_unsorted(items);
        let member = dot || set.is_empty();
        (set, member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::field(n)
    }

    #[test]
    fn fields_v1_round_trip_with_dot_and_keys() {
        let v = json!({"f:metadata":{"f:labels":{"f:app":{}}},
            "f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{}}},
                      "f:finalizers":{"v:\"a\"":{}}}});
        let s = FieldSet::from_fields_v1(&v).unwrap();
        assert!(s.has(&[f("metadata"), f("labels"), f("app")]));
        let key = PathElement::Key(vec![("name".into(), json!("nginx"))]);
        assert!(s.has(&[f("spec"), f("containers"), key.clone()]));
        assert!(s.has(&[f("spec"), f("containers"), key, f("image")]));
        assert!(!s.has(&[f("spec"), f("containers")]));
        assert_eq!(s.to_fields_v1().to_string(), v.to_string());
    }

    #[test]
    fn set_operations() {
        let mut a = FieldSet::new();
        a.insert(&[f("spec"), f("replicas")]);
        a.insert(&[f("spec"), f("paused")]);
        let mut b = FieldSet::new();
        b.insert(&[f("spec"), f("replicas")]);
        b.insert(&[f("metadata")]);
        let i = a.intersection(&b);
        assert_eq!(i.paths(), vec![vec![f("spec"), f("replicas")]]);
        let d = a.difference(&b);
        assert_eq!(d.paths(), vec![vec![f("spec"), f("paused")]]);
        assert_eq!(a.union(&b).paths().len(), 3);
        assert!(a.difference(&a).is_empty());
        // A member of the other set removes the whole subtree only recursively.
        let mut spec = FieldSet::new();
        spec.insert(&[f("spec")]);
        assert_eq!(a.difference(&spec), a);
        assert!(a.recursive_difference(&spec).is_empty());
        for (x, y) in [(&a, &b), (&b, &a), (&a, &spec), (&spec, &a), (&a, &a)] {
            assert_eq!(x.clone().without(y), x.difference(y));
            assert_eq!(x.clone().without_recursive(y), x.recursive_difference(y));
        }
    }

    #[test]
    fn malformed_fields_v1_is_an_error_only_at_top() {
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
        let s = FieldSet::from_fields_v1(&json!({"f:a": {}, "zz": {}})).unwrap();
        assert_eq!(s.paths(), vec![vec![f("a")]]);
    }
}
