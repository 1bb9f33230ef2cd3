//! postStart / preStop handlers: exec (CRI ExecSync, bounded only by the
//! caller, who cancels at the end of the grace period), httpGet (the probes'
//! client, `User-Agent: kube-lifecycle/1.37`; only a transport error fails it,
//! as upstream) and sleep. tcpSocket is not a supported hook action. Error
//! texts are upstream's FailedPostStartHook / FailedPreStopHook messages.

use super::exec::{ExecError, exec_sync};
use super::http::{self, HttpGet};
use crate::cri::DynCri;
use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Pod};
use std::time::Duration;

/// An HTTP hook gets this long before it is abandoned (upstream's client has no
/// timeout; the grace period bounds it).
const HTTP_HOOK_TIMEOUT: Duration = Duration::from_secs(3600);

/// `name_namespace(uid)`, as upstream names a pod in messages.
fn format_pod(pod: &Pod) -> String {
    let m = &pod.metadata;
    format!(
        "{}_{}({})",
        m.name.as_deref().unwrap_or(""),
        m.namespace.as_deref().unwrap_or(""),
        m.uid.as_deref().unwrap_or("")
    )
}

/// Go's `%v` of a string slice: `[sh -c exit 1]`.
fn go_list(cmd: &[String]) -> String {
    format!("[{}]", cmd.join(" "))
}

/// Run a postStart/preStop handler (exec, httpGet, sleep) against a running container.
/// Errors carry the message upstream puts in FailedPostStartHook/FailedPreStopHook events.
/// The container is found by the handler it declares (or its CRI metadata).
pub async fn run_handler(
    cri: &DynCri,
    pod: &Pod,
    pod_ip: Option<&str>,
    container_id: &str,
    handler: &LifecycleHandler,
) -> Result<(), String> {
    // Owned, so no borrowing iterator is held across the await below (it
    // would make the future's Send bound not general enough for callers).
    let declared: Vec<Container> = pod
        .spec
        .iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .cloned()
        .collect();
    let mut found = declared
        .iter()
        .find(|c| {
            c.lifecycle.as_ref().is_some_and(|l| {
                l.post_start.as_ref() == Some(handler) || l.pre_stop.as_ref() == Some(handler)
            })
        })
        .cloned();
    if found.is_none()
        && let Ok(st) = cri.container_status(container_id).await
        && let Some(name) = st.status.and_then(|s| s.metadata).map(|m| m.name)
    {
        found = declared.iter().find(|c| c.name == name).cloned();
    }
    let container = found.unwrap_or_default();
    run_container_handler(cri, pod, pod_ip, &container, container_id, handler).await
}

/// `run_handler` for a caller that knows the container spec (named ports resolve from it).
pub async fn run_container_handler(
    cri: &DynCri,
    pod: &Pod,
    pod_ip: Option<&str>,
    container: &Container,
    container_id: &str,
    handler: &LifecycleHandler,
) -> Result<(), String> {
    let cname = &container.name;
    if let Some(e) = &handler.exec {
        let cmd = e.command.clone().unwrap_or_default();
        let (err, output) = match exec_sync(cri, container_id, &cmd, Duration::ZERO).await {
            Ok(o) if o.exit_code == 0 => return Ok(()),
            Ok(o) => (
                format!(
                    "command '{}' exited with {}: {}",
                    cmd.join(" "),
                    o.exit_code,
                    o.stderr
                ),
                o.output,
            ),
            Err(e @ ExecError::TimedOut(_)) => (e.to_string(), String::new()),
            Err(ExecError::Runtime(e)) => (e.to_string(), String::new()),
        };
        return Err(format!(
            "Exec lifecycle hook ({}) for Container {cname:?} in Pod {:?} failed - error: {err}, message: {output:?}",
            go_list(&cmd),
            format_pod(pod)
        ));
    }
    if let Some(h) = &handler.http_get {
        let path = h.path.as_deref().unwrap_or("");
        let fail = |err: String| {
            format!(
                "HTTP lifecycle hook ({path}) for Container {cname:?} in Pod {:?} failed - error: {err}",
                format_pod(pod)
            )
        };
        let mut req = HttpGet::from_action(h, container, pod_ip, "lifecycle")
            .map_err(|e| fail(e.to_string()))?;
        // The status code does not matter to a hook, only reaching it (upstream).
        let err = match http::get(&req, HTTP_HOOK_TIMEOUT).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        // An HTTPS hook answered in plain HTTP is retried over HTTP, as upstream
        // does for hooks written before the scheme was honoured.
        if req.url.https && err.contains("tls: received corrupt message") {
            req.url.https = false;
            req.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            if http::get(&req, HTTP_HOOK_TIMEOUT).await.is_ok() {
                tracing::warn!(url = %req.url, "HTTPS lifecycle hook got an HTTP response; HTTP retry succeeded");
                return Ok(());
            }
        }
        return Err(fail(err));
    }
    if let Some(s) = &handler.sleep {
        if s.seconds > 0 {
            tokio::time::sleep(Duration::from_secs(s.seconds as u64)).await;
        }
        return Ok(());
    }
    let what = if handler.tcp_socket.is_some() {
        "tcpSocket is not supported as a lifecycle handler"
    } else {
        "no action (exec, httpGet or sleep)"
    };
    Err(format!("Cannot run handler: invalid handler: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn messages_name_pods_and_commands_as_upstream() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(format_pod(&pod), "p_ns(u1)");
        assert_eq!(
            go_list(&["sh".into(), "-c".into(), "exit 1".into()]),
            "[sh -c exit 1]"
        );
    }
}
