//! port-forward through the kubelet against a fake runtime that echoes each
//! data stream: over SPDY, and over a WebSocket tunnelling SPDY frames.

#[path = "streaming_common.rs"]
mod common;

use bytes::Bytes;
use remotecmd::portforward::{self, PairCollector};
use remotecmd::spdy::{Incoming, Role, Session, upgrade};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Echoes each pair's data stream, prefixed with the port it was asked for.
async fn echo(_path: String, _session: Session, mut incoming: Incoming) {
    let mut pairs = PairCollector::default();
    while let Some(s) = incoming.recv().await {
        if let Some(pair) = pairs.offer(s) {
            tokio::spawn(async move {
                let (mut r, mut w) = pair.data.split();
                let got = r.read_to_end().await.unwrap();
                let mut reply = format!("{}:", pair.port).into_bytes();
                reply.extend_from_slice(&got);
                w.write(Bytes::from(reply)).await.unwrap();
                w.close().await.unwrap();
                let (_, mut e) = pair.error.split();
                e.close().await.unwrap();
            });
        }
    }
}

async fn forward_twice(session: &Session) {
    for (i, port) in [8080u16, 9090].into_iter().enumerate() {
        let pair = portforward::open_pair(session, port, &i.to_string())
            .await
            .unwrap();
        let (_, mut ew) = pair.error.split();
        ew.close().await.unwrap();
        let (mut r, mut w) = pair.data.split();
        w.write(Bytes::from(vec![b'x'; 100_000])).await.unwrap();
        w.close().await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(20), r.read_to_end())
            .await
            .unwrap()
            .unwrap();
        let prefix = format!("{port}:");
        assert!(got.starts_with(prefix.as_bytes()));
        assert_eq!(got.len(), prefix.len() + 100_000);
    }
}

#[tokio::test]
async fn spdy_port_forward_echoes() {
    let runtime = common::start_runtime(echo).await;
    let kubelet = common::start_kubelet(runtime).await;
    let url = format!("http://{kubelet}/portForward/default/web");
    let (session, _incoming, chosen) = upgrade::connect(&url, &[portforward::PROTOCOL])
        .await
        .unwrap();
    assert_eq!(chosen, portforward::PROTOCOL);
    forward_twice(&session).await;
}

#[tokio::test]
async fn websocket_tunnelled_port_forward_echoes() {
    let runtime = common::start_runtime(echo).await;
    let kubelet = common::start_kubelet(runtime).await;
    let mut req = format!("ws://{kubelet}/portForward/default/web")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        portforward::WS_TUNNEL_PROTOCOL.parse().unwrap(),
    );
    let tcp = tokio::net::TcpStream::connect(&kubelet).await.unwrap();
    let (ws, resp) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        portforward::WS_TUNNEL_PROTOCOL
    );
    let (session, _incoming) = Session::new(remotecmd::tunnel::WsIo::new(ws), Role::Client);
    forward_twice(&session).await;
}

#[tokio::test]
async fn unknown_pod_is_404() {
    let runtime = common::start_runtime(echo).await;
    let kubelet = common::start_kubelet(runtime).await;
    let url = format!("http://{kubelet}/portForward/default/nope");
    let err = upgrade::connect(&url, &[portforward::PROTOCOL])
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("404"), "{err}");
}
