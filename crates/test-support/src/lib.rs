//! Shared fixtures for meshspan's tests, benches and fuzz seeds: the example meshes and seeded,
//! deterministic generators of the benchmark workloads of `shared/bench/WORKLOADS.md`.
//!
//! Nothing here is copied elsewhere: tests and benches take their inputs from this crate.
//!
//! ```
//! use test_support::{Workload, workload};
//! let doc = workload(Workload::Small, 7);
//! assert_eq!(doc.spec.clusters.len(), 2);
//! assert_eq!(doc.spec.services.iter().map(|s| s.endpoints.len()).sum::<usize>(), 1_000);
//! assert_eq!(doc, workload(Workload::Small, 7)); // deterministic
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use mesh_model::{
    ApiServer, Cluster, ClusterId, Endpoint, Exposure, GatewayAddress, Locality, MeshDocument,
    MeshNetworks, MeshSpec, Metadata, Namespace, Network, NetworkEndpoints, NetworkGateway,
    NetworkId, Service, ServiceName, ServicePort, TlsMode, TrustDomain,
};

/// `examples/split-horizon.yaml`: one control plane, two networks joined by gateways.
pub const EXAMPLE_SPLIT_HORIZON: &str = include_str!("../../../examples/split-horizon.yaml");
/// `examples/replicated-control-planes.yaml`: a control plane per cluster, `.global` names.
pub const EXAMPLE_REPLICATED: &str =
    include_str!("../../../examples/replicated-control-planes.yaml");
/// `examples/vpn.yaml`: one control plane over a VPN.
pub const EXAMPLE_VPN: &str = include_str!("../../../examples/vpn.yaml");
/// `examples/mixed.yaml`: VPN, split horizon and a VM network in one mesh.
pub const EXAMPLE_MIXED: &str = include_str!("../../../examples/mixed.yaml");
/// `examples/failover.yaml`: locality failover across three clusters and two networks.
pub const EXAMPLE_FAILOVER: &str = include_str!("../../../examples/failover.yaml");

/// Every valid example, with its file name.
pub const VALID_EXAMPLES: [(&str, &str); 5] = [
    ("split-horizon.yaml", EXAMPLE_SPLIT_HORIZON),
    ("replicated-control-planes.yaml", EXAMPLE_REPLICATED),
    ("vpn.yaml", EXAMPLE_VPN),
    ("mixed.yaml", EXAMPLE_MIXED),
    ("failover.yaml", EXAMPLE_FAILOVER),
];

/// A deterministic pseudo-random sequence (SplitMix64). Written here rather than taken from a crate
/// so that workloads stay byte-identical across dependency upgrades: the numbers in
/// `BENCHMARKS.md` must be reproducible from the seed alone.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A sequence from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift: unbiased enough for workload shapes.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// The benchmark workloads of `shared/bench/WORKLOADS.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Workload {
    /// 2 clusters / 2 networks, 1 gateway each, 100 services, 1,000 endpoints, 50 % of services in
    /// both clusters, 1 region × 3 zones.
    Small,
    /// 10 clusters / 10 networks, 2 gateways each, 3,000 services (300 a cluster), 40,000
    /// endpoints (4,000 a cluster) plus a hot service of 5,000 across all clusters; 30 % of
    /// services in 3 clusters; 3 × 3 localities.
    Large,
    /// As `Large`, but 5 networks of 2 clusters each.
    LargeFiveNetworks,
    /// 250 clusters / 50 networks (5 a network), 3 gateways each, 20,000 services, 1,000,000
    /// endpoints with Zipf-like service sizes (largest 50,000), 10 % of services in 5–10 clusters,
    /// 10 × 3 localities.
    Huge,
    /// As `Huge` scaled tenfold in endpoints and fivefold in services: 250 clusters / 50
    /// networks, 100,000 services, 10,000,000 endpoints (Zipf-like, largest 250,000); the memory
    /// bench's `MESHSPAN_BENCH_XL` run.
    Xl,
}

struct Shape {
    clusters: usize,
    networks: usize,
    gateways: usize,
    services: usize,
    regions: usize,
    zones: usize,
}

