//! Differential wire-compatibility test of `mesh_eds::wire` against the `envoy-types` crate (prost
//! code generated from Envoy's own `.proto` files).
//!
//! For random assignments:
//! 1. our bytes decode with envoy-types into exactly the message Envoy's schema says they mean
//!    (built here, independently of `mesh_eds::wire`, from the Istio rules);
//! 2. envoy-types' encoding of that message is our bytes, up to the order of map entries (envoy-types
//!    keeps `Struct`/`Metadata` maps in `HashMap`s, so its order is random), and ours are sorted;
//! 3. the prost message tree (`wire::to_proto`) and the `envoy-types` conversion agree with both.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint;
use envoy_types::pb::google::protobuf as pb;
use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup, wire};
use proptest::prelude::*;
use prost::Message as _;

// ---------------------------------------------------------------------------------------------
// The expected Envoy message, written from Envoy's schema and Istio's endpoint builder.

fn string_struct(fields: &[(&str, String)]) -> pb::Struct {
    pb::Struct {
        fields: fields
            .iter()
            .map(|(k, v)| {
                let value = pb::Value {
                    kind: Some(pb::value::Kind::StringValue(v.clone())),
                };
                ((*k).to_owned(), value)
            })
            .collect(),
    }
}

fn expected_endpoint(e: &LbEndpoint) -> endpoint::LbEndpoint {
    let mut filter_metadata = HashMap::new();
    filter_metadata.insert(
        "istio".to_owned(),
        string_struct(&[("workload", e.workload.clone())]),
    );
    let address = match &e.address {
        EndpointAddress::Socket { address, port } => {
            if e.mtls {
                filter_metadata.insert(
                    "envoy.transport_socket_match".to_owned(),
                    string_struct(&[("tlsMode", "istio".to_owned())]),
                );
            }
            core::address::Address::SocketAddress(core::SocketAddress {
                address: address.clone(),
                port_specifier: Some(core::socket_address::PortSpecifier::PortValue(*port)),
                ..Default::default()
            })
        }
        EndpointAddress::Internal {
            server_listener_name,
            endpoint_id,
        } => {
            filter_metadata.insert(
                "envoy.transport_socket_match".to_owned(),
                string_struct(&[("tunnel", "http".to_owned())]),
            );
            let host = match endpoint_id.rfind(':') {
                Some(i) => &endpoint_id[..i],
                None => endpoint_id.as_str(),
            };
            filter_metadata.insert(
                "tunnel".to_owned(),
                string_struct(&[
                    ("address", format!("{host}:15008")),
                    ("destination", endpoint_id.clone()),
                ]),
            );
            core::address::Address::EnvoyInternalAddress(core::EnvoyInternalAddress {
                address_name_specifier: Some(
                    core::envoy_internal_address::AddressNameSpecifier::ServerListenerName(
                        server_listener_name.clone(),
                    ),
                ),
                endpoint_id: endpoint_id.clone(),
            })
        }
    };
    endpoint::LbEndpoint {
        host_identifier: Some(endpoint::lb_endpoint::HostIdentifier::Endpoint(
            endpoint::Endpoint {
                address: Some(core::Address {
                    address: Some(address),
                }),
                ..Default::default()
            },
        )),
        metadata: Some(core::Metadata {
            filter_metadata,
            ..Default::default()
        }),
        load_balancing_weight: Some(pb::UInt32Value { value: e.weight }),
        ..Default::default()
    }
}

