//! One HPA sync (upstream's `reconcileAutoscaler`): scale, limits, metrics,
//! normalization, rescale, status and events.

use super::algorithm::{self, replicas_for_ratio};
use super::{Ctx, Error};
use informer::{EventType, ObjectKey};
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus,
    MetricSpec, MetricStatus, MetricValueStatus, ResourceMetricStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use std::time::Instant;

fn set_condition(
    hpa: &mut HorizontalPodAutoscaler,
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) {
    let st = hpa.status.get_or_insert_with(Default::default);
    let conds = st.conditions.get_or_insert_with(Vec::new);
    let now = Some(Time(jiff::Timestamp::now()));
    match conds.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now;
            }
            c.status = status.into();
            c.reason = Some(reason.into());
            c.message = Some(message);
        }
        None => conds.push(HorizontalPodAutoscalerCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: now,
            observed_generation: None,
        }),
    }
}

fn millis(m: i64) -> KQuantity {
    KQuantity(
        apimachinery::quantity::Quantity::parse(&format!("{m}m"))
            .map(|q| q.to_string())
            .unwrap_or_else(|_| "0".into()),
    )
}

/// A metric's proposal: replicas, description, status; or the condition
/// reason, the condition's error and the wrapped error.
type Proposal = Result<(i32, String, MetricStatus), (&'static str, String, String)>;

async fn compute_metric(
    ctx: &Ctx,
    ns: &str,
    selector: &str,
    current: i32,
    spec: &MetricSpec,
) -> Proposal {
    let ratio = |cur: i64, target: i64| {
        if target == 0 {
            1.0
        } else {
            cur as f64 / target as f64
        }
    };
    let target_millis = |q: Option<&KQuantity>| {
        q.and_then(|q| apimachinery::quantity::Quantity::parse(&q.0).ok())
            .map(|q| q.to_millis() as i64)
    };
    match spec.type_.as_str() {
        "Resource" => {
            let Some(r) = &spec.resource else {
                return Err((
                    "FailedGetResourceMetric",
                    "missing resource".into(),
                    "missing resource".into(),
                ));
            };
            let usage = match ctx.metrics.resource(ns, selector, &r.name).await {
                Ok(u) => u,
                Err(e) => {
                    let inner = format!("unable to get metrics for resource {}: {e}", r.name);
                    let outer = format!("failed to get {} utilization: {inner}", r.name);
                    return Err(("FailedGetResourceMetric", inner, outer));
                }
            };
            let (replicas, current_status) = if let Some(avg) =
                target_millis(r.target.average_value.as_ref())
            {
                (
                    replicas_for_ratio(current, ratio(usage.average_millis, avg)),
                    MetricValueStatus {
                        average_value: Some(millis(usage.average_millis)),
                        ..Default::default()
                    },
                )
            } else if let Some(u) = r.target.average_utilization {
                (
                    replicas_for_ratio(current, ratio(usage.utilization as i64, u as i64)),
                    MetricValueStatus {
                        average_utilization: Some(usage.utilization),
                        average_value: Some(millis(usage.average_millis)),
                        ..Default::default()
                    },
                )
            } else {
                let e = "invalid resource metric source: neither a utilization target nor a value target was set".to_string();
                return Err(("FailedGetResourceMetric", e.clone(), e));
            };
            let status = MetricStatus {
                type_: "Resource".into(),
                resource: Some(ResourceMetricStatus {
                    name: r.name.clone(),
                    current: current_status,
                }),
                ..Default::default()
            };
            Ok((
                replicas,
                format!("{} resource utilization (percentage of request)", r.name),
                status,
            ))
        }
        "Pods" => {
            let Some(p) = &spec.pods else {
                return Err((
                    "FailedGetPodsMetric",
                    "missing pods".into(),
                    "missing pods".into(),
                ));
            };
            match ctx.metrics.pods_metric(ns, selector, &p.metric.name).await {
                Ok(v) => {
                    let target = target_millis(p.target.average_value.as_ref()).unwrap_or(0);
                    let status = MetricStatus {
                        type_: "Pods".into(),
                        ..Default::default()
                    };
                    Ok((
                        replicas_for_ratio(current, ratio(v, target)),
                        format!("pods metric {}", p.metric.name),
                        status,
                    ))
                }
                Err(e) => {
                    let inner = format!("unable to get metric {}: {e}", p.metric.name);
                    Err((
                        "FailedGetPodsMetric",
                        inner.clone(),
                        format!("failed to get pods metric value: {inner}"),
                    ))
                }
            }
        }
        "Object" => {
            let Some(o) = &spec.object else {
                return Err((
                    "FailedGetObjectMetric",
                    "missing object".into(),
                    "missing object".into(),
                ));
            };
            let d = &o.described_object;
            match ctx
                .metrics
                .object_metric(ns, &d.kind, &d.name, &o.metric.name)
                .await
            {
                Ok(v) => {
                    let target = target_millis(o.target.value.as_ref()).unwrap_or(0);
                    let status = MetricStatus {
                        type_: "Object".into(),
                        ..Default::default()
                    };
                    Ok((
                        replicas_for_ratio(current, ratio(v, target)),
                        format!("{} metric {}", d.kind, o.metric.name),
                        status,
                    ))
                }
                Err(e) => {
                    let inner = format!(
                        "unable to get metric {}: {} on {} {}/{}: {e}",
                        o.metric.name, d.kind, d.kind, ns, d.name
                    );
                    Err((
                        "FailedGetObjectMetric",
                        inner.clone(),
                        format!("failed to get object metric value: {inner}"),
                    ))
                }
            }
        }
        "External" => {
            let Some(x) = &spec.external else {
                return Err((
                    "FailedGetExternalMetric",
                    "missing external".into(),
                    "missing external".into(),
                ));
            };
            match ctx.metrics.external_metric(ns, &x.metric.name).await {
                Ok(v) => {
                    let target =
                        target_millis(x.target.value.as_ref().or(x.target.average_value.as_ref()))
                            .unwrap_or(0);
                    let status = MetricStatus {
                        type_: "External".into(),
                        ..Default::default()
                    };
                    Ok((
                        replicas_for_ratio(current, ratio(v, target)),
                        format!("external metric {}", x.metric.name),
                        status,
                    ))
                }
                Err(e) => {
                    let inner =
                        format!("unable to get external metric {ns}/{}: {e}", x.metric.name);
                    Err((
                        "FailedGetExternalMetric",
                        inner.clone(),
                        format!("failed to get {} external metric: {inner}", x.metric.name),
                    ))
                }
            }
        }
        other => {
            let e = format!("unknown metric source type {other:?}");
            Err(("InvalidMetricSourceType", e.clone(), e))
        }
    }
}

pub(crate) async fn reconcile(
    ctx: &Ctx,
    key: &ObjectKey,
    cached: &HorizontalPodAutoscaler,
) -> Result<(), Error> {
    let mut hpa = cached.clone();
    let original = hpa.status.clone();
    let ns = key.namespace.as_str();
    let target = hpa.spec.scale_target_ref.clone();
    let (group, version) = match target
        .api_version
        .as_deref()
        .unwrap_or("v1")
        .split_once('/')
    {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            target.api_version.clone().unwrap_or_else(|| "v1".into()),
        ),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &target.kind);
    let scale = async {
        let (ar, _) = kube::discovery::pinned_kind(&ctx.client, &gvk).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &ar);
        api.get_scale(&target.name).await.map(|s| (api, s))
    }
    .await;
    let (api, scale) = match scale {
        Ok(x) => x,
        Err(e) => {
            let msg = e.to_string();
            ctx.recorder
                .event(&hpa, EventType::Warning, "FailedGetScale", msg.clone());
            set_condition(
                &mut hpa,
                "AbleToScale",
                "False",
                "FailedGetScale",
                format!("the HPA controller was unable to get the target's current scale: {msg}"),
            );
            return write_status(ctx, key, &hpa, &original).await;
        }
    };
    set_condition(
        &mut hpa,
        "AbleToScale",
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".into(),
    );
    let current = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let min = hpa.spec.min_replicas.unwrap_or(1);
    let max = hpa.spec.max_replicas;
    let now = Instant::now();
    {
        let mut hist = ctx.history.lock().expect("lock");
        let h = hist.entry(key.clone()).or_default();
        if h.recommendations.is_empty() {
            h.recommendations.push((current, now));
        }
    }
    let reference = format!("{}/{}/{}", target.kind, ns, target.name);
    let mut desired;
    let mut reason = String::new();
    let mut statuses = Vec::new();
    let rescale;
    if current == 0 && min != 0 {
        desired = 0;
        rescale = false;
        set_condition(
            &mut hpa,
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero".into(),
        );
    } else if current > max {
        desired = max;
        reason = "Current number of replicas above Spec.MaxReplicas".into();
        rescale = true;
    } else if current < min {
        desired = min;
        reason = "Current number of replicas below Spec.MinReplicas".into();
        rescale = true;
    } else {
        let selector = scale
            .status
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        if selector.is_empty() {
            let msg = "selector is required";
            ctx.recorder
                .event(&hpa, EventType::Warning, "SelectorRequired", msg);
            set_condition(
                &mut hpa,
                "ScalingActive",
                "False",
                "InvalidSelector",
                "the HPA target's scale is missing a selector".into(),
            );
            set_current(&mut hpa, current);
            write_status(ctx, key, &hpa, &original).await?;
            return Ok(());
        }
        let specs = hpa.spec.metrics.clone().unwrap_or_default();
        let mut best: Option<(i32, String)> = None;
        let mut invalid = 0;
        let mut first_err: Option<(&str, String, String)> = None;
        for m in &specs {
            match compute_metric(ctx, ns, &selector, current, m).await {
                Ok((r, name, st)) => {
                    statuses.push(st);
                    if best.as_ref().is_none_or(|(b, _)| r > *b) {
                        best = Some((r, name));
                    }
                }
                Err(e) => {
                    ctx.recorder
                        .event(&hpa, EventType::Warning, e.0, e.1.clone());
                    statuses.push(MetricStatus::default());
                    invalid += 1;
                    first_err.get_or_insert(e);
                }
            }
        }
        if invalid >= specs.len()
            && let Some((why, inner, outer)) = first_err
        {
            set_condition(
                &mut hpa,
                "ScalingActive",
                "False",
                why,
                format!("the HPA was unable to compute the replica count: {inner}"),
            );
            set_current(&mut hpa, current);
            write_status(ctx, key, &hpa, &original).await?;
            let msg = format!(
                "invalid metrics ({invalid} invalid out of {}), first error is: {outer}",
                specs.len()
            );
            ctx.recorder.event(
                &hpa,
                EventType::Warning,
                "FailedComputeMetricsReplicas",
                msg.clone(),
            );
            tracing::debug!(
                "failed to compute desired number of replicas based on listed metrics for {reference}: {msg}"
            );
            return Ok(());
        }
        let (proposal, metric) = best.unwrap_or((current, String::new()));
        set_condition(
            &mut hpa,
            "ScalingActive",
            "True",
            "ValidMetricFound",
            format!("the HPA was able to successfully calculate a replica count from {metric}"),
        );
        desired = proposal;
        if desired > current {
            reason = format!("{metric} above target");
        } else if desired < current {
            reason = "All metrics below target".into();
        }
        let n = {
            let mut hist = ctx.history.lock().expect("lock");
            let h = hist.entry(key.clone()).or_default();
            match &hpa.spec.behavior {
                None => algorithm::normalize(h, now, current, desired, min, max),
                Some(b) => algorithm::normalize_with_behavior(
                    h,
                    now,
                    current,
                    desired,
                    min,
                    max,
                    &b.scale_up.clone().unwrap_or_default(),
                    &b.scale_down.clone().unwrap_or_default(),
                ),
            }
        };
        set_condition(&mut hpa, "AbleToScale", "True", n.able.0, n.able.1.into());
        set_condition(
            &mut hpa,
            "ScalingLimited",
            if n.limited.0 { "True" } else { "False" },
            n.limited.1,
            n.limited.2.into(),
        );
        desired = n.replicas;
        rescale = desired != current;
    }

    if rescale {
        let patch = serde_json::json!({"spec": {"replicas": desired}});
        if let Err(e) = api
            .patch_scale(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            ctx.recorder.event(
                &hpa,
                EventType::Warning,
                "FailedRescale",
                format!("New size: {desired}; reason: {reason}; error: {e}"),
            );
            set_condition(
                &mut hpa,
                "AbleToScale",
                "False",
                "FailedUpdateScale",
                format!("the HPA controller was unable to update the target scale: {e}"),
            );
            set_current(&mut hpa, current);
            return write_status(ctx, key, &hpa, &original).await;
        }
        set_condition(
            &mut hpa,
            "AbleToScale",
            "True",
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
        );
        ctx.recorder.event(
            &hpa,
            EventType::Normal,
            "SuccessfulRescale",
            format!("New size: {desired}; reason: {reason}"),
        );
        if hpa.spec.behavior.is_some() {
            let mut hist = ctx.history.lock().expect("lock");
            algorithm::record_scale(hist.entry(key.clone()).or_default(), now, current, desired);
        }
    } else {
        desired = current;
    }
    let st = hpa.status.get_or_insert_with(Default::default);
    st.current_replicas = Some(current);
    st.desired_replicas = desired;
    st.current_metrics = (!statuses.is_empty()).then_some(statuses);
    if rescale {
        st.last_scale_time = Some(Time(jiff::Timestamp::now()));
    }
    write_status(ctx, key, &hpa, &original).await
}

fn set_current(hpa: &mut HorizontalPodAutoscaler, current: i32) {
    hpa.status
        .get_or_insert_with(Default::default)
        .current_replicas = Some(current);
}

async fn write_status(
    ctx: &Ctx,
    key: &ObjectKey,
    hpa: &HorizontalPodAutoscaler,
    original: &Option<HorizontalPodAutoscalerStatus>,
) -> Result<(), Error> {
    if &hpa.status == original {
        return Ok(());
    }
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let written = api
        .replace_status(&key.name, &PostParams::default(), hpa)
        .await?;
    ctx.hpas.apply(std::sync::Arc::new(written));
    Ok(())
}
