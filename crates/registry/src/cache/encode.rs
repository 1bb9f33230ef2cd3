//! The two JSON encodings of an object and how one becomes the other without
//! parsing: the store keeps it without `metadata.resourceVersion`; the watch
//! cache keeps it with the revision stamped as the metadata's last field.
//!
//! Both are byte for byte what `serde_json` writes for the same `Value`
//! (compact, map order kept), so an object the registry writes can go into
//! the cache by splicing the revision into the bytes it stored, and a
//! deleted one by replacing the revision digits, instead of a parse and a
//! re-encode of the whole object.

use serde_json::{Map, Value};

const RV_FIELD: &str = "resourceVersion";

/// An object encoded for the store.
pub struct StoredJson {
    /// The JSON, without `metadata.resourceVersion`.
    pub bytes: Vec<u8>,
    /// Where the cache stamps the revision; None when the object has no
    /// metadata object to stamp it into.
    pub stamp: Option<Stamp>,
}

/// Where `"resourceVersion":"<rv>"` goes in a stored encoding: right before
/// the metadata's closing brace (where inserting the field into the parsed
/// metadata map puts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Offset of the metadata's closing brace.
    at: usize,
    /// The metadata has no other field (no comma before the stamp).
    alone: bool,
}

impl Stamp {
    /// The cached encoding of `stored` at revision `rv`, and the offset of
    /// the revision's digits in it.
    pub fn apply(&self, stored: &[u8], rv: i64) -> (Vec<u8>, usize) {
        let digits = rv.to_string();
        let head = if self.alone { "" } else { "," };
        let field = "\"resourceVersion\":\"";
        let mut out =
            Vec::with_capacity(stored.len() + head.len() + field.len() + digits.len() + 1);
        out.extend_from_slice(&stored[..self.at]);
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(field.as_bytes());
        let rv_at = out.len();
        out.extend_from_slice(digits.as_bytes());
        out.push(b'"');
        out.extend_from_slice(&stored[self.at..]);
        (out, rv_at)
    }
}

/// Replace the revision `old` whose digits start at `rv_at` in a cached
/// encoding by `new`. None if the digits there are not `old`'s.
pub fn restamp(json: &[u8], rv_at: usize, old: i64, new: i64) -> Option<(Vec<u8>, usize)> {
    let old = old.to_string();
    let end = rv_at.checked_add(old.len())?;
    let quoted = json.get(rv_at.checked_sub(1)?) == Some(&b'"') && json.get(end) == Some(&b'"');
    if !quoted || json.get(rv_at..end)? != old.as_bytes() {
        return None;
    }
    let new = new.to_string();
    let mut out = Vec::with_capacity(json.len() - old.len() + new.len());
    out.extend_from_slice(&json[..rv_at]);
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&json[end..]);
    Some((out, rv_at))
}

/// Encode `obj` for the store: what `serde_json` writes for `obj` after
/// `metadata.remove("resourceVersion")` (a swap-remove: the last field takes
/// its place), without cloning the object.
pub fn encode_for_store(obj: &Value) -> StoredJson {
    let mut buf = Vec::with_capacity(1024);
    let stamp = match obj.as_object() {
        Some(top) => write_top(&mut buf, top, |buf, md| {
            let mut fields: Vec<(&String, &Value)> = md.iter().collect();
            if let Some(i) = fields.iter().position(|(k, _)| *k == RV_FIELD) {
                fields.swap_remove(i);
            }
            write_fields(buf, fields.iter().copied());
            Some(Stamp {
                at: buf.len() - 1,
                alone: fields.is_empty(),
            })
        }),
        None => {
            write_value(&mut buf, obj);
            None
        }
    };
    StoredJson { bytes: buf, stamp }
}

/// Encode an object whose `metadata.resourceVersion` is the string `rv`
/// exactly as `serde_json` does, also returning where the digits start.
pub fn encode_stamped(obj: &Value, rv: i64, capacity: usize) -> (Vec<u8>, Option<usize>) {
    let mut buf = Vec::with_capacity(capacity);
    let digits = rv.to_string();
    let rv_at = match obj.as_object() {
        Some(top) => write_top(&mut buf, top, |buf, md| {
            let mut at = None;
            buf.push(b'{');
            for (i, (k, v)) in md.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_key(buf, k);
                if k == RV_FIELD && v.as_str() == Some(digits.as_str()) {
                    // Digits need no escaping: they follow the quote.
                    at = Some(buf.len() + 1);
                }
                write_value(buf, v);
            }
            buf.push(b'}');
            at
        }),
        None => {
            write_value(&mut buf, obj);
            None
        }
    };
    (buf, rv_at)
}

/// Write a top-level object, handing its `metadata` (when an object) to
/// `metadata`, which writes it whole and returns what it learnt.
fn write_top<T>(
    buf: &mut Vec<u8>,
    top: &Map<String, Value>,
    metadata: impl FnOnce(&mut Vec<u8>, &Map<String, Value>) -> Option<T>,
) -> Option<T> {
    let mut learnt = None;
    let mut metadata = Some(metadata);
    buf.push(b'{');
    for (i, (k, v)) in top.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_key(buf, k);
        match (k.as_str(), v.as_object(), metadata.take()) {
            ("metadata", Some(md), Some(f)) => learnt = f(buf, md),
            (_, _, f) => {
                metadata = f;
                write_value(buf, v);
            }
        }
    }
    buf.push(b'}');
    learnt
}

fn write_fields<'a>(buf: &mut Vec<u8>, fields: impl Iterator<Item = (&'a String, &'a Value)>) {
    buf.push(b'{');
    for (i, (k, v)) in fields.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_key(buf, k);
        write_value(buf, v);
    }
    buf.push(b'}');
}

/// `"key":`, escaped as serde_json escapes map keys.
fn write_key(buf: &mut Vec<u8>, k: &str) {
    write_value(buf, k);
    buf.push(b':');
}

/// Writing JSON into a `Vec` cannot fail (map keys of a `Value` are strings).
fn write_value<T: serde::Serialize + ?Sized>(buf: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(&mut *buf, v);
}

/// Whether parsing the JSON of `v` gives `v` back exactly. Integers and
/// strings always do; a float may come back one unit in the last place off
/// (serde_json's default float parsing is not exact), so objects holding
/// floats take the slow paths that parse, as before.
pub fn round_trips(v: &Value) -> bool {
    match v {
        Value::Number(n) => !n.is_f64(),
        Value::Array(a) => a.iter().all(round_trips),
        Value::Object(m) => m.values().all(round_trips),
        _ => true,
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
