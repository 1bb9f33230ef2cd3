//! Request handlers, one file per family of endpoints.

pub mod discovery;
mod kubelet_proxy;
pub mod node_join;
pub mod openapi;
pub mod resource;
mod review;
mod subresource;
pub mod system;
mod watch;
