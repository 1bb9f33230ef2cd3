//! `core/v1` Event ↔ `events.k8s.io/v1` Event, as upstream's
//! `Convert_v1_Event_To_core_Event` / `Convert_core_Event_To_v1_Event` and the
//! generated conversions around them map the fields:
//!
//! | core/v1 | events.k8s.io/v1 |
//! |---|---|
//! | involvedObject | regarding |
//! | message | note |
//! | source (component, host) | deprecatedSource |
//! | firstTimestamp / lastTimestamp / count | deprecatedFirstTimestamp / deprecatedLastTimestamp / deprecatedCount |
//! | reportingComponent / reportingInstance | reportingController / reportingInstance |
//! | reason, type, action, related, eventTime, series | same names |
//!
//! Note that `source.component` is *not* `reportingController`: upstream keeps
//! the legacy source in `deprecatedSource` and maps only `reportingComponent`.

use serde_json::{Map, Value, json};

use super::{copy_non_empty, copy_or, copy_present, present, start_object};

/// `EventSeries` has the same two fields in both versions; events.k8s.io/v1
/// declares both without `omitempty`, core/v1 keeps `count` under `omitempty`.
fn series(src: &Value, target_core: bool) -> Value {
    let mut out = Map::new();
    if target_core {
        copy_non_empty(&mut out, "count", src, "count");
    } else {
        copy_or(&mut out, "count", src, "count", json!(0));
    }
    copy_or(
        &mut out,
        "lastObservedTime",
        src,
        "lastObservedTime",
        Value::Null,
    );
    Value::Object(out)
}

/// `EventSource` (component, host), both `omitempty`; the struct itself is
/// always written.
fn source(src: Option<&Value>) -> Value {
    let mut out = Map::new();
    if let Some(src) = src {
        copy_non_empty(&mut out, "component", src, "component");
        copy_non_empty(&mut out, "host", src, "host");
    }
    Value::Object(out)
}

/// core/v1 → events.k8s.io/v1, in the events/v1 struct's field order.
pub(super) fn core_to_events(src: &Map<String, Value>) -> Value {
    let mut out = start_object("Event", "events.k8s.io/v1", src);
    let obj = &Value::Object(src.clone());
    copy_or(&mut out, "eventTime", obj, "eventTime", Value::Null);
    if let Some(s) = present(obj, "series") {
        out.insert("series".into(), series(s, false));
    }
    copy_non_empty(&mut out, "reportingController", obj, "reportingComponent");
    copy_non_empty(&mut out, "reportingInstance", obj, "reportingInstance");
    copy_non_empty(&mut out, "action", obj, "action");
    copy_non_empty(&mut out, "reason", obj, "reason");
    copy_or(&mut out, "regarding", obj, "involvedObject", json!({}));
    copy_present(&mut out, "related", obj, "related");
    copy_non_empty(&mut out, "note", obj, "message");
    copy_non_empty(&mut out, "type", obj, "type");
    out.insert("deprecatedSource".into(), source(present(obj, "source")));
    copy_or(
        &mut out,
        "deprecatedFirstTimestamp",
        obj,
        "firstTimestamp",
        Value::Null,
    );
    copy_or(
        &mut out,
        "deprecatedLastTimestamp",
        obj,
        "lastTimestamp",
        Value::Null,
    );
    copy_non_empty(&mut out, "deprecatedCount", obj, "count");
    Value::Object(out)
}

