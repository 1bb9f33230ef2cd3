//! Service address allocation: a ClusterIP from the service CIDR (first
//! address reserved for the `kubernetes` service) and node ports from
//! 30000–32767, checked against every Service the cache holds. Allocation
//! and the write that records it happen under one lock, so two creates in
//! this server never get the same address.

use super::Registry;
use crate::keys;
use apimachinery::{ApiError, Cause, ResourceInfo};
use serde_json::Value;
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// The service network: 10.43.0.0/16, as k3s.
pub const SERVICE_CIDR: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 43, 0, 0), 16);
pub const NODE_PORT_RANGE: (u16, u16) = (30000, 32767);

fn services() -> ResourceInfo {
    ResourceInfo::new("", "v1", "Service", "services", true)
}

pub fn is_services(res: &ResourceInfo) -> bool {
    res.group.is_empty() && res.plural == "services"
}

impl Registry {
    fn used_addresses(&self, skip_key: Option<&str>) -> (HashSet<Ipv4Addr>, HashSet<i64>) {
        let snap = self.cache.list(&keys::resource_prefix(&services()), |o| {
            Some(o.key.as_str()) != skip_key
        });
        let mut ips = HashSet::new();
        let mut ports = HashSet::new();
        for o in snap.items {
            let v = o.value();
            if let Some(a) = v.pointer("/spec/clusterIPs").and_then(Value::as_array) {
                ips.extend(
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(|s| s.parse::<Ipv4Addr>().ok()),
                );
            }
            if let Some(ip) = v
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
            {
                ips.insert(ip);
            }
            for p in v
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = p.get("nodePort").and_then(Value::as_i64) {
                    ports.insert(n);
                }
            }
        }
        (ips, ports)
    }

    /// Give a new or updated Service its ClusterIP and node ports. `old` is
    /// the stored Service on update (its addresses are kept).
    pub(crate) fn allocate_service(
        &self,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        let name = apimachinery::meta::name(obj).to_string();
        let key = old.map(|o| {
            format!(
                "{}{}/{}",
                keys::resource_prefix(&services()),
                apimachinery::meta::namespace(o),
                name
            )
        });
        let (used_ips, used_ports) = self.used_addresses(key.as_deref());
        let spec = obj.get("spec").cloned().unwrap_or_default();
        let ty = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP");
        let invalid = |c: Cause| ApiError::invalid("", "Service", &name, vec![c]);
        if ty != "ExternalName" {
            let requested = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
            let ip = match requested {
                "None" => None,
                "" => match old
                    .and_then(|o| o.pointer("/spec/clusterIP"))
                    .and_then(Value::as_str)
                {
                    Some(prev) if !prev.is_empty() => Some(prev.to_string()),
                    _ => Some(
                        self.free_ip(&used_ips)
                            .ok_or_else(|| {
                                ApiError::internal("failed to allocate a serviceIP: range is full")
                            })?
                            .to_string(),
                    ),
                },
                ip => {
                    let parsed: Ipv4Addr = ip.parse().map_err(|_| {
                        invalid(Cause::invalid(
                            "spec.clusterIPs[0]",
                            &ip.into(),
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        ))
                    })?;
                    let unchanged = old
                        .and_then(|o| o.pointer("/spec/clusterIP"))
                        .and_then(Value::as_str)
                        == Some(ip);
                    if !unchanged {
                        if !in_cidr(parsed) {
                            return Err(invalid(Cause::invalid(
                                "spec.clusterIPs",
                                &ip.into(),
                                format!(
                                    "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}/{}",
                                    SERVICE_CIDR.0, SERVICE_CIDR.1
                                ),
                            )));
                        }
                        if used_ips.contains(&parsed) {
                            return Err(invalid(Cause::invalid(
                                "spec.clusterIPs",
                                &ip.into(),
                                format!(
                                    "failed to allocate IP {ip}: provided IP is already allocated"
                                ),
                            )));
                        }
                    }
                    Some(ip.to_string())
                }
            };
            let ip = ip.unwrap_or_else(|| "None".into());
            obj["spec"]["clusterIP"] = ip.clone().into();
            obj["spec"]["clusterIPs"] = vec![Value::String(ip)].into();
        }
        if ty == "NodePort" || ty == "LoadBalancer" {
            let mut taken = used_ports;
            let old_ports: Vec<Value> = old
                .and_then(|o| o.pointer("/spec/ports"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
                for (i, p) in ports.iter_mut().enumerate() {
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(n) => {
                            let kept = old_ports
                                .iter()
                                .any(|o| o.get("nodePort").and_then(Value::as_i64) == Some(n));
                            if !kept
                                && (n < NODE_PORT_RANGE.0 as i64 || n > NODE_PORT_RANGE.1 as i64)
                            {
                                return Err(invalid(Cause::invalid(
                                    format!("spec.ports[{i}].nodePort"),
                                    &n.into(),
                                    format!(
                                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                                        NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                                    ),
                                )));
                            }
                            if !kept && taken.contains(&n) {
                                return Err(invalid(Cause::invalid(
                                    format!("spec.ports[{i}].nodePort"),
                                    &n.into(),
                                    "provided port is already allocated",
                                )));
                            }
                            taken.insert(n);
                        }
                        None => {
                            let port = p.get("port").and_then(Value::as_i64);
                            let reuse = old_ports
                                .iter()
                                .find(|o| o.get("port").and_then(Value::as_i64) == port)
                                .and_then(|o| o.get("nodePort"))
                                .and_then(Value::as_i64);
                            let n = match reuse {
                                Some(n) => n,
                                None => free_port(&taken).ok_or_else(|| {
                                    ApiError::internal(
                                        "failed to allocate a nodePort: range is full",
                                    )
                                })?,
                            };
                            taken.insert(n);
                            p["nodePort"] = n.into();
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn free_ip(&self, used: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
        let base = u32::from(SERVICE_CIDR.0);
        let size = 1u32 << (32 - SERVICE_CIDR.1);
        // Random start, then linear probing; skip network, .1 (kubernetes) and broadcast.
        let start = (uuid::Uuid::new_v4().as_u128() as u32) % size;
        (0..size)
            .map(|i| (start + i) % size)
            .filter(|o| *o > 1 && *o < size - 1)
            .map(|o| Ipv4Addr::from(base + o))
            .find(|ip| !used.contains(ip))
    }
}

fn in_cidr(ip: Ipv4Addr) -> bool {
    let mask = u32::MAX << (32 - SERVICE_CIDR.1);
    u32::from(ip) & mask == u32::from(SERVICE_CIDR.0) & mask
}

fn free_port(taken: &HashSet<i64>) -> Option<i64> {
    let (lo, hi) = (NODE_PORT_RANGE.0 as i64, NODE_PORT_RANGE.1 as i64);
    let span = hi - lo + 1;
    let start = (uuid::Uuid::new_v4().as_u128() % span as u128) as i64;
    (0..span)
        .map(|i| lo + (start + i) % span)
        .find(|p| !taken.contains(p))
}
