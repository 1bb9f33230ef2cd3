//! The labels and annotations the kubelet puts on CRI sandboxes and
//! containers, upstream's names, so a restarted agent (or another tool such
//! as crictl) can tell which pod and container each one belongs to.

/// On sandboxes and containers.
pub const POD_NAME: &str = "io.kubernetes.pod.name";
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const POD_UID: &str = "io.kubernetes.pod.uid";
/// On containers only.
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Annotations on containers.
pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";
pub const CONTAINER_RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
pub const CONTAINER_TERMINATION_MESSAGE_PATH: &str =
    "io.kubernetes.container.terminationMessagePath";
pub const CONTAINER_TERMINATION_MESSAGE_POLICY: &str =
    "io.kubernetes.container.terminationMessagePolicy";
pub const CONTAINER_PRESTOP_HANDLER: &str = "io.kubernetes.container.preStopHandler";
pub const CONTAINER_PORTS: &str = "io.kubernetes.container.ports";
/// Annotation on sandboxes and containers: the pod's terminationGracePeriodSeconds.
pub const POD_TERMINATION_GRACE_PERIOD: &str = "io.kubernetes.pod.terminationGracePeriod";
/// Label on sandboxes: the kubelet created it (upstream: `io.kubernetes.docker.type`-free
/// marker `io.kubernetes.container.name=POD` is used on sandboxes too).
pub const SANDBOX_CONTAINER_NAME: &str = "POD";
