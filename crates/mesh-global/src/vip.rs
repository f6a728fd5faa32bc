//! Virtual IPs of `.global` names: one per service, unique across the mesh, from a non-routable
//! range, stable across runs and across services being added or removed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use mesh_model::{ClusterId, ServiceKey};
use serde::{Deserialize, Serialize};

/// The virtual IP of each service's `.global` name. Serializes as a map `foo.ns1: 240.0.0.2`, the
/// file users keep and pass back so that addresses never move.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Allocations(pub BTreeMap<ServiceKey, IpAddr>);

impl Allocations {
    /// The address of a service.
    pub fn get(&self, key: &ServiceKey) -> Option<IpAddr> {
        self.0.get(key).copied()
    }

    /// The service an address belongs to (reverse lookup).
    pub fn service_at(&self, ip: IpAddr) -> Option<&ServiceKey> {
        self.0.iter().find(|(_, a)| **a == ip).map(|(k, _)| k)
    }
}

/// Why virtual IPs could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AllocationError {
    /// More services than the range has usable addresses.
    #[error(
        "the .global range {range} has {available} usable addresses but {needed} services need one"
    )]
    Exhausted {
        /// The range.
        range: IpNet,
        /// How many addresses it offers.
        available: u128,
        /// How many are needed.
        needed: usize,
    },
    /// The range overlaps addresses pods or services really use.
    #[error(
        "the .global range {range} overlaps {field} {cidr} of cluster {cluster}: virtual IPs must never be routable"
    )]
    Overlap {
        /// The range.
        range: IpNet,
        /// The overlapping CIDR.
        cidr: IpNet,
        /// Its cluster.
        cluster: ClusterId,
        /// `podCidrs` or `serviceCidrs`.
        field: &'static str,
    },
    /// A previous allocation lies outside the range.
    #[error(
        "the previous allocation gives {service} the address {address}, outside the range {range}"
    )]
    OutsideRange {
        /// The service.
        service: ServiceKey,
        /// Its previous address.
        address: IpAddr,
        /// The range.
        range: IpNet,
    },
    /// A previous allocation gives one address to two services.
    #[error("the previous allocation gives {address} to both {first} and {second}")]
    Duplicate {
        /// The address.
        address: IpAddr,
        /// One service.
        first: ServiceKey,
        /// The other.
        second: ServiceKey,
    },
}

/// The usable addresses of a range, as the first and the last: all but the network and broadcast
/// addresses of IPv4 prefixes shorter than /31, as Istio's examples start at `240.0.0.2`-style host
/// addresses.
fn usable(range: IpNet) -> (u128, u128) {
    let (first, last) = match range {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    };
    if matches!(range, IpNet::V4(_)) && range.prefix_len() < 31 {
        // A prefix shorter than /31 spans at least 4 addresses: neither step leaves the range.
        (first + 1, last - 1)
    } else {
        (first, last)
    }
}

/// How many addresses lie between `first` and `last` (inclusive, `first <= last`); `None` for all
/// 2^128 of `::/0`, one more than a `u128` holds (and more than any number of services).
fn count(first: u128, last: u128) -> Option<u128> {
    (last - first).checked_add(1)
}

fn addr(range: IpNet, n: u128) -> IpAddr {
    match range {
        // In range by construction: `n` lies between the network and broadcast addresses.
        IpNet::V4(_) => IpAddr::V4((n as u32).into()),
        IpNet::V6(_) => IpAddr::V6(n.into()),
    }
}

