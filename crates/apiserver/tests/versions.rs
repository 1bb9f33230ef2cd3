//! Resources served at two versions over one storage: an Event written
//! through events.k8s.io/v1 reads back through core/v1 (and the other way),
//! an autoscaling/v2 HPA reads back as autoscaling/v1.

mod common;
use common::TestServer;
use k8s_openapi::api::autoscaling::{v1 as asv1, v2 as asv2};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

#[tokio::test]
async fn events_read_at_either_version() {
    let s = TestServer::start().await;
    let c = s.client().await;
    let new: Api<NewEvent> = Api::namespaced(c.clone(), "default");
    let ev: NewEvent = serde_json::from_value(json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
        "eventTime": "2026-01-02T03:04:05.000000Z", "reportingController": "x/ctl", "reportingInstance": "x-1",
        "action": "Testing", "reason": "Tested", "note": "hello", "type": "Normal",
        "regarding": {"kind": "Pod", "name": "p1", "namespace": "default"}
    }))
    .unwrap();
    new.create(&PostParams::default(), &ev)
        .await
        .expect("create new-style event");
    let core: Api<CoreEvent> = Api::namespaced(c.clone(), "default");
    let got = core.get("e1").await.expect("read as core/v1");
    assert_eq!(got.message.as_deref(), Some("hello"));
    assert_eq!(got.involved_object.name.as_deref(), Some("p1"));
    assert_eq!(got.reporting_component.as_deref(), Some("x/ctl"));
    let listed = new.list(&Default::default()).await.expect("list new-style");
    assert_eq!(listed.items[0].note.as_deref(), Some("hello"));
}

#[tokio::test]
async fn hpa_v2_reads_as_v1() {
    let s = TestServer::start().await;
    let c = s.client().await;
    let v2: Api<asv2::HorizontalPodAutoscaler> = Api::namespaced(c.clone(), "default");
    let h: asv2::HorizontalPodAutoscaler = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h1"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}
    }))
    .unwrap();
    v2.create(&PostParams::default(), &h)
        .await
        .expect("create v2");
    let v1: Api<asv1::HorizontalPodAutoscaler> = Api::namespaced(c.clone(), "default");
    let got = v1.get("h1").await.expect("read as v1");
    let spec = got.spec;
    assert_eq!(spec.target_cpu_utilization_percentage, Some(60));
    assert_eq!(spec.max_replicas, 4);
    let back = v2.get("h1").await.expect("read as v2");
    assert_eq!(back.spec.metrics.map(|m| m.len()), Some(1));
}
