//! A mesh document as engine input: each service port's endpoints (networks from rules N1–N3),
//! the gateway set (G1–G4) and the MeshNetworks view of the legacy profiles.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use mesh_model::{
    ClusterId, GatewayResolution, MeshDocument, MeshNetworks, MeshNetworksErrors, MeshSpec,
    NetworkId, NetworkResolver, Service, ServiceKey, ServicePort,
};

use crate::index::GatewayIndex;
use crate::input::{
    ClusterKind, ClusterRequest, EdsEndpoint, Features, Health, IpFamily, Profile, ProxyClass,
    ServiceRequest,
};
use crate::legacy::LegacyNetworks;
use crate::scope::{Exclusion, Provider, ScopeInput, ScopeProxy, ServiceScope, ShardKey};

/// The label that marks a workload reachable through an HBONE tunnel.
const TUNNEL_LABEL: &str = "networking.istio.io/tunnel";

/// One service port and its endpoints, in Istio's order (shards by cluster id, then registry order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePortEndpoints {
    /// The service.
    pub service: ServiceKey,
    /// The port.
    pub port: ServicePort,
    /// Its outbound cluster (`outbound|<port>||<name>.<namespace>.svc.<domain suffix>`).
    pub cluster: ClusterRequest,
    /// Its endpoints.
    pub endpoints: Vec<EdsEndpoint>,
}

/// Everything the engine needs from a mesh document.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{DocumentEds, Features, Profile, View};
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: demo}
/// spec:
///   clusters: [{name: c1, network: n1}, {name: c2, network: n2}]
///   meshNetworks:
///     networks:
///       n2: {gateways: [{address: 192.0.2.2, port: 15443}]}
///   services:
///   - name: foo
///     namespace: ns1
///     ports: [{name: http, port: 80}]
///     endpoints: [{cluster: c1, address: 10.0.0.1}, {cluster: c2, address: 10.1.0.1}]
/// "#)?;
/// let eds = DocumentEds::new(&doc, Features::default());
/// let index = Arc::new(eds.index());
/// let class = eds.class_for_cluster(&"c1".parse()?, Profile::IstioModern);
/// let view = View::new(&index, class);
/// let foo = &eds.services[0];
/// let cla = view.assignment(&eds.request(foo))?;
/// assert_eq!(cla.cluster_name, "outbound|80||foo.ns1.svc.cluster.local");
/// assert_eq!(cla.localities[0].endpoints.len(), 2); // 10.0.0.1 and the n2 gateway
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DocumentEds {
    /// The resolved gateway set, and the gateway candidates that did not resolve.
    pub gateways: GatewayResolution,
    /// MeshNetworks as the legacy profiles read it.
    pub legacy: LegacyNetworks,
    /// Every service port of the document, in document order.
    pub services: Vec<ServicePortEndpoints>,
    /// The features the inputs were built with.
    pub features: Features,
    /// Why the document's MeshNetworks was rejected (rule P2: an invalid document is ignored as a
    /// whole by current Istio, so neither its gateways nor its `fromRegistry`/`fromCidr` networks
    /// apply); `None` when it was accepted.
    pub mesh_networks_rejected: Option<MeshNetworksErrors>,
    /// Per cluster of the document: its network (N1, under the accepted MeshNetworks) and the IP
    /// family of its pod CIDRs, for [`DocumentEds::class_for_cluster`].
    clusters: BTreeMap<ClusterId, (Option<NetworkId>, IpFamily, ClusterId)>,
    /// Per cluster: the cluster-local table of the control plane serving it (S1–S5); a proxy of
    /// a cluster the document does not list gets `spec.meshConfig`'s.
    cluster_local: BTreeMap<ClusterId, mesh_model::ClusterLocalHosts>,
    default_cluster_local: mesh_model::ClusterLocalHosts,
    mcs: mesh_model::McsFeatures,
    /// Per service: the clusters holding a ServiceExport.
    exports: BTreeMap<ServiceKey, BTreeSet<ClusterId>>,
}

