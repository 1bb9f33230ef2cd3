//! `GET /containerLogs/{namespace}/{pod}/{container}`: upstream's query
//! (follow, previous, tailLines/tail, sinceSeconds, sinceTime, timestamps,
//! limitBytes, stream), the container found through CRI by its labels
//! (newest attempt, or the one before it for `previous`), and its log file
//! streamed as plain text. Errors are plain-text bodies, as upstream's
//! kubelet writes them; the API server turns them into Status objects.

use super::ServerState;
use super::logread::{self, LogOptions, StreamSel};
use crate::cri::{api, labels};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use std::collections::HashMap;
use std::path::PathBuf;

/// A request that cannot be answered with logs: its status and message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LogError {
    pub status: StatusCode,
    pub message: String,
}

impl LogError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        LogError {
            status,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for LogError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.message,
        )
            .into_response()
    }
}

/// The query, parsed and validated as upstream's PodLogOptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub previous: bool,
    pub opts: LogOptions,
}

/// Go's strconv.ParseBool, which decodes upstream's boolean query values.
fn parse_bool(key: &str, v: &str) -> Result<bool, LogError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(LogError::bad_request(format!(
            "{key}: invalid boolean value {v:?}"
        ))),
    }
}

fn parse_int(key: &str, v: &str) -> Result<i64, LogError> {
    v.parse()
        .map_err(|_| LogError::bad_request(format!("{key}: invalid integer value {v:?}")))
}

pub fn parse_query(
    q: &HashMap<String, String>,
    now: jiff::Timestamp,
) -> Result<LogQuery, LogError> {
    let flag = |k: &str| q.get(k).map_or(Ok(false), |v| parse_bool(k, v));
    let mut out = LogQuery {
        previous: flag("previous")?,
        ..Default::default()
    };
    out.opts.follow = flag("follow")?;
    out.opts.timestamps = flag("timestamps")?;
    let mut invalid = Vec::new();
    // `tail` is the old name; `tail=all` means no limit.
    let tail = q.get("tailLines").or(q.get("tail")).filter(|t| *t != "all");
    if let Some(t) = tail {
        match parse_int("tailLines", t)? {
            n if n < 0 => invalid.push(format!(
                "tailLines: Invalid value: {n}: must be greater than or equal to 0"
            )),
            n => out.opts.tail_lines = Some(n as u64),
        }
    }
    if let Some(v) = q.get("limitBytes") {
        match parse_int("limitBytes", v)? {
            n if n < 1 => invalid.push(format!(
                "limitBytes: Invalid value: {n}: must be greater than 0"
            )),
            n => out.opts.limit_bytes = Some(n as u64),
        }
    }
    let since_time = q.get("sinceTime");
    if let Some(v) = q.get("sinceSeconds") {
        match parse_int("sinceSeconds", v)? {
            n if n < 1 => invalid.push(format!(
                "sinceSeconds: Invalid value: {n}: must be greater than 0"
            )),
            _ if since_time.is_some() => invalid.push(
                "sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                    .into(),
            ),
            n => {
                out.opts.since = Some(
                    now.checked_sub(jiff::SignedDuration::from_secs(n))
                        .unwrap_or(jiff::Timestamp::MIN),
                )
            }
        }
    }
    if let Some(v) = since_time.filter(|_| out.opts.since.is_none()) {
        out.opts.since = Some(v.parse().map_err(|e| {
            LogError::bad_request(format!("sinceTime: invalid RFC3339 time {v:?}: {e}"))
        })?);
    }
    out.opts.stream = match q.get("stream").map(String::as_str) {
        None | Some("All") => StreamSel::All,
        Some("Stdout") => StreamSel::Stdout,
        Some("Stderr") => StreamSel::Stderr,
        Some(other) => {
            invalid.push(format!(
                "stream: Unsupported value: \"{other}\": supported values: \"All\", \"Stderr\", \"Stdout\""
            ));
            StreamSel::All
        }
    };
    match invalid.len() {
        0 => Ok(out),
        1 => Err(LogError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid.remove(0),
        )),
        _ => Err(LogError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("[{}]", invalid.join(", ")),
        )),
    }
}

