//! The Kubernetes and Istio objects the importer reads, in their API shapes, holding only the fields
//! it uses.
//!
//! Hand-written serde structs rather than `k8s-openapi`: that crate models every field of every
//! kind (a large dependency and slow to build), while the importer reads a few dozen fields of
//! seven kinds; unknown fields are skipped by serde without being kept, which is also what keeps
//! a Secret's token or key out of memory wherever the importer does not need it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Which object: `kind/namespace/name` (`kind/name` for cluster-scoped kinds).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The kind (`Pod`, `EndpointSlice`).
    pub kind: String,
    /// The namespace; empty for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The part of any object read before its kind is known, borrowed from the dump's text where it
/// can be (every item of a JSON dump is read twice: its head, then its kind's struct).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Head<'a> {
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub api_version: Cow<'a, str>,
    #[serde(borrow)]
    pub metadata: HeadMeta<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HeadMeta<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub namespace: Cow<'a, str>,
}

impl Head<'_> {
    /// The head holding its own text (for an item read from a value that is moved on).
    pub(crate) fn into_owned(self) -> Head<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Head {
            kind: own(self.kind),
            api_version: own(self.api_version),
            metadata: HeadMeta {
                name: own(self.metadata.name),
                namespace: own(self.metadata.namespace),
            },
        }
    }
}

/// `metadata`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Meta {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "generateName")]
    pub generate_name: String,
    #[serde(rename = "ownerReferences")]
    pub owner_references: Vec<OwnerReference>,
}

/// `metadata.ownerReferences[]`: what the workload name is derived from.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OwnerReference {
    pub kind: String,
    pub name: String,
    pub controller: Option<bool>,
}

/// `v1/Namespace`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Namespace {
    pub metadata: Meta,
}

/// `v1/Node`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Node {
    pub metadata: Meta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct NodeSpec {
    #[serde(rename = "podCIDR")]
    pub pod_cidr: String,
    #[serde(rename = "podCIDRs")]
    pub pod_cidrs: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NodeStatus {
    pub addresses: Vec<NodeAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NodeAddress {
    #[serde(rename = "type")]
    pub kind: String,
    pub address: String,
}

/// `v1/Pod`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Pod {
    pub metadata: Meta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PodSpec {
    pub node_name: String,
    pub service_account_name: String,
    pub containers: Vec<Container>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Container {
    pub name: String,
    pub env: Vec<EnvVar>,
}

/// An environment variable; `valueFrom` is not read (it may point at a Secret).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PodStatus {
    #[serde(rename = "podIP")]
    pub pod_ip: String,
    #[serde(rename = "podIPs")]
    pub pod_ips: Vec<PodIp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PodIp {
    pub ip: String,
}

/// `v1/Service`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Service {
    pub metadata: Meta,
    pub spec: ServiceSpec,
    pub status: ServiceStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServiceSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub ports: Vec<ServicePort>,
    #[serde(rename = "externalIPs")]
    pub external_ips: Vec<String>,
    /// `spec.trafficDistribution` (`PreferClose`, …); `""` = unset.
    pub traffic_distribution: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServicePort {
    pub name: String,
    pub port: u16,
    pub target_port: Option<IntOrString>,
    pub protocol: String,
    pub app_protocol: String,
    pub node_port: u16,
}

/// Kubernetes' `IntOrString` (a `targetPort`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum IntOrString {
    Int(u16),
    String(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServiceStatus {
    pub load_balancer: LoadBalancerStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoadBalancerStatus {
    pub ingress: Vec<LoadBalancerIngress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoadBalancerIngress {
    pub ip: String,
    pub hostname: String,
}

/// `discovery.k8s.io/v1/EndpointSlice`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EndpointSlice {
    pub metadata: Meta,
    pub address_type: String,
    pub endpoints: Vec<SliceEndpoint>,
    pub ports: Vec<SlicePort>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SliceEndpoint {
    pub addresses: Vec<String>,
    pub conditions: Conditions,
    pub target_ref: Option<ObjectReference>,
}

/// `EndpointConditions`: each may be absent (`None`), which Istio reads as true.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(default)]
pub(crate) struct Conditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ObjectReference {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SlicePort {
    pub name: Option<String>,
    pub port: Option<u16>,
}

/// `v1/ConfigMap`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConfigMap {
    pub metadata: Meta,
    pub data: BTreeMap<String, String>,
}

/// `v1/Secret`. Its values are base64 (`data`) or plain (`stringData`); they are decoded only to
/// read a kubeconfig's server address or a CA certificate, and never kept.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Secret {
    pub metadata: Meta,
    pub data: BTreeMap<String, String>,
    pub string_data: BTreeMap<String, String>,
}

/// `networking.k8s.io/v1/ServiceCIDR`: the cluster's service ranges (Kubernetes ≥ 1.29).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ServiceCidr {
    pub spec: ServiceCidrSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ServiceCidrSpec {
    pub cidrs: Vec<String>,
}
