//! API extension and access-review groups: apiregistration,
//! authentication, authorization, admissionregistration, apiextensions.

use super::CREATE_ONLY;
use crate::resources::ResourceInfo;

pub(super) fn resources() -> Vec<ResourceInfo> {
    let review = |group: &str, kind: &str, plural: &str, namespaced: bool| {
        ResourceInfo::new(group, "v1", kind, plural, namespaced).with_verbs(CREATE_ONLY)
    };
    let admission = |kind: &str, plural: &str| {
        ResourceInfo::new("admissionregistration.k8s.io", "v1", kind, plural, false)
            .with_categories(&["api-extensions"])
    };
    let authn = "authentication.k8s.io";
    let authz = "authorization.k8s.io";
    vec![
        ResourceInfo::new(
            "apiregistration.k8s.io",
            "v1",
            "APIService",
            "apiservices",
            false,
        )
        .with_categories(&["api-extensions"])
        .with_subresources(&["status"]),
        review(authn, "SelfSubjectReview", "selfsubjectreviews", false),
        review(authn, "TokenReview", "tokenreviews", false),
        review(
            authz,
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            true,
        ),
        review(
            authz,
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            false,
        ),
        review(
            authz,
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            false,
        ),
        review(authz, "SubjectAccessReview", "subjectaccessreviews", false),
        admission(
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
        ),
        admission("ValidatingAdmissionPolicy", "validatingadmissionpolicies")
            .with_subresources(&["status"]),
        admission(
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
        ),
        admission(
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
        ),
        ResourceInfo::new(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        )
        .with_short_names(&["crd", "crds"])
        .with_categories(&["api-extensions"])
        .with_subresources(&["status"]),
    ]
}
