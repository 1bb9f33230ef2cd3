//! One row of history, shared by the backends: the kine layout in memory.
//!
//! Every write appends one row whose id is the write's revision. A row knows
//! enough to rebuild both the key-value it left behind and the watch event it
//! caused (including the previous value), so watch replay never needs a join
//! against rows that compaction may have removed.

use crate::{EventKind, KeyValue, WatchEvent};

/// One write, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    /// The revision of this write.
    pub rev: i64,
    pub key: String,
    /// The write created the key (it did not exist before).
    pub created: bool,
    /// The write deleted the key; `value` then holds the value it had.
    pub deleted: bool,
    pub create_revision: i64,
    /// Mod revision of the key before this write (0 on create).
    pub prev_revision: i64,
    /// The new value; for a delete, the value just deleted.
    pub value: Vec<u8>,
    /// The value before an update (None on create and delete, where it is
    /// either absent or already in `value`).
    pub old_value: Option<Vec<u8>>,
}

impl Row {
    /// The key-value this row leaves in place, or None for a tombstone.
    pub fn to_kv(&self) -> Option<KeyValue> {
        (!self.deleted).then(|| self.kv())
    }

    fn kv(&self) -> KeyValue {
        KeyValue {
            key: self.key.clone(),
            value: self.value.clone(),
            create_revision: self.create_revision,
            mod_revision: self.rev,
        }
    }

    /// The watch event this write caused (the row stays the caller's).
    pub fn to_event(&self) -> WatchEvent {
        self.clone().into_event()
    }

    /// The watch event this write caused, taking the row's values.
    pub fn into_event(self) -> WatchEvent {
        let kind = if self.deleted {
            EventKind::Delete
        } else {
            EventKind::Put
        };
        let (value, prev_value) = if self.deleted {
            (self.value.clone(), Some(self.value))
        } else {
            (self.value, self.old_value)
        };
        let prev = match prev_value {
            Some(value) if self.prev_revision > 0 => Some(KeyValue {
                key: self.key.clone(),
                value,
                create_revision: self.create_revision,
                mod_revision: self.prev_revision,
            }),
            _ => None,
        };
        WatchEvent {
            kind,
            kv: KeyValue {
                key: self.key,
                value,
                create_revision: self.create_revision,
                mod_revision: self.rev,
            },
            prev,
        }
    }

    /// The row a create of `key` writes at `rev`.
    pub fn create(rev: i64, key: impl Into<String>, value: Vec<u8>) -> Row {
        Row {
            rev,
            key: key.into(),
            created: true,
            deleted: false,
            create_revision: rev,
            prev_revision: 0,
            value,
            old_value: None,
        }
    }

    /// The row an update of `current` to `value` writes at `rev`.
    pub fn update(rev: i64, current: KeyValue, value: Vec<u8>) -> Row {
        Row {
            rev,
            key: current.key,
            created: false,
            deleted: false,
            create_revision: current.create_revision,
            prev_revision: current.mod_revision,
            value,
            old_value: Some(current.value),
        }
    }

    /// The tombstone a delete of `current` writes at `rev`.
    pub fn delete(rev: i64, current: KeyValue) -> Row {
        Row {
            rev,
            key: current.key,
            created: false,
            deleted: true,
            create_revision: current.create_revision,
            prev_revision: current.mod_revision,
            value: current.value,
            old_value: None,
        }
    }
}

/// The smallest byte string greater than every string starting with `prefix`,
/// or None when there is none (empty prefix or all 0xff bytes).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Where a range starts: the larger of the prefix and the requested start key.
pub(crate) fn range_start<'a>(prefix: &'a str, start_key: Option<&'a str>) -> &'a str {
    match start_key {
        Some(start) if start > prefix => start,
        _ => prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end(b"/a/"), Some(b"/a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b""), None);
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }

    #[test]
    fn events_carry_previous_values() {
        let created = Row::create(3, "/k", b"a".to_vec());
        assert_eq!(created.to_event().prev, None);
        let kv = created.to_kv().expect("live");
        let updated = Row::update(5, kv, b"b".to_vec());
        let ev = updated.to_event();
        assert_eq!(ev.kind, EventKind::Put);
        assert_eq!(ev.kv.value, b"b");
        assert_eq!(ev.kv.create_revision, 3);
        let prev = ev.prev.expect("prev");
        assert_eq!((prev.value.as_slice(), prev.mod_revision), (&b"a"[..], 3));

        let deleted = Row::delete(7, updated.to_kv().expect("live"));
        assert_eq!(deleted.to_kv(), None);
        let ev = deleted.to_event();
        assert_eq!(ev.kind, EventKind::Delete);
        assert_eq!((ev.kv.value.as_slice(), ev.revision()), (&b"b"[..], 7));
        assert_eq!(ev.prev.expect("prev").mod_revision, 5);
    }

    #[test]
    fn into_event_is_to_event() {
        let created = Row::create(3, "/k", b"a".to_vec());
        let updated = Row::update(5, created.to_kv().expect("live"), b"b".to_vec());
        let deleted = Row::delete(7, updated.to_kv().expect("live"));
        for row in [created, updated, deleted] {
            assert_eq!(row.to_event(), row.clone().into_event());
        }
    }

    #[test]
    fn range_start_clamps_to_prefix() {
        assert_eq!(range_start("/a/", None), "/a/");
        assert_eq!(range_start("/a/", Some("/a/x")), "/a/x");
        assert_eq!(range_start("/a/", Some("/")), "/a/");
    }
}
