//! Pod IPs out of each node's /24 pod CIDR: host addresses .2 to .254 (.1 is
//! the node's bridge in a real cluster), a small bitmap per node. A node's
//! bitmap is built lazily from the pods already running on it, so a
//! restarted simulation does not hand out an address twice.

use std::collections::HashMap;

#[derive(Default)]
struct Block {
    used: [u64; 4],
    /// Where the next search starts, so freed addresses are not reused at once.
    next: u8,
}

impl Block {
    fn is_used(&self, host: u8) -> bool {
        self.used[usize::from(host / 64)] & (1 << (host % 64)) != 0
    }
    fn set(&mut self, host: u8, on: bool) {
        let (w, b) = (usize::from(host / 64), host % 64);
        if on {
            self.used[w] |= 1 << b;
        } else {
            self.used[w] &= !(1 << b);
        }
    }
}

/// All nodes' allocations.
#[derive(Default)]
pub struct Ipam {
    blocks: HashMap<usize, Block>,
}

const FIRST: u8 = 2;
const LAST: u8 = 254;

impl Ipam {
    /// A free host number on `node`; `existing` lists the hosts already in
    /// use there (asked only the first time the node is seen). `None` when
    /// all 253 are taken.
    pub fn allocate(&mut self, node: usize, existing: impl FnOnce() -> Vec<u8>) -> Option<u8> {
        let block = self.blocks.entry(node).or_insert_with(|| {
            let mut b = Block {
                next: FIRST,
                ..Block::default()
            };
            for h in existing() {
                b.set(h, true);
            }
            b
        });
        let span = LAST - FIRST + 1;
        for i in 0..span {
            let host = FIRST + (block.next - FIRST + i) % span;
            if !block.is_used(host) {
                block.set(host, true);
                block.next = if host == LAST { FIRST } else { host + 1 };
                return Some(host);
            }
        }
        None
    }

    pub fn release(&mut self, node: usize, host: u8) {
        if let Some(b) = self.blocks.get_mut(&node) {
            b.set(host, false);
        }
    }
}

/// The pod IP for `host` in the /24 `cidr` (`10.1.2.0/24` → `10.1.2.{host}`).
pub fn pod_ip(cidr: &str, host: u8) -> String {
    let base = cidr.split('/').next().unwrap_or(cidr);
    match base.rsplit_once('.') {
        Some((prefix, _)) => format!("{prefix}.{host}"),
        None => format!("{base}.{host}"),
    }
}

/// The host number of `ip` if it lies in the /24 `cidr`.
pub fn host_of(cidr: &str, ip: &str) -> Option<u8> {
    let base = cidr.split('/').next()?;
    let (prefix, _) = base.rsplit_once('.')?;
    let (ip_prefix, host) = ip.rsplit_once('.')?;
    (ip_prefix == prefix).then(|| host.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_distinct_addresses_until_full() {
        let mut ipam = Ipam::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..253 {
            let h = ipam.allocate(7, Vec::new).expect("free address");
            assert!((FIRST..=LAST).contains(&h));
            assert!(seen.insert(h), "address {h} handed out twice");
        }
        assert_eq!(ipam.allocate(7, Vec::new), None);
        ipam.release(7, 100);
        assert_eq!(ipam.allocate(7, Vec::new), Some(100));
    }

    #[test]
    fn existing_pods_are_skipped() {
        let mut ipam = Ipam::default();
        assert_eq!(ipam.allocate(0, || vec![2, 3]), Some(4));
        assert_eq!(pod_ip("10.0.5.0/24", 4), "10.0.5.4");
        assert_eq!(host_of("10.0.5.0/24", "10.0.5.4"), Some(4));
        assert_eq!(host_of("10.0.5.0/24", "10.0.6.4"), None);
    }
}
