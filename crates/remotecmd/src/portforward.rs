//! Port-forward stream pairs (`portforward.k8s.io`): for each forwarded
//! connection the client opens an error stream and a data stream carrying
//! the same `port` and `requestID` headers.

use crate::spdy::{Headers, Session, SessionError, Stream};

pub const PROTOCOL: &str = "portforward.k8s.io";
/// The WebSocket subprotocol under which SPDY frames are tunnelled in binary messages.
pub const WS_TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
pub const HEADER_PORT: &str = "port";
pub const HEADER_REQUEST_ID: &str = "requestID";
pub const STREAM_DATA: &str = "data";

pub struct Pair {
    pub port: u16,
    pub request_id: String,
    pub error: Stream,
    pub data: Stream,
}

fn headers(kind: &str, port: u16, request_id: &str) -> Headers {
    Headers::new()
        .with(crate::remotecommand::STREAM_TYPE, kind)
        .with(HEADER_PORT, port.to_string())
        .with(HEADER_REQUEST_ID, request_id)
}

/// Opens one pair as client-go does: error stream first, then data.
pub async fn open_pair(
    session: &Session,
    port: u16,
    request_id: &str,
) -> Result<Pair, SessionError> {
    let error = session
        .open(
            headers(crate::remotecommand::STREAM_ERROR, port, request_id),
            false,
        )
        .await?;
    let data = session
        .open(headers(STREAM_DATA, port, request_id), false)
        .await?;
    Ok(Pair {
        port,
        request_id: request_id.to_string(),
        error,
        data,
    })
}

/// Collects incoming streams into pairs by `requestID` (server side),
/// replying to each stream as it arrives.
#[derive(Default)]
pub struct PairCollector {
    pending: Vec<Stream>,
}

impl PairCollector {
    /// Accepts a stream; returns the pair once both of its streams are here.
    pub fn offer(&mut self, s: Stream) -> Option<Pair> {
        s.reply(Headers::new());
        let id = s
            .headers()
            .get(HEADER_REQUEST_ID)
            .unwrap_or_default()
            .to_string();
        let Some(pos) = self
            .pending
            .iter()
            .position(|p| p.headers().get(HEADER_REQUEST_ID).unwrap_or_default() == id)
        else {
            self.pending.push(s);
            return None;
        };
        let other = self.pending.remove(pos);
        let is_error =
            |s: &Stream| s.headers().get(crate::remotecommand::STREAM_TYPE) == Some("error");
        let (error, data) = if is_error(&s) { (s, other) } else { (other, s) };
        let port = data
            .headers()
            .get(HEADER_PORT)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Some(Pair {
            port,
            request_id: id,
            error,
            data,
        })
    }
}
