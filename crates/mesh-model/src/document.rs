//! The mesh document (`meshspan/v1alpha1`, kind `Mesh`): the one file a user writes to describe a
//! multicluster mesh. See `spec/mesh-document.md` for its meaning.
//!
//! Parsing goes text → a generic JSON value → the typed document, tracking the path of every field,
//! so each error names where it was (`spec.clusters[2].podCidrs[0]`) and the value it rejects.
//! Unknown fields in our own sections are errors with a "did you mean" suggestion; the
//! `meshNetworks` section follows Istio and ignores them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::id::{ClusterId, Locality, Namespace, NetworkId, ServiceKey, ServiceName, TrustDomain};
use crate::meshnetworks::MeshNetworks;

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trust_domain_aliases: Vec<TrustDomain>,
    /// The Kubernetes DNS suffix (default `cluster.local`).
    #[serde(default = "default_domain_suffix")]
    pub domain_suffix: String,
    /// The clusters.
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    /// Istio's MeshNetworks document, exactly as istiod reads it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mesh_networks: MeshNetworks,
    /// Routed connectivity between networks (VPN, peering).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// The services and their endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Answers for hostname gateways and hostname external addresses: the libraries do no lookups.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dns: BTreeMap<String, Vec<IpAddr>>,
    /// Replicated control planes: the range `<name>.<namespace>.global` virtual IPs are allocated
    /// from (default [`DEFAULT_GLOBAL_VIP_RANGE`], non-routable).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_cidr"
    )]
    pub global_vip_range: Option<IpNet>,
}

/// The default range of `.global` virtual IPs: `240.0.0.0/4`, reserved and never routed.
pub const DEFAULT_GLOBAL_VIP_RANGE: &str = "240.0.0.0/4";

impl MeshSpec {
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
    /// Multi-primary: the other clusters whose API servers this cluster's control plane reads, one
    /// per Istio remote secret (`istio/multiCluster: "true"`). Its remotes (`controlPlane`) are
    /// read too, listed here or not. Empty for a remote, and for a primary that reads only itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<ClusterId>,
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
    /// `host:port` the control planes use.
    pub address: String,
    /// How far it is exposed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub exposure: Exposure,
    /// Further networks that can reach it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    /// Clusters that have the Service object (default: those with endpoints).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defined_in: Vec<ClusterId>,
    /// LoadBalancer addresses (IPs or hostnames) per cluster: what `registryServiceName` resolves to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_addresses: BTreeMap<ClusterId, Vec<String>>,
    /// The endpoints, in registry order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
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
    Ok(Vec::<Cidr>::deserialize(d)?
        .into_iter()
        .map(|c| c.0)
        .collect())
}

fn some_cidr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpNet>, D::Error> {
    Ok(Some(Cidr::deserialize(d)?.0))
}

fn ips<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    Ok(Vec::<Ip>::deserialize(d)?
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

/// Where in the text a problem is (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

/// Why a mesh document could not be read. `Display`: `<path>: <problem> (line L, column C)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The text is not YAML (or JSON) at all.
    #[error("not valid {format}: {message}")]
    Syntax {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message, with its line and column.
        message: String,
    },
    /// A field that our sections do not have.
    #[error("{path}: unknown field {field:?}{}{}", suggestion_text(.suggestion), location_text(.location))]
    UnknownField {
        /// Where it was (`spec.clusters[0]`).
        path: String,
        /// The field as written.
        field: String,
        /// The closest known field, when one is close.
        suggestion: Option<String>,
        /// Where in the text, when the parser knows.
        location: Option<Location>,
    },
    /// The YAML text goes over one of the parser's limits. The size limits (nodes, events, scalar
    /// bytes) grow with the text's length, so only aliases (`*name`, each repeating what its anchor
    /// holds) can reach them: they keep the work of reading a document proportional to its size,
    /// where an alias bomb would expand a few kilobytes into gigabytes. The others (nesting depth,
    /// aliases and anchors) are fixed.
    #[error(
        "YAML over the parser's limit {limit} = {max}: {value}{}{}",
        limit_hint(.limit),
        location_text(.location)
    )]
    Limit {
        /// The limit, named as the field of serde-saphyr's `Budget` (`max_nodes`, `max_aliases`).
        limit: &'static str,
        /// How much the text had used when the parser stopped.
        value: usize,
        /// The limit for this text.
        max: usize,
        /// Where in the text, when the parser knows.
        location: Option<Location>,
    },
    /// A field whose value is wrong: bad syntax, wrong type, missing, out of range.
    #[error("{path}: {message}{}", location_text(.location))]
    Invalid {
        /// Where it was (`spec.clusters[2].podCidrs[0]`, or `.` for the document itself).
        path: String,
        /// What is wrong, naming the value.
        message: String,
        /// Where in the text, when the parser knows.
        location: Option<Location>,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

/// Why a size limit that the text's own length cannot reach was reached.
fn limit_hint(limit: &str) -> &'static str {
    match limit {
        "max_nodes" | "max_events" | "max_total_scalar_bytes" => {
            " (an alias counts everything its anchor holds, every time)"
        }
        _ => "",
    }
}

