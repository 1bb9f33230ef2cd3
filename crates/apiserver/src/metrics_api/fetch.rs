//! Reaching a node's kubelet: the [`KubeletFetcher`] seam (tests plug in
//! canned answers) and the real one, `GET https://<node>:<port>/metrics/resource`
//! with the API server's kubelet client TLS config.

use futures::future::BoxFuture;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;

/// Where a node's kubelet listens, from its Node object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeTarget {
    pub name: String,
    /// InternalIP, else ExternalIP, else Hostname, else the node name.
    pub address: String,
    /// `status.daemonEndpoints.kubeletEndpoint.Port` (10250 when absent).
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS to {0}: {1}")]
    Tls(String, std::io::Error),
    #[error("invalid server name {0}")]
    ServerName(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("kubelet answered {0}")]
    Status(u16),
    #[error("timed out")]
    Timeout,
}

/// Fetches the resource metrics text of one node's kubelet.
pub trait KubeletFetcher: Send + Sync + 'static {
    fn resource_metrics<'a>(
        &'a self,
        node: &'a NodeTarget,
    ) -> BoxFuture<'a, Result<String, FetchError>>;
}

/// The real fetcher: HTTPS with a client certificate the kubelet trusts.
pub struct HttpsFetcher {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl HttpsFetcher {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        HttpsFetcher {
            tls,
            timeout: Duration::from_secs(10),
        }
    }

    async fn get(&self, node: &NodeTarget) -> Result<String, FetchError> {
        let host = node.address.clone();
        let addr = if host.contains(':') {
            format!("[{host}]:{}", node.port)
        } else {
            format!("{host}:{}", node.port)
        };
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| FetchError::Connect(addr.clone(), e))?;
        let name = rustls_pki_types::ServerName::try_from(host.clone())
            .map_err(|_| FetchError::ServerName(host.clone()))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| FetchError::Tls(addr.clone(), e))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("kubelet connection: {e}");
            }
        });
        let req = http::Request::get("/metrics/resource")
            .header(http::header::HOST, addr.as_str())
            .header(http::header::ACCEPT, "text/plain")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let resp = send
            .send_request(req)
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?
            .to_bytes();
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

impl KubeletFetcher for HttpsFetcher {
    fn resource_metrics<'a>(
        &'a self,
        node: &'a NodeTarget,
    ) -> BoxFuture<'a, Result<String, FetchError>> {
        Box::pin(async move {
            tokio::time::timeout(self.timeout, self.get(node))
                .await
                .map_err(|_| FetchError::Timeout)?
        })
    }
}

/// The kubelet's address of a Node object, or None when the node is not
/// Ready (metrics-server skips those) or advertises no kubelet port.
pub fn target_of(node: &serde_json::Value) -> Option<NodeTarget> {
    let name = node["metadata"]["name"].as_str()?.to_string();
    let status = &node["status"];
    let ready = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    if !ready {
        return None;
    }
    let addrs = status["addresses"].as_array().cloned().unwrap_or_default();
    let address = ["InternalIP", "ExternalIP", "Hostname"]
        .iter()
        .find_map(|t| {
            addrs
                .iter()
                .find(|a| a["type"] == *t)
                .and_then(|a| a["address"].as_str())
        })
        .unwrap_or(&name)
        .to_string();
    // An advertised port of 0 says the node has no kubelet endpoint (a
    // simulated node): there is nothing to scrape. Absent means the default.
    let port = match status["daemonEndpoints"]["kubeletEndpoint"]["Port"].as_u64() {
        None => 10250,
        Some(0) => return None,
        Some(p) => u16::try_from(p).ok()?,
    };
    Some(NodeTarget {
        name,
        address,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn target_prefers_internal_ip_and_the_advertised_port() {
        let n = json!({"metadata": {"name": "n1"}, "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "host1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 11250}}}});
        assert_eq!(
            target_of(&n),
            Some(NodeTarget {
                name: "n1".into(),
                address: "10.0.0.5".into(),
                port: 11250
            })
        );
        let n = json!({"metadata": {"name": "n2"}, "status": {
            "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(target_of(&n).unwrap().port, 10250);
        assert_eq!(target_of(&n).unwrap().address, "n2");
        let n = json!({"metadata": {"name": "n3"}, "status": {
            "conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(target_of(&n), None);
        let n = json!({"metadata": {"name": "sim"}, "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}}}});
        assert_eq!(target_of(&n), None, "port 0: no kubelet to scrape");
    }
}
