//! `controllers` owns one module per controller, each a reconcile function
//! over a kube-rs client of the API server (even in the same process), as
//! upstream's controller manager does. They share informers through one
//! `informer::Factory`, so each resource is watched and cached once.

pub mod crd_cleanup;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
pub mod garbage_collector;
pub mod history;
pub mod hpa;
pub mod job;
pub mod namespace;
pub mod node_lifecycle;
pub mod podgc;
pub mod replica_common;
pub mod replicaset;
pub mod replication_controller;
pub mod resourcequota;
pub mod root_ca_publisher;
pub mod serviceaccount;
pub mod statefulset;
pub mod ttl_after_finished;

use informer::Factory;

/// Settings of the controller manager that users may change.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub node_lifecycle: node_lifecycle::NodeLifecycleConfig,
    /// The cluster CA bundle (PEM) the root CA publisher puts in every
    /// namespace's `kube-root-ca.crt`; without it that controller is off.
    pub root_ca_pem: Option<String>,
}

/// Run every controller with the default settings until the process ends.
pub async fn run_all(factory: Factory) {
    run_all_with(factory, Config::default()).await
}

/// Run every controller until the process ends.
pub async fn run_all_with(factory: Factory, cfg: Config) {
    let client = factory.client();
    futures::join!(
        namespace::run(client.clone()),
        crd_cleanup::run(client),
        replicaset::run(factory.clone()),
        replication_controller::run(factory.clone()),
        deployment::run(factory.clone()),
        statefulset::run(factory.clone()),
        daemonset::run(factory.clone()),
        job::run(factory.clone()),
        cronjob::run(factory.clone()),
        ttl_after_finished::run(factory.clone()),
        podgc::run(factory.clone()),
        garbage_collector::run(factory.clone()),
        serviceaccount::run(factory.clone()),
        endpoints::run(factory.clone()),
        endpointslice::run(factory.clone()),
        node_lifecycle::run_with(factory.clone(), cfg.node_lifecycle),
        resourcequota::run(factory.clone()),
        disruption::run(factory.clone()),
        hpa::run(factory.clone()),
        async {
            if let Some(pem) = cfg.root_ca_pem {
                root_ca_publisher::run(factory.clone(), pem).await
            }
        },
    );
}
