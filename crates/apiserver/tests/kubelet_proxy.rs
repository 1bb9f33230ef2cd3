//! The kubelet subresources through a real API server to a fake kubelet
//! (HTTPS, client certificate required): streamed logs through kube-rs,
//! the kubelet's errors as Status, container defaulting, and a raw
//! HTTP/1.1 upgrade (SPDY-style exec) round trip through the proxy.

mod common;

use bytes::Bytes;
use common::*;
use futures::{AsyncBufReadExt, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, LogParams, Patch, PatchParams, PostParams};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

type Chunks = Arc<Mutex<Option<mpsc::Receiver<Bytes>>>>;

fn issue(issuer: &Issuer<'_, KeyPair>, cn: &str, server: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    (
        p.signed_by(&key, issuer).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn roots(ca_pem: &str) -> Arc<rustls::RootCertStore> {
    let mut r = rustls::RootCertStore::empty();
    for c in certs(ca_pem) {
        r.add(c).unwrap();
    }
    Arc::new(r)
}

/// The fake kubelet: `/containerLogs/test/web/app` streams what the test
/// sends on the channel, `.../waiting` answers as a kubelet does for a
/// waiting container, `/exec/...` switches protocols, writes the request
/// line it got and echoes everything after.
async fn fake_kubelet(ts: &TestServer, chunks: Chunks) -> u16 {
    let issuer =
        Issuer::from_ca_cert_pem(&ts.ca_pem, KeyPair::from_pem(&ts.ca_key_pem).unwrap()).unwrap();
    let (cert, key) = issue(&issuer, "node-1", true);
    let verifier = rustls::server::WebPkiClientVerifier::builder(roots(&ts.ca_pem))
        .build()
        .unwrap();
    let tls = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&cert),
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, chunks) = (acceptor.clone(), chunks.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(move |req| kubelet_answer(req, chunks.clone()));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    port
}

type FakeBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn kubelet_answer(
    mut req: http::Request<Incoming>,
    chunks: Chunks,
) -> Result<http::Response<FakeBody>, Infallible> {
    let full = |code: u16, text: String| {
        http::Response::builder()
            .status(code)
            .body(http_body_util::Full::new(Bytes::from(text)).boxed())
            .unwrap()
    };
    let target = req.uri().to_string();
    if req.uri().path() == "/containerLogs/test/web/waiting" {
        return Ok(full(
            400,
            "container \"waiting\" in pod \"web\" is waiting to start: ContainerCreating".into(),
        ));
    }
    if req.uri().path() == "/containerLogs/test/web/app" {
        let rx = chunks.lock().unwrap().take().expect("one log request");
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (Ok(Frame::data(b)), rx))
        });
        return Ok(http::Response::new(BodyExt::boxed(StreamBody::new(stream))));
    }
    if req.uri().path().starts_with("/exec/") {
        assert_eq!(req.headers()["upgrade"], "SPDY/3.1");
        let protocol = req.headers()["x-stream-protocol-version"].clone();
        assert!(req.headers().get("authorization").is_none());
        let on = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let mut io = TokioIo::new(on.await.unwrap());
            io.write_all(format!("{target}\n").as_bytes())
                .await
                .unwrap();
            let mut buf = [0u8; 1024];
            loop {
                match io.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => io.write_all(&buf[..n]).await.unwrap(),
                }
            }
        });
        return Ok(http::Response::builder()
            .status(101)
            .header("connection", "Upgrade")
            .header("upgrade", "SPDY/3.1")
            .header("x-stream-protocol-version", protocol)
            .body(http_body_util::Empty::new().boxed())
            .unwrap());
    }
    Ok(full(404, format!("no {target}")))
}

/// A kubelet-client configuration: a certificate from the cluster CA.
fn kubelet_client(ts: &TestServer) -> Arc<rustls::ClientConfig> {
    let issuer =
        Issuer::from_ca_cert_pem(&ts.ca_pem, KeyPair::from_pem(&ts.ca_key_pem).unwrap()).unwrap();
    let (cert, key) = issue(&issuer, "kube-apiserver-kubelet-client", false);
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots(&ts.ca_pem))
        .with_client_auth_cert(
            certs(&cert),
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    Arc::new(cfg)
}

