//! The default plugins, one file each.
