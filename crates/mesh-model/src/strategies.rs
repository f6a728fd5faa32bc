//! proptest strategies (feature `proptest`): valid identifiers and valid meshes of tunable size, for
//! our property tests and for users' tests.
//!
//! A generated mesh is consistent ([`MeshDocument::check`] finds nothing): cluster names are unique,
//! every reference resolves, pod and service CIDRs never overlap, every network has a gateway, every
//! API server is public and every endpoint address lies in its cluster's pod CIDR.
//!
//! ```
//! use mesh_model::strategies::{MeshSize, mesh_document};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//! let mut runner = TestRunner::deterministic();
//! let doc = mesh_document(MeshSize::default()).new_tree(&mut runner).unwrap().current();
//! assert!(doc.consistency_errors().is_empty());
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

use crate::document::{
    ApiServer, Cluster, Endpoint, Exposure, Link, MeshDocument, MeshSpec, Metadata, Service,
    ServicePort, TlsMode,
};
use crate::id::{
    ClusterId, Locality, Namespace, NetworkId, ServiceKey, ServiceName, SpiffeId, TrustDomain,
};
use crate::meshnetworks::{
    GatewayAddress, MeshNetworks, Network, NetworkEndpoints, NetworkGateway,
};

/// Valid cluster ids (Istio's registry-name rule).
pub fn cluster_id() -> impl Strategy<Value = ClusterId> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?"
        .prop_map(|s| ClusterId::new(s).expect("generated from the rule"))
}

/// Valid network ids (label values).
pub fn network_id() -> impl Strategy<Value = NetworkId> {
    "[a-zA-Z0-9]([a-zA-Z0-9._-]{0,20}[a-zA-Z0-9])?"
        .prop_map(|s| NetworkId::new(s).expect("generated from the rule"))
}

/// Valid namespaces (DNS-1123 labels).
pub fn namespace() -> impl Strategy<Value = Namespace> {
    "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
        .prop_map(|s| Namespace::new(s).expect("generated from the rule"))
}

/// Valid service names (DNS-1035 labels).
pub fn service_name() -> impl Strategy<Value = ServiceName> {
    "[a-z]([a-z0-9-]{0,20}[a-z0-9])?"
        .prop_map(|s| ServiceName::new(s).expect("generated from the rule"))
}

/// Valid service keys.
pub fn service_key() -> impl Strategy<Value = ServiceKey> {
    (service_name(), namespace()).prop_map(|(n, ns)| ServiceKey::new(n, ns))
}

/// Valid localities: up to three parts, any of them possibly empty.
pub fn locality() -> impl Strategy<Value = Locality> {
    prop::collection::vec("[a-z0-9-]{0,8}", 0..=3)
        .prop_map(|parts| Locality::new(parts.join("/")).expect("generated from the rule"))
}

/// Valid SPIFFE trust domains.
pub fn trust_domain() -> impl Strategy<Value = TrustDomain> {
    "[a-z0-9._-]{1,30}".prop_map(|s| TrustDomain::new(s).expect("generated from the rule"))
}

/// Valid Istio workload SPIFFE IDs (`spiffe://<td>/ns/<ns>/sa/<sa>`).
pub fn spiffe_id() -> impl Strategy<Value = SpiffeId> {
    (
        trust_domain(),
        namespace(),
        "[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?",
    )
        .prop_map(|(td, ns, sa)| {
            SpiffeId::for_workload(&td, &ns, &sa).expect("generated from the rule")
        })
}

/// How big a generated mesh is. Every range is inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshSize {
    /// Number of clusters (at most 250).
    pub clusters: RangeInclusive<usize>,
    /// Number of networks (at least 1; clusters are spread over them).
    pub networks: RangeInclusive<usize>,
    /// Number of services.
    pub services: RangeInclusive<usize>,
    /// Endpoints of each service (at most 65,536 a cluster in all).
    pub endpoints_per_service: RangeInclusive<usize>,
    /// Number of distinct localities.
    pub localities: RangeInclusive<usize>,
    /// Gateways of each network (at least 1).
    pub gateways_per_network: RangeInclusive<usize>,
}

