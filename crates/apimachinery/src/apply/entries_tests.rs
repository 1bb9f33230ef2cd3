//! Reading and writing `metadata.managedFields` agrees with serde's forms,
//! and [`track_update_in_place`] with what the registry did before it
//! existed (read the entries, track, write them back) on every write of
//! the pinned corpus.

use super::pinned_tests::{Write, track_cases};
use super::*;
use crate::schema::schema_for_kind;
use serde_json::{Value, json};

fn options(w: &Write) -> Options<'static> {
    let opts = Options::new(schema_for_kind(&w.gvk[0], &w.gvk[1], &w.gvk[2]));
    if !w.subresource.is_empty() {
        opts.with_subresource(&w.subresource)
    } else if w.status_reset {
        opts.with_status_subresource()
    } else {
        opts
    }
}

/// The registry's steps around [`track_update_with`].
fn recipe(w: &Write) -> Result<Value, String> {
    let mut new = w.new.clone();
    let managed = match managed_fields_of(&new) {
        Ok(m) if new.pointer("/metadata/managedFields").is_some() => m,
        _ => w
            .old
            .as_ref()
            .map(|o| managed_fields_of(o).unwrap_or_default())
            .unwrap_or_default(),
    };
    let opts = options(w);
    let entries = track_update_with(
        w.old.as_ref(),
        &new,
        &w.manager,
        &managed,
        &w.api_version,
        &w.now,
        &opts,
    )
    .map_err(|e| e.to_string())?;
    set_managed_fields(&mut new, &entries);
    Ok(new)
}

fn in_place(w: &Write) -> Result<Value, String> {
    let mut new = w.new.clone();
    let opts = options(w);
    track_update_in_place(
        w.old.as_ref(),
        &mut new,
        &w.manager,
        &w.api_version,
        &w.now,
        &opts,
    )
    .map_err(|e| e.to_string())?;
    Ok(new)
}

fn same_bytes(a: &Result<Value, String>, b: &Result<Value, String>) -> bool {
    let text = |r: &Result<Value, String>| match r {
        Ok(v) => serde_json::to_string(v).unwrap_or_default(),
        Err(e) => format!("error {e}"),
    };
    text(a) == text(b)
}

/// Entries that only serde reads, or that it refuses.
fn odd_lists() -> Vec<Value> {
    vec![
        Value::Null,
        json!([]),
        json!({"not": "a list"}),
        json!("text"),
        json!([["sched_bench", "Update", "v1", null, "FieldsV1", {"f:spec": {}}]]),
        json!([{"manager": 5, "operation": "Update"}]),
        json!([{"manager": "m", "operation": "Update", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "time": 7, "fieldsV1": {"f:spec": {}}}]),
        json!([{"manager": "m", "operation": "Update", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "time": null, "fieldsV1": null, "extra": 1}]),
        json!([{"manager": "m", "operation": "Update", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": ["not", "an", "object"]}]),
        json!([{"manager": null}]),
        json!([1]),
    ]
}

#[test]
fn entries_read_and_write_as_serde_does() {
    let mut lists = odd_lists();
    for w in super::pinned_tests::writes() {
        lists.extend(w.new.pointer("/metadata/managedFields").cloned());
    }
    for list in lists {
        let obj = json!({"metadata": {"name": "x", "managedFields": list.clone()}});
        let want: Result<Vec<ManagedFieldsEntry>, String> = match &list {
            Value::Null => Ok(vec![]),
            v => serde_json::from_value(v.clone()).map_err(|e| e.to_string()),
        };
        let got = managed_fields_of(&obj).map_err(|e| match e {
            ApplyError::ManagedFields(m) => m,
            other => other.to_string(),
        });
        assert_eq!(got, want, "{list}");
        if let Ok(entries) = got {
            let mut written = obj.clone();
            set_managed_fields(&mut written, &entries);
            let mut serde_written = obj.clone();
            if entries.is_empty() {
                serde_written["metadata"]
                    .as_object_mut()
                    .map(|m| m.shift_remove("managedFields"));
            } else {
                serde_written["metadata"]["managedFields"] = json!(entries);
            }
            assert_eq!(written.to_string(), serde_written.to_string());
        }
    }
}

#[test]
fn in_place_tracking_matches_the_registry_steps() {
    let mut cases = track_cases();
    // Where the entries come from: the new object's, or the old one's.
    let base = cases[0].1.clone();
    for (i, list) in odd_lists().into_iter().enumerate() {
        let mut w = base.clone();
        w.new["metadata"]["managedFields"] = list.clone();
        cases.push((format!("odd new list {i}"), w.clone()));
        if let Some(old) = w.old.as_mut() {
            old["metadata"]["managedFields"] = list;
        }
        w.new["metadata"]
            .as_object_mut()
            .map(|m| m.shift_remove("managedFields"));
        cases.push((format!("odd old list {i}"), w));
    }
    let mut w = base;
    w.new = json!({"metadata": "not an object", "spec": {}});
    cases.push(("odd metadata".into(), w));
    for (name, w) in &cases {
        assert!(same_bytes(&in_place(w), &recipe(w)), "{name}");
    }
}
