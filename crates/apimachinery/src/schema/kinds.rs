//! The table of every top-level kind k8s-openapi knows at the `v1_37`
//! feature: the roots from which the built-in definitions are generated and
//! which get `x-kubernetes-group-version-kind`.

use k8s_openapi::{ListableResource, Resource};
use schemars::{JsonSchema, SchemaGenerator};

/// One top-level kind and the definition that describes it.
pub(super) struct KindDef {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub definition: String,
    /// `Some(list kind)` when the kind has a list (`DeploymentList`).
    pub list_kind: Option<&'static str>,
}

fn listable<T: JsonSchema + ListableResource>(g: &mut SchemaGenerator) -> KindDef {
    g.subschema_for::<T>();
    KindDef {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        definition: T::schema_name().into_owned(),
        list_kind: Some(T::LIST_KIND),
    }
}

fn single<T: JsonSchema + Resource>(g: &mut SchemaGenerator) -> KindDef {
    g.subschema_for::<T>();
    KindDef {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        definition: T::schema_name().into_owned(),
        list_kind: None,
    }
}

/// Generates every kind's schema (and everything it references) into `g`.
pub(super) fn all_kinds(g: &mut SchemaGenerator) -> Vec<KindDef> {
    use k8s_openapi as k;
    vec![
        listable::<k::api::admissionregistration::v1::MutatingAdmissionPolicy>(g),
        listable::<k::api::admissionregistration::v1::MutatingAdmissionPolicyBinding>(g),
        listable::<k::api::admissionregistration::v1::MutatingWebhookConfiguration>(g),
        listable::<k::api::admissionregistration::v1::ValidatingAdmissionPolicy>(g),
        listable::<k::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(g),
        listable::<k::api::admissionregistration::v1::ValidatingWebhookConfiguration>(g),
        listable::<k::api::admissionregistration::v1alpha1::MutatingAdmissionPolicy>(g),
        listable::<k::api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding>(g),
        listable::<k::api::admissionregistration::v1beta1::MutatingAdmissionPolicy>(g),
        listable::<k::api::admissionregistration::v1beta1::MutatingAdmissionPolicyBinding>(g),
        listable::<k::api::apiserverinternal::v1alpha1::StorageVersion>(g),
        listable::<k::api::apps::v1::ControllerRevision>(g),
        listable::<k::api::apps::v1::DaemonSet>(g),
        listable::<k::api::apps::v1::Deployment>(g),
        listable::<k::api::apps::v1::ReplicaSet>(g),
        listable::<k::api::apps::v1::StatefulSet>(g),
        listable::<k::api::autoscaling::v1::HorizontalPodAutoscaler>(g),
        listable::<k::api::autoscaling::v2::HorizontalPodAutoscaler>(g),
        listable::<k::api::batch::v1::CronJob>(g),
        listable::<k::api::batch::v1::Job>(g),
        listable::<k::api::certificates::v1::CertificateSigningRequest>(g),
        listable::<k::api::certificates::v1::ClusterTrustBundle>(g),
        listable::<k::api::certificates::v1::PodCertificateRequest>(g),
        listable::<k::api::certificates::v1beta1::ClusterTrustBundle>(g),
        listable::<k::api::certificates::v1beta1::PodCertificateRequest>(g),
        listable::<k::api::coordination::v1::Lease>(g),
        listable::<k::api::coordination::v1alpha2::LeaseCandidate>(g),
        listable::<k::api::coordination::v1beta1::LeaseCandidate>(g),
        listable::<k::api::core::v1::ComponentStatus>(g),
        listable::<k::api::core::v1::ConfigMap>(g),
        listable::<k::api::core::v1::Endpoints>(g),
        listable::<k::api::core::v1::Event>(g),
        listable::<k::api::core::v1::LimitRange>(g),
        listable::<k::api::core::v1::Namespace>(g),
        listable::<k::api::core::v1::Node>(g),
        listable::<k::api::core::v1::PersistentVolume>(g),
        listable::<k::api::core::v1::PersistentVolumeClaim>(g),
        listable::<k::api::core::v1::Pod>(g),
        listable::<k::api::core::v1::PodTemplate>(g),
        listable::<k::api::core::v1::ReplicationController>(g),
        listable::<k::api::core::v1::ResourceQuota>(g),
        listable::<k::api::core::v1::Secret>(g),
        listable::<k::api::core::v1::Service>(g),
        listable::<k::api::core::v1::ServiceAccount>(g),
        listable::<k::api::discovery::v1::EndpointSlice>(g),
        listable::<k::api::events::v1::Event>(g),
        listable::<k::api::flowcontrol::v1::FlowSchema>(g),
        listable::<k::api::flowcontrol::v1::PriorityLevelConfiguration>(g),
        listable::<k::api::lifecycle::v1alpha1::Eviction>(g),
        listable::<k::api::lifecycle::v1alpha1::EvictionRequest>(g),
        listable::<k::api::networking::v1::Ingress>(g),
        listable::<k::api::networking::v1::IngressClass>(g),
        listable::<k::api::networking::v1::IPAddress>(g),
        listable::<k::api::networking::v1::NetworkPolicy>(g),
        listable::<k::api::networking::v1::ServiceCIDR>(g),
        listable::<k::api::node::v1::RuntimeClass>(g),
        listable::<k::api::policy::v1::PodDisruptionBudget>(g),
        listable::<k::api::rbac::v1::ClusterRole>(g),
        listable::<k::api::rbac::v1::ClusterRoleBinding>(g),
        listable::<k::api::rbac::v1::Role>(g),
        listable::<k::api::rbac::v1::RoleBinding>(g),
        listable::<k::api::resource::v1::DeviceClass>(g),
        listable::<k::api::resource::v1::DeviceTaintRule>(g),
        listable::<k::api::resource::v1::ResourceClaim>(g),
        listable::<k::api::resource::v1::ResourceClaimTemplate>(g),
        listable::<k::api::resource::v1::ResourceSlice>(g),
        listable::<k::api::resource::v1alpha3::DeviceTaintRule>(g),
        listable::<k::api::resource::v1alpha3::ResourcePoolStatusRequest>(g),
        listable::<k::api::resource::v1beta1::DeviceClass>(g),
        listable::<k::api::resource::v1beta1::ResourceClaim>(g),
        listable::<k::api::resource::v1beta1::ResourceClaimTemplate>(g),
        listable::<k::api::resource::v1beta1::ResourceSlice>(g),
        listable::<k::api::resource::v1beta2::DeviceClass>(g),
        listable::<k::api::resource::v1beta2::DeviceTaintRule>(g),
        listable::<k::api::resource::v1beta2::ResourceClaim>(g),
        listable::<k::api::resource::v1beta2::ResourceClaimTemplate>(g),
        listable::<k::api::resource::v1beta2::ResourceSlice>(g),
        listable::<k::api::scheduling::v1::PriorityClass>(g),
        listable::<k::api::scheduling::v1alpha3::CompositePodGroup>(g),
        listable::<k::api::scheduling::v1alpha3::PodGroup>(g),
        listable::<k::api::scheduling::v1alpha3::Workload>(g),
        listable::<k::api::scheduling::v1beta1::PodGroup>(g),
        listable::<k::api::scheduling::v1beta1::Workload>(g),
        listable::<k::api::storage::v1::CSIDriver>(g),
        listable::<k::api::storage::v1::CSINode>(g),
        listable::<k::api::storage::v1::CSIStorageCapacity>(g),
        listable::<k::api::storage::v1::StorageClass>(g),
        listable::<k::api::storage::v1::VolumeAttachment>(g),
        listable::<k::api::storage::v1::VolumeAttributesClass>(g),
        listable::<k::api::storagemigration::v1::StorageVersionMigration>(g),
        listable::<k::api::storagemigration::v1beta1::StorageVersionMigration>(g),
        listable::<
            k::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(g),
        listable::<k::kube_aggregator::pkg::apis::apiregistration::v1::APIService>(g),
        single::<k::api::authentication::v1::SelfSubjectReview>(g),
        single::<k::api::authentication::v1::TokenRequest>(g),
        single::<k::api::authentication::v1::TokenReview>(g),
        single::<k::api::authorization::v1::LocalSubjectAccessReview>(g),
        single::<k::api::authorization::v1::SelfSubjectAccessReview>(g),
        single::<k::api::authorization::v1::SelfSubjectRulesReview>(g),
        single::<k::api::authorization::v1::SubjectAccessReview>(g),
        single::<k::api::autoscaling::v1::Scale>(g),
        single::<k::api::core::v1::Binding>(g),
        single::<k::api::policy::v1::Eviction>(g),
        single::<k::apimachinery::pkg::apis::meta::v1::APIGroup>(g),
        single::<k::apimachinery::pkg::apis::meta::v1::APIGroupList>(g),
        single::<k::apimachinery::pkg::apis::meta::v1::APIResourceList>(g),
        single::<k::apimachinery::pkg::apis::meta::v1::APIVersions>(g),
        single::<k::apimachinery::pkg::apis::meta::v1::Status>(g),
    ]
}
