//! Envoy's proto3 JSON mapping of an assignment, as `istioctl proxy-config endpoint -o json` and
//! Envoy's config dump show it: lowerCamelCase names, `UInt32Value` as a bare number, unset and
//! default fields omitted (a oneof member such as `portValue` is kept even when 0).
//!
//! It is a [`serde::Serialize`] value over the assignment, so any serde serializer writes it
//! straight to its output (JSON, YAML): the message of one endpoint exists at a time, never a tree
//! of the whole assignment. Keys are written in field-number order.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::proto::{endpoint_proto, group_header};
use super::{
    Address, AddressKind, AddressNameSpecifier, Endpoint, EnvoyInternalAddress, LbEndpoint,
    Locality, Metadata, PortSpecifier, SocketAddress, Struct, Value, ValueKind,
};
use crate::assignment::{LbEndpoint as ModelEndpoint, LoadAssignment, LocalityGroup};

/// An assignment in Envoy's proto3 JSON mapping, for any serde serializer: give it to
/// `serde_json::to_writer_pretty` (or a YAML serializer) to stream it without building a tree.
///
/// ```
/// use mesh_eds::{LoadAssignment, wire::EnvoyJson};
///
/// let empty = LoadAssignment { cluster_name: "c".into(), localities: vec![] };
/// let mut out = Vec::new();
/// serde_json::to_writer(&mut out, &EnvoyJson(&empty))?;
/// assert_eq!(out, br#"{"clusterName":"c"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EnvoyJson<'a>(pub &'a LoadAssignment);

/// The assignment in Envoy's proto3 JSON mapping (see [`EnvoyJson`], which writes the same without
/// building the value).
///
/// ```
/// use mesh_eds::{LoadAssignment, wire};
///
/// let empty = LoadAssignment { cluster_name: "c".into(), localities: vec![] };
/// assert_eq!(wire::to_envoy_json(&empty), serde_json::json!({"clusterName": "c"}));
/// ```
#[must_use]
pub fn to_envoy_json(assignment: &LoadAssignment) -> serde_json::Value {
    // Cannot fail: every key is a string and every number a u32.
    serde_json::to_value(EnvoyJson(assignment)).unwrap_or(serde_json::Value::Null)
}

/// A string field: omitted when empty (proto3's default).
fn string_entry<M: SerializeMap>(map: &mut M, name: &str, s: &str) -> Result<(), M::Error> {
    if s.is_empty() {
        Ok(())
    } else {
        map.serialize_entry(name, s)
    }
}

impl Serialize for EnvoyJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        string_entry(&mut map, "clusterName", &self.0.cluster_name)?;
        if !self.0.localities.is_empty() {
            map.serialize_entry("endpoints", &Groups(&self.0.localities))?;
        }
        map.end()
    }
}

/// A list, each item written as `json` makes it.
fn serialize_each<'a, S: Serializer, T, J: Serialize>(
    serializer: S,
    items: &'a [T],
    json: impl Fn(&'a T) -> J,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(items.len()))?;
    for item in items {
        seq.serialize_element(&json(item))?;
    }
    seq.end()
}

/// A map with string keys, each value written as `json` makes it.
fn serialize_entries<'a, S: Serializer, V, J: Serialize>(
    serializer: S,
    entries: &'a BTreeMap<String, V>,
    json: impl Fn(&'a V) -> J,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (key, value) in entries {
        map.serialize_entry(key, &json(value))?;
    }
    map.end()
}

struct Groups<'a>(&'a [LocalityGroup]);

impl Serialize for Groups<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_each(serializer, self.0, Group)
    }
}

struct Group<'a>(&'a LocalityGroup);

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The group's message without its endpoints: they are made and written one at a time.
        let header = group_header(self.0);
        let mut map = serializer.serialize_map(None)?;
        if let Some(locality) = &header.locality {
            map.serialize_entry("locality", &LocalityJson(locality))?;
        }
        if !self.0.endpoints.is_empty() {
            map.serialize_entry("lbEndpoints", &Endpoints(&self.0.endpoints))?;
        }
        if let Some(weight) = header.load_balancing_weight {
            map.serialize_entry("loadBalancingWeight", &weight.value)?;
        }
        if header.priority != 0 {
            map.serialize_entry("priority", &header.priority)?;
        }
        map.end()
    }
}

struct LocalityJson<'a>(&'a Locality);

impl Serialize for LocalityJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        string_entry(&mut map, "region", &self.0.region)?;
        string_entry(&mut map, "zone", &self.0.zone)?;
        string_entry(&mut map, "subZone", &self.0.sub_zone)?;
        map.end()
    }
}

struct Endpoints<'a>(&'a [ModelEndpoint]);

impl Serialize for Endpoints<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_each(serializer, self.0, |e| LbEndpointJson(endpoint_proto(e)))
    }
}

/// An endpoint's message, made for writing it and dropped once written.
struct LbEndpointJson(LbEndpoint);

