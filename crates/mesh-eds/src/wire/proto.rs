//! The prost message tree: the subset of Envoy's protos Istio's EDS sets, with their exact
//! field numbers, and [`to_proto`] from a [`LoadAssignment`].

use std::collections::BTreeMap;

use super::{
    HBONE_PORT, ISTIO_METADATA_KEY, TRANSPORT_SOCKET_MATCH_KEY, TUNNEL_METADATA_KEY,
    split_locality, tunnel_host,
};
use crate::assignment::{
    EndpointAddress, LbEndpoint as ModelEndpoint, LoadAssignment, LocalityGroup,
};

/// `envoy.config.endpoint.v3.ClusterLoadAssignment` (subset).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ClusterLoadAssignment {
    /// Field 1: the Envoy cluster name.
    #[prost(string, tag = "1")]
    pub cluster_name: String,
    /// Field 2: the locality groups.
    #[prost(message, repeated, tag = "2")]
    pub endpoints: Vec<LocalityLbEndpoints>,
}

/// `envoy.config.endpoint.v3.LocalityLbEndpoints` (subset).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LocalityLbEndpoints {
    /// Field 1: where these endpoints run.
    #[prost(message, optional, tag = "1")]
    pub locality: Option<Locality>,
    /// Field 2: the endpoints.
    #[prost(message, repeated, tag = "2")]
    pub lb_endpoints: Vec<LbEndpoint>,
    /// Field 3: the locality weight (`google.protobuf.UInt32Value`).
    #[prost(message, optional, tag = "3")]
    pub load_balancing_weight: Option<UInt32Value>,
    /// Field 5: the priority (0 unless the locality stage set one; proto3 omits 0).
    #[prost(uint32, tag = "5")]
    pub priority: u32,
}

/// `envoy.config.endpoint.v3.LbEndpoint` (subset).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LbEndpoint {
    /// Field 1 (member of the `host_identifier` oneof): the endpoint.
    #[prost(message, optional, tag = "1")]
    pub endpoint: Option<Endpoint>,
    /// Field 3: the endpoint metadata.
    #[prost(message, optional, tag = "3")]
    pub metadata: Option<Metadata>,
    /// Field 4: the load-balancing weight (`google.protobuf.UInt32Value`).
    #[prost(message, optional, tag = "4")]
    pub load_balancing_weight: Option<UInt32Value>,
}

/// `envoy.config.endpoint.v3.Endpoint` (subset).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Endpoint {
    /// Field 1: the upstream host address.
    #[prost(message, optional, tag = "1")]
    pub address: Option<Address>,
}

/// `envoy.config.core.v3.Address` (subset: no `pipe`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Address {
    /// The `address` oneof.
    #[prost(oneof = "AddressKind", tags = "1, 3")]
    pub address: Option<AddressKind>,
}

/// The `address` oneof of `envoy.config.core.v3.Address`.
#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum AddressKind {
    /// Field 1: a socket address.
    #[prost(message, tag = "1")]
    SocketAddress(SocketAddress),
    /// Field 3: an Envoy internal address.
    #[prost(message, tag = "3")]
    EnvoyInternalAddress(EnvoyInternalAddress),
}

/// `envoy.config.core.v3.SocketAddress` (subset).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SocketAddress {
    /// Field 1: protocol, `TCP` = 0.
    #[prost(int32, tag = "1")]
    pub protocol: i32,
    /// Field 2: the IP address or host name.
    #[prost(string, tag = "2")]
    pub address: String,
    /// The `port_specifier` oneof (only `port_value`, field 3).
    #[prost(oneof = "PortSpecifier", tags = "3")]
    pub port_specifier: Option<PortSpecifier>,
}

/// The `port_specifier` oneof of `envoy.config.core.v3.SocketAddress` (subset).
#[derive(Clone, Copy, PartialEq, Eq, prost::Oneof)]
pub enum PortSpecifier {
    /// Field 3: the port number.
    #[prost(uint32, tag = "3")]
    PortValue(u32),
}

/// `envoy.config.core.v3.EnvoyInternalAddress`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct EnvoyInternalAddress {
    /// The `address_name_specifier` oneof (only `server_listener_name`, field 1).
    #[prost(oneof = "AddressNameSpecifier", tags = "1")]
    pub address_name_specifier: Option<AddressNameSpecifier>,
    /// Field 2: the endpoint id, distinguishing endpoints behind one internal listener.
    #[prost(string, tag = "2")]
    pub endpoint_id: String,
}

/// The `address_name_specifier` oneof of `envoy.config.core.v3.EnvoyInternalAddress`.
#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum AddressNameSpecifier {
    /// Field 1: the internal listener's name.
    #[prost(string, tag = "1")]
    ServerListenerName(String),
}

/// `envoy.config.core.v3.Locality`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Locality {
    /// Field 1: region.
    #[prost(string, tag = "1")]
    pub region: String,
    /// Field 2: zone.
    #[prost(string, tag = "2")]
    pub zone: String,
    /// Field 3: sub-zone.
    #[prost(string, tag = "3")]
    pub sub_zone: String,
}

