//! The Istio configuration one cluster's control plane needs to reach the other clusters' services
//! as `<name>.<namespace>.global`: a ServiceEntry per remote service and the DestinationRule that
//! makes `*.global` traffic use Istio mTLS (Istio's replicated-control-planes design).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use mesh_model::{ClusterId, Gateway, MeshSpec, Namespace, NetworkId, ServiceKey};
use serde::Serialize;

use crate::ports::{PortRejection, entry_port_name, entry_protocol, port_rejection};
use crate::vip::{AllocationError, Allocations, allocate};

/// Which Istio networking API version to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `networking.istio.io/v1alpha3`, as the design wrote it.
    #[default]
    V1Alpha3,
    /// `networking.istio.io/v1`.
    V1,
}

impl ApiVersion {
    /// The `apiVersion` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1Alpha3 => "networking.istio.io/v1alpha3",
            Self::V1 => "networking.istio.io/v1",
        }
    }
}

/// Which remote services a cluster consumes. Empty sets mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Only services in these namespaces (empty: every namespace).
    pub namespaces: BTreeSet<Namespace>,
    /// Only these services (empty: every service).
    pub services: BTreeSet<ServiceKey>,
}

impl Selector {
    /// Whether the selector admits a service.
    pub fn admits(&self, key: &ServiceKey) -> bool {
        (self.namespaces.is_empty() || self.namespaces.contains(&key.namespace))
            && (self.services.is_empty() || self.services.contains(key))
    }
}

/// Kubernetes object metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectMeta {
    /// Object name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// The namespace every object of a plan is written to: the control plane's, which exists in
/// every cluster that runs one (a service's own namespace may not exist in the client cluster).
pub const ENTRY_NAMESPACE: &str = "istio-system";

/// An Istio `ServiceEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry {
    /// `networking.istio.io/...`.
    pub api_version: &'static str,
    /// `ServiceEntry`.
    pub kind: &'static str,
    /// Named `<name>.<namespace>.global`, in [`ENTRY_NAMESPACE`].
    pub metadata: ObjectMeta,
    /// The entry.
    pub spec: ServiceEntrySpec,
}

/// `ServiceEntry.spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEntrySpec {
    /// `[<name>.<namespace>.global]`.
    pub hosts: Vec<String>,
    /// `["*"]`: visible to every namespace of the cluster.
    #[serde(rename = "exportTo")]
    pub export_to: Vec<String>,
    /// `MESH_INTERNAL`: remote workloads share the root of trust.
    pub location: &'static str,
    /// The service's ports.
    pub ports: Vec<ServiceEntryPort>,
    /// `DNS`: gateway addresses may be hostnames.
    pub resolution: &'static str,
    /// The one virtual IP of the name.
    pub addresses: Vec<String>,
    /// One per gateway of every other cluster where the service runs.
    pub endpoints: Vec<ServiceEntryEndpoint>,
}

/// A `ServiceEntry` port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEntryPort {
    /// Port number.
    pub number: u16,
    /// Port name.
    pub name: String,
    /// Protocol (`HTTP`, `GRPC`, `TCP`, ...).
    pub protocol: String,
}

/// A `ServiceEntry` endpoint (a `WorkloadEntry` spec): a remote cluster's gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEntryEndpoint {
    /// The gateway address.
    pub address: String,
    /// Every service port name → the gateway's mTLS port (15443).
    pub ports: BTreeMap<String, u32>,
    /// The remote cluster's network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The remote cluster's locality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Share of traffic: the service's endpoint weight in that cluster, split across its gateways.
    pub weight: u32,
    /// `cluster: <remote cluster>`.
    pub labels: BTreeMap<String, String>,
}

/// The `DestinationRule` making `*.global` traffic use Istio mTLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    /// `networking.istio.io/...`.
    pub api_version: &'static str,
    /// `DestinationRule`.
    pub kind: &'static str,
    /// `istio-multicluster-destinationrule` in `istio-system`.
    pub metadata: ObjectMeta,
    /// `{host: "*.global", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}`.
    pub spec: DestinationRuleSpec,
}

/// `DestinationRule.spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    /// `*.global`.
    pub host: &'static str,
    /// The TLS policy.
    pub traffic_policy: TrafficPolicy,
}

/// `trafficPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficPolicy {
    /// `tls`.
    pub tls: TlsSettings,
}

/// `tls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSettings {
    /// `ISTIO_MUTUAL`.
    pub mode: &'static str,
}

/// A remote cluster running a selected service that the entry cannot point at, and why. Reported,
/// never dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unreachable {
    /// The service.
    pub service: ServiceKey,
    /// The remote cluster.
    pub cluster: ClusterId,
    /// Why.
    pub reason: UnreachableReason,
}

