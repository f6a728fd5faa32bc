//! Envoy's `envoy.config.endpoint.v3.ClusterLoadAssignment` on the wire.
//!
//! The messages below are the subset of Envoy's protos that Istio's EDS sets, written by hand with
//! the exact field numbers of `api/envoy/config/endpoint/v3/endpoint.proto`,
//! `endpoint_components.proto`, `api/envoy/config/core/v3/address.proto`, `base.proto` and
//! `google/protobuf/{struct,wrappers}.proto`. Maps are `BTreeMap`s, so the bytes are deterministic.
//! The crate `eds-wire-compat` proves, against the `envoy-types` crate, that the bytes decode as
//! Envoy's own messages and that Envoy's encoding of the same message is the same bytes.
//!
//! What a [`LoadAssignment`] becomes (Istio `util.go` `AppendLbEndpointMetadata`, `ConvertLocality`,
//! `endpoint_builder.go` tunnel rendering; spec rules M3, M12, M18):
//!
//! * each locality group → `LocalityLbEndpoints` with `locality` always present (empty for the empty
//!   label; `region/zone/sub_zone` from splitting the label on `/`), its `load_balancing_weight` when
//!   set (unset = rule M12's null), priority 0;
//! * each endpoint → `LbEndpoint` with `endpoint.address` (a `SocketAddress` whose `port_value` is
//!   always written, as it is a oneof member, or an `EnvoyInternalAddress`), `load_balancing_weight`,
//!   and `metadata.filter_metadata`:
//!   - `"istio": {"workload": <workload>}` always (the telemetry string of rule M18);
//!   - `"envoy.transport_socket_match": {"tlsMode": "istio"}` when the endpoint is mTLS-capable;
//!   - for an internal (HBONE) address instead: `"envoy.transport_socket_match": {"tunnel": "http"}`
//!     and `"tunnel": {"address": <host>:15008, "destination": <endpoint id>}`.
//!
//! The network and cluster of an endpoint are not written as separate metadata (Istio does not):
//! the cluster is the last field of the workload string.
//!
//! Two ways to get bytes, which agree byte for byte (tested): [`encode`] / [`encode_into`] write
//! the wire format directly from the [`LoadAssignment`] (the hot path: no intermediate objects, one
//! exact-size reservation), and [`to_proto`] builds the [`ClusterLoadAssignment`] message tree for
//! callers that want prost messages. Envoy's proto3 JSON is [`EnvoyJson`], a `serde::Serialize`
//! value that streams to any serde writer (one endpoint's message at a time).

use std::collections::BTreeMap;

#[cfg(feature = "envoy-types")]
mod envoy;
mod json;

pub use json::{EnvoyJson, to_envoy_json};

use crate::assignment::{
    EndpointAddress, LbEndpoint as ModelEndpoint, LoadAssignment, LocalityGroup,
};

/// Metadata namespace of Envoy's transport socket matcher (Istio `EnvoyTransportSocketMetadataKey`).
pub const TRANSPORT_SOCKET_MATCH_KEY: &str = "envoy.transport_socket_match";
/// Metadata namespace of Istio's endpoint metadata (Istio `IstioMetadataKey`).
pub const ISTIO_METADATA_KEY: &str = "istio";
/// Metadata namespace of the HBONE tunnel target (Istio `TunnelLabelShortName`).
pub const TUNNEL_METADATA_KEY: &str = "tunnel";
/// The port of the HBONE inbound listener the tunnel connects to.
pub const HBONE_PORT: u16 = 15008;

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
    /// Field 5: the priority (Istio's split horizon always uses 0).
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

// ---------------------------------------------------------------------------------------------
// The message tree.

/// The prost message tree of an assignment.
///
/// ```
/// use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup, wire};
///
/// let assignment = LoadAssignment {
///     cluster_name: "outbound|80||foo.ns1.svc.cluster.local".into(),
///     localities: vec![LocalityGroup {
///         label: "us-east/a".into(),
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
fn group_header(group: &LocalityGroup) -> LocalityLbEndpoints {
    let (region, zone, sub_zone) = split_locality(&group.label);
    LocalityLbEndpoints {
        locality: Some(Locality {
            region: region.to_owned(),
            zone: zone.to_owned(),
            sub_zone: sub_zone.to_owned(),
        }),
        lb_endpoints: Vec::new(),
        load_balancing_weight: group.weight.map(|value| UInt32Value { value }),
        priority: 0,
    }
}

