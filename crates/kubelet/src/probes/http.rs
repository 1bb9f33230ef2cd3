//! httpGet probes and hooks: one GET per run on a fresh HTTP/1.1 connection
//! (HTTPS without certificate verification, as upstream's probe transport),
//! the probe's headers plus `User-Agent: kube-probe/1.37` and `Accept: */*`,
//! redirects followed on the same host up to 10 times, and at most 10 KiB
//! of body read. 200 ≤ status < 400 is success; a redirect to another host
//! ends the run as a success with a warning.

use super::prober::{MAX_OUTPUT, Outcome, ProbeError, resolve_port};
use super::tcp::{dial_error, join_host_port};
use super::tls::TLS;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
use rustls::pki_types::ServerName;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The Kubernetes minor version probes announce themselves with.
pub const KUBE_VERSION: &str = "1.37";
const MAX_REDIRECTS: usize = 10;

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(
            f,
            "{scheme}://{}{}",
            join_host_port(&self.host, self.port),
            self.path
        )
    }
}

impl Url {
    /// Where a `Location` header sends a request that went to `self`.
    pub fn resolve(&self, location: &str) -> Option<Url> {
        let (https, rest) = if let Some(r) = location.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = location.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = location.strip_prefix("//") {
            (self.https, r)
        } else if location.starts_with('/') {
            return Some(Url {
                path: location.to_string(),
                ..self.clone()
            });
        } else {
            let base = self.path.split(['?', '#']).next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            return Some(Url {
                path: format!("{}{location}", if dir.is_empty() { "/" } else { dir }),
                ..self.clone()
            });
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let auth: http::uri::Authority = authority.parse().ok()?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        Some(Url {
            https,
            host: host.to_string(),
            port: auth.port_u16().unwrap_or(if https { 443 } else { 80 }),
            path: if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            },
        })
    }
}

/// A GET as a probe or hook makes it.
#[derive(Clone, Debug)]
pub struct HttpGet {
    pub url: Url,
    /// Headers in order, defaults included; a `Host` header replaces the URL's host.
    pub headers: Vec<(String, String)>,
}

impl HttpGet {
    /// Build the request of an httpGet action; `agent` is `probe` or `lifecycle`
    /// (`User-Agent: kube-probe/1.37`).
    pub fn from_action(
        a: &HTTPGetAction,
        container: &Container,
        pod_ip: Option<&str>,
        agent: &str,
    ) -> Result<Self, ProbeError> {
        let https = a
            .scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"));
        let host = a
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .or_else(|| pod_ip.map(str::to_string))
            .ok_or(ProbeError::NoPodIp)?;
        let port = resolve_port(&a.port, container)?;
        let path = a.path.clone().unwrap_or_default();
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let mut headers: Vec<(String, String)> = a
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let has =
            |hs: &[(String, String)], n: &str| hs.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has(&headers, "user-agent") {
            headers.push(("User-Agent".into(), format!("kube-{agent}/{KUBE_VERSION}")));
        }
        if !has(&headers, "accept") {
            headers.push(("Accept".into(), "*/*".into()));
        }
        // An Accept header set to nothing means "send none".
        headers.retain(|(k, v)| !(k.eq_ignore_ascii_case("accept") && v.is_empty()));
        Ok(HttpGet {
            url: Url {
                https,
                host,
                port,
                path,
            },
            headers,
        })
    }
}

/// What came back (status and at most 10 KiB of body).
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

/// Run the GET, following same-host redirects. The error reads as Go's client
/// error does (`Get "http://…": dial tcp …: connect: connection refused`).
pub async fn get(req: &HttpGet, timeout: Duration) -> Result<Response, String> {
    match tokio::time::timeout(timeout, follow(req)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "Get {:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            req.url.to_string()
        )),
    }
}

async fn follow(req: &HttpGet) -> Result<Response, String> {
    let mut url = req.url.clone();
    let mut hops = 0;
    loop {
        let (resp, location) = fetch(&url, &req.headers)
            .await
            .map_err(|e| format!("Get {:?}: {e}", url.to_string()))?;
        let redirect = matches!(resp.status, 301 | 302 | 303 | 307 | 308);
        let Some(next) = location.filter(|_| redirect).and_then(|l| url.resolve(&l)) else {
            return Ok(resp);
        };
        // Another host: stop and let the caller judge the 3xx itself.
        if next.host != req.url.host {
            return Ok(resp);
        }
        if hops >= MAX_REDIRECTS {
            return Err(format!(
                "Get {:?}: stopped after {MAX_REDIRECTS} redirects",
                next.to_string()
            ));
        }
        hops += 1;
        url = next;
    }
}