fn location_text(l: &Option<Location>) -> String {
    match l {
        Some(l) => format!(" (line {}, column {})", l.line, l.column),
        None => String::new(),
    }
}

/// Splits the parsers' trailing location (serde-saphyr: ` at line L, column C`; serde_json:
/// ` at line L column C`) off a message.
fn split_location(message: &str) -> (&str, Option<Location>) {
    let Some(i) = message.rfind(" at line ") else {
        return (message, None);
    };
    let rest = &message[i + " at line ".len()..];
    let mut numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(str::parse::<usize>);
    match (numbers.next(), numbers.next(), numbers.next()) {
        (Some(Ok(line)), Some(Ok(column)), None) => {
            (&message[..i], Some(Location { line, column }))
        }
        _ => (message, None),
    }
}

/// Turns a path-tracked field error into a typed error.
fn field_error(path: String, message: &str) -> DocumentError {
    let (message, location) = split_location(message);
    unknown_field(&path, message, location).unwrap_or(DocumentError::Invalid {
        path,
        message: message.to_owned(),
        location,
    })
}

impl MeshDocument {
    /// Reads a mesh document from YAML.
    ///
    /// ```
    /// use mesh_model::MeshDocument;
    /// let err = MeshDocument::from_yaml(
    ///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters:\n  - name: c1\n    podCidrs: [10.0.0.0/33]\n",
    /// ).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"spec.clusters[0].podCidrs[0]: "10.0.0.0/33" is not a valid CIDR (line 7, column 16)"#
    /// );
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self, DocumentError> {
        // Type-directed: a scalar is read as the type the field wants, so `name: 1234` or
        // `name: y` is the string a cluster id needs, not a number or a YAML 1.1 boolean.
        let mut failed_field = None;
        let budget = yaml_budget(text.len());
        let mut options = serde_saphyr::Options::default();
        options.budget = Some(budget.clone());
        let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
            serde_path_to_error::deserialize::<_, Self>(de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                failed_field = Some((path, inner.to_string()));
                inner
            })
        });
        if let Err(e) = &parsed
            && let Some(limit) = limit_error(e, &budget)
        {
            return Err(limit);
        }
        match (parsed, failed_field) {
            (Ok(doc), _) => Ok(doc),
            // serde_path_to_error records "." when the problem is not inside a field: syntax.
            (Err(_), Some((path, message))) if path != "." || !is_syntax(&message) => {
                let mut error = field_error(path, &message);
                name_the_value(&mut error, text);
                Err(error)
            }
            (Err(e), _) => Err(DocumentError::Syntax {
                format: "YAML",
                message: e.to_string(),
            }),
        }
    }

    /// Reads a mesh document from JSON.
    pub fn from_json(text: &str) -> Result<Self, DocumentError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let doc: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                DocumentError::Syntax {
                    format: "JSON",
                    message: inner.to_string(),
                }
            } else {
                field_error(path, &inner.to_string())
            }
        })?;
        de.end().map_err(|e| DocumentError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        Ok(doc)
    }

    /// Reads a mesh document from YAML or JSON, choosing by the first non-blank character.
    pub fn parse(text: &str) -> Result<Self, DocumentError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_yaml(text)
        }
    }

    /// Reads a mesh document from an already parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, DocumentError> {
        serde_path_to_error::deserialize(value)
            .map_err(|e| field_error(e.path().to_string(), &e.inner().to_string()))
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> String {
        // Serializing plain data with string keys into YAML cannot fail.
        serde_saphyr::to_string(self).unwrap_or_default()
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// serde-saphyr's limits for a YAML text of `len` bytes. Its defaults (250,000 nodes, 1,000,000
/// events, 64 MiB of scalars) are sized for configuration files and refuse a mesh of 20,000
/// endpoints that JSON reads without a limit. Every node of a text takes at least half a byte of it
/// (`[?,?]`: a flow pair is three nodes for two bytes), every event is the start or the end of a
/// node (plus the stream's and document's four), and scalars are at most as long as the text plus
/// the expansion of their tags (`!!str` stands for the 21 bytes of `tag:yaml.org,2002:str`). So
/// these limits never refuse a text for its size: only aliases, which repeat their anchor's nodes
/// without taking bytes, can reach them, and that is what refuses an alias bomb (the floor of
/// 250,000 nodes stops a short one early). The alias limits (50,000 aliases and anchors, at most 10
/// aliases an anchor) stay as they are.
fn yaml_budget(len: usize) -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(len.saturating_mul(2));
    budget.max_events = budget
        .max_events
        .max(len.saturating_mul(4).saturating_add(4));
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len.saturating_mul(5));
    budget
}