/// A service port's endpoints as the scope stage leaves them for one proxy class: those handed
/// to split-horizon, and those withheld, each with the reason (rules S7–S24).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedEndpoints {
    /// The endpoints split-horizon receives, in order.
    pub visible: Vec<EdsEndpoint>,
    /// The endpoints withheld, in order, and why.
    pub withheld: Vec<(EdsEndpoint, Exclusion)>,
}

impl DocumentEds {
    /// Builds the engine inputs of `doc`.
    ///
    /// Endpoint networks follow the current rules (N1–N3) for every profile.
    pub fn new(doc: &MeshDocument, features: Features) -> Self {
        let spec = &doc.spec;
        let rejected = spec
            .mesh_networks
            .validate(features.resolve_hostname_gateways)
            .err();
        let accepted = accepted_spec(spec, features.resolve_hostname_gateways);
        let resolver = NetworkResolver::new(&accepted);
        let gateways = accepted.gateways(features.resolve_hostname_gateways);
        let legacy = LegacyNetworks::new(&spec.mesh_networks, &spec.dns, |host, registry| {
            let Ok(cluster) = ClusterId::new(registry) else {
                return Vec::new();
            };
            spec.service_by_host(host)
                .and_then(|s| s.external_addresses.get(&cluster))
                .cloned()
                .unwrap_or_default()
        });
        let cluster_locality: BTreeMap<&ClusterId, String> = spec
            .clusters
            .iter()
            .filter_map(|c| Some((&c.name, c.locality.as_ref()?.to_string())))
            .collect();
        let clusters = spec
            .clusters
            .iter()
            .map(|c| {
                let network = resolver.network_of_address(&c.name, None).cloned();
                let family = IpFamily::of(c.pod_cidrs.iter().map(|n| n.network()));
                (
                    c.name.clone(),
                    (network, family, c.proxy_cluster_id().clone()),
                )
            })
            .collect();
        let cluster_local = spec
            .clusters
            .iter()
            .map(|c| {
                let hosts = spec
                    .mesh_config_of(c)
                    .cluster_local_hosts(&spec.domain_suffix);
                (c.name.clone(), hosts)
            })
            .collect();
        let exports = spec
            .services
            .iter()
            .map(|s| (s.key(), s.service_exports.iter().cloned().collect()))
            .collect();
        let mut services = Vec::new();
        for svc in &spec.services {
            for port in &svc.ports {
                services.push(service_port(
                    svc,
                    port,
                    &spec.domain_suffix,
                    &resolver,
                    &cluster_locality,
                ));
            }
        }
        Self {
            gateways,
            legacy,
            services,
            features,
            mesh_networks_rejected: rejected,
            clusters,
            cluster_local,
            default_cluster_local: spec.mesh_config.cluster_local_hosts(&spec.domain_suffix),
            mcs: spec.mcs,
            exports,
        }
    }

    /// The gateway index of the document (with its MeshNetworks for the legacy profiles).
    pub fn index(&self) -> GatewayIndex {
        GatewayIndex::new(self.gateways.gateways.iter().cloned())
            .with_legacy_networks(self.legacy.clone())
    }

    /// The gateway index, shared.
    pub fn shared_index(&self) -> Arc<GatewayIndex> {
        Arc::new(self.index())
    }

