//! An Istio-shaped EDS implementation, the baseline the engine's benches are compared against in
//! the same run.
//!
//! It follows the shape of Istio's `EndpointBuilder.BuildClusterLoadAssignment` +
//! `EndpointsByNetworkFilter` (`pilot/pkg/xds/endpoints/endpoint_builder.go`, `ep_filters.go`) for
//! one proxy and one cluster ([`build`], [`push`]), and Istio's EDS cache over it ([`XdsCache`],
//! [`cached_push`]): proxies whose endpoint-builder key is equal share one computation, as they
//! do in istiod. The uncached form is kept as a labelled row only.
//!
//! What one computation does:
//!
//! 1. a pass over every endpoint of the service (shards in cluster order), dropping unhealthy
//!    ones, grouping by locality label in a hash map, and building for each one an `LbEndpoint`
//!    message (`buildEnvoyLbEndpoint`: an owned address, the `istio.workload` string joined from
//!    the workload name, namespace, canonical name and revision and cluster, and a
//!    `tlsMode=istio` transport-socket-match struct: an allocation or more per endpoint);
//! 2. the network filter: endpoints on the proxy's network are kept, with their weight scaled by
//!    the gateway LCM (a clone when it changes); a remote endpoint with mTLS and gateways on its
//!    network (cluster-specific first) adds `weight / gateways` to each gateway's sum in a hash map;
//!    then one gateway `LbEndpoint` per (locality, gateway), sorted, and the locality weight is
//!    the sum of its endpoints' weights;
//! 3. the message tree is serialized (`proto.Marshal`: here prost's `encode_to_vec`).
//!
//! The message types are the engine's `wire` prost messages, which carry Envoy's field numbers.
//! The output is not asserted equal to the engine's (Istio's own quirks, e.g. weight truncation
//! when splitting among gateways, are kept); the benches check that it emits the same number of
//! endpoints, so the work is comparable.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mesh_eds::wire::{
    Address, AddressKind, ClusterLoadAssignment, Endpoint, LbEndpoint, Locality,
    LocalityLbEndpoints, Metadata, PortSpecifier, SocketAddress, Struct, UInt32Value, Value,
    ValueKind,
};
use mesh_eds::{EdsEndpoint, Health};
use mesh_model::{ClusterId, Gateway, NetworkId, TlsMode};
use prost::Message as _;

/// Istio's `NetworkGateways`: gateways by network and by (network, cluster), and the LCM
/// weight scale factor, computed once per gateway change (as Istio does).
#[derive(Debug, Default)]
pub struct IstioGateways {
    by_network: HashMap<NetworkId, Vec<Gateway>>,
    by_cluster: HashMap<(NetworkId, ClusterId), Vec<Gateway>>,
    scale: u32,
}

impl IstioGateways {
    /// Indexes a resolved gateway set (gateways without an mTLS port are not usable).
    pub fn new(gateways: &[Gateway]) -> Self {
        let mut g = Self::default();
        for gw in gateways.iter().filter(|g| g.port != 0) {
            g.by_network
                .entry(gw.network.clone())
                .or_default()
                .push(gw.clone());
            if let Some(c) = &gw.cluster {
                g.by_cluster
                    .entry((gw.network.clone(), c.clone()))
                    .or_default()
                    .push(gw.clone());
            }
        }
        for list in g.by_network.values_mut().chain(g.by_cluster.values_mut()) {
            list.sort_by(|a, b| (&a.address, a.port).cmp(&(&b.address, b.port)));
        }
        g.scale = g
            .by_network
            .values()
            .chain(g.by_cluster.values())
            .fold(1, |acc, l| lcm(acc, l.len() as u32));
        g
    }

