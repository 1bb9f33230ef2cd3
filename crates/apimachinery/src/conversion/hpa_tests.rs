//! Tests of the autoscaling/v2 ↔ v1 HPA conversion: field mapping, the
//! round-trip annotations, and round trips in both directions.

use serde_json::{Value, json};

use super::super::convert;
use super::*;

fn to_v1(obj: &Value) -> Value {
    convert(obj, "autoscaling", "v1").unwrap()
}

fn to_v2(obj: &Value) -> Value {
    convert(obj, "autoscaling", "v2").unwrap()
}

fn annotation(obj: &Value, key: &str) -> Option<Value> {
    let text = obj["metadata"]["annotations"].get(key)?.as_str()?;
    Some(serde_json::from_str(text).unwrap())
}

/// A v2 HPA using every field, in the shape upstream writes it.
fn full_v2() -> Value {
    json!({
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "9",
                     "annotations": {"team": "a"}},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {"type": "Pods", "pods": {"metric": {"name": "tps"},
                    "target": {"type": "AverageValue", "averageValue": "1k"}}},
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "200Mi"}}},
                {"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70}}}
            ],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]},
                "scaleDown": {"stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
            }
        },
        "status": {
            "observedGeneration": 3,
            "lastScaleTime": "2024-01-01T00:00:00Z",
            "currentReplicas": 4,
            "desiredReplicas": 5,
            "currentMetrics": [
                {"type": "Pods", "pods": {"metric": {"name": "tps"},
                    "current": {"averageValue": "1200"}}},
                {"type": "Resource", "resource": {"name": "cpu",
                    "current": {"averageValue": "350m", "averageUtilization": 85}}}
            ],
            "conditions": [
                {"type": "AbleToScale", "status": "True",
                 "lastTransitionTime": "2024-01-01T00:00:00Z",
                 "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                {"type": "ScalingActive", "status": "True",
                 "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "ValidMetricFound"}
            ]
        }
    })
}

#[test]
fn v2_to_v1_maps_fields_and_writes_annotations() {
    let v1 = to_v1(&full_v2());
    assert_eq!(v1["kind"], "HorizontalPodAutoscaler");
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(
        v1["spec"],
        json!({"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
               "minReplicas": 2, "maxReplicas": 10, "targetCPUUtilizationPercentage": 70})
    );
    assert_eq!(
        v1["status"],
        json!({"observedGeneration": 3, "lastScaleTime": "2024-01-01T00:00:00Z",
               "currentReplicas": 4, "desiredReplicas": 5, "currentCPUUtilizationPercentage": 85})
    );
    let annotations = v1["metadata"]["annotations"].as_object().unwrap();
    assert_eq!(annotations["team"], "a");
    assert_eq!(
        annotations[METRICS_ANNOTATION],
        concat!(
            r#"[{"type":"Pods","pods":{"metricName":"tps","targetAverageValue":"1k"}},"#,
            r#"{"type":"Resource","resource":{"name":"memory","targetAverageValue":"200Mi"}}]"#
        )
    );
    assert_eq!(
        annotations[CURRENT_METRICS_ANNOTATION],
        concat!(
            r#"[{"type":"Pods","pods":{"metricName":"tps","currentAverageValue":"1200"}},"#,
            r#"{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":85,"#,
            r#""currentAverageValue":"350m"}}]"#
        )
    );
    assert_eq!(
        annotations[BEHAVIOR_ANNOTATION],
        concat!(
            r#"{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","#,
            r#""Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}],"Tolerance":null},"#,
            r#""ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":null,"#,
            r#""Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null}}"#
        )
    );
    assert_eq!(
        annotations[CONDITIONS_ANNOTATION],
        concat!(
            r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","#,
            r#""reason":"ReadyForNewScale","message":"recommended size matches current size"},"#,
            r#"{"type":"ScalingActive","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","#,
            r#""reason":"ValidMetricFound"}]"#
        )
    );
}

#[test]
fn v2_round_trips_through_v1() {
    let v2 = full_v2();
    let back = to_v2(&to_v1(&v2));
    // The CPU target comes back last, after the annotated metrics: upstream's order.
    assert_eq!(back, v2);
}