    /// The engine request for one of [`Self::services`]: the document carries no DestinationRule
    /// or PeerAuthentication, so Istio mTLS is allowed (M3), with the features the inputs were
    /// built with.
    pub fn request<'a>(&self, service: &'a ServicePortEndpoints) -> ServiceRequest<'a> {
        ServiceRequest {
            locality: crate::LocalityPolicy::istio_default(),
            cluster: &service.cluster,
            endpoints: &service.endpoints,
            mtls_allowed: true,
            features: self.features,
        }
    }

    /// The proxy class of a sidecar in `cluster`: the cluster's network (rule N1 without an
    /// endpoint label), the IP family of its pod CIDRs and the CLUSTER_ID its proxies send
    /// (`proxyClusterId`, else the cluster's name; S36), as [`DocumentEds::new`] found them; a
    /// cluster the document does not list gets no network and an unknown family.
    pub fn class_for_cluster(&self, cluster: &ClusterId, profile: Profile) -> ProxyClass {
        let (network, ip_family, id) = self.clusters.get(cluster).cloned().unwrap_or((
            None,
            IpFamily::Unknown,
            cluster.clone(),
        ));
        ProxyClass {
            network,
            cluster: Some(id),
            ip_family,
            profile,
            ..ProxyClass::default()
        }
    }

    /// The scope of `service` for proxies of `class`: the mesh config of the control plane
    /// serving the class's cluster, `spec.mcs` and the service's exports (S1–S17; every shard is
    /// a Kubernetes one, ambient scope is not modelled by the document).
    pub fn scope(&self, service: &ServicePortEndpoints, class: &ProxyClass) -> ServiceScope {
        let registered = class.cluster.as_ref().and_then(|c| {
            self.cluster_local.get(c).or_else(|| {
                // A proxyClusterId names the cluster whose control plane serves it.
                self.clusters
                    .iter()
                    .find(|(_, (_, _, id))| id == c)
                    .and_then(|(name, _)| self.cluster_local.get(name))
            })
        });
        let hosts = registered.unwrap_or(&self.default_cluster_local);
        let empty = BTreeSet::new();
        let exports = self.exports.get(&service.service).unwrap_or(&empty);
        let shard_clusters: BTreeSet<ClusterId> = service
            .endpoints
            .iter()
            .filter_map(|e| e.cluster.clone())
            .collect();
        ServiceScope::resolve(&ScopeInput {
            hostname: &service.cluster.host,
            mcs: self.mcs,
            exports,
            shard_clusters: &shard_clusters,
            ..ScopeInput::new(hosts)
        })
    }

    /// The endpoints of `service` the scope stage hands split-horizon for `class`, and those it
    /// withholds with the reason (S7–S24). A service without scope settings withholds none.
    pub fn scoped_endpoints(
        &self,
        service: &ServicePortEndpoints,
        class: &ProxyClass,
    ) -> ScopedEndpoints {
        let scope = self.scope(service, class);
        let proxy = ScopeProxy::of(class);
        let mut out = ScopedEndpoints {
            visible: Vec::new(),
            withheld: Vec::new(),
        };
        for e in &service.endpoints {
            let shard = ShardKey {
                provider: Provider::Kubernetes,
                cluster: e.cluster.clone(),
            };
            match scope.admits(&proxy, &shard, e.cluster.as_ref(), &e.node_name) {
                Ok(()) => out.visible.push(e.clone()),
                Err(why) => out.withheld.push((e.clone(), why)),
            }
        }
        out
    }

    /// The proxy class of a sidecar on `network` (cluster and IP family unknown).
    pub fn class_for_network(network: &NetworkId, profile: Profile) -> ProxyClass {
        ProxyClass {
            network: Some(network.clone()),
            profile,
            ..ProxyClass::default()
        }
    }
}

/// The spec with the MeshNetworks istiod acts on (rule P2, `MeshNetworks::accepted`: an invalid
/// one is ignored as a whole, and a document has no earlier one to keep).
fn accepted_spec(spec: &MeshSpec, resolve_hostname_gateways: bool) -> Cow<'_, MeshSpec> {
    match spec.mesh_networks.accepted(resolve_hostname_gateways, None) {
        Cow::Borrowed(_) => Cow::Borrowed(spec),
        Cow::Owned(mesh_networks) => Cow::Owned(MeshSpec {
            mesh_networks,
            ..spec.clone()
        }),
    }
}

