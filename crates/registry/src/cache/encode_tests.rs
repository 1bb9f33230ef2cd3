//! The encodings must be byte for byte what the parse-and-encode they replace
//! produces, whatever the object looks like.

use super::*;
use serde_json::json;

/// The store encoding as it was: clone, remove the revision, serialize.
fn old_store(obj: &Value) -> Vec<u8> {
    let mut o = obj.clone();
    if let Some(md) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("resourceVersion");
    }
    serde_json::to_vec(&o).expect("encodes")
}

/// The cache encoding as it was: parse the stored bytes, stamp, serialize.
fn old_cached(stored: &[u8], rv: i64) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(stored).expect("parses");
    apimachinery::meta::metadata_mut(&mut v)
        .insert("resourceVersion".into(), Value::String(rv.to_string()));
    serde_json::to_vec(&v).expect("encodes")
}

fn samples() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "17",
                            "labels": {"a": "b"}, "uid": "u"},
               "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        json!({"metadata": {"resourceVersion": "3", "name": "first"}, "kind": "X"}),
        json!({"metadata": {"name": "last", "resourceVersion": "3"}}),
        json!({"metadata": {"resourceVersion": "9"}, "data": {"resourceVersion": ""}}),
        json!({"metadata": {}, "kind": "Empty"}),
        json!({"kind": "NoMetadata", "spec": {}}),
        json!({"metadata": "not an object", "x": 1}),
        json!({"data": {"metadata": {"nested": true}},
               "metadata": {"name": "q\"uote\\ \u{1F600} \n", "annotations": {"k\u{7f}": "v\t"}},
               "n": [1, -2, 18446744073709551615u64, null, true]}),
        json!([1, 2, 3]),
        json!("scalar"),
    ]
}

#[test]
fn store_encoding_is_serde_json_without_the_revision() {
    for obj in samples() {
        let enc = encode_for_store(&obj);
        assert_eq!(
            String::from_utf8_lossy(&enc.bytes),
            String::from_utf8_lossy(&old_store(&obj)),
            "{obj}"
        );
        let has_md = obj.get("metadata").is_some_and(Value::is_object);
        assert_eq!(enc.stamp.is_some(), has_md, "{obj}");
    }
}

#[test]
fn stamping_the_stored_bytes_is_parsing_and_stamping() {
    for obj in samples() {
        let enc = encode_for_store(&obj);
        let Some(stamp) = enc.stamp else { continue };
        for rv in [1, 42, 1234567890123] {
            let (json, rv_at) = stamp.apply(&enc.bytes, rv);
            assert_eq!(
                String::from_utf8_lossy(&json),
                String::from_utf8_lossy(&old_cached(&enc.bytes, rv)),
                "{obj}"
            );
            assert_eq!(json.capacity(), json.len());
            let digits = rv.to_string();
            assert_eq!(&json[rv_at..rv_at + digits.len()], digits.as_bytes());
        }
    }
}

#[test]
fn stamped_encoding_is_serde_json_and_finds_the_digits() {
    for obj in samples() {
        let stored = old_store(&obj);
        if serde_json::from_slice::<Value>(&stored).is_err() {
            continue;
        }
        let mut v: Value = serde_json::from_slice(&stored).expect("parses");
        apimachinery::meta::metadata_mut(&mut v)
            .insert("resourceVersion".into(), Value::String("77".into()));
        let (json, rv_at) = encode_stamped(&v, 77, 16);
        assert_eq!(json, serde_json::to_vec(&v).expect("encodes"), "{obj}");
        let at = rv_at.expect("found");
        assert_eq!(&json[at..at + 2], b"77");

        // A later revision of the same bytes, as a delete stamps it.
        let (moved, at2) = restamp(&json, at, 77, 1001).expect("restamps");
        assert_eq!(moved, old_cached(&stored, 1001));
        assert_eq!(&moved[at2..at2 + 4], b"1001");
        assert!(restamp(&json, at, 78, 1001).is_none());
        assert!(restamp(&json, at + 1, 7, 1001).is_none());
    }
}

#[test]
fn floats_do_not_round_trip() {
    assert!(round_trips(
        &json!({"a": [1, -1, "x", null, {"b": 18446744073709551615u64}]})
    ));
    assert!(!round_trips(&json!({"a": [{"b": 0.5}]})));
    assert!(!round_trips(&json!(1.0)));
}
