//! The default plugins, one file each.
pub mod inter_pod_affinity;
pub mod pod_topology_spread;
