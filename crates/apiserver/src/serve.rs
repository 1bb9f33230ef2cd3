//! The HTTPS server: a tokio-rustls accept loop (client certificates are
//! requested, not required), HTTP/1.1 and HTTP/2 through hyper, and the
//! top-level dispatch of every request.

use crate::authn::{Authenticator, UserInfo, bearer_token, user_from_cert};
use crate::authz::{Attributes, Authorizer};
use crate::codec::{self, ReqBody, Resp};
use crate::handlers;
use crate::request;
use apimachinery::ApiError;
use http::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use registry::engine::Registry;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub struct ApiServer {
    pub registry: Arc<Registry>,
    pub authn: Authenticator,
    pub authz: Arc<dyn Authorizer>,
    /// Address clients should use (advertised in legacy discovery).
    pub advertise: String,
    /// Service-account token issuing and verification; None when the
    /// server has no service-account key (tokens are then neither issued
    /// nor accepted, and OIDC discovery is absent).
    pub sa_tokens: Option<Arc<crate::satoken::ServiceAccountTokens>>,
    pub(crate) openapi: handlers::openapi::OpenApiCache,
    pub(crate) metrics: crate::metrics::Metrics,
    pub(crate) node_join: std::sync::OnceLock<handlers::node_join::NodeJoin>,
    /// TLS to the kubelets (logs, exec, attach, port-forward, node proxy).
    kubelet_client: std::sync::RwLock<Option<Arc<rustls::ClientConfig>>>,
    pub(crate) metrics_api: crate::metrics_api::MetricsApi,
}

impl ApiServer {
    pub fn new(
        registry: Arc<Registry>,
        authn: Authenticator,
        authz: Arc<dyn Authorizer>,
        advertise: String,
    ) -> Arc<Self> {
        Self::new_with_tokens(registry, authn, authz, advertise, None)
    }

    /// As [`ApiServer::new`], issuing and accepting service-account tokens
    /// signed with `sa_tokens`' key.
    pub fn new_with_tokens(
        registry: Arc<Registry>,
        authn: Authenticator,
        authz: Arc<dyn Authorizer>,
        advertise: String,
        sa_tokens: Option<crate::satoken::ServiceAccountTokens>,
    ) -> Arc<Self> {
        Arc::new(ApiServer {
            registry,
            authn,
            authz,
            advertise,
            sa_tokens: sa_tokens.map(Arc::new),
            openapi: Default::default(),
            metrics: Default::default(),
            node_join: Default::default(),
            kubelet_client: Default::default(),
            metrics_api: Default::default(),
        })
    }

    /// Serve `/cacerts` (`ca_pem`) and the node credentials endpoint, which
    /// takes `token_secret` as its bearer and mints through `issuer`.
    pub fn with_node_join(
        self: Arc<Self>,
        ca_pem: String,
        token_secret: String,
        issuer: Arc<dyn handlers::node_join::NodeCredentialIssuer>,
    ) -> Arc<Self> {
        let _ = self.node_join.set(handlers::node_join::NodeJoin {
            ca_pem,
            secret: token_secret,
            issuer,
        });
        self
    }

    /// How this server reaches kubelets: a client configuration holding the
    /// API server's kubelet-client certificate (any CN, e.g.
    /// `kube-apiserver-kubelet-client`, signed by the CA the kubelets
    /// trust) and trusting the CA that signed the kubelets' serving
    /// certificates. ALPN is forced to HTTP/1.1 (upgrades need it).
    /// Without one, the kubelet subresources answer 502.
    pub fn with_kubelet_client(self: Arc<Self>, tls: Arc<rustls::ClientConfig>) -> Arc<Self> {
        self.set_kubelet_client(tls);
        self
    }

    /// As [`ApiServer::with_kubelet_client`], on a running server.
    pub fn set_kubelet_client(&self, tls: Arc<rustls::ClientConfig>) {
        self.set_kubelet_metrics_client(tls.clone());
        let mut cfg = (*tls).clone();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        if let Ok(mut slot) = self.kubelet_client.write() {
            *slot = Some(Arc::new(cfg));
        }
    }

    pub(crate) fn kubelet_client(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.kubelet_client.read().ok().and_then(|c| c.clone())
    }

    /// Handle one request from a client with an optional certificate
    /// identity (or, through the loopback, the in-process caller's).
    pub async fn handle(
        self: Arc<Self>,
        req: Request<ReqBody>,
        cert_user: Option<UserInfo>,
    ) -> Resp {
        let path = req.uri().path().to_string();
        // Joining nodes have no identity yet: the join token is their credential.
        if handlers::node_join::is_join_path(&path) {
            return handlers::node_join::handle(self.node_join.get(), req).await;
        }
        let auth_header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let mut user = cert_user.or_else(|| self.authn.from_header(auth_header));
        // Only a token shaped like a JWT costs a signature check.
        if user.is_none()
            && let Some(tokens) = &self.sa_tokens
            && let Some(token) =
                bearer_token(auth_header).filter(|t| crate::satoken::looks_like_jwt(t))
        {
            match tokens.authenticate(&self.registry, token).await {
                Ok(u) => user = Some(u),
                Err(e) => tracing::debug!(%path, "service account token rejected: {e}"),
            }
        }
        let public = matches!(
            path.as_str(),
            "/healthz" | "/livez" | "/readyz" | "/version"
        ) || path.starts_with("/readyz/")
            || path.starts_with("/livez/");
        let Some(user) = user.or_else(|| {
            public.then(|| UserInfo::new("system:anonymous", &["system:unauthenticated"]))
        }) else {
            return codec::error(&ApiError::unauthorized());
        };
        let user = match self.impersonate(user, req.headers()) {
            Ok(u) => u,
            Err(e) => return codec::error(&e),
        };
        let started = std::time::Instant::now();
        let method = req.method().to_string();
        // Parsed once: for the metrics here and for routing.
        let query = request::parse_query(req.uri().query());
        let info = request::parse(&method, &path, &query);
        let apply = codec::content_type(req.headers()) == "application/apply-patch+yaml";
        let labels = info.clone();
        let resp = match self.route(req, &path, &user, info, query).await {
            Ok(r) => r,
            Err(e) => codec::error(&e),
        };
        if let Some(info) = &labels {
            self.metrics.record(
                info,
                &method,
                apply,
                resp.status().as_u16(),
                started.elapsed().as_secs_f64(),
            );
        }
        tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
        resp
    }

