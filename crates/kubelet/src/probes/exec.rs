//! exec probes: run the command in the container through CRI ExecSync;
//! exit code 0 is success, anything else (or running past the timeout) is
//! failure, with the combined output as the message.

use super::prober::{Outcome, ProbeError, truncate};
use crate::cri::{CriError, DynCri, api};
use std::time::Duration;

/// gRPC's DEADLINE_EXCEEDED: the runtime gave up waiting for the command.
const DEADLINE_EXCEEDED: i32 = 4;
/// Slack over the probe timeout for the runtime to answer before we stop waiting.
const CLIENT_SLACK: Duration = Duration::from_secs(2);

/// What an ExecSync produced.
pub struct ExecOutput {
    pub exit_code: i32,
    /// stdout then stderr, as upstream combines them.
    pub output: String,
    pub stderr: String,
}

/// Why an ExecSync did not produce an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("command {0:?} timed out")]
    TimedOut(String),
    #[error(transparent)]
    Runtime(#[from] CriError),
}

/// ExecSync `cmd` in the container; `timeout` zero means no limit.
pub async fn exec_sync(
    cri: &DynCri,
    container_id: &str,
    cmd: &[String],
    timeout: Duration,
) -> Result<ExecOutput, ExecError> {
    let req = api::ExecSyncRequest {
        container_id: container_id.to_string(),
        cmd: cmd.to_vec(),
        timeout: timeout.as_secs() as i64,
    };
    let timed_out = || ExecError::TimedOut(cmd.join(" "));
    let resp = if timeout.is_zero() {
        cri.exec_sync(req).await
    } else {
        match tokio::time::timeout(timeout + CLIENT_SLACK, cri.exec_sync(req)).await {
            Ok(r) => r,
            Err(_) => return Err(timed_out()),
        }
    };
    let resp = match resp {
        Ok(r) => r,
        Err(CriError::Status { code, .. }) if code == DEADLINE_EXCEEDED => {
            return Err(timed_out());
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = resp.stdout;
    out.extend_from_slice(&resp.stderr);
    Ok(ExecOutput {
        exit_code: resp.exit_code,
        output: truncate(String::from_utf8_lossy(&out).into_owned()),
        stderr: truncate(String::from_utf8_lossy(&resp.stderr).into_owned()),
    })
}

/// Run an exec probe.
pub async fn probe(
    cri: &DynCri,
    container_id: &str,
    cmd: &[String],
    timeout: Duration,
) -> Result<Outcome, ProbeError> {
    match exec_sync(cri, container_id, cmd, timeout).await {
        Ok(o) if o.exit_code == 0 => Ok(Outcome::Success(o.output)),
        Ok(o) => Ok(Outcome::Failure(o.output)),
        // Upstream counts a probe timeout as a failure, not an error.
        Err(e @ ExecError::TimedOut(_)) => Ok(Outcome::Failure(e.to_string())),
        Err(ExecError::Runtime(e)) => Err(e.into()),
    }
}
