//! The direct writer: `ClusterLoadAssignment` bytes written straight from a [`LoadAssignment`]
//! (no intermediate messages, one exact-size reservation), and the pieces the push path
//! (`crate::encoded`) writes cached entries with.

use super::{
    EncodeOptions, ISTIO_METADATA_KEY, TRANSPORT_SOCKET_MATCH_KEY, TUNNEL_METADATA_KEY,
    split_locality, tunnel_host,
};
use crate::assignment::{
    EndpointAddress, LbEndpoint as ModelEndpoint, LoadAssignment, LocalityGroup,
};

const LEN: u8 = 2;
const VARINT: u8 = 0;

const fn key(tag: u8, wire_type: u8) -> u8 {
    (tag << 3) | wire_type
}

pub(super) fn varint_len(value: u64) -> usize {
    if value < 0x80 {
        return 1;
    }
    // 1 byte per started group of 7 bits: (bits × 9 + 64) / 64 = ceil(bits / 7) for 1..=64 bits.
    let bits = 64 - value.leading_zeros() as usize;
    (bits * 9 + 64) / 64
}

pub(super) fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
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

pub(super) const HBONE_PORT_SUFFIX: &str = ":15008";

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

/// Length of a group's `priority` field (field 5, varint): 0 when the priority is 0, which proto3
/// does not write.
pub(crate) fn group_priority_len(priority: u32) -> usize {
    if priority == 0 {
        0
    } else {
        1 + varint_len(u64::from(priority))
    }
}

/// Writes a group's `priority` field, nothing when it is 0 (proto3).
pub(crate) fn put_group_priority(buf: &mut Vec<u8>, priority: u32) {
    if priority != 0 {
        buf.push(key(5, 0));
        put_varint(buf, u64::from(priority));
    }
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
    let mut len = field_len(locality_len(&group.locality));
    for endpoint in &group.endpoints {
        len += lb_endpoint_field_len(endpoint, options);
    }
    if let Some(weight) = group.weight {
        len += field_len(u32_value_len(weight));
    }
    len + group_priority_len(group.priority)
}

fn put_group(buf: &mut Vec<u8>, group: &LocalityGroup, body: usize, options: EncodeOptions) {
    put_header(buf, 2, body);
    put_locality(buf, &group.locality);
    for endpoint in &group.endpoints {
        put_lb_endpoint(buf, endpoint, options);
    }
    if let Some(weight) = group.weight {
        put_u32_value(buf, 3, weight);
    }
    put_group_priority(buf, group.priority);
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
///     localities: vec![LocalityGroup { priority: 0, locality: String::new(), weight: None, endpoints: vec![endpoint] }],
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
pub(super) const GROUP_LEN_CACHE: usize = 64;

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
