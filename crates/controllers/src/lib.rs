//! `controllers` owns one module per controller, each a reconcile function
//! over a kube-rs client of the API server (even in the same process), as
//! upstream's controller manager does.

pub mod crd_cleanup;
pub mod namespace;

/// Run every controller until the client's server goes away.
pub async fn run_all(client: kube::Client) {
    futures::join!(namespace::run(client.clone()), crd_cleanup::run(client));
}
