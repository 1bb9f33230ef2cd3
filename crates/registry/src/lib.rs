//! `registry` owns the generic resource engine (create, get, list, update,
//! patch, delete, watch over the store), one strategy file per resource
//! (defaulting, validation, status/spec split, field selectors), and the
//! watch cache that serves LIST and WATCH from memory.

pub mod cache;
pub mod custom;
pub mod engine;
pub mod keys;
pub mod options;
pub mod strategies;
pub mod strategy;
pub mod validation;

pub use strategy::Strategy;