impl Workload {
    fn shape(self) -> Shape {
        match self {
            Self::Small => Shape {
                clusters: 2,
                networks: 2,
                gateways: 1,
                services: 100,
                regions: 1,
                zones: 3,
            },
            Self::Large => Shape {
                clusters: 10,
                networks: 10,
                gateways: 2,
                services: 3_000,
                regions: 3,
                zones: 3,
            },
            Self::LargeFiveNetworks => Shape {
                clusters: 10,
                networks: 5,
                gateways: 2,
                services: 3_000,
                regions: 3,
                zones: 3,
            },
            Self::Xl => Shape {
                clusters: 250,
                networks: 50,
                gateways: 3,
                services: 100_000,
                regions: 10,
                zones: 3,
            },
            Self::Huge => Shape {
                clusters: 250,
                networks: 50,
                gateways: 3,
                services: 20_000,
                regions: 10,
                zones: 3,
            },
        }
    }

    /// The number of client views (networks) the workload asks for.
    pub fn views(self) -> usize {
        self.shape().networks
    }
}

fn cluster_id(i: usize) -> ClusterId {
    ClusterId::new(format!("cluster-{i}")).expect("valid by construction")
}

fn network_id(i: usize) -> NetworkId {
    NetworkId::new(format!("network-{i}")).expect("valid by construction")
}

/// Four /16 blocks a cluster (`10.i`, `11.i`, `12.i`, `13.i`): room for 262,144 pods.
fn pod_cidrs(i: usize) -> Vec<IpNet> {
    (10u8..14)
        .map(|a| IpNet::new(IpAddr::V4(Ipv4Addr::new(a, i as u8, 0, 0)), 16).expect("valid"))
        .collect()
}

fn pod_ip(cluster: usize, host: u32) -> IpAddr {
    let block = 10 + (host >> 16) as u8;
    IpAddr::V4(Ipv4Addr::new(
        block,
        cluster as u8,
        (host >> 8) as u8,
        host as u8,
    ))
}

