//! The subresources the kubelet answers: `pods/log`, `pods/exec`,
//! `pods/attach`, `pods/portforward` and `nodes/proxy`. The pod's node is
//! looked up (its InternalIP, else Hostname, and
//! `status.daemonEndpoints.kubeletEndpoint.Port`), and the request goes to
//! the kubelet over TLS with the API server's kubelet-client certificate.
//! Log bodies stream through unbuffered (`logs -f`); HTTP/1.1 upgrades
//! (WebSocket, SPDY) are proxied transparently: the kubelet's 101 goes back
//! to the client and bytes are copied both ways between the two upgraded
//! connections. Failing to reach a kubelet is a 502 naming the node, not
//! a 503: clients (kube-rs) retry 503s for minutes.

use crate::codec::ReqBody;
use crate::codec::{self, Resp};
use crate::request::RequestInfo;
use crate::serve::ApiServer;
use apimachinery::{ApiError, ResourceInfo};
use axum::body::Body;
use http::request::Parts;
use http::{StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Upstream's port when a Node does not say.
const DEFAULT_KUBELET_PORT: u16 = 10250;
/// Dialling the kubelet, TLS included.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a kubelet's error body becomes the Status message (upstream's limit).
const MAX_ERROR_BODY: usize = 50_000;
/// Query parameters of PodLogOptions the kubelet understands.
const LOG_PARAMS: &[&str] = &[
    "follow",
    "previous",
    "timestamps",
    "sinceSeconds",
    "sinceTime",
    "tailLines",
    "limitBytes",
    "stream",
];

pub async fn handle(
    srv: &Arc<ApiServer>,
    res: &Arc<ResourceInfo>,
    info: &RequestInfo,
    mut parts: Parts,
    body: ReqBody,
) -> Result<Resp, ApiError> {
    let reg = &srv.registry;
    let (ns, name, sub) = (
        info.namespace.as_str(),
        info.name.as_str(),
        info.subresource.as_str(),
    );
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let (node, path, query) = match (res.plural.as_str(), sub) {
        ("nodes", "proxy") => {
            // The raw path after `/nodes/{name}/proxy`, still encoded.
            let raw = parts.uri.path();
            let marker = format!("/nodes/{name}/proxy");
            let rest = raw
                .find(&marker)
                .map(|i| &raw[i + marker.len()..])
                .unwrap_or("");
            let rest = if rest.is_empty() { "/" } else { rest };
            (name.to_string(), rest.to_string(), raw_query)
        }
        ("pods", "log" | "exec" | "attach" | "portforward") => {
            let pod = reg.get(res, ns, name, "").await?;
            let container = match sub {
                "portforward" => String::new(),
                _ => container_of(&pod, name, &raw_query)?,
            };
            let node = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if node.is_empty() {
                if sub == "log" {
                    // As upstream: no node yet, so no logs yet.
                    return Ok(codec::bytes(
                        StatusCode::OK,
                        "text/plain",
                        Default::default(),
                    ));
                }
                return Err(ApiError::bad_request(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            let (path, query) = match sub {
                "log" => (
                    format!("/containerLogs/{ns}/{name}/{container}"),
                    log_query(&raw_query),
                ),
                "portforward" => (format!("/portForward/{ns}/{name}"), raw_query),
                _ => (format!("/{sub}/{ns}/{name}/{container}"), raw_query),
            };
            (node.to_string(), path, query)
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "{}/{sub} is not served by this API server",
                res.plural
            )));
        }
    };
    let (host, port) = node_endpoint(srv, &node).await?;
    let path_and_query = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let resp = forward(
        srv,
        &node,
        &host,
        port,
        &path_and_query,
        parts,
        body,
        upgrade,
    )
    .await?;
    if sub == "log" && !resp.status().is_success() {
        return Err(kubelet_error(resp, name).await);
    }
    Ok(resp)
}

/// The `container` query parameter, or the pod's only container; upstream's
/// messages otherwise.
fn container_of(pod: &Value, name: &str, raw_query: &str) -> Result<String, ApiError> {
    let names = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    };
    let regular = names("containers");
    let mut all = names("initContainers");
    all.extend(regular.iter().cloned());
    all.extend(names("ephemeralContainers"));
    let asked = form_urlencoded::parse(raw_query.as_bytes())
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.into_owned())
        .filter(|c| !c.is_empty());
    match asked {
        Some(c) if all.contains(&c) => Ok(c),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if regular.len() == 1 => Ok(regular[0].clone()),
        None if regular.is_empty() => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// The kubelet's query for a log request: the PodLogOptions it reads
/// (the container is in the path).
fn log_query(raw: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if LOG_PARAMS.contains(&k.as_ref()) {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

/// Where the node's kubelet listens: InternalIP, else Hostname, and the
/// port the node reports.
async fn node_endpoint(srv: &Arc<ApiServer>, node: &str) -> Result<(String, u16), ApiError> {
    let nodes = srv
        .registry
        .catalog()
        .find("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("the nodes resource is not registered"))?;
    let unavailable = |why: String| ApiError::new(502, "BadGateway", why);
    let obj = match srv.registry.get(&nodes, "", node, "").await {
        Ok(o) => o,
        Err(e) if e.code == 404 => {
            return Err(unavailable(format!("node \"{node}\" not found")));
        }
        Err(e) => return Err(e),
    };
    let addresses = obj
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let address_of = |kind: &str| {
        addresses
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) == Some(kind))
            .and_then(|a| a.get("address").and_then(Value::as_str))
            .filter(|a| !a.is_empty())
            .map(String::from)
    };
    let host = address_of("InternalIP")
        .or_else(|| address_of("Hostname"))
        .ok_or_else(|| {
            unavailable(format!(
                "node \"{node}\" has no InternalIP or Hostname address"
            ))
        })?;
    let port = obj
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_KUBELET_PORT);
    Ok((host, port))
}

/// Headers that belong to one hop only. `Connection` and `Upgrade` are
/// forwarded for upgrade requests, which need them end to end.
fn hop_by_hop(name: &header::HeaderName, upgrading: bool) -> bool {
    let n = name.as_str();
    matches!(
        n,
        "keep-alive" | "proxy-connection" | "te" | "trailer" | "transfer-encoding" | "host"
    ) || n.starts_with("proxy-")
        || (!upgrading && matches!(n, "connection" | "upgrade"))
}

/// Send the request to the kubelet and turn its answer into ours.
async fn forward(
    srv: &Arc<ApiServer>,
    node: &str,
    host: &str,
    port: u16,
    path_and_query: &str,
    parts: Parts,
    body: ReqBody,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Resp, ApiError> {
    let unavailable = |what: String| {
        ApiError::new(
            502,
            "BadGateway",
            format!("error reaching the kubelet of node \"{node}\" at {host}:{port}: {what}"),
        )
    };
    let Some(tls) = srv.kubelet_client() else {
        return Err(unavailable(
            "this API server has no kubelet client certificate configured".into(),
        ));
    };
    let server_name = rustls_pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| unavailable(format!("invalid address: {e}")))?;
    let dial = async {
        let tcp = tokio::net::TcpStream::connect((host, port)).await?;
        let _ = tcp.set_nodelay(true);
        tokio_rustls::TlsConnector::from(tls)
            .connect(server_name, tcp)
            .await
    };
    let stream = tokio::time::timeout(DIAL_TIMEOUT, dial)
        .await
        .map_err(|_| unavailable("timed out".into()))?
        .map_err(|e| unavailable(e.to_string()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!("kubelet connection: {e}");
        }
    });

    let upgrading = client_upgrade.is_some() && parts.headers.contains_key(header::UPGRADE);
    let mut req = http::Request::builder()
        .method(parts.method.clone())
        .uri(path_and_query);
    for (k, v) in &parts.headers {
        let n = k.as_str();
        // The kubelet trusts the API server's certificate, not the
        // client's credentials.
        if n == "authorization" || n.starts_with("impersonate-") || hop_by_hop(k, upgrading) {
            continue;
        }
        req = req.header(k, v);
    }
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let req = req
        .header(header::HOST, authority)
        .body(body)
        .map_err(|e| ApiError::internal(format!("building the kubelet request: {e}")))?;
    let mut resp = sender
        .send_request(req)
        .await
        .map_err(|e| unavailable(e.to_string()))?;

    let mut out = http::Response::builder().status(resp.status());
    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    for (k, v) in resp.headers() {
        if !hop_by_hop(k, switching) {
            out = out.header(k, v);
        }
    }
    if switching {
        let Some(client_upgrade) = client_upgrade else {
            return Err(ApiError::internal(
                "the kubelet switched protocols on a request that cannot be upgraded",
            ));
        };
        let backend_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            let (client, backend) = match tokio::join!(client_upgrade, backend_upgrade) {
                (Ok(c), Ok(b)) => (c, b),
                (c, b) => {
                    tracing::debug!(client = ?c.err(), kubelet = ?b.err(), "upgrade failed");
                    return;
                }
            };
            let (mut client, mut backend) = (TokioIo::new(client), TokioIo::new(backend));
            if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut backend).await {
                tracing::debug!("upgraded stream: {e}");
            }
        });
        return out
            .body(Body::empty())
            .map_err(|e| ApiError::internal(e.to_string()));
    }
    out.body(Body::new(resp.into_body()))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// A kubelet's error answer to a log request as a Status, as upstream's