fn string_struct(fields: &[(&str, &str)]) -> Struct {
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

fn endpoint_proto(endpoint: &ModelEndpoint) -> LbEndpoint {
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

/// Istio `SplitLocalityLabel`: region, zone and sub-zone of a `/`-separated label; parts past the
/// third are ignored.
fn split_locality(label: &str) -> (&str, &str, &str) {
    let mut parts = label.split('/');
    let region = parts.next().unwrap_or("");
    let zone = parts.next().unwrap_or("");
    let sub_zone = parts.next().unwrap_or("");
    (region, zone, sub_zone)
}

/// The host part of an endpoint id `host:port` (`[v6]:port` keeps its brackets), i.e. what Istio
/// joins with the HBONE port for the tunnel target. An id without a port is taken whole.
fn tunnel_host(endpoint_id: &str) -> &str {
    endpoint_id
        .rsplit_once(':')
        .map_or(endpoint_id, |(host, _)| host)
}

// ---------------------------------------------------------------------------------------------
// Direct wire writer.

const LEN: u8 = 2;
const VARINT: u8 = 0;

const fn key(tag: u8, wire_type: u8) -> u8 {
    (tag << 3) | wire_type
}

fn varint_len(value: u64) -> usize {
    if value < 0x80 {
        return 1;
    }
    // 1 byte per started group of 7 bits: (bits × 9 + 64) / 64 = ceil(bits / 7) for 1..=64 bits.
    let bits = 64 - value.leading_zeros() as usize;
    (bits * 9 + 64) / 64
}

fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Length of a length-delimited field (one-byte key) whose body is `body` bytes.
fn field_len(body: usize) -> usize {
    1 + varint_len(body as u64) + body
}

/// Length of a proto3 string field: omitted when empty.
fn string_field_len(s: &str) -> usize {
    if s.is_empty() { 0 } else { field_len(s.len()) }
}

fn put_header(buf: &mut Vec<u8>, tag: u8, body: usize) {
    buf.push(key(tag, LEN));
    put_varint(buf, body as u64);
}

fn put_string(buf: &mut Vec<u8>, tag: u8, s: &str) {
    if !s.is_empty() {
        put_header(buf, tag, s.len());
        buf.extend_from_slice(s.as_bytes());
    }
}

/// A string whose bytes are the concatenation of parts (the tunnel target `host:15008` is written
/// without building it).
#[derive(Clone, Copy)]
struct Parts<'a>(&'a str, &'a str);

impl Parts<'_> {
    fn len(self) -> usize {
        self.0.len() + self.1.len()
    }
    fn put(self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.0.as_bytes());
        buf.extend_from_slice(self.1.as_bytes());
    }
}

/// `google.protobuf.Value{string_value}` body length.
fn value_len(s: Parts<'_>) -> usize {
    // The oneof member is written even when empty.
    field_len(s.len())
}

/// Map entry `{key = 1: string, value = 2: Value}` body length.
fn struct_entry_len(k: &str, v: Parts<'_>) -> usize {
    string_field_len(k) + field_len(value_len(v))
}

fn put_struct_entry(buf: &mut Vec<u8>, k: &str, v: Parts<'_>) {
    put_header(buf, 1, struct_entry_len(k, v));
    put_string(buf, 1, k);
    put_header(buf, 2, value_len(v));
    put_header(buf, 3, v.len());
    v.put(buf);
}

/// What [`encode_into_with`] writes beyond what Envoy needs to connect.
///
/// The default is Istio's output. Turning `istio_workload` off drops the `istio` metadata
/// namespace (the telemetry string of rule M18), as a control plane without Istio telemetry
/// would; the transport-socket match (`tlsMode`, `tunnel`) and the HBONE `tunnel` target stay,
/// since Envoy needs them to reach the endpoint. An endpoint left with no metadata at all has no
/// `metadata` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodeOptions {
    /// Write `"istio": {"workload": ...}` on every endpoint (default true).
    pub istio_workload: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            istio_workload: true,
        }
    }
}

/// The filter-metadata namespaces of one endpoint, in key order, each a struct of at most two
/// string fields in key order, with every body length computed once.
struct EndpointMetadata<'a> {
    /// `envoy.transport_socket_match` field (key, value) and the struct's body length, if any.
    transport: Option<(&'static str, &'static str, usize)>,
    /// `istio.workload` and the struct's body length, unless turned off.
    workload: Option<(&'a str, usize)>,
    /// `tunnel.address` host part, `tunnel.destination` and the struct's body length, if the
    /// endpoint is an internal address.
    tunnel: Option<(&'a str, &'a str, usize)>,
    /// Body length of the whole `Metadata`.
    len: usize,
}

const HBONE_PORT_SUFFIX: &str = ":15008";

/// Body length of a struct of one string field.
fn struct1_len(k: &str, v: Parts<'_>) -> usize {
    field_len(struct_entry_len(k, v))
}

/// Length of a `filter_metadata` field: entry `{key, value = Struct}` with its header.
fn namespace_field_len(namespace: &str, struct_body: usize) -> usize {
    field_len(string_field_len(namespace) + field_len(struct_body))
}

