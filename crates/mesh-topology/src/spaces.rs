//! Flat address spaces: a network plus every network linked to it, directly or through other
//! links. Computed once as the connected components of the link graph (petgraph's union-find,
//! near-linear in the number of links), so "can pods of A reach pods of B by IP?" is two lookups.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::unionfind::UnionFind;

/// The networks of a mesh grouped into flat address spaces.
///
/// ```
/// use mesh_topology::FlatAddressSpaces;
/// let spaces = FlatAddressSpaces::new(["a", "b", "c", "d"], [vec!["a", "b"], vec!["b", "c"]], &[]);
/// assert!(spaces.same_space("a", "c"));
/// assert!(!spaces.same_space("a", "d"));
/// assert_eq!(spaces.spaces(), [vec!["a", "b", "c"], vec!["d"]]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatAddressSpaces {
    /// Network names, sorted; a network's index is its node.
    names: Vec<String>,
    index: BTreeMap<String, usize>,
    /// Space of each node, numbered in order of each space's first (smallest) network.
    space: Vec<usize>,
}

impl FlatAddressSpaces {
    /// Groups `networks` (and any network a link names) by `links`; each link joins all its
    /// networks to each other. `cut` lists network pairs whose direct link is down (a link of
    /// three networks with one pair cut still joins that pair through the third).
    pub fn new<'a>(
        networks: impl IntoIterator<Item = &'a str>,
        links: impl IntoIterator<Item = Vec<&'a str>>,
        cut: &[(&str, &str)],
    ) -> Self {
        let links: Vec<Vec<&str>> = links.into_iter().collect();
        let mut all: BTreeSet<&str> = networks.into_iter().collect();
        all.extend(links.iter().flatten().copied());
        let names: Vec<String> = all.into_iter().map(str::to_owned).collect();
        let index: BTreeMap<String, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let cut: BTreeSet<(usize, usize)> = cut
            .iter()
            .filter_map(|(a, b)| {
                let (a, b) = (*index.get(*a)?, *index.get(*b)?);
                Some((a.min(b), a.max(b)))
            })
            .collect();
        let mut uf = UnionFind::<usize>::new(names.len());
        for link in &links {
            let mut nodes: Vec<usize> =
                link.iter().filter_map(|n| index.get(*n).copied()).collect();
            nodes.sort_unstable();
            nodes.dedup();
            let touches_cut = cut
                .iter()
                .any(|(a, b)| nodes.contains(a) && nodes.contains(b));
            if touches_cut {
                // Every pair of the link is a direct connection; leave out the cut ones.
                for (i, &a) in nodes.iter().enumerate() {
                    for &b in &nodes[i + 1..] {
                        if !cut.contains(&(a, b)) {
                            uf.union(a, b);
                        }
                    }
                }
            } else if let Some((&first, rest)) = nodes.split_first() {
                for &b in rest {
                    uf.union(first, b);
                }
            }
        }
        let mut number: BTreeMap<usize, usize> = BTreeMap::new();
        let space = (0..names.len())
            .map(|i| {
                let root = uf.find_mut(i);
                let next = number.len();
                *number.entry(root).or_insert(next)
            })
            .collect();
        Self {
            names,
            index,
            space,
        }
    }

    /// The index of `network`'s flat address space, `None` for a network it does not know.
    pub fn space_of(&self, network: &str) -> Option<usize> {
        self.index.get(network).map(|&i| self.space[i])
    }

    /// Whether pods of `a` reach pods of `b` by IP: the same network, or linked.
    pub fn same_space(&self, a: &str, b: &str) -> bool {
        a == b || matches!((self.space_of(a), self.space_of(b)), (Some(x), Some(y)) if x == y)
    }

    /// The networks of each space, sorted; spaces in order of their first network.
    pub fn spaces(&self) -> Vec<Vec<&str>> {
        let mut out: Vec<Vec<&str>> = Vec::new();
        for (i, &s) in self.space.iter().enumerate() {
            if s == out.len() {
                out.push(Vec::new());
            }
            out[s].push(&self.names[i]);
        }
        out
    }

    /// The networks in `network`'s space (just `network` when it is unknown).
    pub fn members(&self, network: &str) -> Vec<&str> {
        match self.space_of(network) {
            Some(s) => self
                .space
                .iter()
                .enumerate()
                .filter(|&(_, &x)| x == s)
                .map(|(i, _)| self.names[i].as_str())
                .collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn cutting_one_pair_of_a_three_way_link_keeps_it_joined() {
        let s = FlatAddressSpaces::new(["a", "b", "c"], [vec!["a", "b", "c"]], &[("b", "a")]);
        assert!(s.same_space("a", "b"));
        let s = FlatAddressSpaces::new(["a", "b", "c"], [vec!["a", "b"]], &[("b", "a")]);
        assert!(!s.same_space("a", "b"));
        assert_eq!(s.spaces(), [vec!["a"], vec!["b"], vec!["c"]]);
    }

    #[test]
    fn unknown_networks_are_only_themselves() {
        let s = FlatAddressSpaces::new(["a"], Vec::<Vec<&str>>::new(), &[]);
        assert!(s.same_space("x", "x"));
        assert!(!s.same_space("a", "x"));
        assert_eq!(s.members("x"), Vec::<&str>::new());
        assert_eq!(s.members("a"), ["a"]);
    }

    fn bfs_oracle(
        n: usize,
        edges: &[(usize, usize)],
        cut: &[(usize, usize)],
        a: usize,
        b: usize,
    ) -> bool {
        let mut seen = vec![false; n];
        let mut queue = VecDeque::from([a]);
        seen[a] = true;
        while let Some(x) = queue.pop_front() {
            if x == b {
                return true;
            }
            for &(u, v) in edges {
                if cut.contains(&(u, v)) || cut.contains(&(v, u)) {
                    continue;
                }
                for (p, q) in [(u, v), (v, u)] {
                    if p == x && !seen[q] {
                        seen[q] = true;
                        queue.push_back(q);
                    }
                }
            }
        }
        false
    }

    proptest! {
        /// One union-find pass answers exactly what a BFS from every network would.
        #[test]
        fn agrees_with_bfs_from_every_node(
            n in 1usize..14,
            edges in proptest::collection::vec((0usize..14, 0usize..14), 0..20),
            cut in proptest::collection::vec((0usize..14, 0usize..14), 0..4),
        ) {
            let edges: Vec<(usize, usize)> = edges.into_iter().map(|(a, b)| (a % n, b % n)).collect();
            let cut: Vec<(usize, usize)> = cut.into_iter().map(|(a, b)| (a % n, b % n)).collect();
            let names: Vec<String> = (0..n).map(|i| format!("n{i:02}")).collect();
            let links: Vec<Vec<&str>> = edges.iter().map(|&(a, b)| vec![names[a].as_str(), names[b].as_str()]).collect();
            let cut_names: Vec<(&str, &str)> = cut.iter().map(|&(a, b)| (names[a].as_str(), names[b].as_str())).collect();
            let s = FlatAddressSpaces::new(names.iter().map(String::as_str), links, &cut_names);
            for a in 0..n {
                for b in 0..n {
                    prop_assert_eq!(s.same_space(&names[a], &names[b]), bfs_oracle(n, &edges, &cut, a, b), "{} {}", a, b);
                }
            }
        }
    }
}