impl Default for MeshSize {
    /// A small mesh: 1–4 clusters, 1–3 networks, 0–5 services of 0–6 endpoints.
    fn default() -> Self {
        Self {
            clusters: 1..=4,
            networks: 1..=3,
            services: 0..=5,
            endpoints_per_service: 0..=6,
            localities: 1..=3,
            gateways_per_network: 1..=2,
        }
    }
}

#[derive(Debug, Clone)]
struct ClusterChoice {
    network: usize,
    remote: bool,
    locality: Option<usize>,
    with_api_server: bool,
}

#[derive(Debug, Clone)]
struct GatewayChoice {
    hostname: bool,
    port: u32,
    ipv6: bool,
}

#[derive(Debug, Clone)]
struct EndpointChoice {
    cluster: usize,
    extra_address: bool,
    port: Option<u16>,
    explicit_network: bool,
    locality: Option<usize>,
    version: u8,
    tls_disabled: bool,
    service_account: bool,
    weight: Option<u32>,
    healthy: bool,
}

#[derive(Debug, Clone)]
struct ServiceChoice {
    namespace: usize,
    ports: Vec<(u16, Option<u16>, bool)>,
    defined_in_explicitly: bool,
    external_address: bool,
    endpoints: Vec<EndpointChoice>,
}

fn range(r: &RangeInclusive<usize>, lo: usize, hi: usize) -> RangeInclusive<usize> {
    (*r.start()).clamp(lo, hi)..=(*r.end()).clamp(lo, hi)
}

/// Valid, consistent meshes of the given size (see the module docs for what "valid" promises).
pub fn mesh_document(size: MeshSize) -> impl Strategy<Value = MeshDocument> {
    let sizes = (
        range(&size.clusters, 1, 250),
        range(&size.networks, 1, 250),
        range(&size.services, 0, 100_000),
        range(&size.localities, 1, 1000),
    );
    let eps = size.endpoints_per_service.clone();
    let gws = range(&size.gateways_per_network, 1, 200);
    sizes.prop_flat_map(move |(nc, nn, ns, nl)| {
        let nn = nn.min(nc);
        let clusters = prop::collection::vec(
            (0..nn, any::<bool>(), prop::option::of(0..nl), any::<bool>()).prop_map(
                |(network, remote, locality, with_api_server)| ClusterChoice {
                    network,
                    remote,
                    locality,
                    with_api_server,
                },
            ),
            nc,
        );
        let gateways = prop::collection::vec(
            prop::collection::vec(
                (
                    any::<bool>(),
                    prop_oneof![Just(15443u32), 1u32..=65535],
                    any::<bool>(),
                )
                    .prop_map(|(hostname, port, ipv6)| GatewayChoice {
                        hostname,
                        port,
                        ipv6,
                    }),
                gws.clone(),
            ),
            nn,
        );
        let endpoint = (
            0..nc,
            any::<bool>(),
            prop::option::of(1u16..=65535),
            any::<bool>(),
            prop::option::of(0..nl),
            0u8..3,
            any::<bool>(),
            any::<bool>(),
            prop::option::of(prop_oneof![1u32..=100, Just(u32::MAX)]),
            prop::bool::weighted(0.9),
        )
            .prop_map(
                |(
                    cluster,
                    extra_address,
                    port,
                    explicit_network,
                    locality,
                    version,
                    tls_disabled,
                    service_account,
                    weight,
                    healthy,
                )| EndpointChoice {
                    cluster,
                    extra_address,
                    port,
                    explicit_network,
                    locality,
                    version,
                    tls_disabled,
                    service_account,
                    weight,
                    healthy,
                },
            );
        let service = (
            0usize..3,
            prop::collection::vec(
                (1u16..=65535, prop::option::of(1u16..=65535), any::<bool>()),
                1..=2,
            ),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(endpoint, eps.clone()),
        )
            .prop_map(
                |(namespace, ports, defined_in_explicitly, external_address, endpoints)| {
                    ServiceChoice {
                        namespace,
                        ports,
                        defined_in_explicitly,
                        external_address,
                        endpoints,
                    }
                },
            );
        let services = prop::collection::vec(service, ns);
        let links = prop::collection::vec((0..nn, 0..nn), 0..=1usize.min(nn.saturating_sub(1)));
        (
            clusters,
            gateways,
            services,
            links,
            prop_oneof![Just("cluster.local".to_owned()), "[a-z]{1,8}\\.example"],
        )
            .prop_map(move |(clusters, gateways, services, links, td)| {
                build(nl, &clusters, &gateways, &services, &links, &td)
            })
    })
}

