//! Relaying one SPDY session to another stream by stream: every stream the
//! downstream peer opens is opened upstream with the same headers, and bytes,
//! half-closes and resets are copied both ways. Exec, attach and
//! port-forward all reduce to this when both ends speak SPDY.

use crate::spdy::{Headers, Incoming, Session, StreamReader, StreamWriter, session};

/// Runs until either session ends. When upstream ends first, what it already
/// sent is drained downstream; when downstream goes away, upstream is closed
/// at once (the client is gone). Both sessions are closed at the end.
pub async fn relay(downstream: Session, mut incoming: Incoming, upstream: Session) {
    let mut tasks = tokio::task::JoinSet::new();
    let downstream_gone = loop {
        tokio::select! {
            s = incoming.recv() => {
                let Some(s) = s else { break true };
                let upstream = upstream.clone();
                tasks.spawn(async move {
                    let up = match upstream.open(s.headers().clone(), false).await {
                        Ok(up) => up,
                        Err(e) => {
                            tracing::debug!(error = %e, "relay: upstream refused a stream");
                            let (_, mut w) = s.split();
                            w.reset(session::RST_REFUSED_STREAM);
                            return;
                        }
                    };
                    s.reply(Headers::new());
                    let (dr, dw) = s.split();
                    let (ur, uw) = up.split();
                    let down_to_up = async {
                        tokio::select! {
                            _ = copy(dr, uw) => {}
                            _ = upstream.closed() => {}
                        }
                    };
                    tokio::join!(down_to_up, copy(ur, dw));
                });
            }
            _ = upstream.closed() => break false,
        }
    };
    if downstream_gone {
        tasks.shutdown().await;
    } else {
        while tasks.join_next().await.is_some() {}
    }
    upstream.close().await;
    downstream.close().await;
}

/// Copies one direction; the end of the source (FIN or reset) half-closes the sink.
pub async fn copy(mut from: StreamReader, mut to: StreamWriter) {
    while let Some(item) = from.recv().await {
        match item {
            Ok(b) => {
                if to.write(b).await.is_err() {
                    return;
                }
            }
            // A reset after data (containerd resets its streams as it closes
            // the connection, right after writing the exit Status) ends the
            // copy like a FIN: a RST_STREAM is a control frame and would
            // overtake the data still queued for the peer.
            Err(_) => break,
        }
    }
    let _ = to.close().await;
}
