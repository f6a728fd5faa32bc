//! Conversion to the `envoy-types` crate's generated messages (feature `envoy-types`), for control
//! planes that serve EDS with tonic and `envoy-types`.

use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::endpoint::v3 as endpoint;
use envoy_types::pb::google::protobuf as pb;

use super::{AddressKind, AddressNameSpecifier, PortSpecifier, ValueKind};
use crate::LoadAssignment;

impl From<&LoadAssignment> for endpoint::ClusterLoadAssignment {
    /// The `envoy-types` message of an assignment: the same message as [`super::to_proto`], so its
    /// encoding is the same bytes as [`super::encode`] up to the order of map entries
    /// (`envoy-types` uses `HashMap`s).
    ///
    /// ```
    /// use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
    /// use mesh_eds::LoadAssignment;
    ///
    /// let a = LoadAssignment { cluster_name: "c".into(), localities: vec![] };
    /// assert_eq!(ClusterLoadAssignment::from(&a).cluster_name, "c");
    /// ```
    fn from(assignment: &LoadAssignment) -> Self {
        let ours = super::to_proto(assignment);
        endpoint::ClusterLoadAssignment {
            cluster_name: ours.cluster_name,
            endpoints: ours.endpoints.into_iter().map(group).collect(),
            ..Default::default()
        }
    }
}

fn u32_value(v: super::UInt32Value) -> pb::UInt32Value {
    pb::UInt32Value { value: v.value }
}

fn group(g: super::LocalityLbEndpoints) -> endpoint::LocalityLbEndpoints {
    endpoint::LocalityLbEndpoints {
        locality: g.locality.map(|l| core::Locality {
            region: l.region,
            zone: l.zone,
            sub_zone: l.sub_zone,
        }),
        lb_endpoints: g.lb_endpoints.into_iter().map(lb_endpoint).collect(),
        load_balancing_weight: g.load_balancing_weight.map(u32_value),
        priority: g.priority,
        ..Default::default()
    }
}

fn lb_endpoint(e: super::LbEndpoint) -> endpoint::LbEndpoint {
    endpoint::LbEndpoint {
        host_identifier: e.endpoint.map(|e| {
            endpoint::lb_endpoint::HostIdentifier::Endpoint(endpoint::Endpoint {
                address: e.address.map(address),
                ..Default::default()
            })
        }),
        metadata: e.metadata.map(|m| core::Metadata {
            filter_metadata: m
                .filter_metadata
                .into_iter()
                .map(|(k, s)| (k, structure(s)))
                .collect(),
            ..Default::default()
        }),
        load_balancing_weight: e.load_balancing_weight.map(u32_value),
        ..Default::default()
    }
}

fn address(a: super::Address) -> core::Address {
    core::Address {
        address: a.address.map(|kind| match kind {
            AddressKind::SocketAddress(s) => {
                core::address::Address::SocketAddress(core::SocketAddress {
                    protocol: s.protocol,
                    address: s.address,
                    port_specifier: s.port_specifier.map(|PortSpecifier::PortValue(p)| {
                        core::socket_address::PortSpecifier::PortValue(p)
                    }),
                    ..Default::default()
                })
            }
            AddressKind::EnvoyInternalAddress(i) => {
                core::address::Address::EnvoyInternalAddress(core::EnvoyInternalAddress {
                    address_name_specifier: i.address_name_specifier.map(
                        |AddressNameSpecifier::ServerListenerName(n)| {
                            core::envoy_internal_address::AddressNameSpecifier::ServerListenerName(
                                n,
                            )
                        },
                    ),
                    endpoint_id: i.endpoint_id,
                })
            }
        }),
    }
}

fn structure(s: super::Struct) -> pb::Struct {
    pb::Struct {
        fields: s
            .fields
            .into_iter()
            .map(|(k, v)| {
                let kind = v
                    .kind
                    .map(|ValueKind::StringValue(s)| pb::value::Kind::StringValue(s));
                (k, pb::Value { kind })
            })
            .collect(),
    }
}
