//! Service networking: networking.k8s.io/v1 and discovery.k8s.io/v1.
//! IPAddress and ServiceCIDR (multiple service CIDRs) went GA in 1.33.

use crate::resources::ResourceInfo;

pub(super) fn resources() -> Vec<ResourceInfo> {
    let net = |kind: &str, plural: &str, namespaced: bool| {
        ResourceInfo::new("networking.k8s.io", "v1", kind, plural, namespaced)
    };
    vec![
        net("IngressClass", "ingressclasses", false),
        net("Ingress", "ingresses", true)
            .with_short_names(&["ing"])
            .with_subresources(&["status"]),
        net("IPAddress", "ipaddresses", false).with_short_names(&["ip"]),
        net("NetworkPolicy", "networkpolicies", true).with_short_names(&["netpol"]),
        net("ServiceCIDR", "servicecidrs", false).with_subresources(&["status"]),
        ResourceInfo::new(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
        ),
    ]
}
