//! In-process API server for kube-rs tests: the shared `testkit` (a fresh
//! CA, rcgen certificates, the memory store and `apiserver::serve` on port 0).

#![allow(unused_imports)] // each test binary uses a different subset

pub use testkit::*;