/// The mesh of a workload, generated from `seed`: the same seed always gives the same document.
pub fn workload(kind: Workload, seed: u64) -> MeshDocument {
    let shape = kind.shape();
    let mut rng = SplitMix64::new(seed);
    let per_network = shape.clusters / shape.networks;
    let network_of = |c: usize| c / per_network;
    let localities: Vec<Locality> = (0..shape.regions)
        .flat_map(|r| (0..shape.zones).map(move |z| (r, z)))
        .map(|(r, z)| Locality::new(format!("region-{r}/zone-{r}-{z}")).expect("valid"))
        .collect();

    let clusters: Vec<Cluster> = (0..shape.clusters)
        .map(|i| Cluster {
            name: cluster_id(i),
            network: Some(network_id(network_of(i))),
            control_plane: (i != 0).then(|| cluster_id(0)),
            api_server: Some(ApiServer {
                address: format!("api.cluster-{i}.example.com:6443"),
                exposure: Exposure::Public,
                reachable_from: Vec::new(),
            }),
            pod_cidrs: pod_cidrs(i),
            service_cidrs: vec![
                IpNet::new(
                    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x5e, i as u16, 0, 0, 0, 0, 0)),
                    112,
                )
                .expect("valid"),
            ],
            locality: Some(localities[i % localities.len()].clone()),
            ca_certs: None,
            auto_passthrough: None,
            watches: Vec::new(),
            mesh_config: None,
            proxy_cluster_id: None,
        })
        .collect();

    let networks = (0..shape.networks)
        .map(|n| {
            let endpoints = (0..shape.clusters)
                .filter(|&c| network_of(c) == n)
                .map(|c| NetworkEndpoints::FromRegistry(cluster_id(c).to_string()))
                .collect();
            let gateways = (0..shape.gateways)
                .map(|g| NetworkGateway {
                    gw: Some(GatewayAddress::Address(
                        Ipv4Addr::new(100, 64 + g as u8, n as u8, 1).to_string(),
                    )),
                    port: 15443,
                    locality: String::new(),
                })
                .collect();
            (
                network_id(n).to_string(),
                Network {
                    endpoints,
                    gateways,
                },
            )
        })
        .collect();

    // Service sizes and placement.
    let sizes: Vec<usize> = match kind {
        Workload::Small => vec![10; shape.services],
        Workload::Large | Workload::LargeFiveNetworks => {
            let (each, rest) = (40_000 / shape.services, 40_000 % shape.services);
            let mut v: Vec<usize> = (0..shape.services)
                .map(|s| each + usize::from(s < rest))
                .collect();
            v.push(5_000); // the hot service
            v
        }
        Workload::Huge => zipf_sizes(shape.services, 1_000_000, 50_000),
        Workload::Xl => zipf_sizes(shape.services, 10_000_000, 250_000),
    };
    let mut next_host = vec![0u32; shape.clusters];
    let mut services = Vec::with_capacity(sizes.len());
    for (s, &size) in sizes.iter().enumerate() {
        let home = s % shape.clusters;
        let placed: Vec<usize> = match kind {
            Workload::Small if rng.chance(0.5) => vec![0, 1],
            Workload::Small => vec![home],
            Workload::Large | Workload::LargeFiveNetworks if s == shape.services => {
                (0..shape.clusters).collect()
            }
            Workload::Large | Workload::LargeFiveNetworks if rng.chance(0.3) => {
                (0..3).map(|k| (home + k) % shape.clusters).collect()
            }
            Workload::Huge | Workload::Xl if rng.chance(0.1) => {
                let k = 5 + rng.below(6) as usize;
                (0..k)
                    .map(|j| (home + j * 37) % shape.clusters)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect()
            }
            _ => vec![home],
        };
        let endpoints = (0..size)
            .map(|k| {
                let c = placed[k % placed.len()];
                let host = next_host[c];
                next_host[c] += 1;
                let zone = rng.below(shape.zones as u64) as usize;
                let region = (c % localities.len()) / shape.zones;
                Endpoint {
                    cluster: cluster_id(c),
                    addresses: vec![pod_ip(c, host)],
                    port: None,
                    network: None,
                    locality: Some(localities[region * shape.zones + zone].clone()),
                    labels: BTreeMap::from([
                        ("app".to_owned(), format!("svc-{s}")),
                        ("version".to_owned(), format!("v{}", rng.below(3) + 1)),
                    ]),
                    tls_mode: if rng.chance(0.02) {
                        TlsMode::Disabled
                    } else {
                        TlsMode::Istio
                    },
                    service_account: Some(format!("svc-{s}")),
                    workload: None,
                    weight: None,
                    healthy: true,
                }
            })
            .collect();
        services.push(Service {
            name: ServiceName::new(format!("svc-{s}")).expect("valid"),
            namespace: Namespace::new(format!("ns-{}", s % 50)).expect("valid"),
            ports: vec![ServicePort {
                name: "http".to_owned(),
                port: 8080,
                target_port: None,
                protocol: Some("HTTP".to_owned()),
            }],
            defined_in: Vec::new(),
            external_addresses: BTreeMap::new(),
            endpoints,
            traffic_distribution: None,
            service_exports: Vec::new(),
        });
    }

    MeshDocument {
        api_version: mesh_model::API_VERSION.to_owned(),
        kind: mesh_model::KIND.to_owned(),
        metadata: Metadata {
            name: format!("{kind:?}-{seed}").to_lowercase(),
        },
        spec: MeshSpec {
            trust_domain: TrustDomain::new("cluster.local").expect("valid"),
            trust_domain_aliases: Vec::new(),
            domain_suffix: "cluster.local".to_owned(),
            clusters,
            mesh_networks: MeshNetworks {
                networks,
                ..Default::default()
            },
            links: Vec::new(),
            services,
            dns: BTreeMap::new(),
            global_vip_range: None,
            mcs: Default::default(),
            mesh_config: Default::default(),
            destination_rules: Vec::new(),
            peer_authentications: Vec::new(),
        },
    }
}

/// `n` service sizes summing to exactly `total`, Zipf-like (size ∝ 1/rank), the largest `largest`.
fn zipf_sizes(n: usize, total: usize, largest: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (1..=n).map(|rank| (largest / rank).max(1)).collect();
    let sum: usize = sizes.iter().sum();
    // Spread what is missing evenly over the tail (never above the head), so the sum is exact.
    let mut missing = total.saturating_sub(sum);
    let mut i = n - 1;
    while missing > 0 {
        let room = sizes[0].saturating_sub(sizes[i]).min(missing).min(60);
        sizes[i] += room.max(1);
        missing -= room.max(1);
        i = if i == 1 { n - 1 } else { i - 1 };
    }
    sizes
}