/// events.k8s.io/v1 → core/v1, in the core/v1 struct's field order.
pub(super) fn events_to_core(src: &Map<String, Value>) -> Value {
    let mut out = start_object("Event", "v1", src);
    let obj = &Value::Object(src.clone());
    copy_or(&mut out, "involvedObject", obj, "regarding", json!({}));
    copy_non_empty(&mut out, "reason", obj, "reason");
    copy_non_empty(&mut out, "message", obj, "note");
    out.insert("source".into(), source(present(obj, "deprecatedSource")));
    copy_or(
        &mut out,
        "firstTimestamp",
        obj,
        "deprecatedFirstTimestamp",
        Value::Null,
    );
    copy_or(
        &mut out,
        "lastTimestamp",
        obj,
        "deprecatedLastTimestamp",
        Value::Null,
    );
    copy_non_empty(&mut out, "count", obj, "deprecatedCount");
    copy_non_empty(&mut out, "type", obj, "type");
    // `eventTime,omitempty` on a struct type: Go still writes it (null).
    copy_or(&mut out, "eventTime", obj, "eventTime", Value::Null);
    if let Some(s) = present(obj, "series") {
        out.insert("series".into(), series(s, true));
    }
    copy_non_empty(&mut out, "action", obj, "action");
    copy_present(&mut out, "related", obj, "related");
    copy_or(
        &mut out,
        "reportingComponent",
        obj,
        "reportingController",
        json!(""),
    );
    copy_or(
        &mut out,
        "reportingInstance",
        obj,
        "reportingInstance",
        json!(""),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::convert;
    use serde_json::{Value, json};

    fn core_event() -> Value {
        json!({
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {"name": "web.17a", "namespace": "default", "resourceVersion": "42",
                         "uid": "u-1", "labels": {"a": "b"}},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web",
                               "uid": "p-1", "apiVersion": "v1", "resourceVersion": "7",
                               "fieldPath": "spec.containers{web}"},
            "reason": "Pulled",
            "message": "Successfully pulled image",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": "2024-01-01T00:05:00Z",
            "count": 3,
            "type": "Normal",
            "eventTime": "2024-01-01T00:00:00.123456Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:05:00.000001Z"},
            "action": "Pulling",
            "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1"
        })
    }

    fn events_event() -> Value {
        json!({
            "kind": "Event",
            "apiVersion": "events.k8s.io/v1",
            "metadata": {"name": "web.17a", "namespace": "default", "resourceVersion": "42",
                         "uid": "u-1", "labels": {"a": "b"}},
            "eventTime": "2024-01-01T00:00:00.123456Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:05:00.000001Z"},
            "reportingController": "kubelet",
            "reportingInstance": "node-1",
            "action": "Pulling",
            "reason": "Pulled",
            "regarding": {"kind": "Pod", "namespace": "default", "name": "web",
                          "uid": "p-1", "apiVersion": "v1", "resourceVersion": "7",
                          "fieldPath": "spec.containers{web}"},
            "related": {"kind": "Node", "name": "node-1"},
            "note": "Successfully pulled image",
            "type": "Normal",
            "deprecatedSource": {"component": "kubelet", "host": "node-1"},
            "deprecatedFirstTimestamp": "2024-01-01T00:00:00Z",
            "deprecatedLastTimestamp": "2024-01-01T00:05:00Z",
            "deprecatedCount": 3
        })
    }

    #[test]
    fn core_to_events_maps_every_field() {
        let out = convert(&core_event(), "events.k8s.io", "v1").unwrap();
        assert_eq!(out, events_event());
        // Go's field order, so clients printing raw JSON see upstream's layout.
        let keys: Vec<&str> = out
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected = events_event();
        let expected_keys: Vec<&str> = expected
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, expected_keys);
    }

    #[test]
    fn events_to_core_maps_every_field() {
        let out = convert(&events_event(), "", "v1").unwrap();
        assert_eq!(out, core_event());
        let keys: Vec<&str> = out
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let core = core_event();
        let expected_keys: Vec<&str> = core
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, expected_keys);
    }

    #[test]
    fn round_trips_are_lossless() {
        let core = core_event();
        let there = convert(&core, "events.k8s.io", "v1").unwrap();
        assert_eq!(convert(&there, "", "v1").unwrap(), core);
        let events = events_event();
        let there = convert(&events, "", "v1").unwrap();
        assert_eq!(convert(&there, "events.k8s.io", "v1").unwrap(), events);
    }

    #[test]
    fn minimal_core_event_gets_go_zero_values() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "Started", "message": "started", "type": "Normal",
            "source": {"component": "kubelet"},
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z",
            "count": 1
        });
        let out = convert(&core, "events.k8s.io", "v1").unwrap();
        assert_eq!(
            out,
            json!({
                "kind": "Event", "apiVersion": "events.k8s.io/v1",
                "metadata": {"name": "e", "namespace": "ns"},
                "eventTime": null,
                "reason": "Started",
                "regarding": {"kind": "Pod", "name": "p"},
                "note": "started", "type": "Normal",
                "deprecatedSource": {"component": "kubelet"},
                "deprecatedFirstTimestamp": "2024-01-01T00:00:00Z",
                "deprecatedLastTimestamp": "2024-01-01T00:00:00Z",
                "deprecatedCount": 1
            })
        );
        // source.component stays in deprecatedSource; it is not the reporting controller.
        assert!(out.get("reportingController").is_none());
        let back = convert(&out, "", "v1").unwrap();
        assert_eq!(back["reportingComponent"], json!(""));
        assert_eq!(back["reportingInstance"], json!(""));
        assert_eq!(back["eventTime"], Value::Null);
        for key in [
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
        ] {
            assert_eq!(back[key], core[key], "{key}");
        }
    }

    #[test]
    fn minimal_events_event_gets_go_zero_values() {
        let ev = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
            "action": "Reconcile", "reason": "Done", "type": "Normal",
            "regarding": {"kind": "Deployment", "name": "d"}
        });
        let core = convert(&ev, "", "v1").unwrap();
        assert_eq!(
            core,
            json!({
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"name": "e", "namespace": "ns"},
                "involvedObject": {"kind": "Deployment", "name": "d"},
                "reason": "Done",
                "source": {},
                "firstTimestamp": null, "lastTimestamp": null,
                "type": "Normal",
                "eventTime": "2024-01-01T00:00:00.000000Z",
                "action": "Reconcile",
                "reportingComponent": "example.com/ctl",
                "reportingInstance": "ctl-1"
            })
        );
        let back = convert(&core, "events.k8s.io", "v1").unwrap();
        for (key, value) in ev.as_object().unwrap() {
            assert_eq!(&back[key], value, "{key}");
        }
        assert_eq!(back["deprecatedSource"], json!({}));
        assert_eq!(back["deprecatedFirstTimestamp"], Value::Null);
        assert!(back.get("deprecatedCount").is_none());
    }

    #[test]
    fn series_zero_values_follow_each_versions_tags() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "series": {}});
        let ev = convert(&core, "events.k8s.io", "v1").unwrap();
        assert_eq!(ev["series"], json!({"count": 0, "lastObservedTime": null}));
        let back = convert(&ev, "", "v1").unwrap();
        assert_eq!(back["series"], json!({"lastObservedTime": null}));
    }

    #[test]
    fn unknown_fields_are_dropped_and_metadata_kept() {
        let mut core = core_event();
        core["bogus"] = json!(1);
        core["metadata"]["annotations"] = json!({"k": "v"});
        let out = convert(&core, "events.k8s.io", "v1").unwrap();
        assert!(out.get("bogus").is_none());
        assert_eq!(out["metadata"], core["metadata"]);
    }

    proptest::proptest! {
        /// Any subset of the shared string fields survives core → events →
        /// core, and events → core → events.
        #[test]
        fn any_subset_of_fields_round_trips(
            reason in proptest::option::of("[A-Za-z]{1,8}"),
            message in proptest::option::of(".{1,20}"),
            component in proptest::option::of("[a-z-]{1,8}"),
            host in proptest::option::of("[a-z0-9.]{1,8}"),
            count in proptest::option::of(1i64..1000),
            reporting in proptest::option::of("[a-z/.]{1,12}"),
            instance in proptest::option::of("[a-z0-9-]{1,8}"),
        ) {
            let mut core = json!({
                "kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod", "name": "p"},
                "source": {}, "firstTimestamp": null, "lastTimestamp": null,
                "eventTime": null, "reportingComponent": "", "reportingInstance": ""
            });
            if let Some(v) = &reason { core["reason"] = json!(v); }
            if let Some(v) = &message { core["message"] = json!(v); }
            if let Some(v) = &component { core["source"]["component"] = json!(v); }
            if let Some(v) = &host { core["source"]["host"] = json!(v); }
            if let Some(v) = count { core["count"] = json!(v); }
            if let Some(v) = &reporting { core["reportingComponent"] = json!(v); }
            if let Some(v) = &instance { core["reportingInstance"] = json!(v); }
            let events = convert(&core, "events.k8s.io", "v1").unwrap();
            proptest::prop_assert_eq!(&events["note"], &core.get("message").cloned().unwrap_or(Value::Null));
            proptest::prop_assert_eq!(convert(&events, "", "v1").unwrap(), core);
            let core_again = convert(&events, "", "v1").unwrap();
            proptest::prop_assert_eq!(convert(&core_again, "events.k8s.io", "v1").unwrap(), events);
        }
    }
}