/// An endpoint's address, borrowed (so cached entries are written without building an owned
/// [`ModelEndpoint`]).
#[derive(Clone, Copy)]
pub(crate) enum AddressRef<'a> {
    /// `SocketAddress { address, port_value }`.
    Socket(&'a str, u32),
    /// `EnvoyInternalAddress { server_listener_name, endpoint_id }`.
    Internal(&'a str, &'a str),
}

impl<'a> From<&'a EndpointAddress> for AddressRef<'a> {
    fn from(address: &'a EndpointAddress) -> Self {
        match address {
            EndpointAddress::Socket { address, port } => Self::Socket(address, *port),
            EndpointAddress::Internal {
                server_listener_name,
                endpoint_id,
            } => Self::Internal(server_listener_name, endpoint_id),
        }
    }
}

impl<'a> EndpointMetadata<'a> {
    fn of(endpoint: &'a ModelEndpoint, options: EncodeOptions) -> Self {
        Self::of_parts(
            (&endpoint.address).into(),
            endpoint.mtls,
            &endpoint.workload,
            options,
        )
    }

    fn of_parts(
        address: AddressRef<'a>,
        mtls: bool,
        workload: &'a str,
        options: EncodeOptions,
    ) -> Self {
        let (transport, tunnel) = match address {
            AddressRef::Socket(..) => (mtls.then_some(("tlsMode", "istio")), None),
            AddressRef::Internal(_, endpoint_id) => (
                Some(("tunnel", "http")),
                Some((tunnel_host(endpoint_id), endpoint_id)),
            ),
        };
        let transport = transport.map(|(k, v)| (k, v, struct1_len(k, Parts(v, ""))));
        let workload = options
            .istio_workload
            .then(|| (workload, struct1_len("workload", Parts(workload, ""))));
        let tunnel = tunnel.map(|(host, destination)| {
            let body = struct1_len("address", Parts(host, HBONE_PORT_SUFFIX))
                + struct1_len("destination", Parts(destination, ""));
            (host, destination, body)
        });
        let mut len = workload.map_or(0, |(_, body)| namespace_field_len(ISTIO_METADATA_KEY, body));
        if let Some((_, _, body)) = transport {
            len += namespace_field_len(TRANSPORT_SOCKET_MATCH_KEY, body);
        }
        if let Some((_, _, body)) = tunnel {
            len += namespace_field_len(TUNNEL_METADATA_KEY, body);
        }
        EndpointMetadata {
            transport,
            workload,
            tunnel,
            len,
        }
    }

    fn put_namespace(buf: &mut Vec<u8>, namespace: &str, struct_body: usize) {
        put_header(buf, 1, string_field_len(namespace) + field_len(struct_body));
        put_string(buf, 1, namespace);
        put_header(buf, 2, struct_body);
    }

    fn put(&self, buf: &mut Vec<u8>) {
        // Key order: "envoy.transport_socket_match" < "istio" < "tunnel".
        if let Some((k, v, body)) = self.transport {
            Self::put_namespace(buf, TRANSPORT_SOCKET_MATCH_KEY, body);
            put_struct_entry(buf, k, Parts(v, ""));
        }
        if let Some((workload, body)) = self.workload {
            Self::put_namespace(buf, ISTIO_METADATA_KEY, body);
            put_struct_entry(buf, "workload", Parts(workload, ""));
        }
        if let Some((host, destination, body)) = self.tunnel {
            Self::put_namespace(buf, TUNNEL_METADATA_KEY, body);
            // "address" < "destination".
            put_struct_entry(buf, "address", Parts(host, HBONE_PORT_SUFFIX));
            put_struct_entry(buf, "destination", Parts(destination, ""));
        }
    }
}

/// Body length of `Address`'s chosen member.
fn address_member_len(address: AddressRef<'_>) -> usize {
    match address {
        AddressRef::Socket(address, port) => {
            string_field_len(address) + 1 + varint_len(u64::from(port))
        }
        AddressRef::Internal(server_listener_name, endpoint_id) => {
            field_len(server_listener_name.len()) + string_field_len(endpoint_id)
        }
    }
}

/// Body length of `Endpoint { address = 1: Address { member } }`.
fn endpoint_body_len(address: AddressRef<'_>) -> usize {
    field_len(field_len(address_member_len(address)))
}

/// Writes the body of `Endpoint`.
fn put_address(buf: &mut Vec<u8>, address: AddressRef<'_>) {
    let member = address_member_len(address);
    // Endpoint { address = 1: Address { oneof member } }
    put_header(buf, 1, field_len(member));
    match address {
        AddressRef::Socket(address, port) => {
            put_header(buf, 1, member);
            put_string(buf, 2, address);
            buf.push(key(3, VARINT));
            put_varint(buf, u64::from(port));
        }
        AddressRef::Internal(server_listener_name, endpoint_id) => {
            put_header(buf, 3, member);
            put_header(buf, 1, server_listener_name.len());
            buf.extend_from_slice(server_listener_name.as_bytes());
            put_string(buf, 2, endpoint_id);
        }
    }
}

