//! The gateway index (rules G5–G7), built once from the resolved gateway set (and, for the
//! pre-1.8 profiles, MeshNetworks as they read it) and shared by every view; it builds its own
//! gateway endpoints and their wire prefixes.

use std::collections::HashMap;

use mesh_model::{ClusterId, Gateway, NetworkId};

use crate::assignment::LbEndpoint;
use crate::legacy::LegacyNetworks;
use crate::rules::{self, index_u32};
use crate::wire::EncodeOptions;

/// The resolved gateway set, indexed as Istio indexes it (rule G5): per network and per
/// (network, cluster), each list sorted by (address as a byte string, port). Built once; every
/// [`crate::View`] borrows from it.
///
/// ```
/// use mesh_eds::GatewayIndex;
/// use mesh_model::Gateway;
/// let gw = |net: &str, cluster: Option<&str>, addr: &str| Gateway {
///     network: net.parse().unwrap(), cluster: cluster.map(|c| c.parse().unwrap()),
///     address: addr.into(), port: 15443, hbone_port: 0, service_account: String::new(),
/// };
/// let index = GatewayIndex::new([
///     gw("n2", Some("c2"), "9.0.0.1"), gw("n2", Some("c2"), "10.0.0.9"), gw("n2", Some("c3"), "100.0.0.1"),
/// ]);
/// assert!(index.multi_network_enabled());
/// // lists: n2 (3), (n2, c2) (2), (n2, c3) (1): lcm = 6 (rule G6)
/// assert_eq!(index.scale_factor(), 6);
/// let order: Vec<&str> = index.gateways().iter().map(|g| g.address.as_str()).collect();
/// assert_eq!(order, ["10.0.0.9", "100.0.0.1", "9.0.0.1"]); // byte order (rule M13)
/// ```
#[derive(Debug, Clone, Default)]
pub struct GatewayIndex {
    /// Sorted by (address bytes, port, then the rest of the identity for determinism).
    gateways: Vec<Gateway>,
    /// Parallel to `gateways`: the Istio `workload` metadata of each (`;;;;<cluster>`, rule M18),
    /// built once rather than once per gateway endpoint of every view.
    workloads: Vec<String>,
    /// Parallel to `gateways`: each gateway's `LbEndpoint` bytes up to its weight, with and
    /// without the `istio` metadata (`EncodeOptions::istio_workload`), for `crate::encoded`.
    prefixes: [Vec<Box<[u8]>>; 2],
    /// Network → its slot in `networks`.
    by_network: HashMap<NetworkId, u32>,
    /// Per network slot: its gateways (indexes into `gateways`, ascending, so in M13 order).
    networks: Vec<NetworkGateways>,
    /// Per (network, cluster) slot: its gateways.
    cluster_lists: Vec<Vec<u32>>,
    scale: u32,
    legacy: Option<LegacyNetworks>,
}

/// The gateways of one network: all of them, and the slot of each cluster's list (a map: one
/// network may have a gateway in each of thousands of clusters).
#[derive(Debug, Clone)]
pub(crate) struct NetworkGateways {
    pub(crate) all: Vec<u32>,
    /// The list of the gateways that name no cluster (`RouteKey::NONE` when there is none).
    unclustered: u32,
    by_cluster: HashMap<ClusterId, u32>,
}

impl Default for NetworkGateways {
    fn default() -> Self {
        Self {
            all: Vec::new(),
            unclustered: RouteKey::NONE,
            by_cluster: HashMap::new(),
        }
    }
}

impl NetworkGateways {
    /// The slot of `cluster`'s list, if it has one.
    fn cluster_list(&self, cluster: Option<&ClusterId>) -> Option<u32> {
        match cluster {
            None => (self.unclustered != RouteKey::NONE).then_some(self.unclustered),
            Some(c) => self.by_cluster.get(c).copied(),
        }
    }
}

/// Where an endpoint's candidate gateways are (M7): its (network, cluster) list if there is one,
/// else its network's list, else none. `u32::MAX` = absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct RouteKey {
    pub(crate) network: u32,
    pub(crate) cluster: u32,
}

impl RouteKey {
    pub(crate) const NONE: u32 = u32::MAX;
}