/// `n` random IPv4 and IPv6 prefixes (about half each), seeded: the CIDR sets of the topology
/// benchmarks and property tests.
pub fn random_prefixes(seed: u64, n: usize) -> Vec<IpNet> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let bits = rng.next_u64();
            if bits & 1 == 0 {
                let len = 8 + rng.below(25) as u8;
                IpNet::new(IpAddr::V4(Ipv4Addr::from((bits >> 32) as u32)), len)
                    .expect("valid length")
                    .trunc()
            } else {
                let len = 16 + rng.below(113) as u8;
                let addr = (u128::from(bits) << 64) | u128::from(rng.next_u64());
                IpNet::new(IpAddr::V6(Ipv6Addr::from(addr)), len)
                    .expect("valid length")
                    .trunc()
            }
        })
        .collect()
}

/// What must never reach an output of an import: `LEAKCANARY` (which
/// `crates/mesh-kube/tests/data/generate.py` puts in every Secret) and every base64 value longer
/// than 40 characters of `dumps` (JSON `"key": "value"` and YAML `key: value`), as the Secrets'
/// `data` holds them.
///
/// ```
/// let c = test_support::secret_canaries(&[r#"{"token": "TEVBS0NBTkFSWS10b2tlbi1vZi1jbHVzdGVyMS1zZWNyZXQ="}"#]);
/// assert_eq!(c, ["LEAKCANARY", "TEVBS0NBTkFSWS10b2tlbi1vZi1jbHVzdGVyMS1zZWNyZXQ="]);
/// ```
pub fn secret_canaries(dumps: &[&str]) -> Vec<String> {
    let mut out = vec!["LEAKCANARY".to_owned()];
    for d in dumps {
        for token in d.split(|c: char| c == '"' || c.is_whitespace()) {
            if token.len() > 40
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
            {
                out.push(token.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(doc: &MeshDocument) -> usize {
        doc.spec.services.iter().map(|s| s.endpoints.len()).sum()
    }

    #[test]
    fn workloads_have_the_documented_shape() {
        let small = workload(Workload::Small, 1);
        assert_eq!(small.spec.clusters.len(), 2);
        assert_eq!(small.spec.services.len(), 100);
        assert_eq!(endpoints(&small), 1_000);
        assert!(
            small.consistency_errors().is_empty(),
            "{:?}",
            small.consistency_errors()
        );

        let large = workload(Workload::Large, 1);
        assert_eq!(large.spec.clusters.len(), 10);
        assert_eq!(large.spec.mesh_networks.networks.len(), 10);
        assert_eq!(endpoints(&large), 45_000);
        assert!(large.consistency_errors().is_empty());
        let five = workload(Workload::LargeFiveNetworks, 1);
        assert_eq!(five.spec.mesh_networks.networks.len(), 5);
    }

    #[test]
    fn huge_workload_shape() {
        let huge = workload(Workload::Huge, 1);
        assert_eq!(huge.spec.clusters.len(), 250);
        assert_eq!(huge.spec.mesh_networks.networks.len(), 50);
        assert_eq!(huge.spec.services.len(), 20_000);
        assert_eq!(endpoints(&huge), 1_000_000);
        let multi = huge
            .spec
            .services
            .iter()
            .filter(|s| s.clusters().len() >= 5)
            .count();
        assert!(
            (1_500..2_500).contains(&multi),
            "{multi} services in 5-10 clusters"
        );
    }

    #[test]
    fn zipf_sums_exactly() {
        let s = zipf_sizes(20_000, 1_000_000, 50_000);
        assert_eq!(s.iter().sum::<usize>(), 1_000_000);
        assert_eq!(s[0], 50_000);
        assert!(s.iter().all(|x| (1..=50_000).contains(x)));
    }

    #[test]
    fn generators_are_deterministic() {
        assert_eq!(workload(Workload::Small, 3), workload(Workload::Small, 3));
        assert_ne!(workload(Workload::Small, 3), workload(Workload::Small, 4));
        assert_eq!(random_prefixes(9, 100), random_prefixes(9, 100));
    }

    #[test]
    fn examples_parse() {
        for (name, text) in VALID_EXAMPLES {
            let doc = MeshDocument::from_yaml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(doc.consistency_errors().is_empty(), "{name}");
        }
    }
}