/// `UInt32Value` body length.
fn u32_value_len(value: u32) -> usize {
    if value == 0 {
        0
    } else {
        1 + varint_len(u64::from(value))
    }
}

fn put_u32_value(buf: &mut Vec<u8>, tag: u8, value: u32) {
    put_header(buf, tag, u32_value_len(value));
    if value != 0 {
        buf.push(key(1, VARINT));
        put_varint(buf, u64::from(value));
    }
}

/// Body length of `LbEndpoint`, given its `Endpoint` body and metadata.
fn lb_endpoint_len(endpoint_body: usize, metadata: &EndpointMetadata<'_>, weight: u32) -> usize {
    field_len(endpoint_body) + metadata_field_len(metadata) + field_len(u32_value_len(weight))
}

/// Length of the `metadata` field: absent when empty and not Istio's output (which always has
/// `istio.workload`).
fn metadata_field_len(metadata: &EndpointMetadata<'_>) -> usize {
    if metadata.len == 0 {
        0
    } else {
        field_len(metadata.len)
    }
}

/// Length of one `lb_endpoints` field of a group.
fn lb_endpoint_field_len(endpoint: &ModelEndpoint, options: EncodeOptions) -> usize {
    let metadata = EndpointMetadata::of(endpoint, options);
    field_len(lb_endpoint_len(
        endpoint_body_len((&endpoint.address).into()),
        &metadata,
        endpoint.weight,
    ))
}

fn put_lb_endpoint(buf: &mut Vec<u8>, endpoint: &ModelEndpoint, options: EncodeOptions) {
    put_lb_endpoint_parts(
        buf,
        (&endpoint.address).into(),
        endpoint.mtls,
        &endpoint.workload,
        endpoint.weight,
        options,
    );
}

/// Writes one `lb_endpoints` field from borrowed parts: what [`put_lb_endpoint`] writes for the
/// endpoint made of them.
pub(crate) fn put_lb_endpoint_parts(
    buf: &mut Vec<u8>,
    address: AddressRef<'_>,
    mtls: bool,
    workload: &str,
    weight: u32,
    options: EncodeOptions,
) {
    let metadata = EndpointMetadata::of_parts(address, mtls, workload, options);
    let endpoint_body = endpoint_body_len(address);
    put_header(buf, 2, lb_endpoint_len(endpoint_body, &metadata, weight));
    put_header(buf, 1, endpoint_body);
    put_address(buf, address);
    if metadata.len != 0 {
        put_header(buf, 3, metadata.len);
        metadata.put(buf);
    }
    put_u32_value(buf, 4, weight);
}

// Pieces for writing from cached bytes (`crate::encoded`): the same writer, split where a view's
// choices (which cached entries, which weights) come in.

/// The body of an `LbEndpoint` up to, not including, its weight: `endpoint` and `metadata`.
pub(crate) fn lb_endpoint_prefix(endpoint: &ModelEndpoint, options: EncodeOptions) -> Box<[u8]> {
    let mut buf = Vec::new();
    put_lb_endpoint_prefix(
        &mut buf,
        (&endpoint.address).into(),
        endpoint.mtls,
        &endpoint.workload,
        options,
    );
    buf.into_boxed_slice()
}

/// Writes [`lb_endpoint_prefix`] from borrowed parts.
pub(crate) fn put_lb_endpoint_prefix(
    buf: &mut Vec<u8>,
    address: AddressRef<'_>,
    mtls: bool,
    workload: &str,
    options: EncodeOptions,
) {
    let metadata = EndpointMetadata::of_parts(address, mtls, workload, options);
    let endpoint_body = endpoint_body_len(address);
    buf.reserve(field_len(endpoint_body) + metadata_field_len(&metadata));
    put_header(buf, 1, endpoint_body);
    put_address(buf, address);
    if metadata.len != 0 {
        put_header(buf, 3, metadata.len);
        metadata.put(buf);
    }
}

/// Length of the `lb_endpoints` field made of `prefix` ([`lb_endpoint_prefix`]) and `weight`.
pub(crate) fn weighted_entry_len(prefix: &[u8], weight: u32) -> usize {
    field_len(prefix.len() + field_len(u32_value_len(weight)))
}

/// Writes the `lb_endpoints` field made of `prefix` and `weight`: what [`put_lb_endpoint`] writes
/// for the same endpoint.
pub(crate) fn put_weighted_entry(buf: &mut Vec<u8>, prefix: &[u8], weight: u32) {
    put_header(buf, 2, prefix.len() + field_len(u32_value_len(weight)));
    buf.extend_from_slice(prefix);
    put_u32_value(buf, 4, weight);
}

