//! The client end of the HTTP/1.1 `Upgrade: SPDY/3.1` handshake (as
//! apimachinery's SPDY round tripper does it), and the server's protocol choice.

use super::session::{Incoming, Role, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const UPGRADE_SPDY: &str = "SPDY/3.1";
pub const PROTOCOL_HEADER: &str = "X-Stream-Protocol-Version";

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("unsupported streaming URL {0:?} (only http://host:port/path)")]
    Url(String),
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("upgrade request: {0}")]
    Io(#[from] std::io::Error),
    #[error("upgrade refused: {0}")]
    Refused(String),
}

/// Picks the first of the client's offered protocols that we support
/// (the client lists its preference first).
pub fn negotiate<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    supported: &[&str],
) -> Option<String> {
    offered
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| supported.contains(p))
        .map(str::to_string)
}

/// Connects to `url` (plain http), upgrades to SPDY/3.1 offering
/// `protocols`, and returns the client session and the chosen protocol.
pub async fn connect(
    url: &str,
    protocols: &[&str],
) -> Result<(Session, Incoming, String), UpgradeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| UpgradeError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(UpgradeError::Url(url.to_string()));
    }
    let mut tcp = TcpStream::connect(authority)
        .await
        .map_err(|e| UpgradeError::Connect(authority.to_string(), e))?;
    let _ = tcp.set_nodelay(true);
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\nUpgrade: {UPGRADE_SPDY}\r\nContent-Length: 0\r\n"
    );
    for p in protocols {
        req.push_str(&format!("{PROTOCOL_HEADER}: {p}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await?;
    // Byte at a time so nothing of the SPDY stream that follows is consumed.
    let mut head = Vec::with_capacity(512);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(UpgradeError::Refused("response header too long".into()));
        }
        let b = tcp.read_u8().await?;
        head.push(b);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("101") {
        let mut body = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(1), tcp.read(&mut body))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        return Err(UpgradeError::Refused(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..n]).trim()
        )));
    }
    let chosen = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(PROTOCOL_HEADER))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let (session, incoming) = Session::new(tcp, Role::Client);
    Ok((session, incoming, chosen))
}