impl GatewayIndex {
    /// Indexes a resolved gateway set (as [`mesh_model::resolve_gateways`] returns it). Exact
    /// duplicates collapse (rule G4).
    pub fn new(gateways: impl IntoIterator<Item = Gateway>) -> Self {
        let mut gateways: Vec<Gateway> = gateways.into_iter().collect();
        gateways.sort_by(|a, b| {
            a.address
                .as_bytes()
                .cmp(b.address.as_bytes())
                .then(a.port.cmp(&b.port))
                .then_with(|| a.cmp(b))
        });
        gateways.dedup();
        let mut by_network: HashMap<NetworkId, u32> = HashMap::new();
        let mut networks: Vec<NetworkGateways> = Vec::new();
        let mut cluster_lists: Vec<Vec<u32>> = Vec::new();
        for (i, g) in gateways.iter().enumerate() {
            let i = index_u32(i);
            let n = *by_network.entry(g.network.clone()).or_insert_with(|| {
                networks.push(NetworkGateways::default());
                index_u32(networks.len() - 1)
            });
            let entry = &mut networks[n as usize];
            entry.all.push(i);
            match entry.cluster_list(g.cluster.as_ref()) {
                Some(list) => cluster_lists[list as usize].push(i),
                None => {
                    cluster_lists.push(vec![i]);
                    let list = index_u32(cluster_lists.len() - 1);
                    match &g.cluster {
                        None => entry.unclustered = list,
                        Some(c) => {
                            entry.by_cluster.insert(c.clone(), list);
                        }
                    }
                }
            }
        }
        let scale = scale_factor(
            networks
                .iter()
                .map(|n| n.all.len())
                .chain(cluster_lists.iter().map(Vec::len)),
        );
        let workloads = gateways
            .iter()
            .map(|g| format!(";;;;{}", g.cluster.as_ref().map_or("", |c| c.as_str())))
            .collect();
        let mut index = Self {
            gateways,
            workloads,
            prefixes: [Vec::new(), Vec::new()],
            by_network,
            networks,
            cluster_lists,
            scale,
            legacy: None,
        };
        index.prefixes = [true, false].map(|istio_workload| {
            (0..index_u32(index.gateways.len()))
                .map(|g| {
                    let endpoint = index.gateway_endpoint(g, 1);
                    crate::wire::lb_endpoint_prefix(&endpoint, EncodeOptions { istio_workload })
                })
                .collect()
        });
        index
    }

    /// Adds the MeshNetworks document the pre-1.8 profiles ([`crate::Profile::is_legacy`]) read their
    /// gateways from. Without it those profiles skip the split-horizon filter (rule H1.4).
    pub fn with_legacy_networks(mut self, legacy: LegacyNetworks) -> Self {
        self.legacy = Some(legacy);
        self
    }

    /// The gateways in index order: sorted by (address bytes, port) (rules G5, M13).
    pub fn gateways(&self) -> &[Gateway] {
        &self.gateways
    }

    /// Rule G7: multi-network is enabled iff at least one resolved gateway exists.
    pub fn multi_network_enabled(&self) -> bool {
        !self.gateways.is_empty()
    }

    /// Rule G6: the least common multiple of the sizes of every per-network and per-(network,
    /// cluster) list, computed as Istio does (64-bit, then truncated to 32 bits); 1 when there are
    /// no gateways (or when truncation gives 0, which the filter reads as 1: M4).
    pub fn scale_factor(&self) -> u32 {
        self.scale
    }

    /// The MeshNetworks view of the legacy profiles, if given.
    pub fn legacy_networks(&self) -> Option<&LegacyNetworks> {
        self.legacy.as_ref()
    }

    pub(crate) fn gateway(&self, i: u32) -> &Gateway {
        &self.gateways[i as usize]
    }

    /// The endpoint standing in for remote workloads through gateway `i` (M13/M18).
    pub(crate) fn gateway_endpoint(&self, i: u32, weight: u32) -> LbEndpoint {
        rules::gateway_endpoint(self.gateway(i), &self.workloads[i as usize], weight)
    }

    /// Gateway `i`'s `LbEndpoint` bytes up to its weight (`wire::lb_endpoint_prefix`).
    pub(crate) fn gateway_prefix(&self, i: u32, options: EncodeOptions) -> &[u8] {
        &self.prefixes[usize::from(!options.istio_workload)][i as usize]
    }

    /// The length of the candidate list `key` names (M7): 0 when there is none.
    pub(crate) fn list_len(&self, key: RouteKey) -> usize {
        if key.cluster != RouteKey::NONE {
            self.cluster_lists
                .get(key.cluster as usize)
                .map_or(0, Vec::len)
        } else if key.network != RouteKey::NONE {
            self.networks
                .get(key.network as usize)
                .map_or(0, |n| n.all.len())
        } else {
            0
        }
    }

    /// Per network slot: all its gateways.
    pub(crate) fn network_lists(&self) -> impl Iterator<Item = &[u32]> {
        self.networks.iter().map(|n| n.all.as_slice())
    }

