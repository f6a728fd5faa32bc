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
use crate::policy::{
    CLUSTER_LABEL, Distribute, Failover, LocalityLbSetting, LocalityPolicy, MeshLocality,
    NETWORK_LABEL, REGION_LABEL, SUBZONE_LABEL, TrafficDistribution, TrafficPolicy, ZONE_LABEL,
    ZoneAwareLbSetting,
};
use crate::scope::{Exclusion, Provider, ScopeInput, ScopeProxy, ServiceScope, ShardKey};

/// The label that marks a workload reachable through an HBONE tunnel.
const TUNNEL_LABEL: &str = "networking.istio.io/tunnel";

/// One service port (or one subset of it) and its endpoints, in Istio's order (shards by cluster
/// id, then registry order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePortEndpoints {
    /// The service.
    pub service: ServiceKey,
    /// The port.
    pub port: ServicePort,
    /// Its outbound cluster (`outbound|<port>|<subset>|<name>.<namespace>.svc.<domain suffix>`:
    /// no subset, or one of its DestinationRule's subsets, with that subset's labels).
    pub cluster: ClusterRequest,
    /// Its endpoints.
    pub endpoints: Vec<EdsEndpoint>,
    /// The cluster's locality policy (rules L3–L7): its DestinationRule's traffic policy merged
    /// for this port and subset, the service's `trafficDistribution`, the mesh's settings.
    pub locality: LocalityPolicy,
    /// Whether Istio mTLS may be used to its endpoints (M3): the TLS mode its DestinationRule
    /// sets for this port and subset decides alone, only `ISTIO_MUTUAL` allowing; with none, it
    /// is allowed and PeerAuthentication decides per endpoint (an endpoint whose mode on its
    /// port is `DISABLE` is given `tls_mode: disabled`).
    pub mtls_allowed: bool,
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
    /// Endpoints a PeerAuthentication `DISABLE` makes not mTLS-capable in Istio that the engine
    /// input still marks capable (tunnel-labelled sidecar endpoints, see
    /// [`PeerMtlsNotApplied`]), in document order.
    pub peer_mtls_not_applied: Vec<PeerMtlsNotApplied>,
    /// The features the inputs were built with.
    pub features: Features,
    /// Why the document's MeshNetworks was rejected (rule P2: an invalid document is ignored as a
    /// whole by current Istio, so neither its gateways nor its `fromRegistry`/`fromCidr` networks
    /// apply); `None` when it was accepted.
    pub mesh_networks_rejected: Option<MeshNetworksErrors>,
    /// Per cluster of the document: its network (N1, under the accepted MeshNetworks) and the IP
    /// family of its pod CIDRs, for [`DocumentEds::class_for_cluster`].
    clusters: BTreeMap<ClusterId, (Option<NetworkId>, IpFamily, ClusterId)>,
    /// Per cluster: its `locality`, the default of its workloads (and so of its proxies).
    localities: BTreeMap<ClusterId, String>,
    /// The label keys some cluster's failoverPriority ranks by (without `=value`): the proxy
    /// labels a class keeps ([`ProxyClass::with_labels`]).
    label_keys: BTreeSet<String>,
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
        let mesh = mesh_locality(spec);
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
        let peer_authn = spec.peer_authentication_index();
        let mut peer_mtls_not_applied = Vec::new();
        let mut services = Vec::new();
        for svc in &spec.services {
            let rule = spec.destination_rule(&svc.key());
            for port in &svc.ports {
                let mut base = service_port(
                    svc,
                    port,
                    &spec.domain_suffix,
                    &resolver,
                    &cluster_locality,
                    locality_policy(svc, rule, port.port, None, &mesh),
                );
                // Istio builds one cluster per subset of the service's DestinationRule, with
                // the subset's labels (M1) and its merged policy; each cluster's mTLS is
                // decided from the endpoints as read (M3), so the subsets are cut first.
                let subsets = rule.map_or(&[][..], |r| &r.subsets[..]);
                let mut subset_clusters: Vec<ServicePortEndpoints> = subsets
                    .iter()
                    .map(|sub| {
                        let mut s = base.clone();
                        s.cluster.subset.clone_from(&sub.name);
                        s.cluster.subset_labels.clone_from(&sub.labels);
                        s.locality = locality_policy(svc, rule, port.port, Some(&sub.name), &mesh);
                        s
                    })
                    .collect();
                for s in std::iter::once(&mut base).chain(&mut subset_clusters) {
                    let subset = Some(s.cluster.subset.as_str()).filter(|n| !n.is_empty());
                    match rule.and_then(|r| r.tls_mode_for(port.port, subset)) {
                        Some(mode) => {
                            s.mtls_allowed = mode == mesh_model::ClientTlsMode::IstioMutual
                        }
                        None => apply_peer_authentication(
                            s,
                            &peer_authn,
                            features.prefer_hbone_send,
                            &mut peer_mtls_not_applied,
                        ),
                    }
                }
                services.push(base);
                services.extend(subset_clusters);
            }
        }
        let label_keys = services
            .iter()
            .flat_map(|s| {
                s.locality
                    .effective()
                    .failover_priority()
                    .iter()
                    .map(|e| e.split('=').next().unwrap_or("").to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        Self {
            gateways,
            legacy,
            services,
            peer_mtls_not_applied,
            features,
            mesh_networks_rejected: rejected,
            clusters,
            localities: spec
                .clusters
                .iter()
                .filter_map(|c| Some((c.name.clone(), c.locality.as_ref()?.to_string())))
                .collect(),
            label_keys,
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

    /// The engine request for one of [`Self::services`], with its locality policy and whether
    /// its DestinationRule allows Istio mTLS (M3), with the features the inputs were built with.
    pub fn request<'a>(&self, service: &'a ServicePortEndpoints) -> ServiceRequest<'a> {
        ServiceRequest {
            locality: &service.locality,
            cluster: &service.cluster,
            endpoints: &service.endpoints,
            mtls_allowed: service.mtls_allowed,
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

    /// The proxy class of a sidecar in `cluster` at `locality` (`None`: the cluster's own
    /// `locality`, else none) with the workload labels `labels`: [`Self::class_for_cluster`] plus
    /// what the locality stage reads (L2). Its labels are augmented as Istio's `AugmentLabels`
    /// does (region, zone and subzone from the locality, `topology.istio.io/cluster`, and
    /// `topology.istio.io/network` unless set) and kept only for the keys some failoverPriority
    /// of the document names, so clients that differ in nothing the stage reads share a class.
    ///
    /// ```
    /// use mesh_eds::{DocumentEds, Features, Profile};
    /// use mesh_model::MeshDocument;
    /// let doc = MeshDocument::from_yaml(r#"
    /// apiVersion: meshspan/v1alpha1
    /// kind: Mesh
    /// metadata: {name: m}
    /// spec:
    ///   clusters: [{name: c1, network: n1, locality: us-east/1a}]
    ///   services:
    ///   - {name: foo, namespace: ns1, trafficDistribution: PreferClose, ports: [{name: http, port: 80}]}
    /// "#)?;
    /// let eds = DocumentEds::new(&doc, Features::default());
    /// let class = eds.client_class(&"c1".parse()?, None, &Default::default(), Profile::IstioModern);
    /// assert_eq!(class.locality, "us-east/1a");
    /// let labels = class.labels.unwrap();
    /// assert_eq!(labels["topology.kubernetes.io/zone"], "1a");
    /// assert_eq!(labels["topology.istio.io/network"], "n1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_class(
        &self,
        cluster: &ClusterId,
        locality: Option<&str>,
        labels: &BTreeMap<String, String>,
        profile: Profile,
    ) -> ProxyClass {
        let mut class = self.class_for_cluster(cluster, profile);
        class.locality = match locality {
            Some(l) => l.to_owned(),
            None => self.localities.get(cluster).cloned().unwrap_or_default(),
        };
        self.with_client_labels(class, labels)
    }

    /// The proxy class of a sidecar on `network` at `locality` with workload labels `labels`
    /// (cluster and IP family unknown), augmented as [`Self::client_class`] does.
    pub fn client_class_on_network(
        &self,
        network: &NetworkId,
        locality: &str,
        labels: &BTreeMap<String, String>,
        profile: Profile,
    ) -> ProxyClass {
        let mut class = Self::class_for_network(network, profile);
        locality.clone_into(&mut class.locality);
        self.with_client_labels(class, labels)
    }

    /// L2: `AugmentLabels` on the proxy's labels, then only the keys the stage ranks by.
    fn with_client_labels(
        &self,
        class: ProxyClass,
        labels: &BTreeMap<String, String>,
    ) -> ProxyClass {
        let mut all = labels.clone();
        let (region, zone, subzone) = crate::locality::split_locality(&class.locality);
        for (key, value) in [
            (REGION_LABEL, region),
            (ZONE_LABEL, zone),
            (SUBZONE_LABEL, subzone),
        ] {
            if !value.is_empty() {
                all.insert(key.to_owned(), value.to_owned());
            }
        }
        if let Some(c) = &class.cluster {
            all.insert(CLUSTER_LABEL.to_owned(), c.to_string());
        }
        if let Some(n) = &class.network {
            all.entry(NETWORK_LABEL.to_owned())
                .or_insert_with(|| n.to_string());
        }
        class.with_labels(&all, self.label_keys.iter().map(String::as_str))
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
    locality: LocalityPolicy,
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
                workload_name: e.workload.clone().unwrap_or_default(),
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
        locality,
        mtls_allowed: true,
    }
}

/// The mesh's settings (L4): `meshConfig.localityLbSetting`, else Istio's default
/// `{enabled: true}`; `meshConfig.zoneAwareLbSetting`.
fn mesh_locality(spec: &MeshSpec) -> MeshLocality {
    let default = MeshLocality::default();
    MeshLocality {
        locality_lb_setting: spec
            .mesh_config
            .locality_lb_setting
            .as_ref()
            .map(locality_setting)
            .or(default.locality_lb_setting),
        zone_aware_lb_setting: spec
            .mesh_config
            .zone_aware_lb_setting
            .as_ref()
            .map(zone_aware_setting),
    }
}

/// PeerAuthentication's part of M3 for a cluster whose DestinationRule sets no TLS mode
/// (`mtls_checker.go`, `checkMtlsEnabled`: the rule's mode decides alone when it has one): an
/// endpoint that terminates Istio mTLS (`tlsMode: istio`) but whose effective PeerAuthentication
/// mode on its endpoint port is `DISABLE` (`authn.NewMtlsPolicy(...).GetMutualTLSModeForPort`) is
/// not mTLS-capable, so a client on another network cannot reach it through a gateway (M15).
///
/// The engine reads that as `tls_mode: disabled`, which is exact unless the endpoint carries the
/// HBONE tunnel label: Istio decides the tunnel from the endpoint's own TLS mode
/// (`endpoint_builder.go`, `buildEnvoyLbEndpoint`: `supportsMtls := e.TLSMode == ...`, read
/// before and apart from `mtlsEnabled`), so rewriting it would turn a tunnel-labelled sidecar
/// endpoint into an HBONE one. With `PreferHBONESend` the tunnel wins either way (and a tunnel
/// endpoint is never mTLS), so the rewrite is exact there too; otherwise the endpoint is left
/// as read and listed in `not_applied`, as the engine input has no per-endpoint mTLS flag.
fn apply_peer_authentication(
    service: &mut ServicePortEndpoints,
    policies: &mesh_model::PeerAuthentications<'_>,
    prefer_hbone_send: bool,
    not_applied: &mut Vec<PeerMtlsNotApplied>,
) {
    if policies.is_empty() {
        return;
    }
    for ep in &mut service.endpoints {
        if ep.tls_mode != mesh_model::TlsMode::Istio
            || policies.mode_for(&ep.namespace, &ep.labels, ep.port)
                != mesh_model::PeerMtlsMode::Disable
        {
            continue;
        }
        if ep.hbone_tunnel && !prefer_hbone_send {
            not_applied.push(PeerMtlsNotApplied {
                cluster: service.cluster.name(),
                address: ep.address().to_owned(),
                port: ep.port,
            });
        } else {
            ep.tls_mode = mesh_model::TlsMode::Disabled;
        }
    }
}

/// An endpoint whose PeerAuthentication `DISABLE` the engine input cannot express (a
/// tunnel-labelled sidecar endpoint without `PreferHBONESend`; see
/// [`DocumentEds::peer_mtls_not_applied`]): Istio marks it not mTLS-capable, the engine keeps
/// it mTLS-capable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeerMtlsNotApplied {
    /// The Envoy cluster name.
    pub cluster: String,
    /// The endpoint's primary address.
    pub address: String,
    /// Its endpoint port.
    pub port: u32,
}

/// The locality policy of one Envoy cluster of `svc` (L3–L7): `rule`'s traffic policy merged for
/// `port` and `subset` (`DestinationRule::policy_for`), the service's `trafficDistribution`,
/// the mesh's settings.
fn locality_policy(
    svc: &Service,
    rule: Option<&mesh_model::DestinationRule>,
    port: u16,
    subset: Option<&str>,
    mesh: &MeshLocality,
) -> LocalityPolicy {
    let destination_rule = rule
        .and_then(|r| r.policy_for(port, subset))
        .map(|p| TrafficPolicy {
            locality_lb_setting: p
                .load_balancer
                .as_ref()
                .and_then(|lb| lb.locality_lb_setting.as_ref())
                .map(locality_setting),
            zone_aware_lb_setting: p
                .load_balancer
                .as_ref()
                .and_then(|lb| lb.zone_aware_lb_setting.as_ref())
                .map(zone_aware_setting),
            outlier_detection: p.outlier_detection.is_some(),
        });
    // Istio's reading of the value (L7: PreferClose is PreferSameZone).
    let traffic_distribution = svc
        .traffic_distribution
        .map_or(TrafficDistribution::Any, |t| {
            t.as_str().parse().unwrap_or_default()
        });
    LocalityPolicy {
        destination_rule,
        traffic_distribution,
        mesh: mesh.clone(),
    }
}

fn failover(f: &[mesh_model::Failover]) -> Vec<Failover> {
    f.iter()
        .map(|f| Failover {
            from: f.from.clone(),
            to: f.to.clone(),
        })
        .collect()
}

fn locality_setting(l: &mesh_model::LocalityLbSetting) -> LocalityLbSetting {
    LocalityLbSetting {
        enabled: l.enabled,
        distribute: l
            .distribute
            .iter()
            .map(|d| Distribute {
                from: d.from.clone(),
                to: d.to.0.clone(),
            })
            .collect(),
        failover: failover(&l.failover),
        failover_priority: l.failover_priority.clone(),
    }
}

fn zone_aware_setting(z: &mesh_model::ZoneAwareLbSetting) -> ZoneAwareLbSetting {
    ZoneAwareLbSetting {
        enabled: z.enabled,
        failover: failover(&z.failover),
        failover_priority: z.failover_priority.clone(),
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
    use crate::input::ServiceRequest;
    use crate::view::View;

    const EXAMPLE: &str = include_str!("../../../examples/split-horizon.yaml");
    const FAILOVER: &str = include_str!("../../../examples/failover.yaml");

    /// Every example but the one that sets locality policy: each cluster's policy is Istio's
    /// default (broken.yaml's DestinationRules aside: one for no service, one failover without
    /// outlier detection), there is one cluster per service port, and every client's assignment
    /// equals the one computed under the default policy.
    #[test]
    fn a_mesh_without_locality_policy_gives_the_default_output() {
        let examples = [
            include_str!("../../../examples/split-horizon.yaml"),
            include_str!("../../../examples/replicated-control-planes.yaml"),
            include_str!("../../../examples/vpn.yaml"),
            include_str!("../../../examples/mixed.yaml"),
            include_str!("../../../examples/broken.yaml"),
        ];
        for text in examples {
            let doc = MeshDocument::from_yaml(text).unwrap();
            let eds = DocumentEds::new(&doc, Features::default());
            let ports: usize = doc.spec.services.iter().map(|s| s.ports.len()).sum();
            assert_eq!(eds.services.len(), ports);
            let index = eds.shared_index();
            for c in &doc.spec.clusters {
                let class = eds.client_class(&c.name, None, &BTreeMap::new(), Profile::IstioModern);
                let view = View::new(&index, class);
                for s in &eds.services {
                    if doc.spec.destination_rules.is_empty() {
                        assert_eq!(&s.locality, LocalityPolicy::istio_default());
                    }
                    let default = ServiceRequest {
                        locality: LocalityPolicy::istio_default(),
                        ..eds.request(s)
                    };
                    assert_eq!(
                        view.assignment(&eds.request(s)),
                        view.assignment(&default),
                        "{}",
                        s.cluster.name()
                    );
                }
            }
        }
    }

    #[test]
    fn destination_rules_trafficdistribution_and_mesh_config_reach_the_stage() {
        let doc = MeshDocument::from_yaml(FAILOVER).unwrap();
        let eds = DocumentEds::new(&doc, Features::default());
        let names: Vec<String> = eds.services.iter().map(|s| s.cluster.name()).collect();
        assert_eq!(
            names,
            [
                "outbound|9080||reviews.bookinfo.svc.cluster.local",
                "outbound|9080|v1|reviews.bookinfo.svc.cluster.local",
                "outbound|9080||ratings.bookinfo.svc.cluster.local",
            ]
        );
        // the subset cluster selects its labels (M1)
        assert_eq!(eds.services[1].cluster.subset_labels["version"], "v1");
        let reviews = &eds.services[0].locality;
        let dr = reviews.destination_rule.as_ref().unwrap();
        assert!(dr.outlier_detection);
        assert_eq!(dr.locality_lb_setting.as_ref().unwrap().failover.len(), 2);
        // the subset has no policy of its own: the rule's (MergeTrafficPolicy)
        assert_eq!(&eds.services[1].locality, reviews);
        assert_eq!(
            eds.services[2].locality.traffic_distribution,
            TrafficDistribution::PreferSameZone
        );
        // priorities for a client in us-east-1b: own zone, other zone, the failover region
        let index = eds.shared_index();
        let class = eds.client_class(
            &"east-2".parse().unwrap(),
            None,
            &BTreeMap::new(),
            Profile::IstioModern,
        );
        assert_eq!(class.locality, "us-east/us-east-1b");
        let cla = View::new(&index, class.clone())
            .assignment(&eds.request(&eds.services[0]))
            .unwrap();
        let got: Vec<(&str, u32)> = cla
            .localities
            .iter()
            .map(|g| (g.locality.as_str(), g.priority))
            .collect();
        assert_eq!(
            got,
            [
                ("us-east/us-east-1a", 1),
                ("us-east/us-east-1b", 0),
                ("us-west/us-west-2a", 2)
            ]
        );
        // ratings (PreferClose): failoverPriority [network, region, zone]; the gateway standing
        // in for us-west mismatches the network and the region: the last tier (L24)
        let cla = View::new(&index, class)
            .assignment(&eds.request(&eds.services[2]))
            .unwrap();
        let got: Vec<(&str, u32, usize)> = cla
            .localities
            .iter()
            .map(|g| (g.locality.as_str(), g.priority, g.endpoints.len()))
            .collect();
        assert_eq!(
            got,
            [("us-east/us-east-1a", 0, 1), ("us-west/us-west-2a", 1, 1)]
        );
    }

    #[test]
    fn port_level_and_subset_policies_are_merged_per_cluster() {
        let doc = MeshDocument::from_yaml(
            r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  clusters: [{name: c1, locality: r1/z1}]
  meshConfig:
    zoneAwareLbSetting: {failover: [{from: r1, to: r2}]}
  destinationRules:
  - host: foo.ns
    trafficPolicy:
      outlierDetection: {interval: 5s}
      portLevelSettings:
      - port: {number: 81}
        loadBalancer: {localityLbSetting: {enabled: false}}
    subsets:
    - name: v2
      labels: {version: v2}
      trafficPolicy: {loadBalancer: {localityLbSetting: {failoverPriority: [app]}}}
  services:
  - name: foo
    namespace: ns
    ports: [{name: a, port: 80}, {name: b, port: 81}]
"#,
        )
        .unwrap();
        let eds = DocumentEds::new(&doc, Features::default());
        let by_name = |name: &str| {
            &eds.services
                .iter()
                .find(|s| s.cluster.name() == name)
                .unwrap()
                .locality
        };
        let port80 = by_name("outbound|80||foo.ns.svc.cluster.local");
        assert_eq!(
            port80.mesh.zone_aware_lb_setting.as_ref().unwrap().failover[0].to,
            "r2"
        );
        assert!(port80.destination_rule.as_ref().unwrap().outlier_detection);
        // port 81's entry replaces the top level: no outlier detection, locality disabled
        let port81 = by_name("outbound|81||foo.ns.svc.cluster.local")
            .destination_rule
            .clone();
        let port81 = port81.unwrap();
        assert!(!port81.outlier_detection);
        assert_eq!(port81.locality_lb_setting.unwrap().enabled, Some(false));
        // subset v2 on port 80: its loadBalancer over the rule's outlier detection
        let v2 = by_name("outbound|80|v2|foo.ns.svc.cluster.local")
            .destination_rule
            .clone();
        let v2 = v2.unwrap();
        assert!(v2.outlier_detection);
        assert_eq!(v2.locality_lb_setting.unwrap().failover_priority, ["app"]);
        // the classes keep the label failoverPriority names, and only it
        let class = eds.client_class(
            &"c1".parse().unwrap(),
            Some("r2/z9"),
            &BTreeMap::from([("app".into(), "x".into()), ("team".into(), "y".into())]),
            Profile::IstioModern,
        );
        assert_eq!(class.locality, "r2/z9");
        assert_eq!(
            class.labels,
            Some(BTreeMap::from([("app".into(), "x".into())]))
        );
    }

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
    fn the_workload_name_reaches_the_istio_workload_metadata() {
        let doc = MeshDocument::from_yaml(
            r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  clusters: [{name: Kubernetes}]
  services:
  - name: reviews
    namespace: default
    ports: [{name: http, port: 9080}]
    endpoints:
    - {cluster: Kubernetes, address: 10.0.0.1, workload: reviews-v3, labels: {app: reviews, version: v3}}
    - {cluster: Kubernetes, address: 10.0.0.2, labels: {app: reviews, version: v3}}
"#,
        )
        .unwrap();
        let eds = DocumentEds::new(&doc, Features::default());
        let class = eds.class_for_cluster(&"Kubernetes".parse().unwrap(), Profile::IstioModern);
        let cla = View::new(&eds.shared_index(), class)
            .assignment(&eds.request(&eds.services[0]))
            .unwrap();
        let workloads: Vec<&str> = cla.localities[0]
            .endpoints
            .iter()
            .map(|e| e.workload.as_str())
            .collect();
        // Istio's own string for a Deployment's pod; without a workload, its first field is empty.
        assert_eq!(
            workloads,
            [
                "reviews-v3;default;reviews;v3;Kubernetes",
                ";default;reviews;v3;Kubernetes"
            ]
        );
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

    /// M3 + M15: a DestinationRule TLS mode other than ISTIO_MUTUAL makes the endpoints not
    /// mTLS-capable, so a client on another network loses the gateway endpoint; ISTIO_MUTUAL or
    /// no mode keeps it. The same-network endpoint stays in every case.
    #[test]
    fn destination_rule_tls_mode_decides_gateway_endpoints() {
        let kinds = |tls: &str, subset_tls: &str| -> Vec<Vec<(EndpointKind, bool)>> {
            let text = format!(
                r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {{name: m}}
spec:
  clusters: [{{name: c1, network: n1}}, {{name: c2, network: n2}}]
  meshNetworks:
    networks:
      n2: {{gateways: [{{address: 192.0.2.2, port: 15443}}]}}
  services:
  - name: foo
    namespace: ns1
    ports: [{{name: http, port: 80}}]
    endpoints:
    - {{cluster: c1, address: 10.0.0.1, labels: {{version: v1}}}}
    - {{cluster: c2, address: 10.1.0.1, labels: {{version: v1}}}}
  destinationRules:
  - host: foo.ns1
    {tls}
    subsets: [{{name: v1, labels: {{version: v1}}{subset_tls}}}]
"#
            );
            let doc = MeshDocument::from_yaml(&text).unwrap();
            let eds = DocumentEds::new(&doc, Features::default());
            let index = eds.shared_index();
            let class = eds.class_for_cluster(&"c1".parse().unwrap(), Profile::IstioModern);
            let view = View::new(&index, class);
            eds.services
                .iter()
                .map(|s| {
                    let cla = view.assignment(&eds.request(s)).unwrap();
                    cla.localities
                        .iter()
                        .flat_map(|g| g.endpoints.iter().map(|e| (e.kind, e.mtls)))
                        .collect()
                })
                .collect()
        };
        let both = vec![(EndpointKind::Direct, true), (EndpointKind::Gateway, true)];
        let local_only = vec![(EndpointKind::Direct, false)];
        // No tls anywhere, no PeerAuthentication (Istio's default PERMISSIVE): allowed.
        assert_eq!(kinds("", ""), [both.clone(), both.clone()]);
        assert_eq!(
            kinds("trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}", ""),
            [both.clone(), both.clone()]
        );
        assert_eq!(
            kinds("trafficPolicy: {tls: {mode: DISABLE}}", ""),
            [local_only.clone(), local_only.clone()]
        );
        assert_eq!(
            kinds("trafficPolicy: {tls: {mode: SIMPLE}}", ""),
            [local_only.clone(), local_only.clone()]
        );
        // Port level overrides the policy for port 80, and the subset falls back to the rule.
        assert_eq!(
            kinds(
                "trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, portLevelSettings: [{port: {number: 80}, tls: {mode: DISABLE}}]}",
                ""
            ),
            [local_only.clone(), local_only.clone()]
        );
        // A subset's own mode decides for its cluster only.
        assert_eq!(
            kinds(
                "trafficPolicy: {tls: {mode: DISABLE}}",
                ", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}"
            ),
            [local_only, both]
        );
    }

    /// M3 + M15 with PeerAuthentication: the gateway endpoint (the other network's endpoint,
    /// reached through its gateway) is there exactly when the endpoint's effective mode on its
    /// endpoint port (8080) is not DISABLE: namespace, selector and port level, the mesh-wide
    /// policy of the root namespace, the most specific scope winning, UNSET inheriting, the first
    /// listed of one scope winning, and a DestinationRule TLS mode deciding alone.
    #[test]
    fn peer_authentication_disable_removes_gateway_endpoints() {
        let run = |extra: &str, endpoint: &str, features: Features| {
            let text = format!(
                r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {{name: m}}
spec:
  clusters: [{{name: c1, network: n1}}, {{name: c2, network: n2}}]
  meshNetworks:
    networks:
      n2: {{gateways: [{{address: 192.0.2.2, port: 15443}}]}}
  services:
  - name: foo
    namespace: ns1
    ports: [{{name: http, port: 80, targetPort: 8080}}]
    endpoints:
    - {{cluster: c1, address: 10.0.0.1, labels: {{app: foo}}}}
    - {{cluster: c2, address: 10.1.0.1, {endpoint}}}
{extra}
"#
            );
            let doc = MeshDocument::from_yaml(&text).unwrap();
            let eds = DocumentEds::new(&doc, features);
            let index = eds.shared_index();
            let class = eds.class_for_cluster(&"c1".parse().unwrap(), Profile::IstioModern);
            let view = View::new(&index, class);
            let cla = view.assignment(&eds.request(&eds.services[0])).unwrap();
            let kinds: Vec<EndpointKind> = cla
                .localities
                .iter()
                .flat_map(|g| g.endpoints.iter().map(|e| e.kind))
                .collect();
            (kinds, eds.peer_mtls_not_applied)
        };
        let app = "labels: {app: foo}";
        let kinds = |extra: &str| run(extra, app, Features::default()).0;
        let both = vec![EndpointKind::Direct, EndpointKind::Gateway];
        let local = vec![EndpointKind::Direct];
        let pa = |items: &str| format!("  peerAuthentications:\n{items}");
        let ns = |mode: &str| format!("  - {{name: ns, namespace: ns1, mtls: {{mode: {mode}}}}}\n");
        let mesh = |mode: &str| {
            format!("  - {{name: mesh, namespace: istio-system, mtls: {{mode: {mode}}}}}\n")
        };
        assert_eq!(kinds(""), both);
        assert_eq!(kinds(&pa(&ns("DISABLE"))), local);
        for mode in ["STRICT", "PERMISSIVE", "UNSET"] {
            assert_eq!(kinds(&pa(&ns(mode))), both, "{mode}");
        }
        // A namespace-level policy of another namespace does not apply.
        assert_eq!(
            kinds(&pa(
                "  - {name: ns, namespace: ns2, mtls: {mode: DISABLE}}\n"
            )),
            both
        );
        // Mesh-wide: the root namespace, istio-system unless meshConfig.rootNamespace says else.
        assert_eq!(kinds(&pa(&mesh("DISABLE"))), local);
        let rooted = "  meshConfig: {rootNamespace: mesh-root}\n";
        assert_eq!(kinds(&format!("{rooted}{}", pa(&mesh("DISABLE")))), both);
        assert_eq!(
            kinds(&format!(
                "{rooted}{}",
                pa("  - {name: mesh, namespace: mesh-root, mtls: {mode: DISABLE}}\n")
            )),
            local
        );
        // The most specific scope wins; UNSET inherits from the wider one.
        assert_eq!(kinds(&pa(&(mesh("DISABLE") + &ns("STRICT")))), both);
        assert_eq!(kinds(&pa(&(mesh("STRICT") + &ns("DISABLE")))), local);
        assert_eq!(kinds(&pa(&(mesh("DISABLE") + &ns("UNSET")))), local);
        let workload = |selector: &str, rest: &str| {
            format!(
                "  - {{name: wl, namespace: ns1, selector: {{matchLabels: {{{selector}}}}}{rest}}}\n"
            )
        };
        assert_eq!(
            kinds(&pa(
                &(ns("DISABLE") + &workload("app: foo", ", mtls: {mode: STRICT}"))
            )),
            both
        );
        assert_eq!(
            kinds(&pa(
                &(ns("STRICT") + &workload("app: foo", ", mtls: {mode: DISABLE}"))
            )),
            local
        );
        // A selector the endpoint's labels do not hold does not apply.
        assert_eq!(
            kinds(&pa(&workload("app: bar", ", mtls: {mode: DISABLE}"))),
            both
        );
        // A selector in the root namespace is ignored (ComposePeerAuthentication).
        assert_eq!(
            kinds(&pa(
                "  - {name: wl, namespace: istio-system, selector: {matchLabels: {app: foo}}, mtls: {mode: DISABLE}}\n"
            )),
            both
        );
        // Port level, by endpoint port: 8080 is the endpoint's, 80 the service's.
        let port = |p: &str, mode: &str| {
            workload(
                "app: foo",
                &format!(", mtls: {{mode: STRICT}}, portLevelMtls: {{{p}: {{mode: {mode}}}}}"),
            )
        };
        assert_eq!(kinds(&pa(&port("8080", "DISABLE"))), local);
        assert_eq!(kinds(&pa(&port("80", "DISABLE"))), both);
        assert_eq!(kinds(&pa(&(ns("DISABLE") + &port("8080", "UNSET")))), both);
        // Of two namespace-level policies, the first listed (istiod: the oldest) wins.
        assert_eq!(kinds(&pa(&(ns("DISABLE") + &ns("STRICT")))), local);
        assert_eq!(kinds(&pa(&(ns("STRICT") + &ns("DISABLE")))), both);
        // A DestinationRule TLS mode decides alone.
        let dr =
            "  destinationRules: [{host: foo.ns1, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}]\n";
        assert_eq!(kinds(&format!("{dr}{}", pa(&ns("DISABLE")))), both);
        // An endpoint that does not terminate Istio mTLS stays not mTLS-capable under STRICT.
        assert_eq!(
            run(
                &pa(&ns("STRICT")),
                "labels: {app: foo}, tlsMode: disabled",
                Features::default()
            )
            .0,
            local
        );
        // Tunnel-labelled: left as read (the HBONE decision reads the endpoint's own TLS mode)
        // and listed, unless PreferHBONESend makes the rewrite exact.
        let tunnel = "labels: {app: foo, networking.istio.io/tunnel: http}";
        let (kept, listed) = run(&pa(&ns("DISABLE")), tunnel, Features::default());
        assert_eq!(kept, both);
        assert_eq!(
            listed,
            [PeerMtlsNotApplied {
                cluster: "outbound|80||foo.ns1.svc.cluster.local".into(),
                address: "10.1.0.1".into(),
                port: 8080,
            }]
        );
        let prefer = Features {
            prefer_hbone_send: true,
            ..Features::default()
        };
        assert!(run(&pa(&ns("DISABLE")), tunnel, prefer).1.is_empty());
        assert!(
            run(&pa(&ns("STRICT")), tunnel, Features::default())
                .1
                .is_empty()
        );
    }
}
