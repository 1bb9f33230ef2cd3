//! The kubelet's streaming endpoints (`/exec`, `/attach`, `/portForward`):
//! routes, the WebSocket/SPDY upgrade negotiation with the client, finding
//! the container or sandbox through CRI, and the hand-off to the runtime's
//! streaming server, reached as a SPDY client.

#[path = "attach.rs"]
mod attach;
#[path = "exec.rs"]
mod exec;
#[path = "portforward.rs"]
mod portforward;

use super::ServerState;
use crate::cri::{DynCri, api, labels};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use remotecmd::remotecommand::{self, StreamOptions};
use remotecmd::spdy::{Role, Session, upgrade};
use remotecmd::ws::{self, WsVersion};
use std::collections::HashMap;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol;

/// The streaming routes, to be merged into the kubelet server's router.
/// The server must serve HTTP/1.1 connections with upgrades enabled.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(
            "/exec/{ns}/{pod}/{container}",
            get(exec::handle).post(exec::handle),
        )
        .route(
            "/attach/{ns}/{pod}/{container}",
            get(attach::handle).post(attach::handle),
        )
        .route(
            "/portForward/{ns}/{pod}",
            get(portforward::handle).post(portforward::handle),
        )
}

/// An HTTP error before any upgrade (kubectl prints the body).
pub(crate) fn fail(code: StatusCode, msg: impl Into<String>) -> Response {
    let msg = msg.into();
    tracing::debug!(%code, %msg, "streaming request refused");
    (code, msg).into_response()
}

/// What the client asked to upgrade to.
pub(crate) enum ClientUpgrade {
    WebSocket { key: String, protocol: String },
    Spdy { protocol: String },
}

fn header_values<'a>(h: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    h.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

/// Picks the transport and protocol from the request headers.
pub(crate) fn negotiate(
    h: &HeaderMap,
    ws_protocols: &[&str],
    spdy_protocols: &[&str],
) -> Result<ClientUpgrade, Response> {
    let upgrade_to = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if upgrade_to.eq_ignore_ascii_case("websocket") {
        let key = h
            .get(header::SEC_WEBSOCKET_KEY)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key"))?;
        let protocol = upgrade::negotiate(header_values(h, "sec-websocket-protocol"), ws_protocols)
            .ok_or_else(|| {
                fail(
                    StatusCode::BAD_REQUEST,
                    "unable to upgrade: no supported WebSocket subprotocol",
                )
            })?;
        return Ok(ClientUpgrade::WebSocket {
            key: key.to_string(),
            protocol,
        });
    }
    if upgrade_to.to_ascii_lowercase().starts_with("spdy/3") {
        let protocol =
            upgrade::negotiate(header_values(h, upgrade::PROTOCOL_HEADER), spdy_protocols)
                .ok_or_else(|| {
                    fail(
                        StatusCode::FORBIDDEN,
                        "unable to upgrade: unable to negotiate protocol",
                    )
                })?;
        return Ok(ClientUpgrade::Spdy { protocol });
    }
    Err(fail(
        StatusCode::BAD_REQUEST,
        "unable to upgrade: missing upgrade headers in request",
    ))
}

/// The 101 answer for `up`.
pub(crate) fn switching(up: &ClientUpgrade) -> Response {
    let b = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade");
    let b = match up {
        ClientUpgrade::WebSocket { key, protocol } => b
            .header(header::UPGRADE, "websocket")
            .header(
                header::SEC_WEBSOCKET_ACCEPT,
                derive_accept_key(key.as_bytes()),
            )
            .header(header::SEC_WEBSOCKET_PROTOCOL, protocol.as_str()),
        ClientUpgrade::Spdy { protocol } => b
            .header(header::UPGRADE, upgrade::UPGRADE_SPDY)
            .header(upgrade::PROTOCOL_HEADER, protocol.as_str()),
    };
    b.body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Finishes the HTTP upgrade in the background and gives the raw connection to `f`.
pub(crate) fn on_upgraded<F, Fut>(mut req: Request, f: F)
where
    F: FnOnce(TokioIo<hyper::upgrade::Upgraded>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let on = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on.await {
            Ok(up) => f(TokioIo::new(up)).await,
            Err(e) => tracing::debug!(error = %e, "streaming upgrade failed"),
        }
    });
}

/// Opens the runtime's streaming URL as a SPDY client with `protocol`.
pub(crate) async fn connect_runtime(url: &str, protocol: &str) -> Result<Session, Response> {
    let (session, _incoming, chosen) = upgrade::connect(url, &[protocol]).await.map_err(|e| {
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("runtime streaming server: {e}"),
        )
    })?;
    if chosen != protocol {
        return Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("runtime streaming server chose protocol {chosen:?}, asked for {protocol:?}"),
        ));
    }
    Ok(session)
}

