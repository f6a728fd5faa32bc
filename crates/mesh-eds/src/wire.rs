//! Envoy's `envoy.config.endpoint.v3.ClusterLoadAssignment` on the wire.
//!
//! The messages below are the subset of Envoy's protos that Istio's EDS sets, written by hand with
//! the exact field numbers of `api/envoy/config/endpoint/v3/endpoint.proto`,
//! `endpoint_components.proto`, `api/envoy/config/core/v3/address.proto`, `base.proto` and
//! `google/protobuf/{struct,wrappers}.proto`. Maps are `BTreeMap`s, so the bytes are deterministic.
//! The crate `eds-wire-compat` proves, against the `envoy-types` crate, that the bytes decode as
//! Envoy's own messages and that Envoy's encoding of the same message is the same bytes.
//!
//! What a [`LoadAssignment`](crate::LoadAssignment) becomes (Istio `util.go` `AppendLbEndpointMetadata`, `ConvertLocality`,
//! `endpoint_builder.go` tunnel rendering; spec rules M3, M12, M18):
//!
//! * each locality group → `LocalityLbEndpoints` with `locality` always present (empty for the empty
//!   label; `region/zone/sub_zone` from splitting the label on `/`), its `load_balancing_weight` when
//!   set (unset = rule M12's null), its priority (omitted when 0, proto3);
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
//! the wire format directly from the [`LoadAssignment`](crate::LoadAssignment) (the hot path: no intermediate objects, one
//! exact-size reservation), and [`to_proto`] builds the [`ClusterLoadAssignment`] message tree for
//! callers that want prost messages. Envoy's proto3 JSON is [`EnvoyJson`], a `serde::Serialize`
//! value that streams to any serde writer (one endpoint's message at a time).

mod direct;
#[cfg(feature = "envoy-types")]
mod envoy;
mod json;
mod proto;

pub(crate) use direct::{
    AddressRef, group_field_len, group_priority_len, group_weight_len, lb_endpoint_prefix,
    put_cluster_name, put_group_header, put_group_priority, put_group_weight,
    put_lb_endpoint_prefix, put_locality, put_weighted_entry, weighted_entry_len,
};
pub use direct::{encode, encode_into, encode_into_with, encoded_len};
pub use json::{EnvoyJson, to_envoy_json};
pub use proto::*;

/// Metadata namespace of Envoy's transport socket matcher (Istio `EnvoyTransportSocketMetadataKey`).
pub const TRANSPORT_SOCKET_MATCH_KEY: &str = "envoy.transport_socket_match";
/// Metadata namespace of Istio's endpoint metadata (Istio `IstioMetadataKey`).
pub const ISTIO_METADATA_KEY: &str = "istio";
/// Metadata namespace of the HBONE tunnel target (Istio `TunnelLabelShortName`).
pub const TUNNEL_METADATA_KEY: &str = "tunnel";
/// The port of the HBONE inbound listener the tunnel connects to.
pub const HBONE_PORT: u16 = 15008;

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

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use serde_json::json;

    use super::direct::*;
    use super::proto::string_struct;
    use super::*;
    use crate::assignment::{
        EndpointAddress, EndpointKind, LbEndpoint as ModelEndpoint, LoadAssignment, LocalityGroup,
    };

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
                    priority: 0,
                    locality: "r1/z1/s1".to_owned(),
                    weight: Some(300),
                    endpoints: vec![
                        endpoint(socket("10.0.0.1", 8080), 100, true, "foo-1;ns1;foo;v1;c1"),
                        endpoint(socket("2001:db8::1", 0), 200, false, ""),
                    ],
                },
                LocalityGroup {
                    priority: 0,
                    locality: String::new(),
                    weight: None,
                    endpoints: vec![],
                },
                LocalityGroup {
                    priority: 0,
                    locality: "r2/z2/s2/extra".to_owned(),
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
                priority: 0,
                locality: "r".to_owned(),
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
                priority: 0,
                locality: String::new(),
                weight: None,
                endpoints: vec![],
            }],
        };
        // endpoints(2) { locality(1) {} }: an empty but present Locality, as Istio's ConvertLocality.
        assert_eq!(encode(&a), [0x12, 0x02, 0x0a, 0x00]);
        let p = to_proto(&LoadAssignment {
            cluster_name: String::new(),
            localities: vec![LocalityGroup {
                priority: 0,
                locality: String::new(),
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
