//! Overlapping address ranges, found by sort and sweep.
//!
//! Two prefixes overlap exactly when one contains the other (prefixes are aligned blocks), so
//! after sorting by (family, first address, prefix length) the prefixes that contain the current
//! one form a chain: a stack holds it, and its top is the nearest container. Diagnostics report
//! [`overlap_groups`] (one per connected component), never every pair.

use ipnet::IpNet;

/// The nearest containing prefix of every prefix (`None` at the top): the containment forest,
/// computed by one sort and one sweep in O(n log n).
///
/// Two prefixes overlap exactly when one contains the other (prefixes are aligned blocks), so they
/// overlap exactly when one is an ancestor of the other here: the forest holds every overlapping
/// pair in O(n) space. Among equal prefixes, the one with the larger index is inside the other.
/// Host bits are ignored.
///
/// ```
/// use mesh_topology::containing_prefixes;
/// let nets: Vec<ipnet::IpNet> = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "11.0.0.0/8", "::/0"]
///     .iter().map(|s| s.parse().unwrap()).collect();
/// assert_eq!(containing_prefixes(&nets), [None, Some(0), Some(1), None, None]);
/// ```
pub fn containing_prefixes(prefixes: &[IpNet]) -> Vec<Option<usize>> {
    let mut parent = vec![None; prefixes.len()];
    // The families never overlap: sort each on its own, with compact keys.
    let mut v4: Vec<(u64, usize)> = Vec::new();
    let mut v6: Vec<(u128, u8, usize)> = Vec::new();
    for (i, p) in prefixes.iter().enumerate() {
        match p {
            IpNet::V4(n) => v4.push((
                (u64::from(u32::from(n.network())) << 6) | u64::from(n.prefix_len()),
                i,
            )),
            IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len(), i)),
        }
    }
    // By first address, then broader first, then index: a prefix comes after all that contain it.
    v4.sort_unstable();
    v6.sort_unstable();
    sweep(
        v4.iter()
            .map(|&(k, i)| (u128::from(k >> 6), (k & 63) as u8, i)),
        32,
        &mut parent,
    );
    sweep(v6.iter().copied(), 128, &mut parent);
    parent
}

/// Sweeps prefixes sorted by (first address, length, index) of one family of `bits` bits. The
/// stack holds the chain of prefixes containing the current first address.
fn sweep(sorted: impl Iterator<Item = (u128, u8, usize)>, bits: u32, parent: &mut [Option<usize>]) {
    let mut open: Vec<(u128, usize)> = Vec::new(); // (last address, index)
    for (first, len, i) in sorted {
        let host_bits = bits.saturating_sub(u32::from(len));
        let last = if host_bits >= 128 {
            u128::MAX
        } else {
            first | ((1u128 << host_bits) - 1)
        };
        while open.last().is_some_and(|&(top_last, _)| top_last < first) {
            open.pop();
        }
        parent[i] = open.last().map(|&(_, j)| j);
        open.push((last, i));
    }
}

/// Every pair `(i, j)` with `i < j` of prefixes in `prefixes` that share at least one address
/// (a nested or equal prefix counts), each pair once, sorted. Host bits are ignored.
/// O(n log n + k log k) for k pairs: [`containing_prefixes`], then each prefix's ancestors.
///
/// ```
/// use mesh_topology::overlapping_pairs;
/// let nets: Vec<ipnet::IpNet> = ["10.0.0.0/8", "192.168.0.0/16", "10.1.0.0/16", "10.0.0.0/8"]
///     .iter().map(|s| s.parse().unwrap()).collect();
/// assert_eq!(overlapping_pairs(&nets), [(0, 2), (0, 3), (2, 3)]);
/// ```
pub fn overlapping_pairs(prefixes: &[IpNet]) -> Vec<(usize, usize)> {
    let parent = containing_prefixes(prefixes);
    let mut pairs = Vec::new();
    for (i, &p) in parent.iter().enumerate() {
        let mut up = p;
        while let Some(j) = up {
            pairs.push((i.min(j), i.max(j)));
            up = parent[j];
        }
    }
    pairs.sort_unstable();
    pairs
}

