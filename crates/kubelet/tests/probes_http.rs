//! httpGet probes and hooks against a local HTTP/1.1 (and HTTPS) test server:
//! status codes, redirects, headers, timeouts, body limits, named ports.

use k8s_openapi::api::core::v1::{Container, ContainerPort, HTTPGetAction, HTTPHeader};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubelet::probes::Outcome;
use kubelet::probes::http::{self, HttpGet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

mod probes_support;

/// Requests the server saw, as raw heads.
type Seen = Arc<Mutex<Vec<String>>>;

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, seen: Seen) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        // A TLS ClientHello to this plain server gets what a real one answers.
        if buf.first() == Some(&0x16) {
            let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n").await;
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    seen.lock().unwrap().push(head.clone());
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    let (status, extra, body): (u16, String, String) = match path.as_str() {
        "/ok" => (200, String::new(), "fine".into()),
        "/fail" => (500, String::new(), "boom".into()),
        "/teapot" => (418, String::new(), String::new()),
        "/local" => (302, "Location: /ok\r\n".into(), String::new()),
        "/relative/a" => (301, "Location: b\r\n".into(), String::new()),
        "/relative/b" => (204, String::new(), String::new()),
        "/loop" => (302, "Location: /loop\r\n".into(), String::new()),
        "/away" => (
            302,
            "Location: http://192.0.2.1:9/else\r\n".into(),
            "moved".into(),
        ),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (200, String::new(), String::new())
        }
        "/big" => (200, String::new(), "x".repeat(100 * 1024)),
        _ => (404, String::new(), String::new()),
    };
    let resp = format!(
        "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}

async fn server(tls: Option<tokio_rustls::TlsAcceptor>) -> (u16, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = l.accept().await {
            let seen = s2.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acc) => {
                        if let Ok(t) = acc.accept(conn).await {
                            answer(t, seen).await
                        }
                    }
                    None => answer(conn, seen).await,
                }
            });
        }
    });
    (port, seen)
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

fn action(port: u16, path: &str) -> HTTPGetAction {
    HTTPGetAction {
        path: Some(path.into()),
        port: IntOrString::Int(port.into()),
        ..Default::default()
    }
}

async fn run(a: &HTTPGetAction) -> Outcome {
    let req = HttpGet::from_action(a, &Container::default(), Some("127.0.0.1"), "probe").unwrap();
    http::probe(&req, Duration::from_secs(1)).await
}

