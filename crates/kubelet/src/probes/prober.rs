//! One probe run: picks the action (exec, httpGet, tcpSocket, grpc), runs it
//! with the probe's timeout, retries a run that errored (not one that failed)
//! as upstream does, and records the Unhealthy / ProbeWarning events.

use super::results::{ProbeKind, ProbeResult};
use super::{exec, grpc, http, tcp};
use crate::cri::{CriError, DynCri};
use informer::{EventType, Recorder};
use k8s_openapi::api::core::v1::{Container, ObjectReference, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Upstream retries a probe that errored this many times before giving up on the period.
const MAX_RETRIES: usize = 3;
/// Output kept in probe and hook messages.
pub const MAX_OUTPUT: usize = 10 * 1024;

/// What one probe action concluded, with its output (upstream's probe.Result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success(String),
    /// Success that deserves a ProbeWarning event (an HTTP redirect not followed).
    Warning(String),
    Failure(String),
}

/// A probe that could not be run at all; its period is thrown away.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("port {0} not found")]
    PortNotFound(String),
    #[error("invalid port number: {0}")]
    InvalidPort(i64),
    #[error("pod has no IP address yet")]
    NoPodIp,
    #[error("probe has no action (exec, httpGet, tcpSocket or grpc)")]
    NoAction,
    #[error(transparent)]
    Runtime(#[from] CriError),
}

/// Turn a probe or hook port (number, numeric string or a container port's name) into a port.
pub fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, ProbeError> {
    let n: i64 = match port {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(name) => {
            let named = container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| i64::from(p.container_port));
            match named.or_else(|| name.parse::<i64>().ok()) {
                Some(n) => n,
                None => return Err(ProbeError::PortNotFound(name.clone())),
            }
        }
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or(ProbeError::InvalidPort(n))
}

/// Keep at most `MAX_OUTPUT` bytes of a message, on a character boundary.
pub fn truncate(mut s: String) -> String {
    if s.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// A probe's timeout (`timeoutSeconds`, default 1).
pub fn timeout_of(probe: &Probe) -> Duration {
    Duration::from_secs(probe.timeout_seconds.filter(|t| *t > 0).unwrap_or(1) as u64)
}

/// Run the probe's action once.
pub async fn run_action(
    cri: &DynCri,
    probe: &Probe,
    pod_ip: Option<&str>,
    container: &Container,
    container_id: &str,
) -> Result<Outcome, ProbeError> {
    let timeout = timeout_of(probe);
    let ip = || pod_ip.filter(|s| !s.is_empty()).ok_or(ProbeError::NoPodIp);
    if let Some(e) = &probe.exec {
        let cmd = e.command.clone().unwrap_or_default();
        return exec::probe(cri, container_id, &cmd, timeout).await;
    }
    if let Some(h) = &probe.http_get {
        let pod_ip = if h.host.as_deref().unwrap_or("").is_empty() {
            Some(ip()?)
        } else {
            pod_ip
        };
        let req = http::HttpGet::from_action(h, container, pod_ip, "probe")?;
        return Ok(http::probe(&req, timeout).await);
    }
    if let Some(t) = &probe.tcp_socket {
        let host = match t.host.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => h,
            None => ip()?,
        };
        let port = resolve_port(&t.port, container)?;
        return Ok(tcp::probe(host, port, timeout).await);
    }
    if let Some(g) = &probe.grpc {
        let port = u16::try_from(g.port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or(ProbeError::InvalidPort(i64::from(g.port)))?;
        let service = g.service.as_deref().unwrap_or("");
        return Ok(grpc::probe(ip()?, port, service, timeout).await);
    }
    Err(ProbeError::NoAction)
}

/// Runs probes for the workers and reports what they found.
pub(crate) struct Prober {
    pub cri: DynCri,
    pub recorder: Arc<OnceLock<Recorder>>,
}

/// What a worker probes: the pod, the container and the probe.
pub(crate) struct Target<'a> {
    pub kind: ProbeKind,
    pub pod: &'a Pod,
    pub pod_ip: Option<&'a str>,
    pub container: &'a Container,
    pub is_init: bool,
    pub container_id: &'a str,
    pub probe: &'a Probe,
}

impl Prober {
    /// `None` when the probe errored (upstream throws such a period away).
    pub async fn probe(&self, t: &Target<'_>) -> Option<ProbeResult> {
        let mut last = None;
        for attempt in 0..MAX_RETRIES {
            match run_action(&self.cri, t.probe, t.pod_ip, t.container, t.container_id).await {
                Ok(o) => return Some(self.report(t, o)),
                Err(e) => last = Some(e),
            }
            if attempt + 1 < MAX_RETRIES {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if let Some(e) = last {
            tracing::debug!(pod = ?t.pod.metadata.name, container = %t.container.name, error = %e, "probe errored");
            self.event(
                t,
                "Unhealthy",
                format!(
                    "{} probe errored and resulted in unknown state: {e}",
                    t.kind.label()
                ),
            );
        }
        None
    }

    fn report(&self, t: &Target<'_>, outcome: Outcome) -> ProbeResult {
        match outcome {
            Outcome::Success(_) => ProbeResult::Success,
            Outcome::Warning(out) => {
                let msg = format!("{} probe warning: {}", t.kind.label(), truncate(out));
                self.event(t, "ProbeWarning", msg);
                ProbeResult::Success
            }
            Outcome::Failure(out) => {
                let msg = format!("{} probe failed: {}", t.kind.label(), truncate(out));
                tracing::debug!(pod = ?t.pod.metadata.name, container = %t.container.name, "{msg}");
                self.event(t, "Unhealthy", msg);
                ProbeResult::Failure
            }
        }
    }

    fn event(&self, t: &Target<'_>, reason: &str, message: String) {
        if let Some(r) = self.recorder.get() {
            r.event_ref(
                container_ref(t.pod, &t.container.name, t.is_init),
                EventType::Warning,
                reason,
                message,
            );
        }
    }
}

/// The object reference events about a container point at (`spec.containers{name}`).
pub fn container_ref(pod: &Pod, container: &str, is_init: bool) -> ObjectReference {
    let m = &pod.metadata;
    let list = if is_init {
        "initContainers"
    } else {
        "containers"
    };
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        field_path: Some(format!("spec.{list}{{{container}}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ContainerPort;

    #[test]
    fn ports_resolve_by_number_name_and_numeric_string() {
        let c = Container {
            name: "c".into(),
            ports: Some(vec![ContainerPort {
                name: Some("http".into()),
                container_port: 8080,
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(resolve_port(&IntOrString::Int(80), &c).unwrap(), 80);
        assert_eq!(
            resolve_port(&IntOrString::String("http".into()), &c).unwrap(),
            8080
        );
        assert_eq!(
            resolve_port(&IntOrString::String("81".into()), &c).unwrap(),
            81
        );
        assert_eq!(
            resolve_port(&IntOrString::String("grpc".into()), &c)
                .unwrap_err()
                .to_string(),
            "port grpc not found"
        );
        assert!(resolve_port(&IntOrString::Int(70000), &c).is_err());
        assert!(resolve_port(&IntOrString::Int(0), &c).is_err());
    }

    #[test]
    fn truncate_keeps_ten_kib_on_a_char_boundary() {
        let s = "é".repeat(MAX_OUTPUT);
        let t = truncate(s);
        assert!(t.len() <= MAX_OUTPUT && t.len() >= MAX_OUTPUT - 1);
        assert_eq!(truncate("short".into()), "short");
    }
}