/// The groups of prefixes that overlap, directly or through others: the connected components of
/// the overlap relation, each a root of the [`containing_prefixes`] forest with everything it
/// contains. Only groups of two or more; each group starts with its root (the broadest prefix,
/// the first of equal ones), then the rest ascending; groups are ordered by their smallest index.
/// O(n log n), output O(n): the way to report overlaps when many ranges are equal (n equal
/// prefixes are n·(n−1)/2 pairs but one group).
///
/// ```
/// use mesh_topology::overlap_groups;
/// let nets: Vec<ipnet::IpNet> = ["10.1.0.0/16", "10.0.0.0/8", "192.168.0.0/16", "10.2.0.0/16", "11.0.0.0/8"]
///     .iter().map(|s| s.parse().unwrap()).collect();
/// assert_eq!(overlap_groups(&nets), [vec![1, 0, 3]]);
/// ```
pub fn overlap_groups(prefixes: &[IpNet]) -> Vec<Vec<usize>> {
    let parent = containing_prefixes(prefixes);
    // The root of every prefix, memoised: each prefix is climbed from once.
    const UNKNOWN: usize = usize::MAX;
    let mut root = vec![UNKNOWN; prefixes.len()];
    let mut chain = Vec::new();
    for start in 0..prefixes.len() {
        let mut at = start;
        let top = loop {
            if root[at] != UNKNOWN {
                break root[at];
            }
            chain.push(at);
            match parent[at] {
                Some(up) => at = up,
                None => break at,
            }
        };
        for i in chain.drain(..) {
            root[i] = top;
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); prefixes.len()];
    for (i, &r) in root.iter().enumerate() {
        if r != i {
            members[r].push(i);
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (r, rest) in members.into_iter().enumerate() {
        if !rest.is_empty() {
            let mut group = Vec::with_capacity(rest.len() + 1);
            group.push(r);
            group.extend(rest);
            groups.push(group);
        }
    }
    groups.sort_unstable_by_key(|g| g.iter().copied().min());
    groups
}

/// The addresses two prefixes share (the narrower of the two when they overlap), host bits
/// cleared.
///
/// ```
/// use mesh_topology::shared_range;
/// let a: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
/// let b: ipnet::IpNet = "10.1.0.0/16".parse().unwrap();
/// assert_eq!(shared_range(&a, &b), Some(b));
/// assert_eq!(shared_range(&a, &"11.0.0.0/8".parse().unwrap()), None);
/// ```
pub fn shared_range(a: &IpNet, b: &IpNet) -> Option<IpNet> {
    let (a, b) = (a.trunc(), b.trunc());
    if a.contains(&b) {
        Some(b)
    } else if b.contains(&a) {
        Some(a)
    } else {
        None
    }
}

/// What a group of overlapping ranges, all inside `root`, shares, for messages: "They share N
/// (size)" when the narrowest range is inside all the others (always so for two), else "They
/// overlap within `root` (size)".
pub(crate) fn overlap_extent(nets: impl Iterator<Item = IpNet> + Clone, root: IpNet) -> String {
    let narrowest = nets.clone().max_by_key(IpNet::prefix_len).unwrap_or(root);
    if nets.clone().all(|n| n.contains(&narrowest)) {
        format!("They share {narrowest} ({})", size_text(&narrowest))
    } else {
        format!("They overlap within {root} ({})", size_text(&root))
    }
}

/// The number of addresses in a prefix, saturating at `u128::MAX`, for messages.
pub(crate) fn size_text(net: &IpNet) -> String {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if bits >= 128 {
        "2^128 addresses".to_owned()
    } else if bits > 32 {
        format!("2^{bits} addresses")
    } else {
        let n = 1u64 << bits;
        if n == 1 {
            "1 address".to_owned()
        } else {
            format!("{n} addresses")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn naive(p: &[IpNet]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for i in 0..p.len() {
            for j in i + 1..p.len() {
                let (a, b) = (p[i].trunc(), p[j].trunc());
                if a.contains(&b) || b.contains(&a) {
                    out.push((i, j));
                }
            }
        }
        out
    }

    #[test]
    fn nested_equal_disjoint_and_families() {
        let p = nets(&[
            "10.0.0.0/8",
            "10.0.0.0/8",
            "10.255.255.255/32",
            "11.0.0.0/8",
            "::/0",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::a00:0/104",
        ]);
        // ::a00:0/104 holds the same bits as 10.0.0.0/8 but is IPv6: it overlaps only ::/0.
        assert_eq!(
            overlapping_pairs(&p),
            [
                (0, 1),
                (0, 2),
                (0, 5),
                (1, 2),
                (1, 5),
                (2, 5),
                (3, 5),
                (4, 6),
                (4, 7)
            ]
        );
        assert_eq!(overlapping_pairs(&p), naive(&p));
    }

    /// The groups as sets, from the pairwise oracle: components by repeated relabelling.
    fn naive_groups(p: &[IpNet]) -> Vec<Vec<usize>> {
        let mut label: Vec<usize> = (0..p.len()).collect();
        let pairs = naive(p);
        let mut changed = true;
        while changed {
            changed = false;
            for &(i, j) in &pairs {
                let low = label[i].min(label[j]);
                if label[i] != low || label[j] != low {
                    (label[i], label[j]) = (low, low);
                    changed = true;
                }
            }
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for l in 0..p.len() {
            let g: Vec<usize> = (0..p.len()).filter(|&i| label[i] == l).collect();
            if g.len() > 1 {
                groups.push(g);
            }
        }
        groups
    }

    fn sorted_groups(p: &[IpNet]) -> Vec<Vec<usize>> {
        let mut groups = overlap_groups(p);
        for g in &mut groups {
            g.sort_unstable();
        }
        groups
    }

    #[test]
    fn equal_prefixes_are_one_group_not_every_pair() {
        let p = vec!["10.244.0.0/16".parse().unwrap(); 3000];
        assert_eq!(overlapping_pairs(&p).len(), 3000 * 2999 / 2);
        let groups = overlap_groups(&p);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0], (0..3000).collect::<Vec<_>>());
    }

    #[test]
    fn groups_nested_disjoint_and_families() {
        // A /8 holding two disjoint /16s is one group; a lone /8 and the v6 ranges apart.
        let p = nets(&[
            "10.1.0.0/16",
            "192.168.0.0/16",
            "10.0.0.0/8",
            "10.2.0.0/16",
            "11.0.0.0/8",
            "2001:db8::/32",
            "2001:db8:1::/48",
            "::a00:0/104",
        ]);
        assert_eq!(overlap_groups(&p), [vec![2, 0, 3], vec![5, 6]]);
        assert_eq!(sorted_groups(&p), naive_groups(&p));
        assert!(overlap_groups(&nets(&["10.0.0.0/9", "10.128.0.0/9"])).is_empty());
    }

    #[test]
    fn adjacent_blocks_do_not_overlap() {
        let p = nets(&["10.0.0.0/9", "10.128.0.0/9", "10.127.255.255/32"]);
        assert_eq!(overlapping_pairs(&p), [(0, 2)]);
    }

    #[test]
    fn host_bits_are_ignored() {
        let p = vec![
            IpNet::new("10.1.2.3".parse().unwrap(), 8).unwrap(),
            "10.200.0.0/16".parse().unwrap(),
        ];
        assert_eq!(overlapping_pairs(&p), [(0, 1)]);
        assert_eq!(shared_range(&p[0], &p[1]), Some(p[1]));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(
            size_text(&"10.0.0.0/16".parse().unwrap()),
            "65536 addresses"
        );
        assert_eq!(size_text(&"10.0.0.1/32".parse().unwrap()), "1 address");
        assert_eq!(
            size_text(&"2001:db8::/64".parse().unwrap()),
            "2^64 addresses"
        );
        assert_eq!(size_text(&"::/0".parse().unwrap()), "2^128 addresses");
    }

    fn prefix() -> impl Strategy<Value = IpNet> {
        // A small address space so that overlaps are common.
        prop_oneof![
            (0u32..16, 24u8..=32).prop_map(|(x, len)| {
                IpNet::new(IpAddr::from([10, 0, 0, (x * 16) as u8]), len)
                    .unwrap()
                    .trunc()
            }),
            (0u16..8, 120u8..=128).prop_map(|(x, len)| {
                IpNet::new(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, x * 32]), len)
                    .unwrap()
                    .trunc()
            }),
        ]
    }

    proptest! {
        /// The sweep reports exactly the pairs the pairwise oracle finds.
        #[test]
        fn sweep_agrees_with_pairwise_oracle(p in proptest::collection::vec(prefix(), 0..60)) {
            prop_assert_eq!(overlapping_pairs(&p), naive(&p));
        }

        /// The groups are the connected components of the pairwise oracle's overlaps, each
        /// starting with a prefix that contains all the others.
        #[test]
        fn groups_agree_with_pairwise_oracle(p in proptest::collection::vec(prefix(), 0..60)) {
            prop_assert_eq!(sorted_groups(&p), naive_groups(&p));
            for g in overlap_groups(&p) {
                prop_assert!(g.iter().all(|&i| p[g[0]].contains(&p[i])));
                prop_assert!(g[1..].windows(2).all(|w| w[0] < w[1]));
            }
        }

        /// An overlap injected into disjoint prefixes is found, and nothing else is.
        #[test]
        fn injected_overlap_is_found_alone(
            n in 1usize..200,
            pick in any::<prop::sample::Index>(),
            extra in 0u8..=8,
            at in any::<prop::sample::Index>(),
        ) {
            // Disjoint /24s.
            let mut p: Vec<IpNet> = (0..n)
                .map(|i| IpNet::new(IpAddr::from([10, (i / 256) as u8, (i % 256) as u8, 0]), 24).unwrap())
                .collect();
            let victim = pick.index(n);
            let inner = IpNet::new(p[victim].network(), 24 + extra).unwrap();
            let pos = at.index(n + 1);
            p.insert(pos, inner);
            let victim = if victim >= pos { victim + 1 } else { victim };
            prop_assert_eq!(overlapping_pairs(&p), vec![(victim.min(pos), victim.max(pos))]);
        }
    }
}
