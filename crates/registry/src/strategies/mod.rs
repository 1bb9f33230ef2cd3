//! One strategy file per built-in resource, and the lookup that picks one.

pub mod apps;
pub mod config;
pub mod core_misc;
pub mod cron;
pub mod cronjobs;
pub mod jobs;
pub mod namespaces;
pub mod pod;
pub mod policy;
pub mod rbac;
pub mod replicationcontrollers;
pub mod services;
pub mod util;
pub mod workload;

use crate::strategy::{DefaultStrategy, Strategy};
use std::sync::Arc;

/// The strategy for a built-in resource, by API group and plural.
pub fn for_resource(group: &str, plural: &str) -> Arc<dyn Strategy> {
    match (group, plural) {
        ("", "pods") => Arc::new(pod::PodStrategy),
        ("", "services") => Arc::new(services::ServiceStrategy),
        ("", "configmaps") => Arc::new(config::ConfigMapStrategy),
        ("", "secrets") => Arc::new(config::SecretStrategy),
        ("", "namespaces") => Arc::new(namespaces::NamespaceStrategy),
        ("", "nodes") => Arc::new(core_misc::NodeStrategy),
        ("", "events") => Arc::new(core_misc::EventStrategy),
        ("events.k8s.io", "events") => Arc::new(DefaultStrategy),
        ("", "persistentvolumeclaims") => Arc::new(core_misc::PersistentVolumeClaimStrategy),
        ("", "persistentvolumes") => Arc::new(core_misc::PersistentVolumeStrategy),
        ("", "replicationcontrollers") => {
            Arc::new(replicationcontrollers::ReplicationControllerStrategy)
        }
        ("apps", "deployments") => Arc::new(apps::DeploymentStrategy),
        ("apps", "replicasets") => Arc::new(apps::ReplicaSetStrategy),
        ("apps", "statefulsets") => Arc::new(apps::StatefulSetStrategy),
        ("apps", "daemonsets") => Arc::new(apps::DaemonSetStrategy),
        ("batch", "jobs") => Arc::new(jobs::JobStrategy),
        ("autoscaling", "horizontalpodautoscalers") => {
            Arc::new(policy::HorizontalPodAutoscalerStrategy)
        }
        ("policy", "poddisruptionbudgets") => Arc::new(policy::PodDisruptionBudgetStrategy),
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => Arc::new(rbac::RoleStrategy),
        ("rbac.authorization.k8s.io", "rolebindings") => {
            Arc::new(rbac::RoleBindingStrategy { cluster: false })
        }
        ("rbac.authorization.k8s.io", "clusterrolebindings") => {
            Arc::new(rbac::RoleBindingStrategy { cluster: true })
        }
        ("batch", "cronjobs") => Arc::new(cronjobs::CronJobStrategy),
        _ => Arc::new(DefaultStrategy),
    }
}
