//! What a proxy receives for one cluster: the engine's output, before it is put on the wire.
//!
//! This is the shape of Envoy's `ClusterLoadAssignment` restricted to what Istio's split-horizon EDS
//! sets. `wire` turns it into `envoy.config.endpoint.v3.ClusterLoadAssignment` bytes.

use mesh_model::{ClusterId, NetworkId};

/// The endpoints one proxy class receives for one Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadAssignment {
    /// The Envoy cluster name (`outbound|8000||foo.ns1.svc.cluster.local`, or the SNI-DNAT form).
    pub cluster_name: String,
    /// Locality groups, in output order (rule M3/M13).
    pub localities: Vec<LocalityGroup>,
}

/// Envoy `LocalityLbEndpoints`: the endpoints of one locality label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalityGroup {
    /// The group's locality as Istio writes it (`region/zone/subzone`, possibly empty): Envoy's
    /// `LocalityLbEndpoints.locality`, as a string.
    pub locality: String,
    /// The locality weight; `None` = unset (rule M12: an emptied group).
    pub weight: Option<u32>,
    /// The Envoy priority: 0 unless the locality stage assigned one (rules L12–L22); the
    /// priorities of an assignment are dense from 0.
    pub priority: u32,
    /// The endpoints, in output order.
    pub endpoints: Vec<LbEndpoint>,
}

/// Where Envoy connects for one `LbEndpoint`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndpointAddress {
    /// A socket address `address:port` (TCP).
    Socket {
        /// IP address (or hostname for DNS clusters).
        address: String,
        /// Port.
        port: u32,
    },
    /// An Envoy internal address: the endpoint is reached through the HBONE tunnel listener
    /// (`connect_originate`), with endpoint id `<address>:<port>` (rule M3, M17).
    Internal {
        /// The internal listener name (`connect_originate`).
        server_listener_name: String,
        /// `<address>:<port>`.
        endpoint_id: String,
    },
}

/// Whether an endpoint is the workload itself or a gateway standing in for remote workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndpointKind {
    /// The workload's own address.
    Direct,
    /// A network gateway (rule M11/M18).
    Gateway,
}

/// Envoy `LbEndpoint` with the Istio metadata that matters to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbEndpoint {
    /// Where to connect.
    pub address: EndpointAddress,
    /// Load-balancing weight (≥ 1 on the wire).
    pub weight: u32,
    /// Direct or gateway.
    pub kind: EndpointKind,
    /// `tlsMode=istio` transport-socket-match metadata: the client may use Istio mTLS (rule M3).
    pub mtls: bool,
    /// Istio metadata `network`.
    pub network: Option<NetworkId>,
    /// Istio metadata `cluster` id.
    pub cluster: Option<ClusterId>,
    /// Istio metadata `workload`: `<workload>;<namespace>;<canonical name>;<canonical revision>;<cluster>`
    /// for direct endpoints, `;;;;<cluster>` for gateways (rule M18).
    pub workload: String,
}