/// Writes a group's `locality` field.
pub(crate) fn put_locality(buf: &mut Vec<u8>, label: &str) {
    let parts = split_locality(label);
    let (region, zone, sub_zone) = parts;
    put_header(buf, 1, parts_len(parts));
    put_string(buf, 1, region);
    put_string(buf, 2, zone);
    put_string(buf, 3, sub_zone);
}

/// Length of a group's `load_balancing_weight` field.
pub(crate) fn group_weight_len(weight: u32) -> usize {
    field_len(u32_value_len(weight))
}

/// Writes a group's `load_balancing_weight` field.
pub(crate) fn put_group_weight(buf: &mut Vec<u8>, weight: u32) {
    put_u32_value(buf, 3, weight);
}

/// Length of the `endpoints` field (one group) whose body is `body` bytes.
pub(crate) fn group_field_len(body: usize) -> usize {
    field_len(body)
}

/// Writes the header of one `endpoints` field (a group) whose body is `body` bytes.
pub(crate) fn put_group_header(buf: &mut Vec<u8>, body: usize) {
    put_header(buf, 2, body);
}

/// Writes the `cluster_name` field.
pub(crate) fn put_cluster_name(buf: &mut Vec<u8>, name: &str) {
    put_string(buf, 1, name);
}

fn locality_len(label: &str) -> usize {
    parts_len(split_locality(label))
}

/// Body length of `Locality` from the label's parts (split once by the writer).
fn parts_len((region, zone, sub_zone): (&str, &str, &str)) -> usize {
    string_field_len(region) + string_field_len(zone) + string_field_len(sub_zone)
}

/// Body length of `LocalityLbEndpoints`.
fn group_len(group: &LocalityGroup, options: EncodeOptions) -> usize {
    let mut len = field_len(locality_len(&group.label));
    for endpoint in &group.endpoints {
        len += lb_endpoint_field_len(endpoint, options);
    }
    if let Some(weight) = group.weight {
        len += field_len(u32_value_len(weight));
    }
    len
}

fn put_group(buf: &mut Vec<u8>, group: &LocalityGroup, body: usize, options: EncodeOptions) {
    put_header(buf, 2, body);
    put_locality(buf, &group.label);
    for endpoint in &group.endpoints {
        put_lb_endpoint(buf, endpoint, options);
    }
    if let Some(weight) = group.weight {
        put_u32_value(buf, 3, weight);
    }
}

/// The exact number of bytes [`encode`] produces for `assignment`.
///
/// ```
/// use mesh_eds::{LoadAssignment, wire};
///
/// let empty = LoadAssignment { cluster_name: "c".into(), localities: vec![] };
/// assert_eq!(wire::encoded_len(&empty), wire::encode(&empty).len());
/// ```
#[must_use]
pub fn encoded_len(assignment: &LoadAssignment) -> usize {
    string_field_len(&assignment.cluster_name)
        + assignment
            .localities
            .iter()
            .map(|group| field_len(group_len(group, EncodeOptions::default())))
            .sum::<usize>()
}

/// Appends the `ClusterLoadAssignment` bytes of `assignment` to `buf` (clear it first to reuse it).
///
/// This is the hot path: it writes the wire format directly, reserving the exact size once. The
/// bytes equal `prost::Message::encode_to_vec(&to_proto(assignment))`.
///
/// ```
/// use mesh_eds::{LoadAssignment, wire};
///
/// let mut buf = Vec::new();
/// let assignment = LoadAssignment { cluster_name: "c".into(), localities: vec![] };
/// wire::encode_into(&assignment, &mut buf);
/// assert_eq!(buf, [0x0a, 0x01, b'c']);
/// ```
pub fn encode_into(assignment: &LoadAssignment, buf: &mut Vec<u8>) {
    encode_into_with(assignment, EncodeOptions::default(), buf);
}

