//! The CronJob controller.

use informer::Factory;

pub async fn run(_factory: Factory) {}