/// exec and attach: answer the client, then connect it to the runtime's session.
pub(crate) async fn serve_remotecommand(
    req: Request,
    url: String,
    opts: StreamOptions,
) -> Response {
    let up = match negotiate(
        req.headers(),
        ws::WS_PROTOCOLS,
        remotecommand::SPDY_PROTOCOLS,
    ) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match &up {
        ClientUpgrade::Spdy { protocol } => {
            // Same version both sides: the streams are relayed as they are.
            let runtime = match connect_runtime(&url, protocol).await {
                Ok(s) => s,
                Err(r) => return r,
            };
            on_upgraded(req, move |io| async move {
                let (client, incoming) = Session::new(io, Role::Server);
                remotecmd::proxy::relay(client, incoming, runtime).await;
            });
        }
        ClientUpgrade::WebSocket { protocol, .. } => {
            let version = WsVersion::from_protocol(protocol).unwrap_or(WsVersion::V4);
            let runtime = match connect_runtime(&url, remotecommand::V4).await {
                Ok(s) => s,
                Err(r) => return r,
            };
            let set = match remotecommand::open_streams(&runtime, opts).await {
                Ok(s) => s,
                Err(e) => {
                    return fail(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("runtime streams: {e}"),
                    );
                }
            };
            on_upgraded(req, move |io| async move {
                let ws = WebSocketStream::from_raw_socket(io, protocol::Role::Server, None).await;
                remotecmd::bridge::websocket_to_streams(ws, version, set).await;
                runtime.close().await;
            });
        }
    }
    switching(&up)
}

/// Upstream's strconv.ParseBool.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `command` (repeated) and the stream flags from the query string.
pub(crate) fn parse_query(query: Option<&str>) -> Result<(Vec<String>, StreamOptions), Response> {
    let mut command = Vec::new();
    let mut o = StreamOptions::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let flag = || {
            parse_bool(&v).ok_or_else(|| fail(StatusCode::BAD_REQUEST, format!("invalid {k}={v}")))
        };
        match k.as_ref() {
            "command" => command.push(v.to_string()),
            "stdin" | "input" => o.stdin = flag()?,
            "stdout" | "output" => o.stdout = flag()?,
            "stderr" => o.stderr = flag()?,
            "tty" => o.tty = flag()?,
            _ => {}
        }
    }
    if !(o.stdin || o.stdout || o.stderr) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    Ok((command, o.normalized()))
}

fn cri_fail(e: crate::cri::CriError) -> Response {
    if e.is_not_found() {
        fail(StatusCode::NOT_FOUND, e.to_string())
    } else {
        fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// The running container `container` of pod `ns/pod`.
pub(crate) async fn find_container(
    cri: &DynCri,
    ns: &str,
    pod: &str,
    container: &str,
) -> Result<String, Response> {
    let label_selector = HashMap::from([
        (labels::POD_NAMESPACE.to_string(), ns.to_string()),
        (labels::POD_NAME.to_string(), pod.to_string()),
        (labels::CONTAINER_NAME.to_string(), container.to_string()),
    ]);
    let filter = api::ContainerFilter {
        state: Some(api::ContainerStateValue {
            state: api::ContainerState::ContainerRunning as i32,
        }),
        label_selector,
        ..Default::default()
    };
    let mut found = cri.list_containers(Some(filter)).await.map_err(cri_fail)?;
    found.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    found.into_iter().next().map(|c| c.id).ok_or_else(|| {
        fail(
            StatusCode::NOT_FOUND,
            format!("container {container} not found in pod {ns}/{pod}"),
        )
    })
}

/// The ready sandbox of pod `ns/pod`.
pub(crate) async fn find_sandbox(cri: &DynCri, ns: &str, pod: &str) -> Result<String, Response> {
    let label_selector = HashMap::from([
        (labels::POD_NAMESPACE.to_string(), ns.to_string()),
        (labels::POD_NAME.to_string(), pod.to_string()),
    ]);
    let filter = api::PodSandboxFilter {
        state: Some(api::PodSandboxStateValue {
            state: api::PodSandboxState::SandboxReady as i32,
        }),
        label_selector,
        ..Default::default()
    };
    let mut found = cri.list_pod_sandbox(Some(filter)).await.map_err(cri_fail)?;
    found.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    found
        .into_iter()
        .next()
        .map(|s| s.id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("pod {ns}/{pod} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_collects_command_and_flags() {
        let (cmd, o) = parse_query(Some(
            "command=sh&command=-c&command=echo%20hi&stdin=true&stdout=1&stderr=true&tty=true",
        ))
        .unwrap();
        assert_eq!(cmd, ["sh", "-c", "echo hi"]);
        assert!(o.stdin && o.stdout && o.tty);
        assert!(!o.stderr, "a TTY has no separate stderr");
        assert!(parse_query(Some("command=ls")).is_err());
        assert!(parse_query(Some("stdout=maybe")).is_err());
    }
}