fn expected(a: &LoadAssignment) -> endpoint::ClusterLoadAssignment {
    endpoint::ClusterLoadAssignment {
        cluster_name: a.cluster_name.clone(),
        endpoints: a
            .localities
            .iter()
            .map(|g| {
                let parts: Vec<&str> = g.locality.split('/').collect();
                let part = |i: usize| parts.get(i).copied().unwrap_or("").to_owned();
                endpoint::LocalityLbEndpoints {
                    locality: Some(core::Locality {
                        region: part(0),
                        zone: part(1),
                        sub_zone: part(2),
                    }),
                    lb_endpoints: g.endpoints.iter().map(expected_endpoint).collect(),
                    load_balancing_weight: g.weight.map(|value| pb::UInt32Value { value }),
                    priority: g.priority,
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical form: a small protobuf reader that sorts the entries of the two map fields we write
// (`Metadata.filter_metadata` and `Struct.fields`) by key, leaving everything else as it is.

#[derive(Clone, Copy)]
enum Schema {
    ClusterLoadAssignment,
    LocalityLbEndpoints,
    LbEndpoint,
    Metadata,
    /// A map entry whose value (field 2) has the given schema.
    MapEntry(&'static Schema),
    Struct,
    Opaque,
}

fn child(schema: Schema, field: u64) -> Schema {
    match (schema, field) {
        (Schema::ClusterLoadAssignment, 2) => Schema::LocalityLbEndpoints,
        (Schema::LocalityLbEndpoints, 2) => Schema::LbEndpoint,
        (Schema::LbEndpoint, 3) => Schema::Metadata,
        (Schema::Metadata, 1) => Schema::MapEntry(&Schema::Struct),
        (Schema::Struct, 1) => Schema::MapEntry(&Schema::Opaque),
        (Schema::MapEntry(value), 2) => *value,
        _ => Schema::Opaque,
    }
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*pos];
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return value;
        }
        shift += 7;
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One field of a message: (field number, its re-encoded bytes including key, map key if a map
/// entry).
fn canonical(bytes: &[u8], schema: Schema) -> Vec<u8> {
    let mut fields: Vec<(u64, Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos);
        let (field, wire_type) = (key >> 3, key & 7);
        let mut out = Vec::new();
        write_varint(&mut out, key);
        let mut map_key = None;
        match wire_type {
            0 => write_varint(&mut out, read_varint(bytes, &mut pos)),
            2 => {
                let len = read_varint(bytes, &mut pos) as usize;
                let body = &bytes[pos..pos + len];
                pos += len;
                let sub = child(schema, field);
                let body = match sub {
                    Schema::Opaque => body.to_vec(),
                    _ => canonical(body, sub),
                };
                if matches!(sub, Schema::MapEntry(_)) {
                    // The entry's key is its field 1 (a string); keep its bytes for sorting.
                    let mut p = 0;
                    let k = read_varint(&body, &mut p);
                    assert_eq!(k, 0x0a, "map entry starts with its key");
                    let klen = read_varint(&body, &mut p) as usize;
                    map_key = Some(body[p..p + klen].to_vec());
                }
                write_varint(&mut out, body.len() as u64);
                out.extend_from_slice(&body);
            }
            other => panic!("unexpected wire type {other}"),
        }
        fields.push((field, out, map_key));
    }
    // Sort the entries of a map field among themselves (stable: other fields keep their order).
    let mut i = 0;
    while i < fields.len() {
        let mut j = i;
        while j < fields.len() && fields[j].0 == fields[i].0 && fields[j].2.is_some() {
            j += 1;
        }
        fields[i..j].sort_by(|a, b| a.2.cmp(&b.2));
        i = j.max(i + 1);
    }
    fields.into_iter().flat_map(|(_, out, _)| out).collect()
}

// ---------------------------------------------------------------------------------------------
// Random assignments.

fn address() -> impl Strategy<Value = EndpointAddress> {
    let host = prop_oneof![
        Just(String::new()),
        Just("10.0.0.1".to_owned()),
        Just("2001:db8::1".to_owned()),
        Just("::ffff:10.0.0.9".to_owned()),
        Just("gw.example.com".to_owned()),
        "[a-z0-9.:-]{0,40}",
        any::<String>(),
    ];
    let port = prop_oneof![Just(0u32), Just(15443), Just(u32::MAX), any::<u32>()];
    let id = prop_oneof![
        Just("10.0.0.1:8080".to_owned()),
        Just("[2001:db8::1]:80".to_owned()),
        Just("no-port".to_owned()),
        Just(String::new()),
        any::<String>(),
    ];
    let listener = prop_oneof![Just("connect_originate".to_owned()), Just(String::new())];
    prop_oneof![
        (host, port).prop_map(|(address, port)| EndpointAddress::Socket { address, port }),
        (listener, id).prop_map(|(server_listener_name, endpoint_id)| {
            EndpointAddress::Internal {
                server_listener_name,
                endpoint_id,
            }
        }),
    ]
}

fn weight() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(127),
        Just(128),
        Just(u32::MAX),
        any::<u32>()
    ]
}

fn lb_endpoint() -> impl Strategy<Value = LbEndpoint> {
    let workload = prop_oneof![
        Just(String::new()),
        Just(";;;;c2".to_owned()),
        "[a-z0-9;-]{0,60}",
        any::<String>(),
        // Long enough for multi-byte length prefixes at every level.
        "[a-z]{200,400}",
    ];
    (address(), weight(), any::<bool>(), any::<bool>(), workload).prop_map(
        |(address, weight, gateway, mtls, workload)| LbEndpoint {
            address,
            weight,
            kind: if gateway {
                EndpointKind::Gateway
            } else {
                EndpointKind::Direct
            },
            mtls,
            network: None,
            cluster: None,
            workload,
        },
    )
}

fn assignment() -> impl Strategy<Value = LoadAssignment> {
    let label = prop_oneof![
        Just(String::new()),
        Just("r".to_owned()),
        Just("r/z".to_owned()),
        Just("us-east1/us-east1-b/rack-1".to_owned()),
        Just("r/z/s/extra/more".to_owned()),
        Just("/z/".to_owned()),
        any::<String>(),
    ];
    let group = (
        label,
        proptest::option::of(weight()),
        proptest::collection::vec(lb_endpoint(), 0..6),
        prop_oneof![Just(0u32), 1u32..4, any::<u32>()],
    )
        .prop_map(|(label, weight, endpoints, priority)| LocalityGroup {
            priority,
            locality: label,
            weight,
            endpoints,
        });
    let name = prop_oneof![
        Just(String::new()),
        Just("outbound|80||foo.ns1.svc.cluster.local".to_owned()),
        Just("outbound_.80_._.foo.ns1.svc.cluster.local".to_owned()),
        any::<String>(),
    ];
    (name, proptest::collection::vec(group, 0..5)).prop_map(|(cluster_name, localities)| {
        LoadAssignment {
            cluster_name,
            localities,
        }
    })
}

// ---------------------------------------------------------------------------------------------

fn check(a: &LoadAssignment) {
    let ours = wire::encode(a);
    assert_eq!(wire::encoded_len(a), ours.len());
    // Our map entries are already sorted: canonical form changes nothing.
    assert_eq!(canonical(&ours, Schema::ClusterLoadAssignment), ours);

    let want = expected(a);
    let decoded = endpoint::ClusterLoadAssignment::decode(ours.as_slice())
        .unwrap_or_else(|e| panic!("envoy-types cannot decode our bytes: {e}"));
    assert_eq!(decoded, want, "our bytes mean something else to Envoy");

    let theirs = want.encode_to_vec();
    assert_eq!(theirs.len(), ours.len());
    assert_eq!(canonical(&theirs, Schema::ClusterLoadAssignment), ours);

    // The prost tree is the same bytes exactly; the envoy-types conversion is the same message.
    assert_eq!(wire::to_proto(a).encode_to_vec(), ours);
    assert_eq!(endpoint::ClusterLoadAssignment::from(a), want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn our_bytes_are_envoys_bytes(a in assignment()) {
        check(&a);
    }
}

#[test]
fn istio_shaped_assignment() {
    let direct = LbEndpoint {
        address: EndpointAddress::Socket {
            address: "10.0.0.1".to_owned(),
            port: 8080,
        },
        weight: 2,
        kind: EndpointKind::Direct,
        mtls: true,
        network: None,
        cluster: None,
        workload: "foo-1;ns1;foo;v1;c1".to_owned(),
    };
    let gateway = LbEndpoint {
        address: EndpointAddress::Socket {
            address: "2001:db8::10".to_owned(),
            port: 15443,
        },
        weight: 4_294_967_295,
        kind: EndpointKind::Gateway,
        mtls: true,
        network: None,
        cluster: None,
        workload: ";;;;c2".to_owned(),
    };
    let hbone = LbEndpoint {
        address: EndpointAddress::Internal {
            server_listener_name: "connect_originate".to_owned(),
            endpoint_id: "[2001:db8::3]:8080".to_owned(),
        },
        weight: 1,
        kind: EndpointKind::Direct,
        mtls: false,
        network: None,
        cluster: None,
        workload: "bar;ns1;bar;;c1".to_owned(),
    };
    let a = LoadAssignment {
        cluster_name: "outbound|8080||foo.ns1.svc.cluster.local".to_owned(),
        localities: vec![
            LocalityGroup {
                priority: 0,
                locality: "us-east/a/1".to_owned(),
                weight: Some(3),
                endpoints: vec![direct, hbone],
            },
            LocalityGroup {
                priority: 0,
                locality: "us-west".to_owned(),
                weight: Some(4_294_967_295),
                endpoints: vec![gateway],
            },
            LocalityGroup {
                priority: 0,
                locality: "eu".to_owned(),
                weight: None,
                endpoints: vec![],
            },
        ],
    };
    check(&a);
    // The HBONE endpoint's metadata has three namespaces and a two-field struct: both maps need the
    // canonical form when compared with envoy-types, and Envoy reads the intended values.
    let decoded =
        endpoint::ClusterLoadAssignment::decode(wire::encode(&a).as_slice()).unwrap_or_default();
    let meta = decoded.endpoints[0].lb_endpoints[1]
        .metadata
        .clone()
        .unwrap_or_default();
    let tunnel = &meta.filter_metadata["tunnel"].fields;
    assert_eq!(
        tunnel["address"].kind,
        Some(pb::value::Kind::StringValue(
            "[2001:db8::3]:15008".to_owned()
        ))
    );
}

#[test]
fn canonical_form_sorts_map_entries_only() {
    // Envoy's own encoding of a two-entry metadata map, in both orders, has one canonical form.
    let entry = |k: &str| {
        core::Metadata {
            filter_metadata: [(k.to_owned(), string_struct(&[("x", "y".to_owned())]))].into(),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let (a, b) = (entry("a"), entry("b"));
    let ab: Vec<u8> = [a.clone(), b.clone()].concat();
    let ba: Vec<u8> = [b, a].concat();
    assert_ne!(ab, ba);
    assert_eq!(canonical(&ba, Schema::Metadata), ab);
    assert_eq!(canonical(&ab, Schema::Metadata), ab);
}