    /// `selectNetworkGateways`: the cluster's gateways on the network, else the network's.
    fn select(&self, network: &NetworkId, cluster: Option<&ClusterId>) -> &[Gateway] {
        if let Some(c) = cluster
            && let Some(l) = self.by_cluster.get(&(network.clone(), c.clone()))
        {
            return l;
        }
        self.by_network.get(network).map_or(&[], Vec::as_slice)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn lcm(a: u32, b: u32) -> u32 {
    if a == 0 || b == 0 {
        a.max(b)
    } else {
        a / gcd(a, b) * b
    }
}

/// One locality's endpoints with the Istio endpoint each message came from (Istio's
/// `LocalityEndpoints`).
struct LocalityEndpoints<'a> {
    label: &'a str,
    istio: Vec<&'a EdsEndpoint>,
    messages: Vec<LbEndpoint>,
}

fn string_value(s: String) -> Value {
    Value {
        kind: Some(ValueKind::StringValue(s)),
    }
}

/// `util.BuildLbEndpointMetadata`.
fn metadata(workload: String, tls: bool) -> Metadata {
    let mut filter_metadata = BTreeMap::new();
    let mut istio = BTreeMap::new();
    istio.insert("workload".to_owned(), string_value(workload));
    filter_metadata.insert("istio".to_owned(), Struct { fields: istio });
    if tls {
        let mut t = BTreeMap::new();
        t.insert("tlsMode".to_owned(), string_value("istio".to_owned()));
        filter_metadata.insert(
            "envoy.transport_socket_match".to_owned(),
            Struct { fields: t },
        );
    }
    Metadata { filter_metadata }
}

fn label<'a>(e: &'a EdsEndpoint, keys: &[&str], default: &'a str) -> &'a str {
    keys.iter()
        .find_map(|k| e.labels.get(*k))
        .map_or(default, String::as_str)
}

/// `buildEnvoyLbEndpoint`.
fn lb_endpoint(e: &EdsEndpoint, mtls_allowed: bool) -> LbEndpoint {
    let name = label(
        e,
        &["service.istio.io/canonical-name", "app"],
        &e.workload_name,
    );
    let revision = label(
        e,
        &["service.istio.io/canonical-revision", "version"],
        "latest",
    );
    let revision = if revision == "latest" { "" } else { revision };
    let cluster = e.cluster.as_ref().map_or("", ClusterId::as_str);
    let workload = [
        e.workload_name.as_str(),
        e.namespace.as_str(),
        name,
        revision,
        cluster,
    ]
    .join(";");
    LbEndpoint {
        endpoint: Some(Endpoint {
            address: Some(Address {
                address: Some(AddressKind::SocketAddress(SocketAddress {
                    protocol: 0,
                    address: e.address().to_owned(),
                    port_specifier: Some(PortSpecifier::PortValue(e.port)),
                })),
            }),
        }),
        metadata: Some(metadata(
            workload,
            mtls_allowed && e.tls_mode == TlsMode::Istio,
        )),
        load_balancing_weight: Some(UInt32Value { value: e.weight() }),
    }
}

/// `util.ConvertLocality`.
fn locality(label: &str) -> Locality {
    let mut parts = label.splitn(3, '/');
    Locality {
        region: parts.next().unwrap_or("").to_owned(),
        zone: parts.next().unwrap_or("").to_owned(),
        sub_zone: parts.next().unwrap_or("").to_owned(),
    }
}

/// The `ClusterLoadAssignment` message one proxy on `network` gets for one service, built the
/// way Istio builds it (module docs).
pub fn build(
    gateways: &IstioGateways,
    network: &NetworkId,
    cluster_name: &str,
    endpoints: &[EdsEndpoint],
    mtls_allowed: bool,
) -> ClusterLoadAssignment {
    // BuildClusterLoadAssignment: one pass, one message per endpoint, grouped by locality.
    let mut by_locality: HashMap<&str, LocalityEndpoints<'_>> = HashMap::new();
    for e in endpoints {
        if e.health != Health::Healthy {
            continue;
        }
        let group = by_locality
            .entry(e.locality.as_str())
            .or_insert_with(|| LocalityEndpoints {
                label: e.locality.as_str(),
                istio: Vec::new(),
                messages: Vec::new(),
            });
        group.istio.push(e);
        group.messages.push(lb_endpoint(e, mtls_allowed));
    }
    let mut groups: Vec<LocalityEndpoints<'_>> = by_locality.into_values().collect();
    groups.sort_by(|a, b| a.label.cmp(b.label));

    // EndpointsByNetworkFilter.
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let mut lb_endpoints = Vec::new();
        let mut gateway_weights: HashMap<&Gateway, u32> = HashMap::new();
        for (e, message) in group.istio.iter().zip(group.messages) {
            let weight = e.weight().wrapping_mul(gateways.scale);
            let ep_network = e.network.as_ref();
            if ep_network.is_none_or(|n| n == network) {
                let mut message = message;
                if message.load_balancing_weight.map(|w| w.value) != Some(weight) {
                    message = message.clone();
                    message.load_balancing_weight = Some(UInt32Value { value: weight });
                }
                lb_endpoints.push(message);
                continue;
            }
            let Some(ep_network) = ep_network else {
                continue;
            };
            let gws = gateways.select(ep_network, e.cluster.as_ref());
            if gws.is_empty() || !(mtls_allowed && e.tls_mode == TlsMode::Istio) {
                continue;
            }
            let per_gateway = weight / gws.len() as u32;
            for gw in gws {
                *gateway_weights.entry(gw).or_default() += per_gateway;
            }
        }
        let mut gws: Vec<(&Gateway, u32)> = gateway_weights.into_iter().collect();
        gws.sort_by(|a, b| (&a.0.address, a.0.port).cmp(&(&b.0.address, b.0.port)));
        for (gw, weight) in gws {
            let cluster = gw.cluster.as_ref().map_or("", ClusterId::as_str);
            lb_endpoints.push(LbEndpoint {
                endpoint: Some(Endpoint {
                    address: Some(Address {
                        address: Some(AddressKind::SocketAddress(SocketAddress {
                            protocol: 0,
                            address: gw.address.clone(),
                            port_specifier: Some(PortSpecifier::PortValue(gw.port)),
                        })),
                    }),
                }),
                metadata: Some(metadata(format!(";;;;{cluster}"), true)),
                load_balancing_weight: Some(UInt32Value {
                    value: weight.max(1),
                }),
            });
        }
        // refreshWeight.
        let total = lb_endpoints
            .iter()
            .map(|e| e.load_balancing_weight.map_or(0, |w| w.value))
            .fold(0u32, u32::wrapping_add);
        out.push(LocalityLbEndpoints {
            locality: Some(locality(group.label)),
            load_balancing_weight: (total != 0).then_some(UInt32Value { value: total }),
            lb_endpoints,
            priority: 0,
        });
    }
    ClusterLoadAssignment {
        cluster_name: cluster_name.to_owned(),
        endpoints: out,
    }
}