/// The typed error of a YAML text that went over one of `budget`'s limits; `None` for any other
/// error.
fn limit_error(
    error: &serde_saphyr::Error,
    budget: &serde_saphyr::Budget,
) -> Option<DocumentError> {
    use serde_saphyr::budget::BudgetBreach as B;
    let mut inner = error;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let serde_saphyr::Error::Budget { breach, .. } = inner else {
        return None;
    };
    let (limit, value, max) = match *breach {
        B::Events { events } => ("max_events", events, budget.max_events),
        B::Aliases { aliases } => ("max_aliases", aliases, budget.max_aliases),
        B::Anchors { anchors } => ("max_anchors", anchors, budget.max_anchors),
        B::Depth { depth } => ("max_depth", depth, budget.max_depth),
        B::Documents { documents } => ("max_documents", documents, budget.max_documents),
        B::Nodes { nodes } => ("max_nodes", nodes, budget.max_nodes),
        B::ScalarBytes { total_scalar_bytes } => (
            "max_total_scalar_bytes",
            total_scalar_bytes,
            budget.max_total_scalar_bytes,
        ),
        B::MergeKeys { merge_keys } => ("max_merge_keys", merge_keys, budget.max_merge_keys),
        B::AliasAnchorRatio { aliases, anchors } => (
            "alias_anchor_ratio_multiplier",
            aliases,
            budget.alias_anchor_ratio_multiplier.saturating_mul(anchors),
        ),
        B::RecordedAnchorEvents {
            recorded_anchor_events,
        } => (
            "max_recorded_anchor_events",
            recorded_anchor_events,
            budget.max_recorded_anchor_events,
        ),
        B::RecordedAnchorBytes {
            recorded_anchor_bytes,
        } => (
            "max_recorded_anchor_bytes",
            recorded_anchor_bytes,
            budget.max_recorded_anchor_bytes,
        ),
        // Limits of features we do not use (includes, properties, readers): the parser's message.
        _ => return None,
    };
    let location = error.location().map(|l| Location {
        line: usize::try_from(l.line()).unwrap_or(usize::MAX),
        column: usize::try_from(l.column()).unwrap_or(usize::MAX),
    });
    Some(DocumentError::Limit {
        limit,
        value,
        max,
        location,
    })
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" (serde-saphyr writes the list
/// without backticks) into a typed error with the closest known name. serde exposes the field and
/// the expected names only through this message.
fn unknown_field(path: &str, message: &str, location: Option<Location>) -> Option<DocumentError> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let list = rest
        .trim_start_matches(", expected one of ")
        .trim_start_matches(", expected ");
    let expected: Vec<&str> = list
        .split(", ")
        .map(|c| c.trim_matches('`'))
        .filter(|c| !c.is_empty())
        .collect();
    let suggestion = expected
        .iter()
        .map(|cand| (strsim::damerau_levenshtein(field, cand), *cand))
        .filter(|(d, cand)| *d <= 2.max(cand.len() / 3))
        .min()
        .map(|(_, c)| c.to_owned())
        .or_else(|| {
            expected
                .iter()
                .find(|c| c.eq_ignore_ascii_case(field))
                .map(|c| (*c).to_owned())
        });
    // serde_path_to_error puts the unknown key itself at the end of the path; the error belongs to
    // the object that holds it.
    let parent = path
        .strip_suffix(field)
        .map(|p| p.strip_suffix('.').unwrap_or(p))
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    Some(DocumentError::UnknownField {
        path: if parent.is_empty() || parent == field {
            ".".into()
        } else {
            parent.into()
        },
        field: field.to_owned(),
        suggestion,
        location,
    })
}