fn service_port(
    svc: &Service,
    port: &ServicePort,
    domain_suffix: &str,
    resolver: &NetworkResolver<'_>,
    cluster_locality: &BTreeMap<&ClusterId, String>,
) -> ServicePortEndpoints {
    let key = svc.key();
    // One shared id per cluster of the service (a clone is a reference count), so that the
    // engine's comparisons of endpoint clusters are pointer comparisons.
    let mut clusters: Vec<ClusterId> = Vec::new();
    // Likewise one shared label map per distinct set of labels (a workload's endpoints share it).
    let mut label_sets: HashMap<&BTreeMap<String, String>, Arc<BTreeMap<String, String>>> =
        HashMap::new();
    let mut endpoints: Vec<(&ClusterId, EdsEndpoint)> = svc
        .endpoints
        .iter()
        .map(|e| {
            let cluster = match clusters.iter().find(|c| **c == e.cluster) {
                Some(c) => c.clone(),
                None => {
                    clusters.push(e.cluster.clone());
                    e.cluster.clone()
                }
            };
            let locality = match &e.locality {
                Some(l) => l.to_string(),
                None => cluster_locality
                    .get(&e.cluster)
                    .cloned()
                    .unwrap_or_default(),
            };
            let ep = EdsEndpoint {
                addresses: e.addresses.iter().map(ToString::to_string).collect(),
                port: u32::from(e.port.unwrap_or_else(|| port.endpoint_port())),
                service_port_name: port.name.clone(),
                network: resolver.network_of(e).cloned(),
                cluster: Some(cluster),
                locality,
                labels: Arc::clone(
                    label_sets
                        .entry(&e.labels)
                        .or_insert_with(|| Arc::new(e.labels.clone())),
                ),
                tls_mode: e.tls_mode,
                hbone_tunnel: e.labels.get(TUNNEL_LABEL).is_some_and(|v| v == "http"),
                lb_weight: e.weight.unwrap_or(0),
                namespace: svc.namespace.to_string(),
                workload_name: String::new(),
                service_account: e.service_account.clone().unwrap_or_default(),
                health: if e.healthy {
                    Health::Healthy
                } else {
                    Health::Unhealthy
                },
                node_name: String::new(),
            };
            (&e.cluster, ep)
        })
        .collect();
    // Istio iterates shards sorted by cluster id, registry order within (stable sort).
    endpoints.sort_by(|a, b| a.0.cmp(b.0));
    ServicePortEndpoints {
        cluster: ClusterRequest {
            kind: ClusterKind::Outbound,
            port: u32::from(port.port),
            subset: String::new(),
            host: key.cluster_host(domain_suffix),
            subset_labels: BTreeMap::new(),
            port_name: port.name.clone(),
        },
        service: key,
        port: port.clone(),
        endpoints: endpoints.into_iter().map(|(_, e)| e).collect(),
    }
}

