//! Flat address spaces: a network plus every network linked to it, directly or through other
//! links. Computed once as the connected components of the link graph (petgraph's union-find,
//! near-linear in the number of links), so "can pods of A reach pods of B by IP?" is two lookups.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

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
    /// O(names + links · α) with a hash lookup a name.
    pub fn new<'a, L>(
        networks: impl IntoIterator<Item = &'a str>,
        links: impl IntoIterator<Item = L>,
        cut: &[(&str, &str)],
    ) -> Self
    where
        L: IntoIterator<Item = &'a str>,
    {
        // Nodes are numbered as first met (one hash lookup a name), renumbered sorted at the end.
        let mut node: HashMap<&str, usize, BuildHasherDefault<Fnv1a>> = HashMap::default();
        let mut met: Vec<&str> = Vec::new();
        let mut id = |name: &'a str, met: &mut Vec<&'a str>| {
            *node.entry(name).or_insert_with(|| {
                met.push(name);
                met.len() - 1
            })
        };
        for n in networks {
            id(n, &mut met);
        }
        let mut edges: Vec<(usize, usize)> = Vec::new();
        let mut nodes: Vec<usize> = Vec::new();
        let mut cliques: Vec<Vec<usize>> = Vec::new();
        for link in links {
            nodes.clear();
            nodes.extend(link.into_iter().map(|n| id(n, &mut met)));
            if cut.is_empty() {
                // A star joins them all.
                if let Some((&first, rest)) = nodes.split_first() {
                    edges.extend(rest.iter().map(|&b| (first, b)));
                }
            } else {
                cliques.push(nodes.clone());
            }
        }
        let cut: BTreeSet<(usize, usize)> = cut
            .iter()
            .filter_map(|(a, b)| {
                let (a, b) = (*node.get(a)?, *node.get(b)?);
                Some((a.min(b), a.max(b)))
            })
            .collect();
        for link in &cliques {
            // Every pair of a link is a direct connection; leave out the cut ones (a link of
            // three networks with one pair cut still joins that pair through the third).
            for (i, &a) in link.iter().enumerate() {
                for &b in &link[i + 1..] {
                    if a != b && !cut.contains(&(a.min(b), a.max(b))) {
                        edges.push((a, b));
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..met.len()).collect();
        order.sort_unstable_by_key(|&i| met[i]);
        let mut rank = vec![0; met.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let names = order.iter().map(|&i| met[i].to_owned()).collect();
        Self::from_edges(names, edges.into_iter().map(|(a, b)| (rank[a], rank[b])))
    }

    /// Groups networks `names` (sorted, distinct) joined by `edges` between their indices; an edge
    /// naming no index is ignored. One union-find pass: O(edges · α(n)).
    ///
    /// ```
    /// use mesh_topology::FlatAddressSpaces;
    /// let s = FlatAddressSpaces::from_edges(vec!["a".into(), "b".into(), "c".into()], [(0, 2)]);
    /// assert_eq!(s.spaces(), [vec!["a", "c"], vec!["b"]]);
    /// ```
    pub fn from_edges(names: Vec<String>, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let n = names.len();
        let mut uf = UnionFind::<usize>::new(n);
        for (a, b) in edges {
            if a < n && b < n {
                uf.union(a, b);
            }
        }
        let mut number = vec![usize::MAX; n];
        let mut next = 0;
        let space = (0..n)
            .map(|i| {
                let root = uf.find_mut(i);
                if number[root] == usize::MAX {
                    number[root] = next;
                    next += 1;
                }
                number[root]
            })
            .collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
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

/// FNV-1a: network names are short, and this map is hit twice a link (260,000 times for a full
/// mesh of 511 networks), where SipHash's setup dominates. Only lookups depend on it, never the
/// order of the output.
#[derive(Debug, Clone, Copy)]
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
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
