//! core/v1 Events (also what events.k8s.io/v1 writes, converted to core/v1
//! before the strategy runs): upstream's legacy event validation, which is
//! loose for old-style events (no `eventTime`) and requires the reporting
//! fields for new-style ones; plus the event field selectors.

use super::util::{field_str, str_at};
use crate::strategy::Strategy;
use crate::validation::{invalid_each, invalid_str, is_dns1123_subdomain, is_qualified_name};
use apimachinery::Cause;
use serde_json::Value;

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

pub struct EventStrategy;

/// `legacyValidateEvent`. Field paths use upstream's internal names
/// (`reportingController`, not the v1 JSON `reportingComponent`).
pub fn validate_event(ev: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    let ns = str_at(ev, "/metadata/namespace");
    let io_ns = str_at(ev, "/involvedObject/namespace");
    let mismatch = || {
        invalid_str(
            "involvedObject.namespace",
            io_ns,
            "does not match event.namespace",
        )
    };
    let event_time = str_at(ev, "/eventTime");
    if event_time.is_empty() {
        // Old-style events: the namespaces agree ("default" is tolerated
        // for an involved object without one, for old clients).
        if io_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != io_ns {
            errs.push(mismatch());
        }
    } else {
        if io_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let controller = str_at(ev, "/reportingComponent");
        if controller.is_empty() {
            errs.push(Cause::required("reportingController"));
        }
        errs.extend(invalid_each(
            "reportingController",
            controller,
            is_qualified_name(controller),
        ));
        let too_long = |field: &str, limit: usize| {
            invalid_str(field, "", &format!("can have at most {limit} characters"))
        };
        for (json_field, path, limit, required) in [
            (
                "reportingInstance",
                "reportingInstance",
                REPORTING_INSTANCE_LIMIT,
                true,
            ),
            ("action", "action", ACTION_LIMIT, true),
            ("reason", "reason", REASON_LIMIT, true),
            ("message", "message", NOTE_LIMIT, false),
        ] {
            let v = str_at(ev, &format!("/{json_field}"));
            if required && v.is_empty() {
                errs.push(Cause::required(path));
            }
            if v.len() > limit {
                errs.push(too_long(path, limit));
            }
        }
    }
    errs.extend(invalid_each("namespace", ns, is_dns1123_subdomain(ns)));
    errs
}

impl Strategy for EventStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        validate_event(obj)
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        EVENT_FIELDS
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "source" => field_str(obj, "/source/component"),
            f if EVENT_FIELDS.contains(&f) => field_str(obj, &format!("/{}", f.replace('.', "/"))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn selectors() {
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet"}, "type": "Normal"});
        assert_eq!(
            EventStrategy
                .field_value(&ev, "involvedObject.kind")
                .unwrap(),
            "Pod"
        );
        assert_eq!(EventStrategy.field_value(&ev, "source").unwrap(), "kubelet");
        assert_eq!(EventStrategy.field_value(&ev, "reason").unwrap(), "");
    }

    #[test]
    fn legacy_events() {
        let ok = json!({"metadata": {"namespace": "ns"}, "involvedObject": {"kind": "Pod", "namespace": "ns"}, "reason": "Started"});
        assert!(validate_event(&ok).is_empty());
        // A cluster-scoped involved object is fine in "default".
        let node =
            json!({"metadata": {"namespace": "default"}, "involvedObject": {"kind": "Node"}});
        assert!(validate_event(&node).is_empty());
        let bad =
            json!({"metadata": {"namespace": "ns"}, "involvedObject": {"namespace": "other"}});
        let e = validate_event(&bad);
        assert_eq!(fields(&e), ["involvedObject.namespace"]);
        assert_eq!(
            e[0].message,
            "Invalid value: \"other\": does not match event.namespace"
        );
        let stray = json!({"metadata": {"namespace": "ns"}, "involvedObject": {"kind": "Node"}});
        assert_eq!(validate_event(&stray).len(), 1);
    }

    #[test]
    fn new_style_events() {
        let ok = json!({"metadata": {"namespace": "ns"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "involvedObject": {"namespace": "ns"}, "reportingComponent": "example.com/ctrl",
            "reportingInstance": "ctrl-1", "action": "Scale", "reason": "Scaled", "type": "Normal", "message": "m"});
        assert!(validate_event(&ok).is_empty());
        let bad = json!({"metadata": {"namespace": "ns"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "involvedObject": {"namespace": "ns"}, "reportingComponent": "bad name",
            "action": "a".repeat(129), "reason": "r", "message": "m".repeat(1025)});
        let e = validate_event(&bad);
        assert_eq!(
            fields(&e),
            [
                "reportingController",
                "reportingInstance",
                "action",
                "message"
            ]
        );
        assert_eq!(
            e[2].message,
            "Invalid value: \"\": can have at most 128 characters"
        );
        assert_eq!(
            e[3].message,
            "Invalid value: \"\": can have at most 1024 characters"
        );
        let missing = json!({"metadata": {"namespace": "ns"}, "eventTime": "2024-01-01T00:00:00Z",
            "involvedObject": {"namespace": "ns"}});
        assert_eq!(
            fields(&validate_event(&missing)),
            // An empty name fails both halves of the qualified-name check.
            [
                "reportingController",
                "reportingController",
                "reportingController",
                "reportingInstance",
                "action",
                "reason"
            ]
        );
    }
}
