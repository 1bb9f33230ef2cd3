//! IP address and CIDR validators, with upstream's messages.

use std::net::IpAddr;

/// `IsValidIP`.
pub fn is_valid_ip(s: &str) -> Vec<String> {
    if s.parse::<IpAddr>().is_ok() {
        vec![]
    } else {
        vec!["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into()]
    }
}

/// `IsValidCIDR`: `<ip>/<prefix>` with a prefix within the family's width.
pub fn is_valid_cidr(s: &str) -> Vec<String> {
    let ok = s.split_once('/').is_some_and(|(ip, bits)| {
        let width = match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => 32,
            Ok(IpAddr::V6(_)) => 128,
            Err(_) => return false,
        };
        !bits.is_empty()
            && bits.bytes().all(|b| b.is_ascii_digit())
            && bits.parse::<u32>().is_ok_and(|b| b <= width)
    });
    if ok {
        vec![]
    } else {
        vec!["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)".into()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_and_cidrs() {
        assert!(is_valid_ip("10.0.0.1").is_empty());
        assert!(is_valid_ip("2001:db8::1").is_empty());
        assert_eq!(is_valid_ip("10.0.0.256").len(), 1);
        assert!(is_valid_cidr("10.0.0.0/8").is_empty());
        assert!(is_valid_cidr("::/0").is_empty());
        assert_eq!(is_valid_cidr("10.0.0.0/33").len(), 1);
        assert_eq!(is_valid_cidr("10.0.0.0").len(), 1);
    }
}