/// [`encode_into`] with [`EncodeOptions`]: with the defaults the same bytes; with
/// `istio_workload: false` without the `istio` metadata namespace.
///
/// ```
/// use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup, wire};
///
/// let endpoint = LbEndpoint {
///     address: EndpointAddress::Socket { address: "10.0.0.1".into(), port: 80 },
///     weight: 1, kind: EndpointKind::Direct, mtls: false, network: None, cluster: None,
///     workload: "reviews-v1;default;reviews;v1;cluster1".into(),
/// };
/// let a = LoadAssignment {
///     cluster_name: "c".into(),
///     localities: vec![LocalityGroup { label: String::new(), weight: None, endpoints: vec![endpoint] }],
/// };
/// let (mut with, mut without) = (Vec::new(), Vec::new());
/// wire::encode_into_with(&a, wire::EncodeOptions::default(), &mut with);
/// wire::encode_into_with(&a, wire::EncodeOptions { istio_workload: false }, &mut without);
/// assert_eq!(with, wire::encode(&a));
/// assert!(without.len() < with.len());
/// ```
pub fn encode_into_with(assignment: &LoadAssignment, options: EncodeOptions, buf: &mut Vec<u8>) {
    // Each group's body length is needed twice (the total to reserve, then its header): keep the
    // first ones on the stack rather than computing them again.
    let mut lens = [0usize; GROUP_LEN_CACHE];
    let mut total = string_field_len(&assignment.cluster_name);
    for (i, group) in assignment.localities.iter().enumerate() {
        let len = group_len(group, options);
        if let Some(slot) = lens.get_mut(i) {
            *slot = len;
        }
        total += field_len(len);
    }
    buf.reserve(total);
    put_string(buf, 1, &assignment.cluster_name);
    for (i, group) in assignment.localities.iter().enumerate() {
        let len = lens
            .get(i)
            .copied()
            .unwrap_or_else(|| group_len(group, options));
        put_group(buf, group, len, options);
    }
}

/// How many group lengths [`encode_into`] keeps between its two passes.
const GROUP_LEN_CACHE: usize = 64;

