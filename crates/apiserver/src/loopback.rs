//! The in-process loopback transport: a `tower::Service` over HTTP requests
//! that hands each one straight to [`ApiServer::handle`] with a fixed
//! identity, as upstream's kube-apiserver gives its own loops a loopback
//! client. Components running inside the server process (scheduler,
//! controllers, simulated nodes) stay real kube-rs clients of the real API —
//! authentication's outcome, authorization, admission, metrics and the
//! registry all run as for any request — but skip TLS, TCP and HTTP framing.
//!
//! Responses stream: a watch's body is the handler's event stream itself,
//! polled by the client, so events arrive one by one, and dropping the body
//! drops the stream and ends the server-side watch, as a closed connection
//! does. HTTP upgrades (exec, attach, port-forward) need a connection and
//! are not available here.

use crate::authn::UserInfo;
use crate::serve::ApiServer;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    /// The handler panicked or its runtime shut down: the in-process
    /// counterpart of a connection reset.
    #[error("the API server dropped the request: {0}")]
    Dropped(#[from] tokio::task::JoinError),
}

/// A client transport into `server`, authenticated as `user`.
///
/// Build a kube-rs client with `kube::Client::new(loopback, "default")`.
#[derive(Clone)]
pub struct Loopback {
    server: Arc<ApiServer>,
    user: UserInfo,
}

impl Loopback {
    pub fn new(server: Arc<ApiServer>, user: UserInfo) -> Self {
        Loopback { server, user }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> tower::Service<Request<B>> for Loopback
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = LoopbackError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, LoopbackError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let server = self.server.clone();
        let user = self.user.clone();
        // Its own task, as a connection is: a panic stays in the request,
        // and a request the caller stops waiting for still completes
        // rather than stopping half way through a write.
        let handling = tokio::spawn(server.handle(req.map(Body::new), Some(user)));
        Box::pin(async move { Ok(handling.await?) })
    }
}
