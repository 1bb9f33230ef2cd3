//! core/v1 Endpoints: subsets need addresses (or notReadyAddresses) with
//! valid, non-special IPs; ports 1–65535 with a protocol (defaulted to TCP)
//! and a DNS-label name, required when a subset has more than one port.

use super::util::{arr_at, each_mut, set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1123_label, is_dns1123_subdomain,
    is_qualified_name, is_valid_port_num, required_with,
};
use apimachinery::Cause;
use serde_json::{Value, json};
use std::net::IpAddr;

pub struct EndpointsStrategy;

/// `ValidateEndpointIP`-style checks after the address parsed: upstream
/// refuses unspecified, loopback and link-local endpoint addresses.
pub fn validate_non_special_ip(ip: &str, path: &str) -> Vec<Cause> {
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return vec![invalid_str(
            path,
            ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )];
    };
    let mut errs = vec![];
    let (unspecified, loopback, link_local, ll_multicast) = match addr {
        IpAddr::V4(a) => (
            a.is_unspecified(),
            a.is_loopback(),
            a.is_link_local(),
            a.octets()[..3] == [224, 0, 0],
        ),
        IpAddr::V6(a) => {
            let s = a.segments();
            (
                a.is_unspecified(),
                a.is_loopback(),
                s[0] & 0xffc0 == 0xfe80,
                s[0] & 0xff0f == 0xff02,
            )
        }
    };
    if unspecified {
        errs.push(invalid_str(
            path,
            ip,
            &format!("may not be unspecified ({ip})"),
        ));
    }
    if loopback {
        errs.push(invalid_str(
            path,
            ip,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if link_local {
        errs.push(invalid_str(
            path,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if ll_multicast {
        errs.push(invalid_str(
            path,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

fn validate_address(addr: &Value, path: &str) -> Vec<Cause> {
    let ip = str_at(addr, "/ip");
    let mut errs = validate_non_special_ip(ip, &child(path, "ip"));
    let host = str_at(addr, "/hostname");
    if !host.is_empty() {
        errs.extend(invalid_each(
            &child(path, "hostname"),
            host,
            is_dns1123_label(host),
        ));
    }
    if let Some(node) = addr.get("nodeName").and_then(Value::as_str) {
        errs.extend(invalid_each(
            &child(path, "nodeName"),
            node,
            is_dns1123_subdomain(node),
        ));
    }
    errs
}

fn validate_port(port: &Value, require_name: bool, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let name = str_at(port, "/name");
    if require_name && name.is_empty() {
        errs.push(Cause::required(child(path, "name")));
    } else if !name.is_empty() {
        errs.extend(invalid_each(
            &child(path, "name"),
            name,
            is_dns1123_label(name),
        ));
    }
    let num = port.get("port").and_then(Value::as_i64).unwrap_or(0);
    for m in is_valid_port_num(num) {
        errs.push(Cause::invalid(child(path, "port"), &Value::from(num), m));
    }
    errs.extend(super::pod::containers::validate_protocol(
        port.get("protocol"),
        &child(path, "protocol"),
    ));
    if let Some(ap) = port.get("appProtocol").and_then(Value::as_str) {
        errs.extend(invalid_each(
            &child(path, "appProtocol"),
            ap,
            is_qualified_name(ap),
        ));
    }
    errs
}

/// `validateEndpointSubsets`.
pub fn validate_subsets(obj: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    for (i, ss) in arr_at(obj, "/subsets").iter().enumerate() {
        let p = index("subsets", i);
        let addrs = arr_at(ss, "/addresses");
        let not_ready = arr_at(ss, "/notReadyAddresses");
        if addrs.is_empty() && not_ready.is_empty() {
            errs.push(required_with(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (j, a) in addrs.iter().enumerate() {
            errs.extend(validate_address(a, &index(&child(&p, "addresses"), j)));
        }
        for (j, a) in not_ready.iter().enumerate() {
            errs.extend(validate_address(
                a,
                &index(&child(&p, "notReadyAddresses"), j),
            ));
        }
        let ports = arr_at(ss, "/ports");
        for (j, port) in ports.iter().enumerate() {
            errs.extend(validate_port(
                port,
                ports.len() > 1,
                &index(&child(&p, "ports"), j),
            ));
        }
    }
    errs
}

impl Strategy for EndpointsStrategy {
    fn default(&self, obj: &mut Value) {
        each_mut(obj, "subsets", |ss| {
            each_mut(ss, "ports", |p| set_default(p, "protocol", json!("TCP")));
        });
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        validate_subsets(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn valid_endpoints_defaulted() {
        let mut ep = json!({"subsets": [{"addresses": [{"ip": "10.1.2.3", "hostname": "web-0", "nodeName": "node-1"}],
            "notReadyAddresses": [{"ip": "2001:db8::1"}], "ports": [{"port": 80}]}]});
        EndpointsStrategy.default(&mut ep);
        assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
        assert!(EndpointsStrategy.validate_create(&ep).is_empty());
        assert!(EndpointsStrategy.validate_create(&json!({})).is_empty());
    }

    #[test]
    fn typical_mistakes() {
        let ep = json!({"subsets": [
            {"ports": [{"port": 80, "protocol": "TCP"}]},
            {"addresses": [{"ip": "10.0.0.300"}, {"ip": "127.0.0.1"}, {"ip": "169.254.1.1"}],
             "ports": [{"port": 0, "protocol": "HTTP"}, {"name": "Bad_Name", "port": 81, "protocol": "TCP"}]}]});
        let e = EndpointsStrategy.validate_create(&ep);
        assert_eq!(
            fields(&e),
            [
                "subsets[0]",
                "subsets[1].addresses[0].ip",
                "subsets[1].addresses[1].ip",
                "subsets[1].addresses[2].ip",
                "subsets[1].ports[0].name",
                "subsets[1].ports[0].port",
                "subsets[1].ports[0].protocol",
                "subsets[1].ports[1].name",
            ]
        );
        assert_eq!(
            e[0].message,
            "Required value: must specify `addresses` or `notReadyAddresses`"
        );
        assert_eq!(
            e[2].message,
            "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"
        );
        assert_eq!(
            e[5].message,
            "Invalid value: 0: must be between 1 and 65535, inclusive"
        );
    }

    #[test]
    fn special_ipv6() {
        assert_eq!(validate_non_special_ip("fe80::1", "ip").len(), 1);
        assert_eq!(validate_non_special_ip("::", "ip").len(), 1);
        assert_eq!(validate_non_special_ip("ff02::1", "ip").len(), 1);
        assert!(validate_non_special_ip("2001:db8::1", "ip").is_empty());
    }
}
