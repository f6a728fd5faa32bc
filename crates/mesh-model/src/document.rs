//! The mesh document (`meshspan/v1alpha1`, kind `Mesh`): the one file a user writes to describe a
//! multicluster mesh. See `spec/mesh-document.md` for its meaning. Parsing and its errors are in
//! `parse`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::destination_rule::DestinationRule;
use crate::id::{ClusterId, Locality, Namespace, NetworkId, ServiceKey, ServiceName, TrustDomain};
use crate::mesh_config::MeshConfig;
use crate::meshnetworks::MeshNetworks;
use crate::null::empty_if_null;
use crate::peer_authentication::{PeerAuthentication, PeerAuthentications};
use crate::scope::McsFeatures;

/// The `apiVersion` of the documents this crate reads.
pub const API_VERSION: &str = "meshspan/v1alpha1";
/// The `kind` of a mesh document.
pub const KIND: &str = "Mesh";

/// A whole mesh document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshDocument {
    /// Always [`API_VERSION`].
    #[serde(deserialize_with = "api_version")]
    pub api_version: String,
    /// Always [`KIND`].
    #[serde(deserialize_with = "kind")]
    pub kind: String,
    /// The mesh's name.
    pub metadata: Metadata,
    /// What the mesh is made of.
    pub spec: MeshSpec,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// The mesh id.
    pub name: String,
}

fn default_trust_domain() -> TrustDomain {
    TrustDomain::new("cluster.local").expect("valid constant")
}

fn default_domain_suffix() -> String {
    "cluster.local".to_owned()
}

/// `spec`: clusters, networks, links, services and the DNS answers the libraries may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshSpec {
    /// The SPIFFE trust domain (default `cluster.local`).
    #[serde(default = "default_trust_domain")]
    pub trust_domain: TrustDomain,
    /// Other trust domains accepted as this one.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub trust_domain_aliases: Vec<TrustDomain>,
    /// The Kubernetes DNS suffix (default `cluster.local`).
    #[serde(default = "default_domain_suffix")]
    pub domain_suffix: String,
    /// The clusters.
    #[serde(default, deserialize_with = "empty_if_null")]
    pub clusters: Vec<Cluster>,
    /// Istio's MeshNetworks document, exactly as istiod reads it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mesh_networks: MeshNetworks,
    /// Routed connectivity between networks (VPN, peering).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub links: Vec<Link>,
    /// The services and their endpoints.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub services: Vec<Service>,
    /// Answers for hostname gateways and hostname external addresses: the libraries do no lookups.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub dns: BTreeMap<String, Vec<IpAddr>>,
    /// Replicated control planes: the range `<name>.<namespace>.global` virtual IPs are allocated
    /// from (default [`DEFAULT_GLOBAL_VIP_RANGE`], non-routable).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_cidr"
    )]
    pub global_vip_range: Option<IpNet>,
    /// Istio's MeshConfig fields the document carries: locality load balancing
    /// (`localityLbSetting`, `zoneAwareLbSetting`) and service scope (`serviceSettings`,
    /// `serviceScopeConfigs`), for every control plane that does not give its own
    /// (`clusters[].meshConfig`, read for service scope); absent = Istio's defaults.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mesh_config: MeshConfig,
    /// istiod's Kubernetes Multi-Cluster Services flags (`ENABLE_MCS_*`, all off by default).
    #[serde(default, skip_serializing_if = "is_default")]
    pub mcs: McsFeatures,
    /// DestinationRules, as Istio's API writes them (the fields meshspan reads; validated as
    /// Istio's webhook does).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub destination_rules: Vec<DestinationRule>,
    /// PeerAuthentications (`security.istio.io`), in istiod's order (oldest first): whether an
    /// endpoint accepts Istio mTLS on its port ([`crate::PeerAuthentications::mode_for`]).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub peer_authentications: Vec<PeerAuthentication>,
}

/// The default range of `.global` virtual IPs: `240.0.0.0/4`, reserved and never routed.
pub const DEFAULT_GLOBAL_VIP_RANGE: &str = "240.0.0.0/4";

impl MeshSpec {
    /// The DestinationRule for `service` (the first, when several name it).
    pub fn destination_rule(&self, service: &ServiceKey) -> Option<&DestinationRule> {
        self.destination_rules.iter().find(|d| &d.host == service)
    }