async fn node_and_pods(client: &kube::Client, port: u16) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = serde_json::from_value(serde_json::json!({"metadata": {"name": "node-1"}})).unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let status = serde_json::json!({"status": {
        "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}});
    nodes
        .patch_status("node-1", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    for (name, node, containers) in [
        ("web", "node-1", vec!["app", "waiting"]),
        ("solo", "", vec!["app"]),
    ] {
        let cs: Vec<_> = containers
            .iter()
            .map(|c| serde_json::json!({"name": c, "image": "busybox"}))
            .collect();
        let mut spec = serde_json::json!({"containers": cs});
        if !node.is_empty() {
            spec["nodeName"] = node.into();
        }
        let pod =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "spec": spec}))
                .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
    }
}

#[tokio::test]
async fn logs_stream_through_and_errors_become_status() {
    let ts = TestServer::start().await;
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let port = fake_kubelet(&ts, Arc::new(Mutex::new(Some(rx)))).await;
    let client = ts.client().await;
    node_and_pods(&client, port).await;
    let pods: Api<Pod> = Api::namespaced(client, "test");

    // Without a kubelet client configuration: 502 naming the node.
    let lp = |c: &str| LogParams {
        container: Some(c.into()),
        follow: true,
        ..Default::default()
    };
    let s = api_code(pods.logs("web", &lp("app")).await);
    assert_eq!(s.code, 502);
    assert!(s.message.contains("node \"node-1\""), "{}", s.message);

    ts.api.set_kubelet_client(kubelet_client(&ts));
    let s = api_code(pods.logs("web", &LogParams::default()).await);
    assert_eq!(
        (s.code, s.message.as_str()),
        (
            400,
            "a container name must be specified for pod web, choose one of: [app waiting]"
        )
    );
    let s = api_code(pods.logs("web", &lp("waiting")).await);
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (
            400,
            "BadRequest",
            "container \"waiting\" in pod \"web\" is waiting to start: ContainerCreating"
        )
    );
    // No node yet: no logs yet.
    assert_eq!(pods.logs("solo", &LogParams::default()).await.unwrap(), "");

    // Each line arrives while the kubelet's response is still open.
    let mut lines = pods.log_stream("web", &lp("app")).await.unwrap().lines();
    for line in ["first", "second"] {
        tx.send(Bytes::from(format!("{line}\n"))).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), lines.next())
            .await
            .expect("a line within 10s");
        assert_eq!(got.unwrap().unwrap(), line);
    }
    drop(tx);
    let end = tokio::time::timeout(Duration::from_secs(10), lines.next()).await;
    assert!(end.expect("the stream ends with the kubelet's").is_none());
}

#[tokio::test]
async fn upgrades_are_proxied_both_ways() {
    let ts = TestServer::start().await;
    let port = fake_kubelet(&ts, Default::default()).await;
    node_and_pods(&ts.client().await, port).await;
    ts.api.set_kubelet_client(kubelet_client(&ts));

    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots(&ts.ca_pem))
        .with_no_client_auth();
    let addr = ts.url.trim_start_matches("https://").to_string();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn.with_upgrades());
    let query = "command=sh&command=-c&command=echo+hi&container=app&stdout=true";
    let req = http::Request::post(format!("/api/v1/namespaces/test/pods/web/exec?{query}"))
        .header("host", &addr)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("connection", "Upgrade")
        .header("upgrade", "SPDY/3.1")
        .header("x-stream-protocol-version", "v4.channel.k8s.io")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let mut resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(
        resp.headers()["x-stream-protocol-version"],
        "v4.channel.k8s.io"
    );
    assert_eq!(resp.headers()["upgrade"], "SPDY/3.1");
    let mut io = TokioIo::new(hyper::upgrade::on(&mut resp).await.unwrap());
    let expect_line = format!("/exec/test/web/app?{query}\n");
    let mut got = vec![0u8; expect_line.len()];
    io.read_exact(&mut got).await.unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), expect_line);
    for msg in ["ping", "a longer message\x00\x01 with bytes"] {
        io.write_all(msg.as_bytes()).await.unwrap();
        let mut back = vec![0u8; msg.len()];
        tokio::time::timeout(Duration::from_secs(10), io.read_exact(&mut back))
            .await
            .expect("echo within 10s")
            .unwrap();
        assert_eq!(back, msg.as_bytes());
    }

    // A pod without a node cannot be exec'd into.
    let pods: Api<Pod> = Api::namespaced(ts.client().await, "test");
    let r: Result<Pod, _> = pods.get_subresource("exec", "solo").await;
    let s = api_code(r);
    assert_eq!(
        (s.code, s.message.as_str()),
        (400, "pod solo does not have a host assigned")
    );
}
