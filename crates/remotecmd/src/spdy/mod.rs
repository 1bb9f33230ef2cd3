//! SPDY/3.1 as Kubernetes streaming uses it: the frame codec, the session
//! (streams, half-close, flow control) and the HTTP/1.1 upgrade that starts it.
//! No maintained Rust SPDY crate exists, hence this one.

pub mod dictionary;
pub mod frame;
pub mod session;
pub mod upgrade;

pub use frame::{Frame, Headers};
pub use session::{Incoming, Role, Session, SessionError, Stream, StreamReader, StreamWriter};
