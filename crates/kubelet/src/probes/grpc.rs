//! grpc probes: the standard `grpc.health.v1.Health/Check` over plaintext
//! HTTP/2 with the probe's service name; `SERVING` is success. The two
//! messages of the health protocol are declared here by hand (a dependency on
//! tonic-health would pull in its server side and code generation).

use super::prober::Outcome;
use super::tcp::join_host_port;
use std::time::Duration;
use tonic::transport::Endpoint;

/// The health check's full method path.
pub const CHECK_PATH: &str = "/grpc.health.v1.Health/Check";

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    pub service: String,
}

/// `grpc.health.v1.HealthCheckResponse` (status is the `ServingStatus` enum).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// `ServingStatus.SERVING`.
pub const SERVING: i32 = 1;

/// The enum name of a `ServingStatus` value, as upstream prints it.
pub fn status_name(status: i32) -> String {
    match status {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        n => n.to_string(),
    }
}

fn go_duration(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// Ask `host:port` whether `service` is serving.
pub async fn probe(host: &str, port: u16, service: &str, timeout: Duration) -> Outcome {
    let addr = join_host_port(host, port);
    let connect_failed = |e: &dyn std::fmt::Display| {
        Outcome::Failure(format!(
            "timeout: failed to connect service {addr:?} within {}: {e}",
            go_duration(timeout)
        ))
    };
    let endpoint = match Endpoint::from_shared(format!("http://{addr}"))
        .and_then(|e| e.user_agent(format!("kube-probe/{}", super::http::KUBE_VERSION)))
    {
        Ok(e) => e.connect_timeout(timeout),
        Err(e) => return connect_failed(&e),
    };
    let channel = match tokio::time::timeout(timeout, endpoint.connect()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return connect_failed(&e),
        Err(_) => return connect_failed(&"context deadline exceeded"),
    };
    let deadline_msg = || {
        Outcome::Failure(format!(
            "timeout: health rpc did not complete within {}",
            go_duration(timeout)
        ))
    };
    let call = async {
        let mut client = tonic::client::Grpc::new(channel);
        client
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
        let mut req = tonic::Request::new(HealthCheckRequest {
            service: service.to_string(),
        });
        // Tell the server the deadline too; the client side is the timeout below.
        req.set_timeout(timeout);
        client
            .unary(req, http::uri::PathAndQuery::from_static(CHECK_PATH), codec)
            .await
    };
    match tokio::time::timeout(timeout, call).await {
        Err(_) => deadline_msg(),
        Ok(Err(s)) => match s.code() {
            tonic::Code::Unimplemented => Outcome::Failure(format!(
                "this server does not implement the grpc health protocol (grpc.health.v1.Health): {}",
                s.message()
            )),
            tonic::Code::DeadlineExceeded => deadline_msg(),
            // tonic's own enforcement of the grpc-timeout header.
            tonic::Code::Cancelled if s.message() == "Timeout expired" => deadline_msg(),
            _ => Outcome::Failure(format!(
                "error: health rpc probe failed: rpc error: code = {:?} desc = {}",
                s.code(),
                s.message()
            )),
        },
        Ok(Ok(resp)) => {
            let status = resp.into_inner().status;
            if status == SERVING {
                Outcome::Success("service healthy".into())
            } else {
                Outcome::Failure(format!(
                    "service unhealthy (responded with {:?})",
                    status_name(status)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn health_messages_use_the_wire_format_of_the_proto() {
        let req = HealthCheckRequest {
            service: "db".into(),
        };
        assert_eq!(req.encode_to_vec(), vec![0x0a, 2, b'd', b'b']);
        let resp = HealthCheckResponse::decode(&[0x08, 2][..]).unwrap();
        assert_eq!(status_name(resp.status), "NOT_SERVING");
        assert_eq!(HealthCheckResponse::decode(&[][..]).unwrap().status, 0);
    }
}