/// Why a remote cluster cannot be reached for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum UnreachableReason {
    /// The remote cluster has no resolved gateway.
    NoGateway,
    /// Its only gateways are also the local cluster's (same network, no gateway of its own).
    OnlySharedGateway,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            UnreachableReason::NoGateway => "that cluster has no resolved gateway",
            UnreachableReason::OnlySharedGateway => {
                "its only gateways are also the local cluster's, so the entry would loop back"
            }
        };
        write!(
            f,
            "{} in cluster {} is left out of {}: {why}",
            self.service,
            self.cluster,
            self.service.global_host()
        )
    }
}

/// Everything one cluster's control plane needs to consume remote services through `.global`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPlan {
    /// The consuming cluster.
    pub cluster: ClusterId,
    /// One entry per selected remote service, sorted by host.
    pub service_entries: Vec<ServiceEntry>,
    /// The `*.global` mTLS rule.
    pub destination_rule: DestinationRule,
    /// Remote instances left out, and why.
    pub unreachable: Vec<Unreachable>,
    /// Services left out because Istio would refuse their entry (one per refused port), sorted.
    pub rejected: Vec<RejectedPort>,
}

/// A port of a selected remote service that Istio would refuse in a ServiceEntry: the service
/// gets no entry (an entry Istio refuses would fail `kubectl apply`), and this says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedPort {
    /// The service.
    pub service: ServiceKey,
    /// The port's number.
    pub port: u16,
    /// What Istio refuses.
    pub rejection: PortRejection,
}

impl fmt::Display for RejectedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is left out (no ServiceEntry for {}): port {}: {}",
            self.service,
            self.service.global_host(),
            self.port,
            self.rejection
        )
    }
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobalError {
    /// The consuming cluster is not in the mesh.
    #[error("cluster {0:?} is not in the mesh")]
    UnknownCluster(String),
    /// A selected remote service has no virtual IP in the given allocations.
    #[error("{0} has no .global virtual IP in the allocations")]
    MissingAddress(ServiceKey),
}

/// Allocates the `.global` virtual IPs of every service of the mesh from its `globalVipRange`,
/// keeping `previous` (see [`allocate`]); the range must not overlap any pod or service CIDR.
pub fn allocate_for_mesh(
    spec: &MeshSpec,
    previous: &Allocations,
) -> Result<Allocations, AllocationError> {
    let mut services: Vec<ServiceKey> = spec.services.iter().map(|s| s.key()).collect();
    services.sort();
    services.dedup();
    let cidrs: Vec<(ClusterId, &'static str, ipnet::IpNet)> = spec
        .clusters
        .iter()
        .flat_map(|c| {
            let pods = c.pod_cidrs.iter().map(|n| (c.name.clone(), "podCidrs", *n));
            let svcs = c
                .service_cidrs
                .iter()
                .map(|n| (c.name.clone(), "serviceCidrs", *n));
            pods.chain(svcs)
        })
        .collect();
    allocate(&services, spec.global_vip_range(), &cidrs, previous)
}

/// The gateways standing for `cluster`: those discovered in it, else its network's gateways that
/// belong to no cluster (MeshNetworks `address` gateways).
fn gateways_of<'g>(
    gateways: &'g [Gateway],
    cluster: &ClusterId,
    network: Option<&NetworkId>,
) -> Vec<&'g Gateway> {
    let own: Vec<&Gateway> = gateways
        .iter()
        .filter(|g| g.cluster.as_ref() == Some(cluster))
        .collect();
    if !own.is_empty() {
        return own;
    }
    gateways
        .iter()
        .filter(|g| g.cluster.is_none() && Some(&g.network) == network)
        .collect()
}

