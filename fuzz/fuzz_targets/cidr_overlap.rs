//! CIDR overlap by sort and sweep (mesh-topology): never a panic, exactly the pairs a pairwise
//! comparison finds, a containment forest whose parents contain their children, and groups that
//! hold every overlapping prefix once, each inside its group's first.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use mesh_topology::{containing_prefixes, overlap_groups, overlapping_pairs, shared_range};

/// 18 bytes a prefix: family (even = IPv4), length, 16 address bytes.
fn prefixes(data: &[u8]) -> Vec<IpNet> {
    data.chunks_exact(18)
        .filter_map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&c[2..]);
            let (addr, max) = if c[0] % 2 == 0 {
                (IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])), 33)
            } else {
                (IpAddr::V6(Ipv6Addr::from(b)), 129)
            };
            IpNet::new(addr, c[1] % max).ok()
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let p = prefixes(data);
    let parent = containing_prefixes(&p);
    assert_eq!(parent.len(), p.len());
    for (i, up) in parent.iter().enumerate() {
        if let Some(j) = *up {
            assert!(
                p[j].trunc().contains(&p[i].trunc()),
                "{} should contain {}",
                p[j],
                p[i]
            );
        }
    }
    let pairs = overlapping_pairs(&p);
    let mut naive = Vec::new();
    for i in 0..p.len() {
        for j in i + 1..p.len() {
            if shared_range(&p[i], &p[j]).is_some() {
                naive.push((i, j));
            }
        }
    }
    assert_eq!(pairs, naive);
    let mut group_of = vec![None; p.len()];
    for (g, members) in overlap_groups(&p).iter().enumerate() {
        for &i in members {
            assert!(group_of[i].replace(g).is_none(), "{} in two groups", p[i]);
            assert!(p[members[0]].trunc().contains(&p[i].trunc()));
        }
    }
    for &(i, j) in &pairs {
        assert!(
            group_of[i].is_some() && group_of[i] == group_of[j],
            "{} {}",
            p[i],
            p[j]
        );
    }
});