/// `envoy.config.core.v3.Metadata` (subset: no typed metadata).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Metadata {
    /// Field 1: metadata by filter namespace.
    #[prost(btree_map = "string, message", tag = "1")]
    pub filter_metadata: BTreeMap<String, Struct>,
}

/// `google.protobuf.Struct`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Struct {
    /// Field 1: the fields.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

/// `google.protobuf.Value` (subset: string values only).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Value {
    /// The `kind` oneof.
    #[prost(oneof = "ValueKind", tags = "3")]
    pub kind: Option<ValueKind>,
}

/// The `kind` oneof of `google.protobuf.Value` (subset).
#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum ValueKind {
    /// Field 3: a string.
    #[prost(string, tag = "3")]
    StringValue(String),
}

/// `google.protobuf.UInt32Value`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct UInt32Value {
    /// Field 1: the value.
    #[prost(uint32, tag = "1")]
    pub value: u32,
}

/// The prost message tree of an assignment.
///
/// ```
/// use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup, wire};
///
/// let assignment = LoadAssignment {
///     cluster_name: "outbound|80||foo.ns1.svc.cluster.local".into(),
///     localities: vec![LocalityGroup { priority: 0,
///         locality: "us-east/a".into(),
///         weight: Some(2),
///         endpoints: vec![LbEndpoint {
///             address: EndpointAddress::Socket { address: "10.0.0.1".into(), port: 8080 },
///             weight: 2,
///             kind: EndpointKind::Direct,
///             mtls: true,
///             network: None,
///             cluster: None,
///             workload: "foo-1;ns1;foo;v1;c1".into(),
///         }],
///     }],
/// };
/// let message = wire::to_proto(&assignment);
/// assert_eq!(message.endpoints[0].locality.as_ref().map(|l| l.zone.as_str()), Some("a"));
/// assert_eq!(prost::Message::encode_to_vec(&message), wire::encode(&assignment));
/// ```
#[must_use]
pub fn to_proto(assignment: &LoadAssignment) -> ClusterLoadAssignment {
    ClusterLoadAssignment {
        cluster_name: assignment.cluster_name.clone(),
        endpoints: assignment.localities.iter().map(group_proto).collect(),
    }
}

fn group_proto(group: &LocalityGroup) -> LocalityLbEndpoints {
    LocalityLbEndpoints {
        lb_endpoints: group.endpoints.iter().map(endpoint_proto).collect(),
        ..group_header(group)
    }
}

/// A group's message without its endpoints (`lb_endpoints` empty): what the JSON writer, which
/// makes the endpoints one at a time, needs of it.
pub(super) fn group_header(group: &LocalityGroup) -> LocalityLbEndpoints {
    let (region, zone, sub_zone) = split_locality(&group.locality);
    LocalityLbEndpoints {
        locality: Some(Locality {
            region: region.to_owned(),
            zone: zone.to_owned(),
            sub_zone: sub_zone.to_owned(),
        }),
        lb_endpoints: Vec::new(),
        load_balancing_weight: group.weight.map(|value| UInt32Value { value }),
        priority: group.priority,
    }
}

pub(super) fn string_struct(fields: &[(&str, &str)]) -> Struct {
    Struct {
        fields: fields
            .iter()
            .map(|&(k, v)| {
                let value = Value {
                    kind: Some(ValueKind::StringValue(v.to_owned())),
                };
                (k.to_owned(), value)
            })
            .collect(),
    }
}

pub(super) fn endpoint_proto(endpoint: &ModelEndpoint) -> LbEndpoint {
    let mut filter_metadata = BTreeMap::new();
    filter_metadata.insert(
        ISTIO_METADATA_KEY.to_owned(),
        string_struct(&[("workload", &endpoint.workload)]),
    );
    let address = match &endpoint.address {
        EndpointAddress::Socket { address, port } => {
            if endpoint.mtls {
                filter_metadata.insert(
                    TRANSPORT_SOCKET_MATCH_KEY.to_owned(),
                    string_struct(&[("tlsMode", "istio")]),
                );
            }
            AddressKind::SocketAddress(SocketAddress {
                protocol: 0,
                address: address.clone(),
                port_specifier: Some(PortSpecifier::PortValue(*port)),
            })
        }
        EndpointAddress::Internal {
            server_listener_name,
            endpoint_id,
        } => {
            filter_metadata.insert(
                TRANSPORT_SOCKET_MATCH_KEY.to_owned(),
                string_struct(&[("tunnel", "http")]),
            );
            let tunnel_address = format!("{}:{HBONE_PORT}", tunnel_host(endpoint_id));
            filter_metadata.insert(
                TUNNEL_METADATA_KEY.to_owned(),
                string_struct(&[("address", &tunnel_address), ("destination", endpoint_id)]),
            );
            AddressKind::EnvoyInternalAddress(EnvoyInternalAddress {
                address_name_specifier: Some(AddressNameSpecifier::ServerListenerName(
                    server_listener_name.clone(),
                )),
                endpoint_id: endpoint_id.clone(),
            })
        }
    };
    LbEndpoint {
        endpoint: Some(Endpoint {
            address: Some(Address {
                address: Some(address),
            }),
        }),
        metadata: Some(Metadata { filter_metadata }),
        load_balancing_weight: Some(UInt32Value {
            value: endpoint.weight,
        }),
    }
}
