//! `informer` is the client-side runtime every control-plane component
//! shares, upstream's client-go in miniature: shared informers (one watch
//! and one in-memory cache per resource type, however many controllers
//! read it), rate-limited work queues that never process one key twice at
//! once, and an event recorder that drops events rather than slow the
//! caller down.

pub mod compact;
pub mod factory;
pub mod informer;
pub mod keys;
pub mod recorder;
pub mod workqueue;

pub use factory::Factory;
pub use informer::{Change, Informer};
pub use keys::ObjectKey;
pub use recorder::{EventType, Recorder};
pub use workqueue::WorkQueue;
