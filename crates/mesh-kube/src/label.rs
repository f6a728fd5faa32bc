//! The label and annotation names the importer reads, as Istio (`istio.io/api` `label`,
//! `annotation`) and Kubernetes (`k8s.io/api/core/v1` well-known labels) define them.

/// A workload's, namespace's or gateway Service's network.
pub(crate) const TOPOLOGY_NETWORK: &str = "topology.istio.io/network";
/// A pod's locality (`region.zone.subzone`, dots standing for slashes).
pub(crate) const TOPOLOGY_LOCALITY: &str = "topology.istio.io/locality";
/// The legacy locality label (`pkg/model/proxy.go`, `LocalityLabel`).
pub(crate) const LEGACY_LOCALITY: &str = "istio-locality";
/// A node's subzone.
pub(crate) const TOPOLOGY_SUBZONE: &str = "topology.istio.io/subzone";
/// A node's region (GA), then its beta fallback.
pub(crate) const NODE_REGION: [&str; 2] = [
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/region",
];
/// A node's zone (GA), then its beta fallback.
pub(crate) const NODE_ZONE: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];
/// Whether a workload's sidecar terminates Istio mTLS.
pub(crate) const TLS_MODE: &str = "security.istio.io/tlsMode";
/// The Service an EndpointSlice belongs to.
pub(crate) const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The MCS ServiceImport an EndpointSlice belongs to (Istio's slice selector excludes these).
pub(crate) const MCS_SERVICE_NAME: &str = "multicluster.kubernetes.io/service-name";
/// A gateway Service's mTLS port (default 15443).
pub(crate) const GATEWAY_PORT: &str = "networking.istio.io/gatewayPort";
/// A NodePort gateway's node selector (JSON labels) — an annotation.
pub(crate) const NODE_SELECTOR: &str = "traffic.istio.io/nodeSelector";
/// Remote secrets carry this label with value `true`.
pub(crate) const MULTICLUSTER_SECRET: &str = "istio/multiCluster";
/// The cluster a remote secret is for (annotation, set by `istioctl create-remote-secret`).
pub(crate) const SECRET_CLUSTER: &str = "networking.istio.io/cluster";