/// Run an httpGet probe.
pub async fn probe(req: &HttpGet, timeout: Duration) -> Outcome {
    match get(req, timeout).await {
        Err(e) => Outcome::Failure(e),
        Ok(r) if (200..300).contains(&r.status) => {
            Outcome::Success(String::from_utf8_lossy(&r.body).into_owned())
        }
        Ok(r) if (300..400).contains(&r.status) => Outcome::Warning(format!(
            "Probe terminated redirects, Response body: {}",
            String::from_utf8_lossy(&r.body)
        )),
        Ok(r) => Outcome::Failure(format!("HTTP probe failed with statuscode: {}", r.status)),
    }
}

/// One request on a fresh connection: the response and its `Location`.
async fn fetch(
    url: &Url,
    headers: &[(String, String)],
) -> Result<(Response, Option<String>), String> {
    let addr = join_host_port(&url.host, url.port);
    let mut b = hyper::Request::get(url.path.as_str());
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or(addr.as_str(), |(_, v)| v.as_str());
    b = b.header(http::header::HOST, host);
    for (k, v) in headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
    {
        b = b.header(k.as_str(), v.as_str());
    }
    // Upstream's probe transport disables keep-alive.
    let req = b
        .header(http::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("invalid request: {e}"))?;
    let tcp = TcpStream::connect(addr.as_str())
        .await
        .map_err(|e| dial_error(&addr, &e))?;
    let _ = tcp.set_nodelay(true);
    if url.https {
        let name = ServerName::try_from(url.host.clone()).map_err(|e| format!("tls: {e}"))?;
        let connector = TLS.as_ref().ok_or("tls: no TLS provider")?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        send(tls, req).await
    } else {
        send(tcp, req).await
    }
}

async fn send<S>(
    io: S,
    req: hyper::Request<Empty<Bytes>>,
) -> Result<(Response, Option<String>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let (parts, mut body) = resp.into_parts();
        let mut buf = BytesMut::new();
        while buf.len() < MAX_OUTPUT {
            match body.frame().await {
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data() {
                        buf.extend_from_slice(&d);
                    }
                }
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            }
        }
        buf.truncate(MAX_OUTPUT);
        let location = parts
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let resp = Response {
            status: parts.status.as_u16(),
            body: buf.freeze(),
        };
        Ok((resp, location))
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url {
            https: false,
            host: "10.0.0.1".into(),
            port: 8080,
            path: "/a/b?x=1".into(),
        }
    }

    #[test]
    fn locations_resolve_like_a_browser() {
        let u = base();
        assert_eq!(
            u.resolve("/c").unwrap().to_string(),
            "http://10.0.0.1:8080/c"
        );
        assert_eq!(
            u.resolve("c").unwrap().to_string(),
            "http://10.0.0.1:8080/a/c"
        );
        assert_eq!(
            u.resolve("https://example.com/z").unwrap().to_string(),
            "https://example.com:443/z"
        );
        assert_eq!(
            u.resolve("//10.0.0.2:81").unwrap().to_string(),
            "http://10.0.0.2:81/"
        );
        let v6 = u.resolve("http://[fd00::1]:9/q").unwrap();
        assert_eq!(v6.host, "fd00::1");
        assert_eq!(v6.to_string(), "http://[fd00::1]:9/q");
    }

    #[test]
    fn requests_get_default_and_custom_headers() {
        let c = Container::default();
        let a = HTTPGetAction {
            path: Some("healthz".into()),
            port: k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(80),
            http_headers: Some(vec![k8s_openapi::api::core::v1::HTTPHeader {
                name: "Accept".into(),
                value: String::new(),
            }]),
            scheme: Some("HTTPS".into()),
            ..Default::default()
        };
        let r = HttpGet::from_action(&a, &c, Some("10.1.2.3"), "probe").unwrap();
        assert_eq!(r.url.to_string(), "https://10.1.2.3:80/healthz");
        assert_eq!(
            r.headers,
            vec![("User-Agent".to_string(), "kube-probe/1.37".to_string())]
        );
        assert!(HttpGet::from_action(&a, &c, None, "probe").is_err());
    }
}
