//! `/attach/{ns}/{pod}/{container}`: connects the client to a running
//! container's main process through CRI Attach.

use super::{ServerState, fail, find_container, parse_query, serve_remotecommand};
use crate::cri::api;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;

pub(super) async fn handle(
    State(st): State<ServerState>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let (_, opts) = match parse_query(req.uri().query()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let container_id = match find_container(&st.cri, &ns, &pod, &container).await {
        Ok(id) => id,
        Err(r) => return r,
    };
    let attach = api::AttachRequest {
        container_id,
        stdin: opts.stdin,
        tty: opts.tty,
        stdout: opts.stdout,
        stderr: opts.stderr,
    };
    match st.cri.attach(attach).await {
        Ok(resp) => serve_remotecommand(req, resp.url, opts).await,
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, format!("attach: {e}")),
    }
}