    /// The PeerAuthentications indexed for per-endpoint look-ups, with the root namespace of
    /// `spec.meshConfig` (`rootNamespace`, else `istio-system`).
    pub fn peer_authentication_index(&self) -> PeerAuthentications<'_> {
        PeerAuthentications::new(
            &self.peer_authentications,
            self.mesh_config.root_namespace(),
        )
    }

    /// The mesh config of the control plane serving `cluster` (its primary's `meshConfig`,
    /// else `spec.meshConfig`).
    pub fn mesh_config_of(&self, cluster: &Cluster) -> &MeshConfig {
        let primary = cluster.managing_control_plane();
        self.clusters
            .iter()
            .find(|c| c.name == *primary)
            .and_then(|c| c.mesh_config.as_ref())
            .unwrap_or(&self.mesh_config)
    }

    /// The range `.global` virtual IPs come from: `globalVipRange`, else `240.0.0.0/4`.
    pub fn global_vip_range(&self) -> IpNet {
        self.global_vip_range
            .unwrap_or_else(|| DEFAULT_GLOBAL_VIP_RANGE.parse().expect("valid constant"))
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_true(v: &bool) -> bool {
    *v
}

fn yes() -> bool {
    true
}

/// A Gateway server with `tls.mode: AUTO_PASSTHROUGH`: its port and its Gateway's selector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoPassthroughServer {
    /// The server's `port.number` (the gateway Service's port).
    pub port: u32,
    /// The Gateway's `selector`: the gateway pods it configures.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
}

/// One Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// The cluster id.
    pub name: ClusterId,
    /// The default network of its workloads (the system namespace's `topology.istio.io/network`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkId>,
    /// The cluster whose control plane manages this one; `None` = itself (a primary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ClusterId>,
    /// The Kubernetes API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server: Option<ApiServer>,
    /// Pod CIDRs.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "cidrs"
    )]
    pub pod_cidrs: Vec<IpNet>,
    /// Service CIDRs.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "cidrs"
    )]
    pub service_cidrs: Vec<IpNet>,
    /// Default locality of its endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<Locality>,
    /// The cluster's Istio plug-in CA certificates (`cacerts`), when the document carries them:
    /// `mesh-ca` checks from them that every cluster can trust every other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certs: Option<CaCerts>,
    /// The `AUTO_PASSTHROUGH` servers of the `networking.istio.io` Gateways its dump held (the
    /// east-west gateway's mTLS passthrough listener); `None` = no Gateway was read (a
    /// hand-written document), so `check` assumes each network gateway has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_passthrough: Option<Vec<AutoPassthroughServer>>,
    /// Multi-primary: the other clusters whose API servers this cluster's control plane reads, one
    /// per Istio remote secret (`istio/multiCluster: "true"`). Its remotes (`controlPlane`) are
    /// read too, listed here or not. Empty for a remote, and for a primary that reads only itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<ClusterId>,
    /// A primary's own istiod `meshConfig` scope fields, when they differ from `spec.meshConfig`
    /// (replicated control planes each have one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_config: Option<MeshConfig>,
    /// What its proxies send as `ISTIO_META_CLUSTER_ID` when it is not the cluster's name (the id
    /// its registry and remote secret use): scope rules compare the two (S36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_cluster_id: Option<ClusterId>,
}

/// A cluster's plug-in CA certificates as inline PEM text, the public files of Istio's `cacerts`
/// secret (the key, `ca-key.pem`, never belongs in a mesh document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaCerts {
    /// `root-cert.pem`: the trust bundle (one or more roots).
    pub root_cert: String,
    /// `ca-cert.pem`: the cluster's intermediate CA certificate.
    pub ca_cert: String,
    /// `cert-chain.pem`: the intermediate followed by the certificates up to the root.
    pub cert_chain: String,
}

impl Cluster {
    /// The cluster id its proxies send (`proxyClusterId`, else its name).
    pub fn proxy_cluster_id(&self) -> &ClusterId {
        self.proxy_cluster_id.as_ref().unwrap_or(&self.name)
    }

    /// The cluster whose control plane manages this one (itself for a primary).
    pub fn managing_control_plane(&self) -> &ClusterId {
        self.control_plane.as_ref().unwrap_or(&self.name)
    }
}