/// The `.global` configuration for the control plane of `cluster`: for each selected service that
/// runs in another cluster, a ServiceEntry for `<name>.<namespace>.global` whose endpoints are the
/// gateways of every other cluster where it runs (never a gateway of `cluster` itself), on the
/// gateway's mTLS port, weighted by the service's endpoint weight there; plus the DestinationRule.
///
/// ```
/// use mesh_global::{ApiVersion, Selector, allocate_for_mesh, plan_for_cluster, Allocations};
/// let doc = mesh_model::MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED)?;
/// let vips = allocate_for_mesh(&doc.spec, &Allocations::default())?;
/// let plan = plan_for_cluster(&doc.spec, &"east".parse()?, &Selector::default(), &vips, ApiVersion::V1Alpha3)?;
/// assert_eq!(plan.service_entries[0].spec.hosts, ["httpbin.bar.global"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan_for_cluster(
    spec: &MeshSpec,
    cluster: &ClusterId,
    selector: &Selector,
    allocations: &Allocations,
    api: ApiVersion,
) -> Result<ClusterPlan, GlobalError> {
    let local = spec
        .clusters
        .iter()
        .find(|c| &c.name == cluster)
        .ok_or_else(|| GlobalError::UnknownCluster(cluster.to_string()))?;
    // The gateways as written, not `MeshNetworks::accepted` (rule P2): P2 is istiod's handling
    // of its MeshNetworks, while these ServiceEntries are config of their own that name gateway
    // addresses directly; meshNetworks is only where the document lists them, and
    // `meshspan check` reports an invalid one.
    let gateways = spec.gateways(true).gateways;
    let local_gateways: BTreeSet<&Gateway> =
        gateways_of(&gateways, &local.name, local.network.as_ref())
            .into_iter()
            .collect();
    let mut entries = Vec::new();
    let mut unreachable = Vec::new();
    let mut rejected = Vec::new();
    let mut services: Vec<&mesh_model::Service> = spec.services.iter().collect();
    services.sort_by_key(|s| s.key());
    for service in services {
        let key = service.key();
        if !selector.admits(&key) {
            continue;
        }
        // Endpoint weight per remote cluster (unset = 1), healthy endpoints only.
        let mut weight_in: BTreeMap<&ClusterId, u64> = BTreeMap::new();
        for e in service.endpoints.iter().filter(|e| e.healthy) {
            *weight_in.entry(&e.cluster).or_default() += u64::from(e.weight.unwrap_or(1));
        }
        for c in service.clusters() {
            weight_in.entry(c).or_default();
        }
        weight_in.remove(cluster);
        if weight_in.is_empty() {
            continue;
        }
        let mut endpoints = Vec::new();
        for (remote, weight) in weight_in {
            let remote_cluster = spec.clusters.iter().find(|c| &c.name == remote);
            let network = remote_cluster.and_then(|c| c.network.as_ref());
            let all = gateways_of(&gateways, remote, network);
            let usable: Vec<&Gateway> = all
                .iter()
                .copied()
                .filter(|g| !local_gateways.contains(g))
                .collect();
            if usable.is_empty() {
                unreachable.push(Unreachable {
                    service: key.clone(),
                    cluster: remote.clone(),
                    reason: if all.is_empty() {
                        UnreachableReason::NoGateway
                    } else {
                        UnreachableReason::OnlySharedGateway
                    },
                });
                continue;
            }
            let share = (weight / usable.len() as u64).clamp(1, u64::from(u32::MAX)) as u32;
            for g in usable {
                endpoints.push(ServiceEntryEndpoint {
                    address: g.address.clone(),
                    ports: service
                        .ports
                        .iter()
                        .map(|p| (entry_port_name(p), g.port))
                        .collect(),
                    network: Some(g.network.to_string()),
                    locality: remote_cluster
                        .and_then(|c| c.locality.as_ref())
                        .map(ToString::to_string),
                    weight: share,
                    labels: BTreeMap::from([("cluster".to_owned(), remote.to_string())]),
                });
            }
        }
        if endpoints.is_empty() {
            continue;
        }
        let refused: Vec<RejectedPort> = service
            .ports
            .iter()
            .filter_map(|p| {
                port_rejection(p).map(|rejection| RejectedPort {
                    service: key.clone(),
                    port: p.port,
                    rejection,
                })
            })
            .collect();
        if !refused.is_empty() {
            rejected.extend(refused);
            continue;
        }
        let vip = allocations
            .get(&key)
            .ok_or_else(|| GlobalError::MissingAddress(key.clone()))?;
        entries.push(ServiceEntry {
            api_version: api.as_str(),
            kind: "ServiceEntry",
            // In the control plane's namespace, which exists wherever istiod runs (the service's
            // own namespace may not exist in this cluster), named by the host: a Service name
            // and a namespace hold no dot, so the name is unique. `exportTo: ["*"]` keeps the
            // entry visible to every namespace whatever the mesh's defaultServiceExportTo.
            metadata: ObjectMeta {
                name: key.global_host(),
                namespace: ENTRY_NAMESPACE.to_owned(),
                labels: managed_by(),
            },
            spec: ServiceEntrySpec {
                hosts: vec![key.global_host()],
                export_to: vec!["*".to_owned()],
                location: "MESH_INTERNAL",
                ports: service
                    .ports
                    .iter()
                    .map(|p| ServiceEntryPort {
                        number: p.port,
                        name: entry_port_name(p),
                        protocol: entry_protocol(p),
                    })
                    .collect(),
                resolution: "DNS",
                addresses: vec![vip.to_string()],
                endpoints,
            },
        });
    }
    Ok(ClusterPlan {
        cluster: cluster.clone(),
        service_entries: entries,
        destination_rule: DestinationRule {
            api_version: api.as_str(),
            kind: "DestinationRule",
            metadata: ObjectMeta {
                name: "istio-multicluster-destinationrule".to_owned(),
                namespace: ENTRY_NAMESPACE.to_owned(),
                labels: managed_by(),
            },
            spec: DestinationRuleSpec {
                host: "*.global",
                traffic_policy: TrafficPolicy {
                    tls: TlsSettings {
                        mode: "ISTIO_MUTUAL",
                    },
                },
            },
        },
        unreachable,
        rejected,
    })
}

fn managed_by() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_owned(),
        "meshspan".to_owned(),
    )])
}
