//! Kubernetes streaming protocols, free of any kubelet or runtime knowledge:
//! SPDY/3.1 (frame codec, session, upgrade), the remotecommand stream set
//! (exec/attach), port-forward stream pairs, the WebSocket channel protocol
//! (v4/v5), WebSocket tunnelling of SPDY, and bridges between them.

pub mod bridge;
pub mod portforward;
pub mod proxy;
pub mod remotecommand;
pub mod spdy;
pub mod tunnel;
pub mod ws;