/// How far an API server is exposed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Exposure {
    /// Reachable from its own network and networks linked to it (and `reachableFrom`).
    #[default]
    Private,
    /// Reachable from every network.
    Public,
}

/// A cluster's Kubernetes API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiServer {
    /// `host:port` the control planes use: an IP (IPv6 in brackets) or a DNS name, and a port
    /// (checked when parsed).
    #[serde(deserialize_with = "host_port")]
    pub address: String,
    /// How far it is exposed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub exposure: Exposure,
    /// Further networks that can reach it.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub reachable_from: Vec<NetworkId>,
}

/// Routed connectivity: pods of these networks reach each other by IP (one flat address space).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Link {
    /// The networks joined (two or more).
    pub networks: Vec<NetworkId>,
}

/// A service, the same `name.namespace` in every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// The name.
    pub name: ServiceName,
    /// The namespace.
    pub namespace: Namespace,
    /// The service ports.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub ports: Vec<ServicePort>,
    /// Clusters that have the Service object (default: those with endpoints).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub defined_in: Vec<ClusterId>,
    /// LoadBalancer addresses (IPs or hostnames) per cluster: what `registryServiceName` resolves to.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub external_addresses: BTreeMap<ClusterId, Vec<String>>,
    /// The endpoints, in registry order.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub endpoints: Vec<Endpoint>,
    /// Clusters holding an MCS `ServiceExport` of the service (read with `spec.mcs`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub service_exports: Vec<ClusterId>,
    /// The Service's `spec.trafficDistribution` (or Istio's
    /// `networking.istio.io/traffic-distribution` annotation); `None` = no preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_distribution: Option<TrafficDistribution>,
}

/// A Service's `spec.trafficDistribution`: the values Kubernetes accepts (an annotation with
/// another value is no preference to Istio; the document refuses it as Kubernetes would).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TrafficDistribution {
    /// `PreferClose`: the same zone first (Istio: as `PreferSameZone`).
    PreferClose,
    /// `PreferSameZone`.
    PreferSameZone,
    /// `PreferSameNode`.
    PreferSameNode,
}

impl TrafficDistribution {
    /// The value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreferClose => "PreferClose",
            Self::PreferSameZone => "PreferSameZone",
            Self::PreferSameNode => "PreferSameNode",
        }
    }
}

impl Service {
    /// `name.namespace`.
    pub fn key(&self) -> ServiceKey {
        ServiceKey::new(self.name.clone(), self.namespace.clone())
    }

    /// The clusters that have this service: `definedIn`, or else the clusters of its endpoints
    /// (sorted, without duplicates).
    pub fn clusters(&self) -> Vec<&ClusterId> {
        let mut out: Vec<&ClusterId> = if self.defined_in.is_empty() {
            self.endpoints.iter().map(|e| &e.cluster).collect()
        } else {
            self.defined_in.iter().collect()
        };
        out.sort();
        out.dedup();
        out
    }
}

/// Application protocols of a service port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePort {
    /// The port's name (what Istio matches endpoints on).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The service port.
    pub port: u16,
    /// The endpoints' port (default: `port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
    /// `HTTP`, `TCP`, `GRPC`, ... (free text, as Istio's protocol selection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl ServicePort {
    /// The port endpoints listen on.
    pub fn endpoint_port(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }
}

/// Whether a workload can terminate Istio mTLS (`security.istio.io/tlsMode`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TlsMode {
    /// Has a sidecar: can do Istio mTLS.
    #[default]
    Istio,
    /// No sidecar.
    Disabled,
}

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEndpoint", into = "RawEndpoint")]
pub struct Endpoint {
    /// The cluster (registry) it was discovered in.
    pub cluster: ClusterId,
    /// Its addresses, first one primary (at least one).
    pub addresses: Vec<IpAddr>,
    /// The port; `None` = the service port's target port.
    pub port: Option<u16>,
    /// The pod's `topology.istio.io/network` label.
    pub network: Option<NetworkId>,
    /// Its locality; `None` = the cluster's.
    pub locality: Option<Locality>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it can do Istio mTLS.
    pub tls_mode: TlsMode,
    /// Its service account.
    pub service_account: Option<String>,
    /// Its workload's name (Istio's `WorkloadName`: the Deployment, StatefulSet, … of the pod,
    /// or the WorkloadEntry), the first field of the `istio.workload` metadata; `None` = `""`.
    pub workload: Option<String>,
    /// Load-balancing weight; `None` = unset (1).
    pub weight: Option<u32>,
    /// Health.
    pub healthy: bool,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEndpoint {
    cluster: ClusterId,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_ip"
    )]
    address: Option<IpAddr>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "ips"
    )]
    addresses: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    network: Option<NetworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locality: Option<Locality>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "is_default")]
    tls_mode: TlsMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weight: Option<u32>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    healthy: bool,
}

