//! `apiserver` owns HTTP: TLS with client certificates, authentication,
//! the authorizer seam, routing of Kubernetes API paths, discovery, OpenAPI,
//! content negotiation (JSON, YAML, Table, PartialObjectMetadata), watch
//! streaming and the subresources. Per-resource rules live in `registry`.

pub mod authn;
pub mod authz;
mod codec;
mod handlers;
mod loopback;
mod metrics;
pub mod metrics_api;
mod request;
pub mod satoken;
mod serve;

pub use authn::{Authenticator, UserInfo};
pub use authz::{AllowAuthenticated, Authorizer};
pub use handlers::node_join::{NodeCredentialIssuer, NodeCredentials, NodeCredentialsRequest};
pub use loopback::{Loopback, LoopbackError};
pub use satoken::ServiceAccountTokens;
pub use serve::{ApiServer, serve};
