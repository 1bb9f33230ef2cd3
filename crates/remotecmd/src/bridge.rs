//! Bridges a WebSocket channel-protocol client (v4/v5) to a remotecommand
//! stream set opened on a SPDY session: stdin and resize go up, stdout and
//! stderr come down, and the error stream's Status is sent on channel 3 after
//! all output, just before the WebSocket is closed.

use crate::remotecommand::StreamSet;
use crate::spdy::StreamReader;
use crate::ws::{self, ChannelMessage, WsVersion};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Runs the session to its end. Returns the error stream's bytes (the
/// runtime's Status), also forwarded to the client.
pub async fn websocket_to_streams<S>(
    ws: WebSocketStream<S>,
    version: WsVersion,
    set: StreamSet,
) -> Vec<u8>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let StreamSet {
        error,
        stdin,
        stdout,
        stderr,
        resize,
    } = set;
    let mut stdin_w = stdin.map(|s| s.split().1);
    let mut resize_w = resize.map(|s| s.split().1);
    // Ends when the client closes the WebSocket (or it breaks): the client is gone.
    let input = async move {
        while let Some(Ok(msg)) = source.next().await {
            let data = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                _ => continue,
            };
            match ws::decode(&data, version) {
                Some(ChannelMessage::Data {
                    channel: ws::CHANNEL_STDIN,
                    data,
                }) => {
                    if let Some(w) = stdin_w.as_mut()
                        && w.write(bytes::Bytes::copy_from_slice(data)).await.is_err()
                    {
                        stdin_w = None;
                    }
                }
                Some(ChannelMessage::Data {
                    channel: ws::CHANNEL_RESIZE,
                    data,
                }) => {
                    if let Some(w) = resize_w.as_mut() {
                        let _ = w.write(bytes::Bytes::copy_from_slice(data)).await;
                    }
                }
                Some(ChannelMessage::Close {
                    channel: ws::CHANNEL_STDIN,
                }) => {
                    if let Some(mut w) = stdin_w.take() {
                        let _ = w.close().await;
                    }
                }
                _ => {}
            }
        }
        if let Some(mut w) = stdin_w.take() {
            let _ = w.close().await;
        }
    };

    let out = forward(stdout.map(|s| s.split().0), ws::CHANNEL_STDOUT, tx.clone());
    let err = forward(stderr.map(|s| s.split().0), ws::CHANNEL_STDERR, tx.clone());
    let output = async {
        tokio::join!(out, err);
        // Keep what arrived even if the stream then ends in a reset: the
        // runtime may reset its streams as it closes the connection, right
        // after writing the Status.
        let mut status = Vec::new();
        if let Some(s) = error {
            let mut r = s.split().0;
            while let Some(Ok(b)) = r.recv().await {
                status.extend_from_slice(&b);
            }
        }
        status
    };
    tokio::pin!(input);
    tokio::pin!(output);
    // Stdin EOF (v5) does not end `input`; only the client going away does.
    let status = tokio::select! {
        status = &mut output => status,
        _ = &mut input => Vec::new(),
    };
    if !status.is_empty() {
        let _ = tx
            .send(Message::Binary(
                ws::encode(ws::CHANNEL_ERROR, &status).into(),
            ))
            .await;
    }
    let _ = tx
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
    drop(tx);
    let _ = writer.await;
    status
}

async fn forward(reader: Option<StreamReader>, channel: u8, tx: mpsc::Sender<Message>) {
    let Some(mut r) = reader else { return };
    while let Some(Ok(b)) = r.recv().await {
        if tx
            .send(Message::Binary(ws::encode(channel, &b).into()))
            .await
            .is_err()
        {
            return;
        }
    }
}