impl TryFrom<RawEndpoint> for Endpoint {
    type Error = String;
    fn try_from(r: RawEndpoint) -> Result<Self, String> {
        let addresses = match (r.address, r.addresses.is_empty()) {
            (Some(_), false) => {
                return Err("give either `address` or `addresses`, not both".to_owned());
            }
            (Some(a), true) => vec![a],
            (None, false) => r.addresses,
            (None, true) => return Err("an endpoint needs `address` (or `addresses`)".to_owned()),
        };
        Ok(Self {
            cluster: r.cluster,
            addresses,
            port: r.port,
            network: r.network,
            locality: r.locality,
            labels: r.labels,
            tls_mode: r.tls_mode,
            service_account: r.service_account,
            workload: r.workload,
            weight: r.weight,
            healthy: r.healthy,
        })
    }
}

impl From<Endpoint> for RawEndpoint {
    fn from(e: Endpoint) -> Self {
        let (address, addresses) = if e.addresses.len() == 1 {
            (Some(e.addresses[0]), Vec::new())
        } else {
            (None, e.addresses)
        };
        Self {
            cluster: e.cluster,
            address,
            addresses,
            port: e.port,
            network: e.network,
            locality: e.locality,
            labels: e.labels,
            tls_mode: e.tls_mode,
            service_account: e.service_account,
            workload: e.workload,
            weight: e.weight,
            healthy: e.healthy,
        }
    }
}

/// An IP address read from a string, with an error that names the value.
struct Ip(IpAddr);

impl<'de> Deserialize<'de> for Ip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Ip)
            .map_err(|_| de::Error::custom(format!("{s:?} is not a valid IP address")))
    }
}

/// A CIDR read from a string: a valid prefix with no host bits set.
struct Cidr(IpNet);

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let net: IpNet = s
            .parse()
            .map_err(|_| de::Error::custom(format!("{s:?} is not a valid CIDR")))?;
        if net.trunc() != net {
            return Err(de::Error::custom(format!(
                "{s:?} is not a valid CIDR: host bits are set (did you mean \"{}\"?)",
                net.trunc()
            )));
        }
        Ok(Cidr(net))
    }
}

fn cidrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    Ok(empty_if_null::<_, Vec<Cidr>>(d)?
        .into_iter()
        .map(|c| c.0)
        .collect())
}

fn some_cidr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpNet>, D::Error> {
    Ok(Some(Cidr::deserialize(d)?.0))
}

/// `host:port`: an IP address (IPv6 in brackets) or a DNS name, then a port 1–65535.
fn host_port<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if is_host_port(&s) {
        Ok(s)
    } else {
        Err(de::Error::custom(format!(
            "{s:?} is not an address: expected host:port (an IP or DNS name, and a port 1-65535, e.g. 10.0.0.1:6443)"
        )))
    }
}

fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    if !port.parse::<u16>().is_ok_and(|p| p != 0) {
        return false;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    host.parse::<std::net::Ipv4Addr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }))
}

fn ips<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    Ok(empty_if_null::<_, Vec<Ip>>(d)?
        .into_iter()
        .map(|c| c.0)
        .collect())
}

fn some_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    Ok(Some(Ip::deserialize(d)?.0))
}

fn api_version<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s == API_VERSION {
        Ok(s)
    } else {
        Err(de::Error::custom(format!(
            "{s:?} is not a supported apiVersion (expected {API_VERSION:?})"
        )))
    }
}

fn kind<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s == KIND {
        Ok(s)
    } else {
        Err(de::Error::custom(format!(
            "{s:?} is not a supported kind (expected {KIND:?})"
        )))
    }
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Private => "private",
            Self::Public => "public",
        })
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Istio => "istio",
            Self::Disabled => "disabled",
        })
    }
}
