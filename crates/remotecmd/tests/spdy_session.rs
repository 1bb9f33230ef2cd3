//! SPDY sessions talking to each other over an in-memory duplex: streams
//! both ways, half-close, resets, and flow control over a transfer far
//! larger than the 64 KiB default window.

use bytes::Bytes;
use remotecmd::spdy::{Headers, Role, Session, SessionError};

fn pair() -> (
    (Session, remotecmd::spdy::Incoming),
    (Session, remotecmd::spdy::Incoming),
) {
    let (a, b) = tokio::io::duplex(16 * 1024);
    (Session::new(a, Role::Client), Session::new(b, Role::Server))
}

#[tokio::test]
async fn open_exchange_and_half_close() {
    let ((client, _), (_server, mut accepted)) = pair();
    let server_task = tokio::spawn(async move {
        let s = accepted.recv().await.unwrap();
        assert_eq!(s.headers().get("streamType"), Some("stdin"));
        assert_eq!(s.id() % 2, 1, "client streams are odd");
        s.reply(Headers::new());
        let (mut r, mut w) = s.split();
        let got = r.read_to_end().await.unwrap();
        // The client half-closed; we can still answer.
        w.write(Bytes::from(format!("got {} bytes", got.len())))
            .await
            .unwrap();
        w.close().await.unwrap();
        got
    });
    let s = client
        .open(Headers::new().with("streamType", "stdin"), false)
        .await
        .unwrap();
    let (mut r, mut w) = s.split();
    w.write(Bytes::from_static(b"hello ")).await.unwrap();
    w.write(Bytes::from_static(b"world")).await.unwrap();
    w.close().await.unwrap();
    assert!(w.write(Bytes::from_static(b"late")).await.is_err());
    assert_eq!(r.read_to_end().await.unwrap(), b"got 11 bytes");
    assert_eq!(server_task.await.unwrap(), b"hello world");
}

#[tokio::test]
async fn large_transfer_uses_window_updates() {
    let ((client, _), (server, mut accepted)) = pair();
    const N: usize = 3 * 1024 * 1024 + 17;
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let server_task = tokio::spawn(async move {
        let s = accepted.recv().await.unwrap();
        s.reply(Headers::new());
        let (mut r, _w) = s.split();
        // A slow reader: the sender must wait for window, not overrun it.
        let mut got = Vec::new();
        while let Some(b) = r.recv().await {
            got.extend_from_slice(&b.unwrap());
            if got.len() % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        got
    });
    let s = client.open(Headers::new(), false).await.unwrap();
    let (_r, mut w) = s.split();
    w.write(Bytes::from(data)).await.unwrap();
    w.close().await.unwrap();
    let got = server_task.await.unwrap();
    assert_eq!(got.len(), N);
    assert!(got == expected);
    assert!(
        client.window_updates_received() >= 10,
        "updates: {}",
        client.window_updates_received()
    );
    let _ = server;
}

#[tokio::test]
async fn server_can_open_streams_too() {
    let ((_client, mut accepted), (server, _)) = pair();
    tokio::spawn(async move {
        let s = accepted.recv().await.unwrap();
        s.reply(Headers::new());
        let (mut r, mut w) = s.split();
        let b = r.read_to_end().await.unwrap();
        w.write(Bytes::from(b)).await.unwrap();
        w.close().await.unwrap();
    });
    let s = server
        .open(Headers::new().with("x", "y"), false)
        .await
        .unwrap();
    assert_eq!(s.id() % 2, 0, "server streams are even");
    let (mut r, mut w) = s.split();
    w.write(Bytes::from_static(b"echo")).await.unwrap();
    w.close().await.unwrap();
    assert_eq!(r.read_to_end().await.unwrap(), b"echo");
}

#[tokio::test]
async fn reset_reaches_the_reader_and_refused_streams_fail_open() {
    let ((client, _), (server, mut accepted)) = pair();
    let s = tokio::spawn(async move {
        let s = accepted.recv().await.unwrap();
        s.reply(Headers::new());
        let (_r, mut w) = s.split();
        w.reset(5);
        accepted
    });
    let st = client.open(Headers::new(), false).await.unwrap();
    let (mut r, _w) = st.split();
    assert_eq!(r.recv().await, Some(Err(SessionError::Reset(5))));
    // Nobody accepts streams any more: the server refuses them.
    drop(s.await.unwrap());
    assert!(matches!(
        client.open(Headers::new(), false).await,
        Err(SessionError::Reset(3))
    ));
    drop(server);
}

#[tokio::test]
async fn closing_a_session_ends_the_peers_streams() {
    let ((client, _), (server, mut accepted)) = pair();
    let t = tokio::spawn(async move {
        let s = accepted.recv().await.unwrap();
        s.reply(Headers::new());
        let (mut r, _w) = s.split();
        r.read_to_end().await
    });
    let st = client.open(Headers::new(), false).await.unwrap();
    let (_r, mut w) = st.split();
    w.write(Bytes::from_static(b"partial")).await.unwrap();
    client.close().await;
    assert_eq!(t.await.unwrap().unwrap(), b"partial");
    tokio::time::timeout(std::time::Duration::from_secs(5), server.closed())
        .await
        .unwrap();
}
