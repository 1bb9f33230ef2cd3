//! One strategy file per built-in resource, and the lookup that picks one.

pub mod apiservices;
pub mod apps;
pub mod certificates;
pub mod cluster_misc;
pub mod config;
pub mod coordination;
pub mod core_misc;
pub mod crds;
pub mod cronjobs;
pub mod csi;
pub mod endpoints;
pub mod events;
pub mod hpa;
pub mod ingress;
pub mod jobs;
pub mod namespaces;
pub mod networkpolicies;
pub mod nodes;
pub mod pod;
pub mod policy;
pub mod quotas;
pub mod rbac;
pub mod replicationcontrollers;
pub mod resources;
pub mod serviceaccounts;
pub mod services;
pub mod templates;
pub mod util;
pub mod webhooks;
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
        ("", "serviceaccounts") => Arc::new(serviceaccounts::ServiceAccountStrategy),
        ("", "endpoints") => Arc::new(endpoints::EndpointsStrategy),
        ("", "resourcequotas") => Arc::new(quotas::ResourceQuotaStrategy),
        ("", "limitranges") => Arc::new(quotas::LimitRangeStrategy),
        ("networking.k8s.io", "ingresses") => Arc::new(ingress::IngressStrategy),
        ("networking.k8s.io", "ingressclasses") => Arc::new(ingress::IngressClassStrategy),
        ("networking.k8s.io", "networkpolicies") => {
            Arc::new(networkpolicies::NetworkPolicyStrategy)
        }
        ("node.k8s.io", "runtimeclasses") => Arc::new(cluster_misc::RuntimeClassStrategy),
        ("", "podtemplates") => Arc::new(templates::PodTemplateStrategy),
        ("apps", "controllerrevisions") => Arc::new(templates::ControllerRevisionStrategy),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations") => {
            Arc::new(webhooks::WebhookConfigurationStrategy { mutating: false })
        }
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations") => {
            Arc::new(webhooks::WebhookConfigurationStrategy { mutating: true })
        }
        ("certificates.k8s.io", "certificatesigningrequests") => {
            Arc::new(certificates::CertificateSigningRequestStrategy)
        }
        ("apiregistration.k8s.io", "apiservices") => Arc::new(apiservices::ApiServiceStrategy),
        ("storage.k8s.io", "csidrivers") => Arc::new(csi::CsiDriverStrategy),
        ("storage.k8s.io", "csinodes") => Arc::new(csi::CsiNodeStrategy),
        ("", "nodes") => Arc::new(nodes::NodeStrategy),
        ("" | "events.k8s.io", "events") => Arc::new(events::EventStrategy),
        ("coordination.k8s.io", "leases") => Arc::new(coordination::LeaseStrategy),
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
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            Arc::new(crds::CustomResourceDefinitionStrategy)
        }
        ("scheduling.k8s.io", "priorityclasses") => Arc::new(cluster_misc::PriorityClassStrategy),
        ("storage.k8s.io", "storageclasses") => Arc::new(cluster_misc::StorageClassStrategy),
        ("autoscaling", "horizontalpodautoscalers") => {
            Arc::new(hpa::HorizontalPodAutoscalerStrategy)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::NameRule;

    #[test]
    fn lookup_picks_resource_rules() {
        assert_eq!(
            for_resource("", "services").name_rule(),
            NameRule::Dns1035Label
        );
        assert_eq!(for_resource("", "namespaces").name_rule(), NameRule::Label);
        assert_eq!(
            for_resource("rbac.authorization.k8s.io", "clusterroles").name_rule(),
            NameRule::PathSegment
        );
        assert!(
            for_resource("", "pods")
                .selectable_fields()
                .contains(&"spec.nodeName")
        );
        // Every resource wired here rejects an obviously broken object.
        let broken = serde_json::json!({"spec": {"leaseDurationSeconds": 0, "maxReplicas": 0,
            "controller": "", "policyTypes": ["X"], "limits": [{"type": "Nope"}], "hard": {"x": "1"}},
            "subsets": [{}], "webhooks": [{}], "handler": "A_B", "metadata": {"name": "system-x"}});
        for (g, r) in [
            ("", "endpoints"),
            ("", "resourcequotas"),
            ("", "limitranges"),
            ("", "podtemplates"),
            ("apps", "controllerrevisions"),
            ("coordination.k8s.io", "leases"),
            ("networking.k8s.io", "ingresses"),
            ("networking.k8s.io", "ingressclasses"),
            ("networking.k8s.io", "networkpolicies"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("scheduling.k8s.io", "priorityclasses"),
            ("node.k8s.io", "runtimeclasses"),
            ("storage.k8s.io", "csidrivers"),
            (
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            (
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            ("certificates.k8s.io", "certificatesigningrequests"),
            ("apiregistration.k8s.io", "apiservices"),
        ] {
            assert!(
                !for_resource(g, r).validate_create(&broken).is_empty(),
                "{g}/{r} accepted a broken object"
            );
        }
        assert!(
            for_resource("events.k8s.io", "events")
                .selectable_fields()
                .contains(&"reason")
        );
        assert!(
            for_resource("example.com", "widgets")
                .selectable_fields()
                .is_empty()
        );
    }
}
