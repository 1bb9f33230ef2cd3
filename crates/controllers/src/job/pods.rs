//! The Job's pods: building one from the template (labels, owner, tracking
//! finalizer, completion index, hostname and `JOB_COMPLETION_INDEX`) and
//! classifying the pods the Job owns (active, terminating, finished).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::BTreeMap;

pub const FINALIZER: &str = "batch.kubernetes.io/job-tracking";
pub const LABEL_CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
pub const LABEL_JOB_NAME: &str = "batch.kubernetes.io/job-name";
pub const LEGACY_CONTROLLER_UID: &str = "controller-uid";
pub const LEGACY_JOB_NAME: &str = "job-name";
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The uid of the Job controlling `pod`, if a Job does.
pub fn controller_uid(pod: &Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "Job" && o.api_version == "batch/v1")
        .map(|o| o.uid.as_str())
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

pub fn failed_phase(pod: &Pod) -> bool {
    phase(pod) == "Failed"
}

pub fn terminal(pod: &Pod) -> bool {
    succeeded(pod) || failed_phase(pod)
}

pub fn deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Running or waiting to run, and not being deleted.
pub fn active(pod: &Pod) -> bool {
    !terminal(pod) && !deleting(pod)
}

/// Being deleted but not yet in a terminal phase.
pub fn terminating(pod: &Pod) -> bool {
    !terminal(pod) && deleting(pod)
}

pub fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn has_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

/// Whether the Job counts `pod` as failed. Upstream counts a pod being
/// deleted as failed too (an orphan never reaches the Failed phase), unless
/// only Failed pods are replaced (podReplacementPolicy Failed, or a pod
/// failure policy).
pub fn counts_as_failed(pod: &Pod, job: &Job) -> bool {
    if failed_phase(pod) {
        return true;
    }
    let spec = job.spec.as_ref();
    let only_failed = spec.is_some_and(|s| {
        s.pod_failure_policy.is_some() || s.pod_replacement_policy.as_deref() == Some("Failed")
    });
    !only_failed && deleting(pod) && !succeeded(pod)
}

/// The completion index of a pod of an Indexed Job.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    let from = |m: &Option<BTreeMap<String, String>>| {
        m.as_ref()?
            .get(COMPLETION_INDEX)?
            .parse::<i32>()
            .ok()
            .filter(|i| *i >= 0)
    };
    from(&pod.metadata.annotations).or_else(|| from(&pod.metadata.labels))
}

/// Restarts of all containers, which count against the backoff limit when
/// the pod restarts them itself (restartPolicy OnFailure).
pub fn restarts(pod: &Pod) -> i64 {
    let Some(st) = pod.status.as_ref() else {
        return 0;
    };
    st.container_statuses
        .iter()
        .chain(st.init_container_statuses.iter())
        .flatten()
        .map(|c| i64::from(c.restart_count))
        .sum()
}

/// A new pod for `job` (with completion index `index` for Indexed Jobs).
pub fn new_pod(job: &Job, index: Option<i32>) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut labels = tmeta.labels.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    let manual = job
        .spec
        .as_ref()
        .and_then(|s| s.manual_selector)
        .unwrap_or(false);
    if !manual {
        for (k, v) in [
            (LABEL_CONTROLLER_UID, &uid),
            (LEGACY_CONTROLLER_UID, &uid),
            (LABEL_JOB_NAME, &name),
            (LEGACY_JOB_NAME, &name),
        ] {
            labels.entry(k.to_string()).or_insert_with(|| v.clone());
        }
    }
    let mut spec = template.spec.unwrap_or_default();
    let generate_name = match index {
        Some(i) => {
            annotations.insert(COMPLETION_INDEX.into(), i.to_string());
            labels.insert(COMPLETION_INDEX.into(), i.to_string());
            if spec.hostname.as_deref().unwrap_or("").is_empty() {
                spec.hostname = Some(format!("{name}-{i}"));
            }
            for c in spec
                .containers
                .iter_mut()
                .chain(spec.init_containers.iter_mut().flatten())
            {
                let env = c.env.get_or_insert_with(Vec::new);
                if !env.iter().any(|e| e.name == COMPLETION_INDEX_ENV) {
                    env.push(EnvVar {
                        name: COMPLETION_INDEX_ENV.into(),
                        value: None,
                        value_from: Some(EnvVarSource {
                            field_ref: Some(ObjectFieldSelector {
                                api_version: Some("v1".into()),
                                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
                            }),
                            ..Default::default()
                        }),
                    });
                }
            }
            format!("{name}-{i}-")
        }
        None => format!("{name}-"),
    };
    let mut finalizers = tmeta.finalizers.unwrap_or_default();
    finalizers.push(FINALIZER.into());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(finalizers),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
                name,
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};

    fn job() -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some("pi".into()),
                namespace: Some("default".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(JobSpec {
                template: PodTemplateSpec {
                    metadata: None,
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "c".into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn indexed_pod_gets_index_hostname_and_env() {
        let p = new_pod(&job(), Some(2));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-2-"));
        assert_eq!(completion_index(&p), Some(2));
        let spec = p.spec.as_ref().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("pi-2"));
        let env = spec.containers[0].env.as_ref().unwrap();
        assert_eq!(env[0].name, COMPLETION_INDEX_ENV);
        assert!(has_finalizer(&p));
        assert_eq!(controller_uid(&p), Some("u1"));
        let labels = p.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_JOB_NAME], "pi");
        assert_eq!(labels[LEGACY_CONTROLLER_UID], "u1");
    }

    #[test]
    fn deleting_pod_counts_as_failed_unless_only_failed_replaced() {
        let mut p = new_pod(&job(), None);
        p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::UNIX_EPOCH,
        ));
        let mut j = job();
        assert!(counts_as_failed(&p, &j));
        j.spec.as_mut().unwrap().pod_replacement_policy = Some("Failed".into());
        assert!(!counts_as_failed(&p, &j));
    }
}
