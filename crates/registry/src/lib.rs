//! `registry` owns the generic resource engine (create, get, list, update,
//! patch, delete, watch over the store), one strategy file per resource
//! (defaulting, validation, status/spec split, field selectors), and the
//! watch cache that serves LIST and WATCH from memory.

pub mod cache;
pub mod custom;
pub mod keys;
pub mod strategies;
pub mod strategy;

pub use strategy::Strategy;