/// The MeshNetworks document istiod acts on (rule P2 of `spec/meshnetworks.md`): since Istio 1.6
/// an invalid document is rejected as a whole and the last known good one stays in force — with
/// no earlier document, none. The legacy profiles (1.1, 1.5) do not validate (H1.5).
///
/// ```
/// use mesh_eds::{Profile, accepted_mesh_networks};
/// use mesh_model::MeshNetworks;
/// let bad = MeshNetworks::from_yaml("networks:\n  n1:\n    gateways: [{address: 1.1.1.1}]\n")?; // port 0
/// assert!(accepted_mesh_networks(&bad, Profile::IstioModern, true, None).networks.is_empty());
/// assert_eq!(accepted_mesh_networks(&bad, Profile::Istio1_1_3, true, None).networks.len(), 1);
/// # Ok::<(), mesh_model::MeshNetworksParseError>(())
/// ```
pub fn accepted_mesh_networks<'a>(
    document: &'a MeshNetworks,
    profile: crate::Profile,
    resolve_hostname_gateways: bool,
    last_known_good: Option<&'a MeshNetworks>,
) -> Cow<'a, MeshNetworks> {
    if profile.is_legacy() {
        Cow::Borrowed(document)
    } else {
        document.accepted(resolve_hostname_gateways, last_known_good)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignment::{EndpointAddress, EndpointKind};
    use crate::view::View;

    const EXAMPLE: &str = include_str!("../../../examples/split-horizon.yaml");

    #[test]
    fn p2_invalid_mesh_networks_are_ignored_as_a_whole() {
        let doc = MeshDocument::from_yaml(
            r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  clusters: [{name: c1}, {name: c2}]
  meshNetworks:
    networks:
      n1: {endpoints: [{fromRegistry: c1}], gateways: [{address: 192.0.2.1, port: 15443}]}
      n2: {endpoints: [{fromRegistry: c2}], gateways: [{address: 192.0.2.2}]}
  services:
  - name: foo
    namespace: ns
    ports: [{name: http, port: 80}]
    endpoints: [{cluster: c2, address: 10.2.0.1}]
"#,
        )
        .unwrap();
        // n2's gateway has no port (V6): the whole document is rejected
        let eds = DocumentEds::new(&doc, Features::default());
        assert!(eds.mesh_networks_rejected.is_some());
        assert!(eds.gateways.gateways.is_empty());
        assert_eq!(eds.services[0].endpoints[0].network, None);
        let class = eds.class_for_cluster(&"c1".parse().unwrap(), Profile::IstioModern);
        assert_eq!(class.network, None);
        // the legacy profiles do not validate (H1.5)
        assert_eq!(eds.legacy.networks.len(), 2);
    }

    #[test]
    fn split_horizon_example_end_to_end() {
        let doc = MeshDocument::from_yaml(EXAMPLE).unwrap();
        let eds = DocumentEds::new(&doc, Features::default());
        // network1: 192.0.2.10; network2: 198.51.100.7 and the hostname's two answers
        assert_eq!(eds.gateways.gateways.len(), 4);
        let reviews = eds
            .services
            .iter()
            .find(|s| s.service.to_string() == "reviews.bookinfo")
            .unwrap();
        assert_eq!(reviews.endpoints.len(), 4);
        assert_eq!(
            reviews.endpoints[2].network.as_ref().unwrap().as_str(),
            "network2"
        );
        assert_eq!(reviews.endpoints[0].locality, "us-east1/us-east1-b");
        let index = eds.shared_index();
        let class = eds.class_for_cluster(&"cluster1".parse().unwrap(), Profile::IstioModern);
        assert_eq!(class.ip_family, IpFamily::Ipv4);
        let cla = View::new(&index, class)
            .assignment(&eds.request(reviews))
            .unwrap();
        // S = lcm(1 [n1], 1 [n1,""], 3 [n2], 3 [n2,cluster2]) = 3; an IPv4 proxy reaches 2 of n2's
        // 3 gateways: weights 3 and 9 split floor(/2) → 1+4 = 5 each
        let got: Vec<(String, u32, EndpointKind)> = cla
            .localities
            .iter()
            .flat_map(|l| &l.endpoints)
            .map(|e| match &e.address {
                EndpointAddress::Socket { address, .. } => (address.clone(), e.weight, e.kind),
                EndpointAddress::Internal { endpoint_id, .. } => {
                    (endpoint_id.clone(), e.weight, e.kind)
                }
            })
            .collect();
        assert_eq!(
            got,
            [
                ("198.51.100.7".to_owned(), 5, EndpointKind::Gateway),
                ("198.51.100.8".to_owned(), 5, EndpointKind::Gateway),
                ("10.10.1.5".to_owned(), 3, EndpointKind::Direct),
                ("10.10.1.6".to_owned(), 3, EndpointKind::Direct),
            ]
        );
    }
}
