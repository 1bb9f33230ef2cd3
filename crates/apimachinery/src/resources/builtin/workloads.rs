//! Workload groups: apps/v1, batch/v1, autoscaling/v2 and v1, policy/v1.

use crate::resources::ResourceInfo;

pub(super) fn resources() -> Vec<ResourceInfo> {
    let apps = |kind: &str, plural: &str| ResourceInfo::new("apps", "v1", kind, plural, true);
    let batch = |kind: &str, plural: &str| ResourceInfo::new("batch", "v1", kind, plural, true);
    // HPA is served at v2 (preferred) and v1; both versions keep one copy in
    // storage under the `autoscaling` group.
    let hpa = |version: &str| {
        ResourceInfo::new(
            "autoscaling",
            version,
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        )
        .with_short_names(&["hpa"])
        .with_categories(&["all"])
        .with_subresources(&["status"])
    };
    vec![
        apps("ControllerRevision", "controllerrevisions"),
        apps("DaemonSet", "daemonsets")
            .with_short_names(&["ds"])
            .with_categories(&["all"])
            .with_subresources(&["status"]),
        apps("Deployment", "deployments")
            .with_short_names(&["deploy"])
            .with_categories(&["all"])
            .with_subresources(&["scale", "status"]),
        apps("ReplicaSet", "replicasets")
            .with_short_names(&["rs"])
            .with_categories(&["all"])
            .with_subresources(&["scale", "status"]),
        apps("StatefulSet", "statefulsets")
            .with_short_names(&["sts"])
            .with_categories(&["all"])
            .with_subresources(&["scale", "status"]),
        hpa("v2"),
        hpa("v1"),
        batch("CronJob", "cronjobs")
            .with_short_names(&["cj"])
            .with_categories(&["all"])
            .with_subresources(&["status"]),
        batch("Job", "jobs")
            .with_categories(&["all"])
            .with_subresources(&["status"]),
        ResourceInfo::new(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        )
        .with_short_names(&["pdb"])
        .with_subresources(&["status"]),
    ]
}