/// [`build`] and serialize, as a push does; returns the bytes.
pub fn push(
    gateways: &IstioGateways,
    network: &NetworkId,
    cluster_name: &str,
    endpoints: &[EdsEndpoint],
    mtls_allowed: bool,
) -> Vec<u8> {
    build(gateways, network, cluster_name, endpoints, mtls_allowed).encode_to_vec()
}

/// The fields of Istio's `EndpointBuilder.WriteHash` (`pilot/pkg/xds/endpoints/endpoint_builder.go`)
/// that a bench proxy sets: the cluster name, the proxy's network and cluster ID, its node type,
/// cluster-local, proxyless gRPC, HBONE, locality, failover labels, the authn policies' version,
/// the DestinationRule and the service's hostname, each followed by Istio's separator. istiod
/// hashes them to a `uint64` (`hash.New()`, xxHash64) and keys its typed XDS cache by that.
pub struct EndpointBuilderKey<'a> {
    /// The Envoy cluster name (`outbound|port|subset|host`).
    pub cluster_name: &'a str,
    /// The proxy's network.
    pub network: &'a NetworkId,
    /// The proxy's cluster ID.
    pub cluster_id: &'a str,
    /// The proxy's locality (`region/zone/subzone`).
    pub locality: &'a str,
    /// The service's hostname.
    pub hostname: &'a str,
}

impl EndpointBuilderKey<'_> {
    /// `EndpointBuilder.Key()`: the hash istiod's cache is keyed by.
    pub fn hash(&self) -> u64 {
        // Istio's separator bytes and field order; values a bench proxy does not set are written
        // as istiod writes their zero values.
        const SEPARATOR: &[u8] = b"~";
        let mut h = xxhash_rust::xxh64::Xxh64::new(0);
        for field in [
            self.cluster_name,
            self.network.as_str(),
            self.cluster_id,
            "sidecar",
            "false",
            "false",
            "false",
            self.locality,
            "",
        ] {
            h.update(field.as_bytes());
            h.update(SEPARATOR);
        }
        h.update(SEPARATOR);
        h.update(self.hostname.as_bytes());
        h.digest()
    }
}