    async fn route(
        self: &Arc<Self>,
        req: Request<ReqBody>,
        path: &str,
        user: &UserInfo,
        info: Option<request::RequestInfo>,
        query: request::Query,
    ) -> Result<Resp, ApiError> {
        if let Some(info) = info {
            let attrs = Attributes {
                verb: info.verb.clone(),
                group: info.group.clone(),
                version: info.version.clone(),
                resource: info.resource.clone(),
                subresource: info.subresource.clone(),
                namespace: info.namespace.clone(),
                name: info.name.clone(),
                path: String::new(),
            };
            self.authorize(user, &attrs)?;
            if info.group == crate::metrics_api::objects::GROUP {
                return crate::metrics_api::handle(self, info, query, req.headers()).await;
            }
            return handlers::resource::handle(self, req, info, query, user).await;
        }
        self.authorize(
            user,
            &Attributes {
                verb: req.method().as_str().to_lowercase(),
                path: path.into(),
                ..Default::default()
            },
        )?;
        if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
            return Err(ApiError::not_found_path());
        }
        let trimmed = path.trim_end_matches('/');
        match trimmed {
            "/version" => Ok(codec::json(StatusCode::OK, &handlers::system::version())),
            "/metrics" => Ok(codec::bytes(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.metrics.render().into(),
            )),
            p if ["/healthz", "/livez", "/readyz"]
                .iter()
                .any(|h| p == *h || p.starts_with(&format!("{h}/"))) =>
            {
                Ok(
                    handlers::system::health(&self.registry, p, query.contains_key("verbose"))
                        .await,
                )
            }
            p if p == "/api"
                || p == "/apis"
                || p.starts_with("/api/")
                || p.starts_with("/apis/") =>
            {
                handlers::discovery::handle(self, p, req.headers())
            }
            p if p.starts_with("/openapi/") => {
                handlers::openapi::handle(self, p, &query, req.headers()).await
            }
            "/.well-known/openid-configuration" | "/openid/v1/jwks" => {
                let tokens = self
                    .sa_tokens
                    .as_ref()
                    .ok_or_else(ApiError::not_found_path)?;
                Ok(crate::satoken::discovery_response(tokens, trimmed))
            }
            "" => Ok(codec::json(StatusCode::OK, &handlers::system::root_paths())),
            _ => Err(ApiError::not_found_path()),
        }
    }

    /// `Impersonate-User` / `Impersonate-Group` / `Impersonate-Uid`: act as
    /// another user when the authorizer lets the caller impersonate them.
    fn impersonate(&self, user: UserInfo, headers: &http::HeaderMap) -> Result<UserInfo, ApiError> {
        let header = |name: &str| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(String::from)
                .collect()
        };
        let Some(name) = header("impersonate-user").into_iter().next() else {
            if !header("impersonate-group").is_empty() {
                return Err(ApiError::internal(
                    "requested impersonation of groups without impersonating a user",
                ));
            }
            return Ok(user);
        };
        let groups = header("impersonate-group");
        let check = |resource: &str, target: &str| {
            self.authorize(
                &user,
                &Attributes {
                    verb: "impersonate".into(),
                    resource: resource.into(),
                    name: target.into(),
                    ..Default::default()
                },
            )
        };
        check("users", &name)?;
        for g in &groups {
            check("groups", g)?;
        }
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let mut out = UserInfo::new(&name, &refs);
        out.uid = header("impersonate-uid")
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(out)
    }

    fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Result<(), ApiError> {
        self.authz.authorize(user, attrs).map_err(|reason| {
            let what = if attrs.path.is_empty() {
                format!(
                    "cannot {} resource \"{}\" in API group \"{}\"",
                    attrs.verb, attrs.resource, attrs.group
                )
            } else {
                format!("cannot {} path \"{}\"", attrs.verb, attrs.path)
            };
            ApiError::forbidden(format!("User \"{}\" {what}: {reason}", user.name))
        })
    }
}

/// A client that has not finished its TLS handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Nor one that has not sent its request headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serve HTTPS on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    server: Arc<ApiServer>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let server = server.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            {
                Ok(Ok(t)) => t,
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
            };
            let cert_user = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| user_from_cert(c.as_ref()));
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let server = server.clone();
                let cert_user = cert_user.clone();
                // `map` keeps the extensions, where hyper left the
                // connection's upgrade for the kubelet proxy.
                let req = req.map(ReqBody::new);
                async move { Ok::<_, std::convert::Infallible>(server.handle(req, cert_user).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                .await
            {
                tracing::debug!(%peer, "connection: {e}");
            }
        });
    }
}