/// The container whose log to read: its id and log file.
pub async fn find_container(
    state: &ServerState,
    ns: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<(String, PathBuf), LogError> {
    let cri_err = |e: crate::cri::CriError| {
        LogError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("container runtime: {e}"),
        )
    };
    let selector = |with_container: bool| {
        let mut l = HashMap::from([
            (labels::POD_NAMESPACE.to_string(), ns.to_string()),
            (labels::POD_NAME.to_string(), pod.to_string()),
        ]);
        if with_container {
            l.insert(labels::CONTAINER_NAME.to_string(), container.to_string());
        }
        l
    };
    let mut found = state
        .cri
        .list_containers(Some(api::ContainerFilter {
            label_selector: selector(true),
            ..Default::default()
        }))
        .await
        .map_err(cri_err)?;
    // Newest first; a pod recreated under the same name has a new uid, and
    // only the newest pod's attempts count.
    found.sort_by_key(|c| {
        std::cmp::Reverse((c.metadata.as_ref().map_or(0, |m| m.attempt), c.created_at))
    });
    let uid = |c: &api::Container| c.labels.get(labels::POD_UID).cloned();
    if let Some(newest) = found.first().map(uid) {
        found.retain(|c| uid(c) == newest);
    }
    let created = api::ContainerState::ContainerCreated as i32;
    let exited = api::ContainerState::ContainerExited as i32;
    let chosen = if previous {
        // Upstream reads `lastState.terminated`: while a container waits to
        // be restarted (CrashLoopBackOff) that is the newest attempt, which
        // has exited; while it runs, the attempt before it. (A container
        // that exited for good also answers with its own log, where upstream
        // says there is no previous one: the runtime alone cannot tell.)
        let newest_exited = found.first().is_some_and(|c| c.state == exited);
        let i = if newest_exited { 0 } else { 1 };
        found.get(i).ok_or_else(|| {
            LogError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            ))
        })?
    } else {
        // An attempt created but not started yet has no logs: upstream
        // shows the last terminated one then.
        match found.iter().position(|c| c.state != created) {
            Some(i) => &found[i],
            None => {
                let sandboxes = state
                    .cri
                    .list_pod_sandbox(Some(api::PodSandboxFilter {
                        label_selector: selector(false),
                        ..Default::default()
                    }))
                    .await
                    .map_err(cri_err)?;
                if found.is_empty() && sandboxes.is_empty() {
                    return Err(LogError::new(
                        StatusCode::NOT_FOUND,
                        format!("pod \"{pod}\" does not exist"),
                    ));
                }
                return Err(LogError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
                )));
            }
        }
    };
    let status = state
        .cri
        .container_status(&chosen.id)
        .await
        .map_err(cri_err)?
        .status
        .ok_or_else(|| {
            LogError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("container runtime: no status for container {}", chosen.id),
            )
        })?;
    let mut path = PathBuf::from(&status.log_path);
    if status.log_path.is_empty() {
        return Err(LogError::bad_request(format!(
            "container \"{container}\" in pod \"{pod}\" has no log file"
        )));
    }
    if path.is_relative() {
        // Relative to the pod's log directory, upstream's layout.
        let uid = chosen
            .labels
            .get(labels::POD_UID)
            .cloned()
            .unwrap_or_default();
        path = state
            .pod_log_dir
            .join(format!("{ns}_{pod}_{uid}"))
            .join(path);
    }
    Ok((chosen.id.clone(), path))
}

/// The handler.
pub async fn container_logs(
    State(state): State<ServerState>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, LogError> {
    let query = parse_query(&q, jiff::Timestamp::now())?;
    let (id, path) = find_container(&state, &ns, &pod, &container, query.previous).await?;
    let open_err =
        |e: std::io::Error| LogError::bad_request(format!("failed to open log file {path:?}: {e}"));
    let start = match query.opts.tail_lines {
        Some(n) => logread::tail_offset(&path, n, query.opts.stream)
            .await
            .map_err(open_err)?,
        None => {
            tokio::fs::metadata(&path).await.map_err(open_err)?;
            0
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let cri = state.cri.clone();
    tokio::spawn(async move {
        let running = || {
            let (cri, id) = (cri.clone(), id.clone());
            async move {
                match cri.container_status(&id).await {
                    Ok(s) => s
                        .status
                        .is_some_and(|s| s.state == api::ContainerState::ContainerRunning as i32),
                    // Removed: nothing more will be written.
                    Err(e) if e.is_not_found() => false,
                    // The runtime is unreachable for a moment: keep following.
                    Err(_) => true,
                }
            }
        };
        if let Err(e) = logread::send_log(path.clone(), start, query.opts, tx, running).await {
            tracing::debug!("reading {}: {e}", path.display());
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Ok((
        [(http::header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<LogQuery, LogError> {
        let m = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_query(&m, "2026-11-22T10:00:00Z".parse().unwrap())
    }

    #[test]
    fn parses_upstream_query() {
        let r = q(&[
            ("follow", "true"),
            ("previous", "1"),
            ("tailLines", "3"),
            ("sinceSeconds", "60"),
            ("timestamps", "true"),
            ("limitBytes", "10"),
            ("stream", "Stderr"),
        ])
        .unwrap();
        assert!(r.previous && r.opts.follow && r.opts.timestamps);
        assert_eq!(r.opts.tail_lines, Some(3));
        assert_eq!(r.opts.limit_bytes, Some(10));
        assert_eq!(r.opts.since, Some("2026-11-22T09:59:00Z".parse().unwrap()));
        assert_eq!(r.opts.stream, StreamSel::Stderr);
        assert_eq!(q(&[("tail", "all")]).unwrap().opts.tail_lines, None);
        assert_eq!(q(&[("tail", "4")]).unwrap().opts.tail_lines, Some(4));
        let t = q(&[("sinceTime", "2026-11-22T08:00:00Z")]).unwrap();
        assert_eq!(t.opts.since, Some("2026-11-22T08:00:00Z".parse().unwrap()));
    }

    #[test]
    fn rejects_invalid_options() {
        let e = q(&[("tailLines", "-1")]).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.message.contains("must be greater than or equal to 0"));
        let e = q(&[("sinceSeconds", "5"), ("sinceTime", "2026-11-22T08:00:00Z")]).unwrap_err();
        assert!(e.message.contains("at most one of"));
        assert_eq!(
            q(&[("follow", "yes")]).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            q(&[("limitBytes", "0"), ("stream", "x")])
                .unwrap_err()
                .message
                .matches("Invalid value")
                .count()
                + 1,
            2
        );
    }
}
