//! The remotecommand stream set (exec/attach) over SPDY: the protocol
//! versions, opening the streams as a client (error first, as client-go
//! does), accepting them as a server, and the metav1.Status the error
//! stream carries from v4 on.

use crate::spdy::{Headers, Incoming, Session, SessionError, Stream};
use serde_json::json;
use std::time::Duration;

pub const V1: &str = "channel.k8s.io";
pub const V2: &str = "v2.channel.k8s.io";
pub const V3: &str = "v3.channel.k8s.io";
pub const V4: &str = "v4.channel.k8s.io";
pub const V5: &str = "v5.channel.k8s.io";
/// SPDY protocols a server offers, newest first.
pub const SPDY_PROTOCOLS: &[&str] = &[V4, V3, V2];

pub const STREAM_TYPE: &str = "streamType";
pub const STREAM_ERROR: &str = "error";
pub const STREAM_STDIN: &str = "stdin";
pub const STREAM_STDOUT: &str = "stdout";
pub const STREAM_STDERR: &str = "stderr";
pub const STREAM_RESIZE: &str = "resize";

#[derive(Debug, thiserror::Error)]
pub enum StreamSetError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("timed out waiting for the client's streams")]
    Timeout,
    #[error("unexpected stream type {0:?}")]
    UnknownStream(String),
}

/// Which streams a session carries. With a TTY there is no stderr (the
/// terminal merges it) and there is a resize stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl StreamOptions {
    /// Normalised as upstream does: a TTY session has no stderr.
    pub fn normalized(mut self) -> Self {
        if self.tty {
            self.stderr = false;
        }
        self
    }
}

#[derive(Default)]
pub struct StreamSet {
    pub error: Option<Stream>,
    pub stdin: Option<Stream>,
    pub stdout: Option<Stream>,
    pub stderr: Option<Stream>,
    pub resize: Option<Stream>,
}

impl StreamSet {
    fn put(&mut self, s: Stream) -> Result<(), StreamSetError> {
        let ty = s.headers().get(STREAM_TYPE).unwrap_or_default().to_string();
        let slot = match ty.as_str() {
            STREAM_ERROR => &mut self.error,
            STREAM_STDIN => &mut self.stdin,
            STREAM_STDOUT => &mut self.stdout,
            STREAM_STDERR => &mut self.stderr,
            STREAM_RESIZE => &mut self.resize,
            _ => return Err(StreamSetError::UnknownStream(ty)),
        };
        *slot = Some(s);
        Ok(())
    }
}

fn typed(ty: &str) -> Headers {
    Headers::new().with(STREAM_TYPE, ty)
}

/// Opens the streams for `opts` on a client session (remotecommand v2+).
pub async fn open_streams(
    session: &Session,
    opts: StreamOptions,
) -> Result<StreamSet, StreamSetError> {
    let opts = opts.normalized();
    let mut set = StreamSet {
        error: Some(session.open(typed(STREAM_ERROR), false).await?),
        ..Default::default()
    };
    if opts.stdin {
        set.stdin = Some(session.open(typed(STREAM_STDIN), false).await?);
    }
    if opts.stdout {
        set.stdout = Some(session.open(typed(STREAM_STDOUT), false).await?);
    }
    if opts.stderr {
        set.stderr = Some(session.open(typed(STREAM_STDERR), false).await?);
    }
    if opts.tty {
        set.resize = Some(session.open(typed(STREAM_RESIZE), false).await?);
    }
    Ok(set)
}

/// Accepts the client's streams for `opts` on a server session, replying to each.
pub async fn accept_streams(
    incoming: &mut Incoming,
    opts: StreamOptions,
    timeout: Duration,
) -> Result<StreamSet, StreamSetError> {
    let opts = opts.normalized();
    let expected =
        1 + opts.stdin as usize + opts.stdout as usize + opts.stderr as usize + opts.tty as usize;
    let mut set = StreamSet::default();
    let deadline = tokio::time::Instant::now() + timeout;
    for _ in 0..expected {
        let s = tokio::time::timeout_at(deadline, incoming.recv())
            .await
            .map_err(|_| StreamSetError::Timeout)?
            .ok_or(SessionError::Closed)?;
        s.reply(Headers::new());
        set.put(s)?;
    }
    Ok(set)
}

/// The error stream's message when the command exited 0.
pub fn status_success() -> Vec<u8> {
    json!({"metadata": {}, "status": "Success"})
        .to_string()
        .into_bytes()
}

/// The error stream's message for a non-zero exit code.
pub fn status_exit_code(code: i32) -> Vec<u8> {
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command [...], exit code {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
    })
    .to_string()
    .into_bytes()
}

/// The error stream's message for any other failure.
pub fn status_failure(message: &str) -> Vec<u8> {
    json!({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500})
        .to_string()
        .into_bytes()
}

/// The exit code an error-stream Status reports: 0 for Success, the ExitCode
/// cause for NonZeroExitCode, `None` for anything else.
pub fn exit_code(status: &[u8]) -> Option<i32> {
    let v: serde_json::Value = serde_json::from_slice(status).ok()?;
    match v.get("status")?.as_str()? {
        "Success" => Some(0),
        _ if v.get("reason").and_then(|r| r.as_str()) == Some("NonZeroExitCode") => v
            .pointer("/details/causes")?
            .as_array()?
            .iter()
            .find(|c| c.get("reason").and_then(|r| r.as_str()) == Some("ExitCode"))?
            .get("message")?
            .as_str()?
            .parse()
            .ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_exit_codes() {
        assert_eq!(exit_code(&status_success()), Some(0));
        assert_eq!(exit_code(&status_exit_code(2)), Some(2));
        assert_eq!(exit_code(&status_failure("boom")), None);
    }

    #[test]
    fn tty_sessions_have_no_stderr() {
        let o = StreamOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            tty: true,
        }
        .normalized();
        assert!(!o.stderr);
    }
}