impl Serialize for LbEndpointJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(endpoint) = &self.0.endpoint {
            map.serialize_entry("endpoint", &EndpointJson(endpoint))?;
        }
        if let Some(metadata) = &self.0.metadata {
            map.serialize_entry("metadata", &MetadataJson(metadata))?;
        }
        if let Some(weight) = self.0.load_balancing_weight {
            map.serialize_entry("loadBalancingWeight", &weight.value)?;
        }
        map.end()
    }
}

struct EndpointJson<'a>(&'a Endpoint);

impl Serialize for EndpointJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(Address {
            address: Some(kind),
        }) = &self.0.address
        {
            map.serialize_entry("address", &AddressJson(kind))?;
        }
        map.end()
    }
}

struct AddressJson<'a>(&'a AddressKind);

impl Serialize for AddressJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            AddressKind::SocketAddress(s) => {
                map.serialize_entry("socketAddress", &SocketJson(s))?
            }
            AddressKind::EnvoyInternalAddress(i) => {
                map.serialize_entry("envoyInternalAddress", &InternalJson(i))?;
            }
        }
        map.end()
    }
}

struct SocketJson<'a>(&'a SocketAddress);

impl Serialize for SocketJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if self.0.protocol != 0 {
            map.serialize_entry("protocol", "UDP")?;
        }
        string_entry(&mut map, "address", &self.0.address)?;
        if let Some(PortSpecifier::PortValue(port)) = self.0.port_specifier {
            map.serialize_entry("portValue", &port)?;
        }
        map.end()
    }
}

struct InternalJson<'a>(&'a EnvoyInternalAddress);

impl Serialize for InternalJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(AddressNameSpecifier::ServerListenerName(name)) = &self.0.address_name_specifier
        {
            map.serialize_entry("serverListenerName", name)?;
        }
        string_entry(&mut map, "endpointId", &self.0.endpoint_id)?;
        map.end()
    }
}

struct MetadataJson<'a>(&'a Metadata);

impl Serialize for MetadataJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.0.filter_metadata.is_empty() {
            map.serialize_entry("filterMetadata", &FilterMetadataJson(self.0))?;
        }
        map.end()
    }
}

struct FilterMetadataJson<'a>(&'a Metadata);

impl Serialize for FilterMetadataJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(serializer, &self.0.filter_metadata, StructJson)
    }
}

struct StructJson<'a>(&'a Struct);

impl Serialize for StructJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(serializer, &self.0.fields, ValueJson)
    }
}

struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0.kind {
            Some(ValueKind::StringValue(s)) => serializer.serialize_str(s),
            None => serializer.serialize_unit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::assignment::EndpointAddress;
    use crate::wire::tests::{endpoint, sample};

    /// The JSON as it was built before [`EnvoyJson`], a tree of values over the message tree: kept
    /// unchanged as the oracle the streaming writer must match byte for byte.
    mod reference {
        use crate::LoadAssignment;
        use crate::wire::*;

        pub(super) fn to_envoy_json(assignment: &LoadAssignment) -> serde_json::Value {
            cluster_json(&to_proto(assignment))
        }

        type JsonMap = serde_json::Map<String, serde_json::Value>;

        fn put_json_string(map: &mut JsonMap, name: &str, s: &str) {
            if !s.is_empty() {
                map.insert(name.to_owned(), s.into());
            }
        }

        fn cluster_json(message: &ClusterLoadAssignment) -> serde_json::Value {
            let mut map = JsonMap::new();
            put_json_string(&mut map, "clusterName", &message.cluster_name);
            if !message.endpoints.is_empty() {
                let groups = message.endpoints.iter().map(group_json).collect();
                map.insert("endpoints".to_owned(), serde_json::Value::Array(groups));
            }
            map.into()
        }

        fn group_json(group: &LocalityLbEndpoints) -> serde_json::Value {
            let mut map = JsonMap::new();
            if let Some(locality) = &group.locality {
                let mut l = JsonMap::new();
                put_json_string(&mut l, "region", &locality.region);
                put_json_string(&mut l, "zone", &locality.zone);
                put_json_string(&mut l, "subZone", &locality.sub_zone);
                map.insert("locality".to_owned(), l.into());
            }
            if !group.lb_endpoints.is_empty() {
                let endpoints = group.lb_endpoints.iter().map(lb_endpoint_json).collect();
                map.insert(
                    "lbEndpoints".to_owned(),
                    serde_json::Value::Array(endpoints),
                );
            }
            if let Some(weight) = group.load_balancing_weight {
                map.insert("loadBalancingWeight".to_owned(), weight.value.into());
            }
            if group.priority != 0 {
                map.insert("priority".to_owned(), group.priority.into());
            }
            map.into()
        }

        fn lb_endpoint_json(endpoint: &LbEndpoint) -> serde_json::Value {
            let mut map = JsonMap::new();
            if let Some(e) = &endpoint.endpoint {
                let mut e_map = JsonMap::new();
                if let Some(Address {
                    address: Some(kind),
                }) = &e.address
                {
                    let mut a = JsonMap::new();
                    match kind {
                        AddressKind::SocketAddress(s) => {
                            let mut s_map = JsonMap::new();
                            if s.protocol != 0 {
                                s_map.insert("protocol".to_owned(), "UDP".into());
                            }
                            put_json_string(&mut s_map, "address", &s.address);
                            if let Some(PortSpecifier::PortValue(port)) = s.port_specifier {
                                s_map.insert("portValue".to_owned(), port.into());
                            }
                            a.insert("socketAddress".to_owned(), s_map.into());
                        }
                        AddressKind::EnvoyInternalAddress(i) => {
                            let mut i_map = JsonMap::new();
                            if let Some(AddressNameSpecifier::ServerListenerName(name)) =
                                &i.address_name_specifier
                            {
                                i_map.insert("serverListenerName".to_owned(), name.as_str().into());
                            }
                            put_json_string(&mut i_map, "endpointId", &i.endpoint_id);
                            a.insert("envoyInternalAddress".to_owned(), i_map.into());
                        }
                    }
                    e_map.insert("address".to_owned(), a.into());
                }
                map.insert("endpoint".to_owned(), e_map.into());
            }
            if let Some(metadata) = &endpoint.metadata {
                let mut namespaces = JsonMap::new();
                for (namespace, s) in &metadata.filter_metadata {
                    let fields: JsonMap = s
                        .fields
                        .iter()
                        .map(|(k, v)| {
                            let value = match &v.kind {
                                Some(ValueKind::StringValue(s)) => s.as_str().into(),
                                None => serde_json::Value::Null,
                            };
                            (k.clone(), value)
                        })
                        .collect();
                    namespaces.insert(namespace.clone(), fields.into());
                }
                let mut m = JsonMap::new();
                if !namespaces.is_empty() {
                    m.insert("filterMetadata".to_owned(), namespaces.into());
                }
                map.insert("metadata".to_owned(), m.into());
            }
            if let Some(weight) = endpoint.load_balancing_weight {
                map.insert("loadBalancingWeight".to_owned(), weight.value.into());
            }
            map.into()
        }
    }

    /// The list as pretty JSON, streamed and through the reference tree.
    fn both(list: &[LoadAssignment]) -> (String, String) {
        let streamed: Vec<EnvoyJson<'_>> = list.iter().map(EnvoyJson).collect();
        let mut out = Vec::new();
        serde_json::to_writer_pretty(&mut out, &streamed).unwrap();
        let tree = serde_json::Value::Array(list.iter().map(reference::to_envoy_json).collect());
        (
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&tree).unwrap(),
        )
    }

    #[test]
    fn streamed_json_is_the_reference_tree_byte_for_byte() {
        let empty = LoadAssignment {
            cluster_name: String::new(),
            localities: vec![],
        };
        for list in [
            vec![],
            vec![sample()],
            vec![sample(), empty.clone(), sample()],
        ] {
            let (streamed, tree) = both(&list);
            assert_eq!(streamed, tree);
        }
        assert_eq!(
            to_envoy_json(&sample()),
            reference::to_envoy_json(&sample())
        );
        assert_eq!(to_envoy_json(&empty), serde_json::json!({}));
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control and non-ASCII characters: the escaping must match too.
        prop_oneof![
            Just(String::new()),
            "[a-z0-9./:;\\[\\]]{1,12}",
            "\\PC{0,6}",
            "[\\x00-\\x1f\"\\\\]{1,3}"
        ]
    }

    fn any_endpoint() -> impl Strategy<Value = crate::LbEndpoint> {
        let address = prop_oneof![
            (text(), any::<u32>())
                .prop_map(|(address, port)| EndpointAddress::Socket { address, port }),
            (text(), text()).prop_map(|(server_listener_name, endpoint_id)| {
                EndpointAddress::Internal {
                    server_listener_name,
                    endpoint_id,
                }
            }),
        ];
        (address, any::<u32>(), any::<bool>(), text()).prop_map(
            |(address, weight, mtls, workload)| endpoint(address, weight, mtls, &workload),
        )
    }

    fn assignment() -> impl Strategy<Value = LoadAssignment> {
        let group = (
            prop_oneof![text(), "[a-z]{0,3}(/[a-z]{0,3}){0,3}"],
            proptest::option::of(any::<u32>()),
            proptest::collection::vec(any_endpoint(), 0..4),
            prop_oneof![Just(0u32), any::<u32>()],
        )
            .prop_map(|(label, weight, endpoints, priority)| LocalityGroup {
                priority,
                locality: label,
                weight,
                endpoints,
            });
        (text(), proptest::collection::vec(group, 0..4)).prop_map(|(cluster_name, localities)| {
            LoadAssignment {
                cluster_name,
                localities,
            }
        })
    }

    proptest! {
        #[test]
        fn streamed_json_is_the_reference_tree_for_any_assignment(
            list in proptest::collection::vec(assignment(), 0..3),
        ) {
            let (streamed, tree) = both(&list);
            prop_assert_eq!(streamed, tree);
        }
    }
}