fn index(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// FNV-1a, 64 bits. Written here because the placement must never change across Rust or crate
/// versions (std's hasher makes no such promise): a service's address is a pure function of its
/// name when nothing collides.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Allocates one virtual IP per service in `range`.
///
/// Stability: every service of `previous` that is still asked for keeps its address; every other
/// service gets the first free address at or after the slot its name hashes to (wrapping), taken in
/// name order. So the same input always gives the same output, adding or removing a service never
/// moves another one that `previous` holds, and without `previous` a service's address depends only
/// on its name and the names that collide with it.
///
/// `cidrs` are the pod and service CIDRs of the mesh, `(cluster, field, cidr)`: a range that
/// overlaps any of them is an error (virtual IPs must never be routable).
///
/// ```
/// use mesh_global::{Allocations, allocate};
/// let services = ["foo.ns1".parse()?, "bar.ns1".parse()?];
/// let range = "240.0.0.0/4".parse()?;
/// let first = allocate(&services, range, &[], &Allocations::default())?;
/// let again = allocate(&services[..1], range, &[], &first)?;
/// assert_eq!(first.get(&services[0]), again.get(&services[0]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn allocate(
    services: &[ServiceKey],
    range: IpNet,
    cidrs: &[(ClusterId, &'static str, IpNet)],
    previous: &Allocations,
) -> Result<Allocations, AllocationError> {
    let range = range.trunc();
    for (cluster, field, cidr) in cidrs {
        if range.contains(cidr) || cidr.contains(&range) {
            return Err(AllocationError::Overlap {
                range,
                cidr: *cidr,
                cluster: cluster.clone(),
                field,
            });
        }
    }
    let wanted: BTreeSet<&ServiceKey> = services.iter().collect();
    let (first, last) = usable(range);
    let available = count(first, last);
    if let Some(available) = available
        && (wanted.len() as u128) > available
    {
        return Err(AllocationError::Exhausted {
            range,
            available,
            needed: wanted.len(),
        });
    }
    let mut taken: BTreeMap<u128, &ServiceKey> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (key, ip) in &previous.0 {
        if !wanted.contains(key) {
            continue;
        }
        let i = index(*ip);
        if !range.contains(ip) || i < first || i > last {
            return Err(AllocationError::OutsideRange {
                service: key.clone(),
                address: *ip,
                range,
            });
        }
        if let Some(other) = taken.insert(i, key) {
            return Err(AllocationError::Duplicate {
                address: *ip,
                first: other.clone(),
                second: key.clone(),
            });
        }
        out.insert(key.clone(), *ip);
    }
    for key in wanted {
        if out.contains_key(key) {
            continue;
        }
        let hash = u128::from(fnv1a(&key.to_string()));
        // `first + offset <= last`: the offset is below the range's size (a 64-bit hash is always
        // below 2^128, the size of `::/0`).
        let mut slot = first + available.map_or(hash, |n| hash % n);
        // Linear probing: at most `available` steps, and a free slot exists (checked above).
        while taken.contains_key(&slot) {
            slot = if slot == last { first } else { slot + 1 };
        }
        taken.insert(slot, key);
        out.insert(key.clone(), addr(range, slot));
    }
    Ok(Allocations(out))
}

impl fmt::Display for Allocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, ip) in &self.0 {
            writeln!(f, "{k}: {ip}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<ServiceKey> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn exhausted_range_is_an_error() {
        let range: IpNet = "240.0.0.0/30".parse().unwrap(); // 2 usable
        let services = keys(&["a.ns", "b.ns", "c.ns"]);
        assert_eq!(
            allocate(&services, range, &[], &Allocations::default()),
            Err(AllocationError::Exhausted {
                range,
                available: 2,
                needed: 3
            })
        );
        let ok = allocate(&services[..2], range, &[], &Allocations::default()).unwrap();
        let ips: BTreeSet<IpAddr> = ok.0.values().copied().collect();
        assert_eq!(
            ips,
            BTreeSet::from(["240.0.0.1".parse().unwrap(), "240.0.0.2".parse().unwrap()])
        );
    }

    #[test]
    fn overlap_with_a_pod_cidr_is_an_error() {
        let range: IpNet = "10.0.0.0/8".parse().unwrap();
        let pods: IpNet = "10.1.0.0/16".parse().unwrap();
        let err = allocate(
            &keys(&["a.ns"]),
            range,
            &[("c1".parse().unwrap(), "podCidrs", pods)],
            &Allocations::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the .global range 10.0.0.0/8 overlaps podCidrs 10.1.0.0/16 of cluster c1: virtual IPs must never be routable"
        );
    }

    #[test]
    fn previous_allocations_are_checked() {
        let range: IpNet = "240.0.0.0/24".parse().unwrap();
        let k = keys(&["a.ns", "b.ns"]);
        let outside = Allocations(BTreeMap::from([(
            k[0].clone(),
            "10.0.0.1".parse().unwrap(),
        )]));
        assert!(matches!(
            allocate(&k, range, &[], &outside),
            Err(AllocationError::OutsideRange { .. })
        ));
        let dup = Allocations(BTreeMap::from([
            (k[0].clone(), "240.0.0.9".parse().unwrap()),
            (k[1].clone(), "240.0.0.9".parse().unwrap()),
        ]));
        assert!(matches!(
            allocate(&k, range, &[], &dup),
            Err(AllocationError::Duplicate { .. })
        ));
    }

    #[test]
    fn ipv6_ranges_work() {
        let range: IpNet = "fd00:240::/120".parse().unwrap();
        let a = allocate(&keys(&["a.ns"]), range, &[], &Allocations::default()).unwrap();
        assert!(range.contains(&a.get(&keys(&["a.ns"])[0]).unwrap()));
    }

    #[test]
    fn whole_address_spaces_are_counted_and_allocated() {
        let k = keys(&["a.ns", "b.ns", "c.ns"]);
        for (range, available) in [
            ("::/0", None),
            ("::/1", Some(1u128 << 127)),
            ("0.0.0.0/0", Some((1u128 << 32) - 2)),
            ("240.0.0.0/4", Some((1u128 << 28) - 2)),
            ("fd00::/127", Some(2)),
            ("240.0.0.7/32", Some(1)),
        ] {
            let range: IpNet = range.parse().unwrap();
            let (first, last) = usable(range);
            assert_eq!(count(first, last), available, "{range}");
            let n = available.map_or(k.len(), |a| k.len().min(a as usize));
            let a = allocate(&k[..n], range, &[], &Allocations::default()).unwrap();
            let ips: BTreeSet<IpAddr> = a.0.values().copied().collect();
            assert_eq!(ips.len(), n, "{range}");
            assert!(ips.iter().all(|ip| range.contains(ip)), "{range}");
        }
    }

    #[test]
    fn the_last_address_of_the_whole_ipv6_space_is_usable() {
        let k = keys(&["a.ns", "b.ns"]);
        let last: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        let previous = Allocations(BTreeMap::from([(k[0].clone(), last)]));
        let a = allocate(&k, "::/0".parse().unwrap(), &[], &previous).unwrap();
        assert_eq!(a.get(&k[0]), Some(last));
        assert_ne!(a.get(&k[1]), Some(last));
    }

    #[test]
    fn reverse_lookup() {
        let k = keys(&["a.ns"]);
        let a = allocate(
            &k,
            "240.0.0.0/4".parse().unwrap(),
            &[],
            &Allocations::default(),
        )
        .unwrap();
        let ip = a.get(&k[0]).unwrap();
        assert_eq!(a.service_at(ip), Some(&k[0]));
        assert_eq!(a.service_at("240.0.0.0".parse().unwrap()), None);
    }
}