#[test]
fn every_metric_source_round_trips_through_v1() {
    let mut v2 = full_v2();
    v2["spec"]["metrics"] = json!([
        {"type": "Object", "object": {
            "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
            "target": {"type": "Value", "value": "10"},
            "metric": {"name": "rps", "selector": {"matchLabels": {"a": "b"}}}}},
        {"type": "ContainerResource", "containerResource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60}, "container": "app"}},
        {"type": "External", "external": {"metric": {"name": "queue"},
            "target": {"type": "AverageValue", "averageValue": "30"}}},
        {"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "AverageValue", "averageValue": "500m"}}},
        {"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 50}}}
    ]);
    let v1 = to_v1(&v2);
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 50);
    assert_eq!(
        annotation(&v1, METRICS_ANNOTATION)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(to_v2(&v1), v2);
}

#[test]
fn only_the_first_cpu_utilization_target_survives() {
    let mut v2 = full_v2();
    v2["spec"]["metrics"] = json!([
        {"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 40}}},
        {"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 90}}}
    ]);
    let v1 = to_v1(&v2);
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 40);
    assert!(annotation(&v1, METRICS_ANNOTATION).is_none());
    assert_eq!(
        to_v2(&v1)["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 40}}}])
    );
}

#[test]
fn the_last_current_cpu_utilization_wins() {
    let mut v2 = full_v2();
    v2["status"]["currentMetrics"] = json!([
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 10}}},
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "1"}}},
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 20}}}
    ]);
    assert_eq!(to_v1(&v2)["status"]["currentCPUUtilizationPercentage"], 20);
}

fn plain_v1() -> Value {
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                 "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60},
        "status": {"currentReplicas": 2, "desiredReplicas": 3}
    })
}

#[test]
fn v1_to_v2_builds_the_cpu_metric() {
    let v2 = to_v2(&plain_v1());
    assert_eq!(
        v2,
        json!({
            "kind": "HorizontalPodAutoscaler",
            "apiVersion": "autoscaling/v2",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 60}}}]
            },
            "status": {"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": null}
        })
    );
}

#[test]
fn v1_round_trips_through_v2() {
    let v1 = plain_v1();
    let back = to_v1(&to_v2(&v1));
    assert_eq!(back, v1);
    assert_eq!(
        back.as_object().unwrap().keys().next().map(String::as_str),
        Some("kind")
    );
}

#[test]
fn v1_current_cpu_round_trips_and_gains_the_status_annotation_as_upstream() {
    let mut v1 = plain_v1();
    v1["status"]["currentCPUUtilizationPercentage"] = json!(45);
    let v2 = to_v2(&v1);
    assert_eq!(
        v2["status"]["currentMetrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": 45}}}])
    );
    let back = to_v1(&v2);
    assert_eq!(back["status"], v1["status"]);
    assert_eq!(back["spec"], v1["spec"]);
    // Upstream saves every current metric, CPU included, to keep raw values.
    assert_eq!(
        annotation(&back, CURRENT_METRICS_ANNOTATION),
        Some(json!([{"type": "Resource", "resource": {"name": "cpu",
            "currentAverageUtilization": 45, "currentAverageValue": "0"}}]))
    );
    // From there the pair is stable.
    assert_eq!(to_v1(&to_v2(&back)), back);
}

#[test]
fn v1_without_any_metric_gets_the_default_cpu_target() {
    let mut v1 = plain_v1();
    v1["spec"]
        .as_object_mut()
        .unwrap()
        .remove("targetCPUUtilizationPercentage");
    let v2 = to_v2(&v1);
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}])
    );
    // An annotated metric alone means no default.
    v1["metadata"]["annotations"] = json!({
        METRICS_ANNOTATION: r#"[{"type":"Pods","pods":{"metricName":"tps","targetAverageValue":"5"}}]"#
    });
    let v2 = to_v2(&v1);
    assert_eq!(v2["spec"]["metrics"].as_array().unwrap().len(), 1);
    assert_eq!(v2["spec"]["metrics"][0]["type"], "Pods");
}