/// Istio's typed XDS cache for EDS (`pilot/pkg/model/typed_xds_cache.go`), reduced to what a
/// push reads: a computed, serialized `ClusterLoadAssignment` per endpoint-builder key, shared by
/// every proxy with that key. A push after a change starts from an empty cache for the changed
/// services (istiod clears their entries), so each bench push builds a new one.
#[derive(Debug, Default)]
pub struct XdsCache {
    entries: HashMap<u64, Arc<[u8]>>,
}

impl XdsCache {
    /// The entry for `key`, computed with `build` on a miss.
    pub fn get_or_build(&mut self, key: u64, build: impl FnOnce() -> Vec<u8>) -> Arc<[u8]> {
        self.entries
            .entry(key)
            .or_insert_with(|| Arc::from(build()))
            .clone()
    }

    /// How many distinct keys were computed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was computed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One proxy of a cached push: its network, cluster ID and locality (the key's proxy fields).
#[derive(Debug, Clone)]
pub struct Proxy {
    /// The proxy's network.
    pub network: NetworkId,
    /// The proxy's cluster ID.
    pub cluster_id: String,
    /// The proxy's locality.
    pub locality: String,
}

/// One service cluster of a cached push: its name, hostname and endpoints.
pub struct CachedService<'a> {
    /// The Envoy cluster name.
    pub cluster_name: &'a str,
    /// The service's hostname.
    pub hostname: &'a str,
    /// Its endpoints, shards in cluster order.
    pub endpoints: &'a [EdsEndpoint],
}

/// A push to every proxy of `proxies` through `cache`, as istiod pushes: per proxy and service,
/// the endpoint-builder key, then the cached resource or, on a miss, [`push`]. Returns the bytes
/// handed out (every proxy's, as istiod sends each its copy).
pub fn cached_push(
    cache: &mut XdsCache,
    gateways: &IstioGateways,
    proxies: &[Proxy],
    services: &[CachedService<'_>],
) -> usize {
    let mut total = 0;
    for proxy in proxies {
        for s in services {
            let key = EndpointBuilderKey {
                cluster_name: s.cluster_name,
                network: &proxy.network,
                cluster_id: &proxy.cluster_id,
                locality: &proxy.locality,
                hostname: s.hostname,
            }
            .hash();
            let resource = cache.get_or_build(key, || {
                push(gateways, &proxy.network, s.cluster_name, s.endpoints, true)
            });
            total += resource.len();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(network: &str, cluster: &str) -> Proxy {
        Proxy {
            network: NetworkId::new(network).expect("valid network"),
            cluster_id: cluster.to_owned(),
            locality: String::new(),
        }
    }

    #[test]
    fn proxies_with_equal_keys_share_one_computation() {
        let gateways = IstioGateways::new(&[]);
        let services = [
            CachedService {
                cluster_name: "outbound|80||a.ns.svc.cluster.local",
                hostname: "a.ns.svc.cluster.local",
                endpoints: &[],
            },
            CachedService {
                cluster_name: "outbound|80||b.ns.svc.cluster.local",
                hostname: "b.ns.svc.cluster.local",
                endpoints: &[],
            },
        ];
        let mut proxies = vec![proxy("n1", "c1"); 50];
        proxies.extend(vec![proxy("n2", "c2"); 50]);
        let mut computed = 0;
        let mut cache = XdsCache::default();
        for p in &proxies {
            for s in &services {
                let key = EndpointBuilderKey {
                    cluster_name: s.cluster_name,
                    network: &p.network,
                    cluster_id: &p.cluster_id,
                    locality: &p.locality,
                    hostname: s.hostname,
                }
                .hash();
                cache.get_or_build(key, || {
                    computed += 1;
                    push(&gateways, &p.network, s.cluster_name, s.endpoints, true)
                });
            }
        }
        // Two keys a service (one per network and cluster), whatever the number of proxies.
        assert_eq!(computed, 4);
        assert_eq!(cache.len(), 4);
        // A proxy in another cluster of the same network has a key of its own, as in istiod.
        let mut again = XdsCache::default();
        let total = cached_push(
            &mut again,
            &gateways,
            &[proxy("n1", "c1"), proxy("n1", "c3")],
            &services,
        );
        assert_eq!(again.len(), 4);
        assert!(total > 0);
    }
}
