//! `scheduler` owns pod placement: upstream's scheduling framework (filter
//! then score plugins over a snapshot of nodes, one file per plugin), the
//! scheduling queue, preemption, and binding through `pods/binding`. It is
//! a client of the API server; it never touches the store.

pub mod cache;
pub mod config;
pub mod cycle;
pub mod framework;
pub mod plugins;
pub mod preemption;
pub mod profile;
pub mod queue;
mod scheduler;

pub use config::{ConfigError, SchedulerConfig};
pub use scheduler::run;
