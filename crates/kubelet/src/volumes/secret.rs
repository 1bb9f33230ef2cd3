//! secret volumes (and projected secret sources): the Secret's decoded data
//! as files. Secret volumes sit on a tmpfs as upstream (see `mod.rs`).

use super::atomic_writer::Payload;
use super::config_map::project;
use crate::container::env::secret_strings;
use k8s_openapi::api::core::v1::{KeyToPath, Secret};

/// The payload of a secret source; `None` Secret means not found.
pub fn payload(
    name: &str,
    secret: Option<&Secret>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
) -> Result<Payload, String> {
    match secret {
        None if optional => Ok(Payload::new()),
        None => Err(format!("secret \"{name}\" not found")),
        Some(s) => project(&secret_strings(s), items, default_mode, optional, "secret"),
    }
}
