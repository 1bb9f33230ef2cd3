//! Pure parts of the StatefulSet controller: pod identity (`<set>-<ordinal>`,
//! hostname, subdomain, identity labels), the claims a pod's volume claim
//! templates give it, and the pod states the update rules look at.

use crate::history::{REVISION_HASH_LABEL, controller_ref};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::BTreeMap;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The parent name and ordinal of a pod named `<parent>-<ordinal>`.
pub fn parse_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, ord) = name.rsplit_once('-')?;
    if ord.is_empty() || !ord.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, ord.parse().ok()?))
}

/// The ordinal of `pod` if it is named as a member of `set`.
pub fn member_ordinal(set_name: &str, pod: &Pod) -> Option<i32> {
    let (parent, ord) = parse_ordinal(pod.metadata.name.as_deref()?)?;
    (parent == set_name).then_some(ord)
}

pub fn start_ordinal(set: &StatefulSet) -> i32 {
    Some(&set.spec)
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
}

pub fn pod_name(set_name: &str, ordinal: i32) -> String {
    format!("{set_name}-{ordinal}")
}

pub fn claim_name(claim: &str, set_name: &str, ordinal: i32) -> String {
    format!("{claim}-{set_name}-{ordinal}")
}

/// A new member pod from `template` (the set's template at some revision).
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, ordinal: i32, revision: &str) -> Pod {
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let name = pod_name(&set_name, ordinal);
    let tm = template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(REVISION_HASH_LABEL.into(), revision.into());
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.hostname = Some(name.clone());
    spec.subdomain = Some(&set.spec)
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty());
    let claims = Some(&set.spec)
        .and_then(|s| s.volume_claim_templates.as_deref())
        .unwrap_or_default();
    if !claims.is_empty() {
        let mut volumes: Vec<Volume> = Vec::new();
        for c in claims {
            let cname = c.metadata.name.clone().unwrap_or_default();
            volumes.push(Volume {
                name: cname.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim_name(&cname, &set_name, ordinal),
                    read_only: None,
                }),
                ..Default::default()
            });
        }
        // Template volumes a claim template shadows are replaced by the claim.
        for v in spec.volumes.take().unwrap_or_default() {
            if !volumes.iter().any(|c| c.name == v.name) {
                volumes.push(v);
            }
        }
        spec.volumes = Some(volumes);
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![controller_ref(set)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// The claims member `ordinal` needs, labelled with the set's selector
/// labels; `owners` become their owner references (retention policy).
pub fn claims_for(
    set: &StatefulSet,
    ordinal: i32,
    owners: Vec<OwnerReference>,
) -> Vec<PersistentVolumeClaim> {
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let spec = &set.spec;
    let match_labels: BTreeMap<String, String> =
        spec.selector.match_labels.clone().unwrap_or_default();
    spec.volume_claim_templates
        .iter()
        .flatten()
        .map(|t| {
            let mut c = t.clone();
            let cname = t.metadata.name.clone().unwrap_or_default();
            let mut labels = c.metadata.labels.take().unwrap_or_default();
            labels.extend(match_labels.clone());
            c.metadata = ObjectMeta {
                name: Some(claim_name(&cname, &set_name, ordinal)),
                namespace: set.metadata.namespace.clone(),
                labels: Some(labels),
                annotations: c.metadata.annotations.take(),
                owner_references: (!owners.is_empty()).then(|| owners.clone()),
                ..Default::default()
            };
            c.status = None;
            c
        })
        .collect()
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

pub fn is_failed(pod: &Pod) -> bool {
    phase(pod) == "Failed"
}

pub fn is_succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// When the pod's Ready condition became True, if it is True.
pub fn ready_since(pod: &Pod) -> Option<Option<jiff::Timestamp>> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (c.status == "True").then(|| c.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_ready(pod)
}

/// Ready for at least `min_ready_seconds` at `now`; `Err(d)` says how long
/// until it will be (so the caller can requeue then).
pub fn available_in(
    pod: &Pod,
    min_ready_seconds: i32,
    now: jiff::Timestamp,
) -> Option<Result<(), std::time::Duration>> {
    let since = ready_since(pod)?;
    if min_ready_seconds <= 0 {
        return Some(Ok(()));
    }
    let Some(since) = since else {
        return Some(Ok(()));
    };
    let at = since
        .checked_add(jiff::SignedDuration::from_secs(i64::from(
            min_ready_seconds,
        )))
        .unwrap_or(since);
    if at <= now {
        Some(Ok(()))
    } else {
        let wait = now.duration_until(at).unsigned_abs();
        Some(Err(wait))
    }
}

pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: jiff::Timestamp) -> bool {
    matches!(available_in(pod, min_ready_seconds, now), Some(Ok(())))
}

pub fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(REVISION_HASH_LABEL)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};

    fn set() -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: StatefulSetSpec {
                service_name: Some("nginx".into()),
                selector: LabelSelector {
                    match_labels: Some([("app".to_string(), "web".to_string())].into()),
                    ..Default::default()
                },
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: Some("www".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                }]),
                ..Default::default()
            },
            status: None,
        }
    }

    #[test]
    fn ordinals_parse_from_names() {
        assert_eq!(parse_ordinal("web-0"), Some(("web", 0)));
        assert_eq!(parse_ordinal("my-web-12"), Some(("my-web", 12)));
        assert_eq!(parse_ordinal("web-"), None);
        assert_eq!(parse_ordinal("web-x1"), None);
        assert_eq!(parse_ordinal("web"), None);
        assert_eq!(parse_ordinal("web-99999999999"), None);
    }

    #[test]
    fn new_pod_has_identity_and_claims() {
        let s = set();
        let t = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec::default()),
        };
        let p = new_pod(&s, &t, 3, "web-abc");
        let labels = p.metadata.labels.clone().unwrap_or_default();
        assert_eq!(p.metadata.name.as_deref(), Some("web-3"));
        assert_eq!(labels[POD_NAME_LABEL], "web-3");
        assert_eq!(labels[POD_INDEX_LABEL], "3");
        assert_eq!(labels[REVISION_HASH_LABEL], "web-abc");
        assert_eq!(labels["app"], "web");
        let spec = p.spec.unwrap_or_default();
        assert_eq!(spec.hostname.as_deref(), Some("web-3"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let vols = spec.volumes.unwrap_or_default();
        assert_eq!(
            vols[0]
                .persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str()),
            Some("www-web-3")
        );
        let claims = claims_for(&s, 3, vec![]);
        assert_eq!(claims[0].metadata.name.as_deref(), Some("www-web-3"));
        assert_eq!(
            claims[0]
                .metadata
                .labels
                .as_ref()
                .map(|l| l["app"].as_str()),
            Some("web")
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let now = jiff::Timestamp::from_second(1_000).unwrap_or_default();
        let mut p = Pod::default();
        assert!(!is_available(&p, 0, now));
        p.status = Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(
                    jiff::Timestamp::from_second(995).unwrap_or_default(),
                )),
                ..Default::default()
            }]),
            ..Default::default()
        });
        assert!(is_running_and_ready(&p));
        assert!(is_available(&p, 5, now));
        assert!(!is_available(&p, 10, now));
        assert_eq!(
            available_in(&p, 10, now),
            Some(Err(std::time::Duration::from_secs(5)))
        );
    }
}
