//! `/exec/{ns}/{pod}/{container}`: runs a command in a running container
//! through CRI Exec and streams it to the client.

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
    let (cmd, opts) = match parse_query(req.uri().query()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if cmd.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "you must specify a command");
    }
    let container_id = match find_container(&st.cri, &ns, &pod, &container).await {
        Ok(id) => id,
        Err(r) => return r,
    };
    let exec = api::ExecRequest {
        container_id,
        cmd,
        tty: opts.tty,
        stdin: opts.stdin,
        stdout: opts.stdout,
        stderr: opts.stderr,
    };
    match st.cri.exec(exec).await {
        Ok(resp) => serve_remotecommand(req, resp.url, opts).await,
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, format!("exec: {e}")),
    }
}
