//! HPA against a real API server without a metrics API: the status says why
//! it cannot compute replicas, and min/max are still enforced through the
//! target's scale subresource.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}
    }))
    .unwrap()
}

fn hpa(name: &str, min: i32, max: i32) -> HorizontalPodAutoscaler {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": min, "maxReplicas": max,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                     "target": {"type": "Utilization", "averageUtilization": 50}}}]}
    }))
    .unwrap()
}

fn condition(h: &HorizontalPodAutoscaler, t: &str) -> Option<(String, String, String)> {
    let c = h.status.as_ref()?.conditions.as_ref()?;
    let c = c.iter().find(|c| c.type_ == t)?;
    Some((c.status.clone(), c.reason.clone()?, c.message.clone()?))
}

async fn wait<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn hpa_without_metrics_reports_why_and_enforces_limits() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    tokio::spawn(controllers::hpa::run_with(
        informer::Factory::new(client.clone()),
        std::sync::Arc::new(controllers::hpa::NoMetrics),
        Duration::from_millis(300),
    ));
    let deps: Api<Deployment> = Api::namespaced(client.clone(), "test");
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "test");

    // In range: cannot compute, says why.
    deps.create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    hpas.create(&PostParams::default(), &hpa("web", 1, 5))
        .await
        .unwrap();
    let h = wait("ScalingActive", async || {
        let h = hpas.get("web").await.ok()?;
        condition(&h, "ScalingActive").map(|_| h)
    })
    .await;
    assert_eq!(
        condition(&h, "AbleToScale").unwrap(),
        (
            "True".into(),
            "SucceededGetScale".into(),
            "the HPA controller was able to get the target's current scale".into()
        )
    );
    let (status, reason, message) = condition(&h, "ScalingActive").unwrap();
    assert_eq!(status, "False");
    assert_eq!(reason, "FailedGetResourceMetric");
    assert_eq!(
        message,
        "the HPA was unable to compute the replica count: unable to get metrics for resource cpu: \
         unable to fetch metrics from resource metrics API: the server could not find the requested \
         resource (get pods.metrics.k8s.io)"
    );
    assert_eq!(h.status.as_ref().unwrap().current_replicas, Some(2));
    assert_eq!(deps.get("web").await.unwrap().spec.replicas, Some(2));

    // Below minReplicas: scaled up to the minimum.
    deps.create(&PostParams::default(), &deployment("few", 1))
        .await
        .unwrap();
    hpas.create(&PostParams::default(), &hpa("few", 3, 5))
        .await
        .unwrap();
    wait("scaled to min", async || {
        (deps.get("few").await.ok()?.spec.replicas == Some(3)).then_some(())
    })
    .await;
    let h = wait("status of few", async || {
        let h = hpas.get("few").await.ok()?;
        (h.status.as_ref()?.desired_replicas == 3).then_some(h)
    })
    .await;
    assert!(h.status.as_ref().unwrap().last_scale_time.is_some());

    // Above maxReplicas: scaled down to the maximum.
    deps.create(&PostParams::default(), &deployment("many", 9))
        .await
        .unwrap();
    hpas.create(&PostParams::default(), &hpa("many", 1, 4))
        .await
        .unwrap();
    wait("scaled to max", async || {
        (deps.get("many").await.ok()?.spec.replicas == Some(4)).then_some(())
    })
    .await;
    // Raising the target above max again is undone on the next sync.
    let p = json!({"spec": {"replicas": 7}});
    deps.patch("many", &PatchParams::default(), &Patch::Merge(&p))
        .await
        .unwrap();
    wait("scaled to max again", async || {
        (deps.get("many").await.ok()?.spec.replicas == Some(4)).then_some(())
    })
    .await;

    // A target that does not exist: AbleToScale False.
    hpas.create(&PostParams::default(), &hpa("ghost", 1, 3))
        .await
        .unwrap();
    let (st, reason, _) = wait("FailedGetScale", async || {
        condition(&hpas.get("ghost").await.ok()?, "AbleToScale")
    })
    .await;
    assert_eq!((st.as_str(), reason.as_str()), ("False", "FailedGetScale"));
}
