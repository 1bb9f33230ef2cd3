//! The scale subresource of a custom resource.
