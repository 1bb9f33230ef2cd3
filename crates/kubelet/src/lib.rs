//! The node agent's kubelet: runs the pods bound to this node as real
//! containers through CRI, reports their status, registers the node and
//! renews its Lease, and serves logs, exec, attach and port-forward to the
//! API server. Everything here is an API client (kube-rs); nothing touches
//! the store.
//!
//! Parts, one module each:
//! - `cri`: the runtime seam (`Cri` trait), the gRPC client and a fake.
//! - `containerd`: writes containerd's config and supervises the process.
//! - `images`: image pulls with policy and secrets, air-gapped archive import.
//! - `pod`: pod workers (sandbox, init/sidecar/regular containers, restarts
//!   with crash-loop backoff, hooks, graceful termination) and pod status.
//! - `container`: a pod's container into a CRI `ContainerConfig` (command,
//!   env, resources and cgroups, securityContext).
//! - `volumes`: emptyDir, hostPath, configMap, secret, downwardAPI,
//!   projected and PVC volumes on disk, and their CRI mounts.
//! - `probes`: liveness, readiness and startup probes, and lifecycle handlers.
//! - `server`: the kubelet's HTTPS server.
//! - `node`: Node registration, node status and the node Lease.
//! - `agent`: wires the parts together.

pub mod agent;
pub mod config;
pub mod container;
pub mod containerd;
pub mod cri;
pub mod gc;
pub mod images;
pub mod node;
pub mod pod;
pub mod probes;
pub mod server;
pub mod staticpods;
pub mod volumes;

pub use config::KubeletConfig;