/// The `ClusterLoadAssignment` bytes of `assignment` (see [`encode_into`] to reuse a buffer).
///
/// ```
/// use mesh_eds::{LoadAssignment, wire};
///
/// let assignment = LoadAssignment { cluster_name: "c".into(), localities: vec![] };
/// assert_eq!(wire::encode(&assignment), [0x0a, 0x01, b'c']);
/// ```
#[must_use]
pub fn encode(assignment: &LoadAssignment) -> Vec<u8> {
    let mut buf = Vec::new();
    encode_into(assignment, &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use serde_json::json;

    use super::*;
    use crate::assignment::EndpointKind;

    pub(super) fn endpoint(
        address: EndpointAddress,
        weight: u32,
        mtls: bool,
        workload: &str,
    ) -> ModelEndpoint {
        ModelEndpoint {
            address,
            weight,
            kind: EndpointKind::Direct,
            mtls,
            network: None,
            cluster: None,
            workload: workload.to_owned(),
        }
    }

    fn socket(address: &str, port: u32) -> EndpointAddress {
        EndpointAddress::Socket {
            address: address.to_owned(),
            port,
        }
    }

    fn internal(id: &str) -> EndpointAddress {
        EndpointAddress::Internal {
            server_listener_name: "connect_originate".to_owned(),
            endpoint_id: id.to_owned(),
        }
    }

    pub(super) fn sample() -> LoadAssignment {
        LoadAssignment {
            cluster_name: "outbound|80||foo.ns1.svc.cluster.local".to_owned(),
            localities: vec![
                LocalityGroup {
                    label: "r1/z1/s1".to_owned(),
                    weight: Some(300),
                    endpoints: vec![
                        endpoint(socket("10.0.0.1", 8080), 100, true, "foo-1;ns1;foo;v1;c1"),
                        endpoint(socket("2001:db8::1", 0), 200, false, ""),
                    ],
                },
                LocalityGroup {
                    label: String::new(),
                    weight: None,
                    endpoints: vec![],
                },
                LocalityGroup {
                    label: "r2/z2/s2/extra".to_owned(),
                    weight: Some(u32::MAX),
                    endpoints: vec![
                        endpoint(internal("[2001:db8::2]:9090"), u32::MAX, false, "w;;;;c2"),
                        endpoint(internal("10.1.1.1:80"), 0, true, ";;;;c2"),
                    ],
                },
            ],
        }
    }

    #[test]
    fn direct_writer_equals_prost_tree() {
        let a = sample();
        let tree = to_proto(&a).encode_to_vec();
        assert_eq!(encode(&a), tree);
        assert_eq!(encoded_len(&a), tree.len());
    }

    #[test]
    fn without_istio_workload_is_the_prost_tree_without_the_istio_namespace() {
        let mut a = sample();
        // More groups than the length cache, so both length paths run.
        while a.localities.len() <= GROUP_LEN_CACHE + 5 {
            a.localities.extend(sample().localities);
        }
        let mut tree = to_proto(&a);
        let mut emptied = 0;
        for e in tree
            .endpoints
            .iter_mut()
            .flat_map(|g| g.lb_endpoints.iter_mut())
        {
            let mut m = e.metadata.take().unwrap_or_default();
            assert!(m.filter_metadata.remove(ISTIO_METADATA_KEY).is_some());
            if m.filter_metadata.is_empty() {
                emptied += 1;
            } else {
                e.metadata = Some(m);
            }
        }
        // The sample has an endpoint left with no metadata (plain, no mTLS) and ones with some.
        assert!(emptied > 0);
        let mut buf = vec![0xff];
        encode_into_with(
            &a,
            EncodeOptions {
                istio_workload: false,
            },
            &mut buf,
        );
        assert_eq!(buf[1..], tree.encode_to_vec());
        buf.clear();
        encode_into_with(&a, EncodeOptions::default(), &mut buf);
        assert_eq!(buf, encode(&a));
    }

    #[test]
    fn more_groups_than_the_length_cache() {
        let base = sample();
        let mut a = base.clone();
        while a.localities.len() <= GROUP_LEN_CACHE + 5 {
            a.localities.extend(base.localities.iter().cloned());
        }
        assert_eq!(encode(&a), to_proto(&a).encode_to_vec());
        assert_eq!(encoded_len(&a), encode(&a).len());
    }

    #[test]
    fn encode_into_appends() {
        let a = sample();
        let mut buf = vec![0xff];
        encode_into(&a, &mut buf);
        assert_eq!(buf[0], 0xff);
        assert_eq!(&buf[1..], encode(&a).as_slice());
    }

    #[test]
    fn minimal_endpoint_bytes_by_hand() {
        // Bytes written from the protobuf encoding rules, field by field.
        let a = LoadAssignment {
            cluster_name: "c".to_owned(),
            localities: vec![LocalityGroup {
                label: "r".to_owned(),
                weight: Some(1),
                endpoints: vec![endpoint(socket("1.2.3.4", 80), 1, false, "w")],
            }],
        };
        let lb_endpoint: Vec<u8> = [
            // endpoint(1) { address(1) { socket_address(1) { address(2) "1.2.3.4", port_value(3) 80 } } }
            &[0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x0b, 0x12, 0x07][..],
            b"1.2.3.4",
            &[0x18, 80],
            // metadata(3) { filter_metadata(1) { key(1) "istio", value(2) Struct {
            //   fields(1) { key(1) "workload", value(2) Value { string_value(3) "w" } } } } }
            &[0x1a, 0x1c, 0x0a, 0x1a, 0x0a, 0x05],
            b"istio",
            &[0x12, 0x11, 0x0a, 0x0f, 0x0a, 0x08],
            b"workload",
            &[0x12, 0x03, 0x1a, 0x01, b'w'],
            // load_balancing_weight(4) { value(1) 1 }
            &[0x22, 0x02, 0x08, 0x01],
        ]
        .concat();
        let mut group = vec![0x0a, 0x03, 0x0a, 0x01, b'r', 0x12, lb_endpoint.len() as u8];
        group.extend_from_slice(&lb_endpoint);
        group.extend_from_slice(&[0x1a, 0x02, 0x08, 0x01]);
        let mut expected = vec![0x0a, 0x01, b'c', 0x12, group.len() as u8];
        expected.extend_from_slice(&group);
        assert_eq!(encode(&a), expected);
    }

    #[test]
    fn port_zero_and_empty_locality_are_written() {
        let a = LoadAssignment {
            cluster_name: String::new(),
            localities: vec![LocalityGroup {
                label: String::new(),
                weight: None,
                endpoints: vec![],
            }],
        };
        // endpoints(2) { locality(1) {} }: an empty but present Locality, as Istio's ConvertLocality.
        assert_eq!(encode(&a), [0x12, 0x02, 0x0a, 0x00]);
        let p = to_proto(&LoadAssignment {
            cluster_name: String::new(),
            localities: vec![LocalityGroup {
                label: String::new(),
                weight: None,
                endpoints: vec![endpoint(socket("a", 0), 1, false, "")],
            }],
        });
        let e = p.endpoints[0].lb_endpoints[0].endpoint.clone();
        let bytes = e.map(|e| e.encode_to_vec()).unwrap_or_default();
        // port_value 0 is a set oneof member: 0x18 0x00 is present.
        assert!(bytes.ends_with(&[0x18, 0x00]), "{bytes:02x?}");
    }

    #[test]
    fn metadata_follows_istio() {
        let p = to_proto(&sample());
        let meta = |g: usize, e: usize| {
            p.endpoints[g].lb_endpoints[e]
                .metadata
                .clone()
                .unwrap_or_default()
                .filter_metadata
        };
        let mtls = meta(0, 0);
        assert_eq!(
            mtls.keys().collect::<Vec<_>>(),
            [TRANSPORT_SOCKET_MATCH_KEY, "istio"]
        );
        assert_eq!(
            mtls[TRANSPORT_SOCKET_MATCH_KEY],
            string_struct(&[("tlsMode", "istio")])
        );
        assert_eq!(
            mtls["istio"],
            string_struct(&[("workload", "foo-1;ns1;foo;v1;c1")])
        );
        let plain = meta(0, 1);
        assert_eq!(plain.keys().collect::<Vec<_>>(), ["istio"]);
        // HBONE endpoint: tunnel metadata, transport match "tunnel", never tlsMode even when asked.
        let hbone = meta(2, 1);
        assert_eq!(
            hbone[TRANSPORT_SOCKET_MATCH_KEY],
            string_struct(&[("tunnel", "http")])
        );
        assert_eq!(
            hbone["tunnel"],
            string_struct(&[
                ("address", "10.1.1.1:15008"),
                ("destination", "10.1.1.1:80")
            ])
        );
        let v6 = meta(2, 0);
        assert_eq!(
            v6["tunnel"],
            string_struct(&[
                ("address", "[2001:db8::2]:15008"),
                ("destination", "[2001:db8::2]:9090")
            ])
        );
    }

    #[test]
    fn locality_split_like_istio() {
        assert_eq!(split_locality(""), ("", "", ""));
        assert_eq!(split_locality("r"), ("r", "", ""));
        assert_eq!(split_locality("r/z"), ("r", "z", ""));
        assert_eq!(split_locality("r/z/s/x"), ("r", "z", "s"));
        assert_eq!(split_locality("/z"), ("", "z", ""));
    }

    #[test]
    fn hbone_suffix_is_the_hbone_port() {
        assert_eq!(HBONE_PORT_SUFFIX, format!(":{HBONE_PORT}"));
    }

    #[test]
    fn varint_lengths() {
        for (v, n) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::from(u32::MAX), 5),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), n);
        }
        for k in 0..64 {
            for v in [(1u64 << k) - 1, 1u64 << k, (1u64 << k) + 1] {
                let mut buf = Vec::new();
                put_varint(&mut buf, v);
                assert_eq!(varint_len(v), buf.len(), "{v}");
            }
        }
    }

    #[test]
    fn json_is_envoys_proto3_mapping() {
        let json = to_envoy_json(&sample());
        let expected = json!({
            "clusterName": "outbound|80||foo.ns1.svc.cluster.local",
            "endpoints": [
                {
                    "locality": {"region": "r1", "zone": "z1", "subZone": "s1"},
                    "lbEndpoints": [
                        {
                            "endpoint": {"address": {"socketAddress": {"address": "10.0.0.1", "portValue": 8080}}},
                            "metadata": {"filterMetadata": {
                                "envoy.transport_socket_match": {"tlsMode": "istio"},
                                "istio": {"workload": "foo-1;ns1;foo;v1;c1"}
                            }},
                            "loadBalancingWeight": 100
                        },
                        {
                            "endpoint": {"address": {"socketAddress": {"address": "2001:db8::1", "portValue": 0}}},
                            "metadata": {"filterMetadata": {"istio": {"workload": ""}}},
                            "loadBalancingWeight": 200
                        }
                    ],
                    "loadBalancingWeight": 300
                },
                {"locality": {}},
                {
                    "locality": {"region": "r2", "zone": "z2", "subZone": "s2"},
                    "lbEndpoints": [
                        {
                            "endpoint": {"address": {"envoyInternalAddress": {
                                "serverListenerName": "connect_originate",
                                "endpointId": "[2001:db8::2]:9090"
                            }}},
                            "metadata": {"filterMetadata": {
                                "envoy.transport_socket_match": {"tunnel": "http"},
                                "istio": {"workload": "w;;;;c2"},
                                "tunnel": {"address": "[2001:db8::2]:15008", "destination": "[2001:db8::2]:9090"}
                            }},
                            "loadBalancingWeight": 4_294_967_295_u32
                        },
                        {
                            "endpoint": {"address": {"envoyInternalAddress": {
                                "serverListenerName": "connect_originate",
                                "endpointId": "10.1.1.1:80"
                            }}},
                            "metadata": {"filterMetadata": {
                                "envoy.transport_socket_match": {"tunnel": "http"},
                                "istio": {"workload": ";;;;c2"},
                                "tunnel": {"address": "10.1.1.1:15008", "destination": "10.1.1.1:80"}
                            }},
                            "loadBalancingWeight": 0
                        }
                    ],
                    "loadBalancingWeight": 4_294_967_295_u32
                }
            ]
        });
        assert_eq!(json, expected);
        // Key order follows field numbers (serde_json preserves insertion order).
        let text = serde_json::to_string(&json).unwrap_or_default();
        assert!(text.starts_with("{\"clusterName\""), "{text}");
    }

    #[test]
    fn decodes_back_with_prost() {
        let a = sample();
        let decoded = ClusterLoadAssignment::decode(encode(&a).as_slice());
        assert_eq!(decoded.ok(), Some(to_proto(&a)));
    }
}