fn cluster_name(i: usize) -> ClusterId {
    ClusterId::new(format!("cluster-{i}")).expect("valid")
}

fn network_name(i: usize) -> NetworkId {
    NetworkId::new(format!("network-{i}")).expect("valid")
}

fn locality_name(i: usize) -> Locality {
    Locality::new(format!("region-{}/zone-{}", i / 3, i % 3)).expect("valid")
}

fn pod_cidr(i: usize) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::new(10, i as u8, 0, 0), 16).expect("valid"))
}

fn service_cidr(i: usize) -> IpNet {
    let a = Ipv4Addr::new(172, 16 + (i / 16) as u8, ((i % 16) * 16) as u8, 0);
    IpNet::V4(Ipv4Net::new(a, 20).expect("valid"))
}

fn build(
    nl: usize,
    clusters: &[ClusterChoice],
    gateways: &[Vec<GatewayChoice>],
    services: &[ServiceChoice],
    links: &[(usize, usize)],
    td: &str,
) -> MeshDocument {
    let nn = gateways.len();
    // Every network needs a cluster: cluster i < #networks is in network i, the rest as chosen.
    let network_of: Vec<usize> = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| if i < nn { i } else { c.network })
        .collect();
    let primary = 0usize;
    let cluster_specs: Vec<Cluster> = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| Cluster {
            name: cluster_name(i),
            network: Some(network_name(network_of[i])),
            control_plane: (c.remote && i != primary).then(|| cluster_name(primary)),
            api_server: (c.with_api_server || (c.remote && i != primary)).then(|| ApiServer {
                address: format!("203.0.113.{}:6443", i % 256),
                exposure: Exposure::Public,
                reachable_from: Vec::new(),
            }),
            pod_cidrs: vec![pod_cidr(i)],
            service_cidrs: vec![service_cidr(i)],
            locality: c.locality.map(locality_name),
            ca_certs: None,
            auto_passthrough: None,
            watches: Vec::new(),
            mesh_config: None,
            proxy_cluster_id: None,
        })
        .collect();

    let mut dns = BTreeMap::new();
    let mut networks = BTreeMap::new();
    for (n, gws) in gateways.iter().enumerate() {
        let registries = (0..clusters.len())
            .filter(|&i| network_of[i] == n)
            .map(|i| NetworkEndpoints::FromRegistry(cluster_name(i).to_string()))
            .collect();
        let gateways = gws
            .iter()
            .enumerate()
            .map(|(g, choice)| {
                let ip: IpAddr = if choice.ipv6 {
                    IpAddr::V6(Ipv6Addr::new(
                        0x2001,
                        0xdb8,
                        n as u16,
                        0,
                        0,
                        0,
                        0,
                        g as u16 + 1,
                    ))
                } else {
                    IpAddr::V4(Ipv4Addr::new(
                        100,
                        64 + (n / 256) as u8,
                        (n % 256) as u8,
                        g as u8 + 1,
                    ))
                };
                let address = if choice.hostname {
                    let host = format!("gw{g}.{}.example.com", network_name(n));
                    dns.insert(host.clone(), vec![ip]);
                    host
                } else {
                    ip.to_string()
                };
                NetworkGateway {
                    gw: Some(GatewayAddress::Address(address)),
                    port: choice.port,
                    locality: String::new(),
                }
            })
            .collect();
        networks.insert(
            network_name(n).to_string(),
            Network {
                endpoints: registries,
                gateways,
            },
        );
    }

    let mut next_host = vec![0u32; clusters.len()];
    let services = services
        .iter()
        .enumerate()
        .map(|(s, choice)| {
            let ports: Vec<ServicePort> = choice
                .ports
                .iter()
                .enumerate()
                .map(|(p, (port, target, named))| ServicePort {
                    name: if *named {
                        format!("port-{p}")
                    } else {
                        String::new()
                    },
                    port: port.wrapping_add(p as u16).max(1),
                    target_port: *target,
                    protocol: None,
                })
                .collect();
            let endpoints: Vec<Endpoint> = choice
                .endpoints
                .iter()
                .map(|e| {
                    let host = next_host[e.cluster];
                    next_host[e.cluster] = (host + 1) % 65_536;
                    let a = IpAddr::V4(Ipv4Addr::new(
                        10,
                        e.cluster as u8,
                        (host / 256) as u8,
                        (host % 256) as u8,
                    ));
                    let mut addresses = vec![a];
                    if e.extra_address {
                        addresses.push(IpAddr::V6(Ipv6Addr::new(
                            0xfd00,
                            e.cluster as u16,
                            0,
                            0,
                            0,
                            0,
                            0,
                            host as u16,
                        )));
                    }
                    Endpoint {
                        cluster: cluster_name(e.cluster),
                        addresses,
                        port: e.port,
                        network: e
                            .explicit_network
                            .then(|| network_name(network_of[e.cluster])),
                        locality: e.locality.filter(|l| *l < nl).map(locality_name),
                        labels: BTreeMap::from([
                            ("app".to_owned(), format!("svc-{s}")),
                            ("version".to_owned(), format!("v{}", e.version)),
                        ]),
                        tls_mode: if e.tls_disabled {
                            TlsMode::Disabled
                        } else {
                            TlsMode::Istio
                        },
                        service_account: e.service_account.then(|| format!("svc-{s}")),
                        workload: e.service_account.then(|| format!("svc-{s}-v{}", e.version)),
                        weight: e.weight,
                        healthy: e.healthy,
                    }
                })
                .collect();
            let mut defined_in: Vec<ClusterId> = if choice.defined_in_explicitly {
                endpoints.iter().map(|e| e.cluster.clone()).collect()
            } else {
                Vec::new()
            };
            defined_in.sort();
            defined_in.dedup();
            let external_addresses = if choice.external_address && !endpoints.is_empty() {
                BTreeMap::from([(
                    endpoints[0].cluster.clone(),
                    vec![format!("198.18.{}.{}", s / 256 % 256, s % 256)],
                )])
            } else {
                BTreeMap::new()
            };
            Service {
                name: ServiceName::new(format!("svc-{s}")).expect("valid"),
                namespace: Namespace::new(format!("ns-{}", choice.namespace)).expect("valid"),
                ports,
                defined_in,
                external_addresses,
                endpoints,
                traffic_distribution: None,
                service_exports: Vec::new(),
            }
        })
        .collect();

    let links = links
        .iter()
        .filter(|(a, b)| a != b)
        .map(|(a, b)| Link {
            networks: vec![network_name(*a), network_name(*b)],
        })
        .collect();

    MeshDocument {
        api_version: crate::document::API_VERSION.to_owned(),
        kind: crate::document::KIND.to_owned(),
        metadata: Metadata {
            name: "generated".to_owned(),
        },
        spec: MeshSpec {
            trust_domain: TrustDomain::new(td).expect("valid"),
            trust_domain_aliases: Vec::new(),
            domain_suffix: "cluster.local".to_owned(),
            clusters: cluster_specs,
            mesh_networks: MeshNetworks {
                networks,
                ..Default::default()
            },
            links,
            services,
            dns,
            global_vip_range: None,
            mcs: Default::default(),
            mesh_config: Default::default(),
            destination_rules: Vec::new(),
            peer_authentications: Vec::new(),
        },
    }
}
