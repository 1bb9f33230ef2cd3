//! exec through the kubelet against a fake runtime streaming server that
//! behaves like containerd's: a WebSocket v5 client and a SPDY v4 client
//! both get stdout, stderr, stdin EOF and the exit code through.

#[path = "streaming_common.rs"]
mod common;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use remotecmd::remotecommand::{self, StreamOptions};
use remotecmd::spdy::{Incoming, Session, upgrade};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The "process": upper-cases stdin to stdout once stdin ends, says "warn" on
/// stderr, exits 3. Also records resize messages into stdout with a TTY.
async fn shouting_cat(_path: String, session: Session, mut incoming: Incoming) {
    let opts = StreamOptions {
        stdin: true,
        stdout: true,
        stderr: true,
        tty: false,
    };
    let set = remotecommand::accept_streams(&mut incoming, opts, Duration::from_secs(5))
        .await
        .unwrap();
    let input = set.stdin.unwrap().split().0.read_to_end().await.unwrap();
    let (_, mut out) = set.stdout.unwrap().split();
    out.write(Bytes::from(input.to_ascii_uppercase()))
        .await
        .unwrap();
    out.close().await.unwrap();
    let (_, mut err) = set.stderr.unwrap().split();
    err.write(Bytes::from_static(b"warn")).await.unwrap();
    err.close().await.unwrap();
    let (_, mut status) = set.error.unwrap().split();
    status
        .write(Bytes::from(remotecommand::status_exit_code(3)))
        .await
        .unwrap();
    status.close().await.unwrap();
    session.close().await;
}

const QUERY: &str = "command=sh&command=-c&command=tr&stdin=true&stdout=true&stderr=true";

#[tokio::test]
async fn websocket_v5_exec_round_trip() {
    let runtime = common::start_runtime(shouting_cat).await;
    let kubelet = common::start_kubelet(runtime).await;
    let mut req = format!("ws://{kubelet}/exec/default/web/app?{QUERY}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v5.channel.k8s.io".parse().unwrap(),
    );
    let tcp = tokio::net::TcpStream::connect(&kubelet).await.unwrap();
    let (mut ws, resp) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "v5.channel.k8s.io"
    );
    // A large stdin, sent in pieces, then EOF the v5 way.
    let big = vec![b'a'; 200 * 1024];
    for chunk in big.chunks(10_000) {
        ws.send(Message::Binary(remotecmd::ws::encode(0, chunk).into()))
            .await
            .unwrap();
    }
    ws.send(Message::Binary(remotecmd::ws::encode_close(0).into()))
        .await
        .unwrap();
    let (mut out, mut err, mut status) = (Vec::new(), Vec::new(), Vec::new());
    let collect = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Binary(b) = m {
                let (ch, data) = b.split_first().unwrap();
                match ch {
                    1 => out.extend_from_slice(data),
                    2 => err.extend_from_slice(data),
                    3 => status.extend_from_slice(data),
                    other => panic!("unexpected channel {other}"),
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), collect)
        .await
        .unwrap();
    assert_eq!(out.len(), big.len());
    assert!(out.iter().all(|&b| b == b'A'));
    assert_eq!(err, b"warn");
    assert_eq!(remotecommand::exit_code(&status), Some(3));
}

#[tokio::test]
async fn spdy_v4_exec_round_trip() {
    let runtime = common::start_runtime(shouting_cat).await;
    let kubelet = common::start_kubelet(runtime).await;
    let url = format!("http://{kubelet}/exec/default/web/app?{QUERY}");
    let (session, _incoming, chosen) =
        upgrade::connect(&url, &["v4.channel.k8s.io", "v3.channel.k8s.io"])
            .await
            .unwrap();
    assert_eq!(chosen, "v4.channel.k8s.io");
    let opts = StreamOptions {
        stdin: true,
        stdout: true,
        stderr: true,
        tty: false,
    };
    let set = remotecommand::open_streams(&session, opts).await.unwrap();
    let (_, mut stdin) = set.stdin.unwrap().split();
    stdin
        .write(Bytes::from_static(b"hello kubelet"))
        .await
        .unwrap();
    stdin.close().await.unwrap();
    let run = async {
        let out = set.stdout.unwrap().split().0.read_to_end().await.unwrap();
        let err = set.stderr.unwrap().split().0.read_to_end().await.unwrap();
        let status = set.error.unwrap().split().0.read_to_end().await.unwrap();
        (out, err, status)
    };
    let (out, err, status) = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap();
    assert_eq!(out, b"HELLO KUBELET");
    assert_eq!(err, b"warn");
    assert_eq!(remotecommand::exit_code(&status), Some(3));
}

#[tokio::test]
async fn unknown_container_is_404_before_any_upgrade() {
    let runtime = common::start_runtime(shouting_cat).await;
    let kubelet = common::start_kubelet(runtime).await;
    let url = format!("http://{kubelet}/exec/default/web/nope?{QUERY}");
    let err = upgrade::connect(&url, &["v4.channel.k8s.io"])
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("404"), "{err}");
}
