//! `/portForward/{ns}/{pod}`: forwards the client's stream pairs to the pod
//! sandbox through CRI PortForward. SPDY clients are relayed directly;
//! WebSocket clients (`SPDY/3.1+portforward.k8s.io`) tunnel SPDY frames in
//! binary messages, which are unwrapped into the same relay.

use super::{
    ClientUpgrade, ServerState, connect_runtime, fail, find_sandbox, negotiate, on_upgraded,
    switching,
};
use crate::cri::api;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use remotecmd::portforward::{PROTOCOL, WS_TUNNEL_PROTOCOL};
use remotecmd::spdy::{Role, Session};
use remotecmd::tunnel::WsIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol;

pub(super) async fn handle(
    State(st): State<ServerState>,
    Path((ns, pod)): Path<(String, String)>,
    req: Request,
) -> Response {
    let up = match negotiate(req.headers(), &[WS_TUNNEL_PROTOCOL], &[PROTOCOL]) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let sandbox = match find_sandbox(&st.cri, &ns, &pod).await {
        Ok(id) => id,
        Err(r) => return r,
    };
    // Ports come per stream from the client; none are named up front.
    let url = match st
        .cri
        .port_forward(api::PortForwardRequest {
            pod_sandbox_id: sandbox,
            port: vec![],
        })
        .await
    {
        Ok(r) => r.url,
        Err(e) => {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("port-forward: {e}"),
            );
        }
    };
    let runtime = match connect_runtime(&url, PROTOCOL).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let websocket = matches!(up, ClientUpgrade::WebSocket { .. });
    on_upgraded(req, move |io| async move {
        let (client, incoming) = if websocket {
            let ws = WebSocketStream::from_raw_socket(io, protocol::Role::Server, None).await;
            Session::new(WsIo::new(ws), Role::Server)
        } else {
            Session::new(io, Role::Server)
        };
        remotecmd::proxy::relay(client, incoming, runtime).await;
    });
    switching(&up)
}