#[tokio::test]
async fn status_codes_decide_success() {
    let (port, seen) = server(None).await;
    assert_eq!(
        run(&action(port, "/ok")).await,
        Outcome::Success("fine".into())
    );
    assert_eq!(
        run(&action(port, "/fail")).await,
        Outcome::Failure("HTTP probe failed with statuscode: 500".into())
    );
    assert_eq!(
        run(&action(port, "/teapot")).await,
        Outcome::Failure("HTTP probe failed with statuscode: 418".into())
    );
    let head = seen.lock().unwrap()[0].clone();
    assert!(head.starts_with("GET /ok HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("user-agent: kube-probe/1.37\r\n"), "{head}");
    assert!(head.contains("accept: */*\r\n"), "{head}");
    assert!(
        head.contains(&format!("host: 127.0.0.1:{port}\r\n")),
        "{head}"
    );
}

#[tokio::test]
async fn custom_headers_replace_defaults() {
    let (port, seen) = server(None).await;
    let mut a = action(port, "ok");
    a.http_headers = Some(vec![
        HTTPHeader {
            name: "User-Agent".into(),
            value: "mine".into(),
        },
        HTTPHeader {
            name: "Host".into(),
            value: "example.test".into(),
        },
        HTTPHeader {
            name: "X-Custom".into(),
            value: "1".into(),
        },
    ]);
    assert!(matches!(run(&a).await, Outcome::Success(_)));
    let head = seen.lock().unwrap()[0].to_lowercase();
    assert!(head.contains("user-agent: mine\r\n"), "{head}");
    assert!(!head.contains("kube-probe"), "{head}");
    assert!(head.contains("host: example.test\r\n"), "{head}");
    assert!(head.contains("x-custom: 1\r\n"), "{head}");
}

#[tokio::test]
async fn redirects_follow_same_host_and_stop_at_another() {
    let (port, seen) = server(None).await;
    assert_eq!(
        run(&action(port, "/local")).await,
        Outcome::Success("fine".into())
    );
    assert_eq!(
        run(&action(port, "/relative/a")).await,
        Outcome::Success(String::new())
    );
    assert_eq!(
        run(&action(port, "/away")).await,
        Outcome::Warning("Probe terminated redirects, Response body: moved".into())
    );
    let before = seen.lock().unwrap().len();
    match run(&action(port, "/loop")).await {
        Outcome::Failure(m) => assert!(m.ends_with("stopped after 10 redirects"), "{m}"),
        o => panic!("{o:?}"),
    }
    // The first request plus ten redirects.
    assert_eq!(seen.lock().unwrap().len() - before, 11);
}

#[tokio::test]
async fn timeouts_refusals_and_big_bodies() {
    let (port, _) = server(None).await;
    let started = std::time::Instant::now();
    match run(&action(port, "/slow")).await {
        Outcome::Failure(m) => assert!(m.contains("Client.Timeout exceeded"), "{m}"),
        o => panic!("{o:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    match run(&action(port, "/big")).await {
        Outcome::Success(body) => assert_eq!(body.len(), 10 * 1024),
        o => panic!("{o:?}"),
    }
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    match run(&action(closed_port, "/")).await {
        Outcome::Failure(m) => assert_eq!(
            m,
            format!(
                "Get \"http://127.0.0.1:{closed_port}/\": dial tcp 127.0.0.1:{closed_port}: connect: connection refused"
            )
        ),
        o => panic!("{o:?}"),
    }
}

#[tokio::test]
async fn https_skips_certificate_verification_and_named_ports_resolve() {
    let (port, seen) = server(Some(tls_acceptor())).await;
    let container = Container {
        ports: Some(vec![ContainerPort {
            name: Some("web".into()),
            container_port: port.into(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let a = HTTPGetAction {
        path: Some("/ok".into()),
        port: IntOrString::String("web".into()),
        scheme: Some("HTTPS".into()),
        host: Some("127.0.0.1".into()),
        ..Default::default()
    };
    let req = HttpGet::from_action(&a, &container, None, "probe").unwrap();
    assert_eq!(
        http::probe(&req, Duration::from_secs(2)).await,
        Outcome::Success("fine".into())
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn lifecycle_http_hooks_ignore_status_and_fall_back_from_https() {
    use k8s_openapi::api::core::v1::{LifecycleHandler, Pod};
    let (port, seen) = server(None).await;
    let cri: kubelet::cri::DynCri = Arc::new(probes_support::FakeCri::default());
    let hook = |path: &str, scheme: Option<&str>| LifecycleHandler {
        http_get: Some(HTTPGetAction {
            scheme: scheme.map(str::to_string),
            ..action(port, path)
        }),
        ..Default::default()
    };
    let pod = Pod::default();
    let ip = Some("127.0.0.1");
    let run = |h: LifecycleHandler| {
        let (cri, pod) = (cri.clone(), pod.clone());
        async move { kubelet::probes::run_handler(&cri, &pod, ip, "c1", &h).await }
    };
    assert_eq!(run(hook("/fail", None)).await, Ok(()));
    assert_eq!(run(hook("/ok", Some("HTTPS"))).await, Ok(()));
    let heads = seen.lock().unwrap().clone();
    assert!(
        heads[0].contains("user-agent: kube-lifecycle/1.37\r\n"),
        "{}",
        heads[0]
    );
    assert!(heads.iter().any(|h| h.starts_with("GET /ok ")));
}
