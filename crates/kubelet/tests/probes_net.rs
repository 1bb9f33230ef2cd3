//! tcpSocket probes against local listeners and grpc probes against a tiny
//! grpc.health.v1 server written on hyper's HTTP/2 server.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kubelet::probes::grpc::{self, HealthCheckRequest, HealthCheckResponse};
use kubelet::probes::{Outcome, tcp};
use prost::Message;
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;

#[tokio::test]
async fn tcp_probe_connects_or_fails() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    assert_eq!(
        tcp::probe("127.0.0.1", port, Duration::from_secs(1)).await,
        Outcome::Success(String::new())
    );
    drop(l);
    assert_eq!(
        tcp::probe("127.0.0.1", port, Duration::from_secs(1)).await,
        Outcome::Failure(format!(
            "dial tcp 127.0.0.1:{port}: connect: connection refused"
        ))
    );
    assert_eq!(tcp::join_host_port("fd00::1", 80), "[fd00::1]:80");
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// Answers Health/Check: "" and "api" are SERVING, "down" NOT_SERVING,
/// "hang" never answers; any other method is UNIMPLEMENTED.
async fn health(req: hyper::Request<Incoming>) -> Result<hyper::Response<Body>, Infallible> {
    let trailers_only = |code: &str| {
        hyper::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", code)
            .body(Full::new(Bytes::new()).boxed())
            .unwrap()
    };
    if req.uri().path() != grpc::CHECK_PATH {
        return Ok(trailers_only("12"));
    }
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let msg = HealthCheckRequest::decode(&body[5..]).unwrap();
    let status = match msg.service.as_str() {
        "" | "api" => 1,
        "down" => 2,
        "hang" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            1
        }
        "unimpl" => return Ok(trailers_only("12")),
        _ => return Ok(trailers_only("5")),
    };
    let payload = HealthCheckResponse { status }.encode_to_vec();
    let mut framed = BytesMut::new();
    framed.extend_from_slice(&[0]);
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(&payload);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", "0".parse().unwrap());
    let frames = vec![
        Ok::<_, Infallible>(Frame::data(framed.freeze())),
        Ok(Frame::trailers(trailers)),
    ];
    let body = StreamBody::new(futures::stream::iter(frames)).boxed();
    Ok(hyper::Response::builder()
        .header("content-type", "application/grpc")
        .body(body)
        .unwrap())
}

async fn health_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((conn, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(conn), hyper::service::service_fn(health))
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn grpc_probe_speaks_the_health_protocol() {
    let port = health_server().await;
    let t = Duration::from_secs(1);
    assert_eq!(
        grpc::probe("127.0.0.1", port, "", t).await,
        Outcome::Success("service healthy".into())
    );
    assert_eq!(
        grpc::probe("127.0.0.1", port, "api", t).await,
        Outcome::Success("service healthy".into())
    );
    assert_eq!(
        grpc::probe("127.0.0.1", port, "down", t).await,
        Outcome::Failure("service unhealthy (responded with \"NOT_SERVING\")".into())
    );
    match grpc::probe("127.0.0.1", port, "nope", t).await {
        Outcome::Failure(m) => assert!(m.starts_with("error: health rpc probe failed"), "{m}"),
        o => panic!("{o:?}"),
    }
    match grpc::probe("127.0.0.1", port, "unimpl", t).await {
        Outcome::Failure(m) => assert!(
            m.starts_with("this server does not implement the grpc health protocol"),
            "{m}"
        ),
        o => panic!("{o:?}"),
    }
    assert_eq!(
        grpc::probe("127.0.0.1", port, "hang", t).await,
        Outcome::Failure("timeout: health rpc did not complete within 1s".into())
    );
}

#[tokio::test]
async fn grpc_probe_reports_a_closed_port() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    match grpc::probe("127.0.0.1", port, "", Duration::from_secs(1)).await {
        Outcome::Failure(m) => assert!(
            m.starts_with(&format!(
                "timeout: failed to connect service \"127.0.0.1:{port}\" within 1s"
            )),
            "{m}"
        ),
        o => panic!("{o:?}"),
    }
}