#[test]
fn v1_to_v2_reads_and_drops_the_annotations() {
    let mut v1 = plain_v1();
    v1["metadata"]["annotations"] = json!({
        "team": "a",
        METRICS_ANNOTATION: r#"[{"type":"External","external":{"metricName":"q","targetValue":"3"}}]"#,
        CURRENT_METRICS_ANNOTATION: r#"[{"type":"External","external":{"metricName":"q","currentValue":"4"}}]"#,
        CONDITIONS_ANNOTATION: r#"[{"type":"AbleToScale","status":"False","lastTransitionTime":null}]"#,
        BEHAVIOR_ANNOTATION: r#"{"ScaleDown":{"SelectPolicy":"Disabled"}}"#,
        TOLERANCE_SCALE_UP_ANNOTATION: "0.05"
    });
    let v2 = to_v2(&v1);
    assert_eq!(v2["metadata"]["annotations"], json!({"team": "a"}));
    assert_eq!(
        v2["spec"]["metrics"],
        json!([
            {"type": "External", "external": {"metric": {"name": "q"},
                "target": {"type": "Value", "value": "3"}}},
            {"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 60}}}
        ])
    );
    assert_eq!(
        v2["spec"]["behavior"],
        json!({"scaleDown": {"selectPolicy": "Disabled"}})
    );
    assert_eq!(
        v2["status"]["currentMetrics"],
        json!([{"type": "External", "external": {"metric": {"name": "q"},
            "current": {"value": "4"}}}])
    );
    assert_eq!(
        v2["status"]["conditions"],
        json!([{"type": "AbleToScale", "status": "False", "lastTransitionTime": null}])
    );
}

#[test]
fn annotations_map_left_empty_is_removed() {
    let mut v1 = plain_v1();
    v1["metadata"]["annotations"] = json!({CONDITIONS_ANNOTATION: "[]"});
    let v2 = to_v2(&v1);
    assert!(v2["metadata"].get("annotations").is_none());
    assert!(v2["status"].get("conditions").is_none());
}

#[test]
fn undecodable_annotations_are_ignored_and_still_dropped() {
    let mut v1 = plain_v1();
    v1["status"]["currentCPUUtilizationPercentage"] = json!(30);
    v1["metadata"]["annotations"] = json!({
        METRICS_ANNOTATION: "{not json",
        CURRENT_METRICS_ANNOTATION: r#"{"type":"Pods"}"#,
        CONDITIONS_ANNOTATION: "[1, 2]",
        BEHAVIOR_ANNOTATION: r#"{"ScaleUp":{"Policies":"x"}}"#
    });
    let v2 = to_v2(&v1);
    assert!(v2["metadata"].get("annotations").is_none());
    assert_eq!(v2["spec"]["metrics"].as_array().unwrap().len(), 1);
    assert!(v2["spec"].get("behavior").is_none());
    assert_eq!(
        v2["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
        30
    );
    assert!(v2["status"].get("conditions").is_none());
}

#[test]
fn stale_round_trip_annotations_on_v2_are_replaced() {
    let mut v2 = full_v2();
    v2["metadata"]["annotations"] = json!({
        "team": "a",
        METRICS_ANNOTATION: "stale",
        BEHAVIOR_ANNOTATION: "stale",
        TOLERANCE_SCALE_DOWN_ANNOTATION: "1"
    });
    v2["spec"].as_object_mut().unwrap().remove("behavior");
    v2["spec"]["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70}}}]);
    let v1 = to_v1(&v2);
    let annotations = v1["metadata"]["annotations"].as_object().unwrap();
    let keys: Vec<&str> = annotations.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["team", CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION]
    );

    // Nothing to carry and nothing else annotated: no annotations at all.
    let mut bare = v2.clone();
    bare["metadata"]["annotations"] = json!({METRICS_ANNOTATION: "stale"});
    bare.as_object_mut().unwrap().remove("status");
    let v1 = to_v1(&bare);
    assert!(v1["metadata"].get("annotations").is_none());
    assert_eq!(
        v1["status"],
        json!({"currentReplicas": 0, "desiredReplicas": 0})
    );
}

#[test]
fn behavior_with_tolerance_round_trips_through_v1() {
    let mut v2 = full_v2();
    v2["spec"]["behavior"] = json!({"scaleUp": {"tolerance": "50m"}});
    let v1 = to_v1(&v2);
    assert_eq!(
        annotation(&v1, BEHAVIOR_ANNOTATION),
        Some(
            json!({"ScaleUp": {"StabilizationWindowSeconds": null, "SelectPolicy": null,
            "Policies": null, "Tolerance": "50m"}, "ScaleDown": null})
        )
    );
    assert_eq!(to_v2(&v1), v2);
}

#[test]
fn metadata_other_than_round_trip_annotations_is_untouched() {
    let mut v2 = full_v2();
    v2["metadata"]["labels"] = json!({"app": "web"});
    v2["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
    let v1 = to_v1(&v2);
    assert_eq!(v1["metadata"]["labels"], v2["metadata"]["labels"]);
    assert_eq!(
        v1["metadata"]["managedFields"],
        v2["metadata"]["managedFields"]
    );
    assert_eq!(v1["metadata"]["resourceVersion"], "9");
}

#[test]
fn v2_to_v2_is_a_clone_without_round_trip_annotations() {
    let v2 = full_v2();
    assert_eq!(to_v2(&v2), v2);
    let mut annotated = v2.clone();
    annotated["metadata"]["annotations"][METRICS_ANNOTATION] = json!("[]");
    annotated["metadata"]["annotations"][TOLERANCE_SCALE_UP_ANNOTATION] = json!("0.1");
    assert_eq!(to_v2(&annotated), v2);
    // v1 → v1 stays a plain clone.
    let mut v1 = plain_v1();
    v1["metadata"]["annotations"] = json!({CONDITIONS_ANNOTATION: "[]"});
    assert_eq!(to_v1(&v1), v1);
}
