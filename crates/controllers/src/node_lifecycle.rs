//! The node lifecycle controller. Not written yet.

use informer::Factory;

pub async fn run(_factory: Factory) {}