    /// Per (network, cluster) slot: its gateways.
    pub(crate) fn cluster_lists(&self) -> &[Vec<u32>] {
        &self.cluster_lists
    }

    /// M7: where the candidates of an endpoint of `network` / `cluster` are.
    pub(crate) fn route_key(
        &self,
        network: Option<&NetworkId>,
        cluster: Option<&ClusterId>,
    ) -> RouteKey {
        let Some(n) = network.and_then(|n| self.by_network.get(n)) else {
            return RouteKey {
                network: RouteKey::NONE,
                cluster: RouteKey::NONE,
            };
        };
        let c = self.networks[*n as usize]
            .cluster_list(cluster)
            .unwrap_or(RouteKey::NONE);
        RouteKey {
            network: *n,
            cluster: c,
        }
    }
}

/// Rule G6 with Go's arithmetic: `lcm = x*y/gcd` over 64-bit ints (wrapping), then `uint32(...)`.
fn scale_factor(sizes: impl Iterator<Item = usize>) -> u32 {
    let mut lcm: i64 = 1;
    for n in sizes {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if n == 0 {
            continue;
        }
        lcm = lcm.wrapping_mul(n) / gcd(lcm, n);
    }
    // Go's uint32(int) keeps the low 32 bits.
    let s = lcm as u32;
    if s == 0 { 1 } else { s }
}

fn gcd(mut x: i64, mut y: i64) -> i64 {
    loop {
        let t = x.wrapping_rem(y);
        if t > 0 {
            x = y;
            y = t;
        } else {
            return if y == 0 { 1 } else { y };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(net: &str, cluster: Option<&str>, addr: &str, port: u32) -> Gateway {
        Gateway {
            network: net.parse().unwrap(),
            cluster: cluster.map(|c| c.parse().unwrap()),
            address: addr.into(),
            port,
            hbone_port: 0,
            service_account: String::new(),
        }
    }

    #[test]
    fn g6_scale_is_lcm_of_every_list_including_unusable_gateways() {
        // n1: 1 (c1: 1); n2: 3 (c2a: 1, c2b: 2); n3: 1 (""): lcm(1,3,1,2,1) = 6
        let index = GatewayIndex::new([
            gw("n1", Some("c1"), "1.1.1.1", 80),
            gw("n2", Some("c2a"), "2.2.2.2", 80),
            gw("n2", Some("c2b"), "2.2.2.20", 80),
            gw("n2", Some("c2b"), "2001:db8::1", 0),
            gw("n3", None, "3.3.3.3", 443),
        ]);
        assert_eq!(index.scale_factor(), 6);
        assert_eq!(GatewayIndex::new([]).scale_factor(), 1);
        assert!(!GatewayIndex::new([]).multi_network_enabled());
    }

    #[test]
    fn g4_duplicates_collapse_but_g3_cluster_makes_a_different_gateway() {
        let index = GatewayIndex::new([
            gw("n1", None, "1.1.1.1", 80),
            gw("n1", None, "1.1.1.1", 80),
            gw("n1", Some("c1"), "1.1.1.1", 80),
        ]);
        assert_eq!(index.gateways().len(), 2);
        // n1: 2, (n1, ""): 1, (n1, c1): 1
        assert_eq!(index.scale_factor(), 2);
    }

    #[test]
    fn g5_order_is_address_bytes_then_port() {
        let index = GatewayIndex::new([
            gw("n1", None, "9.0.0.1", 1),
            gw("n1", None, "2001:db8::1", 1),
            gw("n1", None, "192.0.2.1", 20),
            gw("n1", None, "192.0.2.1", 3),
            gw("n1", None, "10.0.0.9", 1),
        ]);
        let order: Vec<String> = index
            .gateways()
            .iter()
            .map(|g| format!("{}:{}", g.address, g.port))
            .collect();
        assert_eq!(
            order,
            [
                "10.0.0.9:1",
                "192.0.2.1:3",
                "192.0.2.1:20",
                "2001:db8::1:1",
                "9.0.0.1:1"
            ]
        );
    }

    #[test]
    fn scale_truncates_like_go() {
        // 2^32 wraps to 0 in uint32, which the filter reads as 1.
        assert_eq!(scale_factor([1usize << 16, 1 << 16].into_iter()), 1 << 16);
        assert_eq!(
            scale_factor([65536usize, 65537].into_iter()),
            (65536u64 * 65537) as u32
        );
        assert_eq!(scale_factor([1usize << 32].into_iter()), 1);
    }
}