/// serde-saphyr says `invalid u16` without the value: take it from the text at the location.
fn name_the_value(error: &mut DocumentError, text: &str) {
    let DocumentError::Invalid {
        message,
        location: Some(at),
        ..
    } = error
    else {
        return;
    };
    let Some(kind) = message
        .strip_prefix("invalid ")
        .filter(|k| !k.contains(' '))
    else {
        return;
    };
    let Some(line) = text.lines().nth(at.line.saturating_sub(1)) else {
        return;
    };
    let scalar: String = line
        .chars()
        .skip(at.column.saturating_sub(1))
        .take_while(|c| !matches!(c, ',' | ']' | '}' | '#'))
        .collect();
    let scalar = scalar.trim().trim_matches(|c| c == '"' || c == '\'');
    if !scalar.is_empty() {
        *message = format!("{scalar:?} is not a valid {kind}");
    }
}

/// Whether a serde-saphyr message describes broken YAML rather than a wrong value.
fn is_syntax(message: &str) -> bool {
    !message.starts_with("unknown field")
        && !message.starts_with("missing field")
        && !message.starts_with("invalid")
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

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\n";

    fn err(spec: &str) -> String {
        MeshDocument::from_yaml(&format!("{HEAD}spec:\n{spec}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_cidr_names_path_and_value() {
        assert_eq!(
            err(
                "  clusters:\n  - name: a\n  - name: b\n  - name: c\n    podCidrs: [10.0.0.0/33]\n"
            ),
            r#"spec.clusters[2].podCidrs[0]: "10.0.0.0/33" is not a valid CIDR (line 9, column 16)"#
        );
        assert_eq!(
            err("  clusters:\n  - name: a\n    serviceCidrs: [10.0.0.1/8]\n"),
            r#"spec.clusters[0].serviceCidrs[0]: "10.0.0.1/8" is not a valid CIDR: host bits are set (did you mean "10.0.0.0/8"?) (line 7, column 20)"#
        );
    }

    #[test]
    fn cluster_ca_certs_are_optional_inline_pem() {
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: a\n    caCerts: {{rootCert: r, caCert: c, certChain: ch}}\n  - name: b\n"
        ))
        .unwrap();
        let certs = doc.spec.clusters[0].ca_certs.as_ref().unwrap();
        assert_eq!(
            (
                certs.root_cert.as_str(),
                certs.ca_cert.as_str(),
                certs.cert_chain.as_str()
            ),
            ("r", "c", "ch")
        );
        assert_eq!(doc.spec.clusters[1].ca_certs, None);
        let json = serde_json::to_string(&doc).unwrap();
        assert!(json.contains(r#""caCerts":{"rootCert":"r","caCert":"c","certChain":"ch"}"#));
        assert_eq!(json.matches("caCerts").count(), 1);
        let e = err(
            "  clusters:\n  - name: a\n    caCerts: {rootCert: r, caCert: c, certChain: ch, caKey: k}\n",
        );
        assert!(e.contains("caKey"), "{e}");
    }

    #[test]
    fn bad_name() {
        let e = err("  clusters:\n  - name: cluster_1\n");
        assert!(
            e.starts_with("spec.clusters[0].name: cluster id \"cluster_1\" is invalid"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_suggests() {
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: a\n    podCidr: [10.0.0.0/8]\n"
        ));
        assert_eq!(
            doc.unwrap_err(),
            DocumentError::UnknownField {
                path: "spec.clusters[0]".into(),
                field: "podCidr".into(),
                suggestion: Some("podCidrs".into()),
                location: Some(Location { line: 7, column: 5 }),
            }
        );
        assert_eq!(
            err("  clusters:\n  - name: a\n    podCidr: [10.0.0.0/8]\n"),
            r#"spec.clusters[0]: unknown field "podCidr" (did you mean "podCidrs"?) (line 7, column 5)"#
        );
    }

    #[test]
    fn wrong_type_and_missing_field() {
        let e = err("  services:\n  - name: foo\n    namespace: ns\n    ports: [{port: http}]\n");
        assert_eq!(
            e,
            r#"spec.services[0].ports[0].port: "http" is not a valid u16 (line 8, column 20)"#
        );
        let e = err("  clusters:\n  - network: n1\n");
        assert_eq!(
            e,
            "spec.clusters[0]: missing field `name` (line 6, column 5)"
        );
        let e = MeshDocument::from_json(r#"{"apiVersion": 1}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "apiVersion: invalid type: integer `1`, expected a string (line 1, column 16)"
        );
    }

    #[test]
    fn scalars_are_read_as_the_field_wants() {
        // YAML 1.1 would make `y` and `on` booleans and `1234` a number: all are valid cluster ids.
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: y\n  - name: 1234\n  - {{name: on, network: 10}}\n"
        ))
        .unwrap();
        let names: Vec<&str> = doc.spec.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["y", "1234", "on"]);
        assert_eq!(
            doc.spec.clusters[2].network.as_ref().unwrap().as_str(),
            "10"
        );
        assert_eq!(MeshDocument::from_yaml(&doc.to_yaml()).unwrap(), doc);
    }

    #[test]
    fn endpoint_address_forms() {
        let e = err(
            "  services:\n  - name: foo\n    namespace: ns\n    endpoints:\n    - {cluster: c, address: 10.0.0.300}\n",
        );
        assert_eq!(
            e,
            r#"spec.services[0].endpoints[0].address: "10.0.0.300" is not a valid IP address (line 9, column 29)"#
        );
        let e = err(
            "  services:\n  - name: foo\n    namespace: ns\n    endpoints:\n    - {cluster: c}\n",
        );
        assert_eq!(
            e,
            "spec.services[0].endpoints[0]: an endpoint needs `address` (or `addresses`) (line 9, column 7)"
        );
    }

    #[test]
    fn wrong_api_version() {
        let e =
            MeshDocument::from_yaml("apiVersion: v2\nkind: Mesh\nmetadata: {name: m}\nspec: {}\n")
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "apiVersion: \"v2\" is not a supported apiVersion (expected \"meshspan/v1alpha1\") (line 1, column 13)"
        );
    }

    #[test]
    fn syntax_error_is_typed() {
        assert!(matches!(
            MeshDocument::from_yaml("{").unwrap_err(),
            DocumentError::Syntax { format: "YAML", .. }
        ));
        assert!(matches!(
            MeshDocument::from_json("{").unwrap_err(),
            DocumentError::Syntax { format: "JSON", .. }
        ));
    }
}