/// response checker makes it: the kubelet's text is the message.
async fn kubelet_error(resp: Resp, name: &str) -> ApiError {
    let code = resp.status().as_u16();
    let body = http_body_util::Limited::new(resp.into_body(), MAX_ERROR_BODY)
        .collect()
        .await
        .map(|c| {
            String::from_utf8_lossy(&c.to_bytes())
                .trim_end()
                .to_string()
        })
        .unwrap_or_default();
    match code {
        400 => ApiError::bad_request(body),
        500 => ApiError::internal(body),
        _ => {
            let mut e = ApiError::new(
                code,
                reason_for(code),
                if body.is_empty() {
                    format!(
                        "the server responded with the status code {code} but did not return more information"
                    )
                } else {
                    body
                },
            );
            e.kind = Some("pods/log".into());
            e.name = Some(name.into());
            e
        }
    }
}

fn reason_for(code: u16) -> &'static str {
    match code {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        422 => "Invalid",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks_the_container() {
        let pod = serde_json::json!({"spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(
            container_of(&pod, "p", "").unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [init a b]"
        );
        assert_eq!(container_of(&pod, "p", "container=init").unwrap(), "init");
        assert_eq!(
            container_of(&pod, "p", "container=z").unwrap_err().message,
            "container z is not valid for pod p"
        );
        let one = serde_json::json!({"spec": {"containers": [{"name": "only"}]}});
        assert_eq!(container_of(&one, "p", "follow=true").unwrap(), "only");
    }

    #[test]
    fn log_query_keeps_pod_log_options() {
        assert_eq!(
            log_query(
                "container=a&follow=true&tailLines=5&pretty=1&sinceTime=2026-01-01T00%3A00%3A00Z"
            ),
            "follow=true&tailLines=5&sinceTime=2026-01-01T00%3A00%3A00Z"
        );
    }
}
