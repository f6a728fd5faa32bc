//! Properties of the fast path on random inputs: the public invariant checks hold, views are
//! shared safely, and the output does not depend on anything but the inputs.

use std::sync::Arc;

use mesh_eds::{
    ClusterKind, ClusterRequest, EdsEndpoint, Features, GatewayIndex, IpFamily, PreparedService,
    ProxyClass, ProxyType, ServiceRequest, View, check_invariants, deterministic,
};
use mesh_model::{Gateway, TlsMode};
use proptest::prelude::*;

const NETS: [&str; 4] = ["a", "b", "c", "d"];
const CLUSTERS: [&str; 3] = ["k1", "k2", "k3"];

/// An endpoint as a tuple of small choices, so shrinking stays readable.
fn endpoint() -> impl Strategy<Value = EdsEndpoint> {
    (
        (0usize..5, 0usize..4, 0usize..3, 0u8..6),
        (0usize..3, prop::bool::ANY, prop::bool::weighted(0.15)),
        prop_oneof![4 => Just(0u32), 2 => 1u32..10, 1 => (u32::MAX - 3)..=u32::MAX],
    )
        .prop_map(
            |((net, cl, loc, last), (addr_kind, istio, hbone), lb_weight)| {
                let address = match addr_kind {
                    0 => format!("10.{net}.0.{last}"),
                    1 => format!("2001:db8:{net}::{last}"),
                    _ => String::new(),
                };
                EdsEndpoint {
                    addresses: vec![address],
                    port: 8080,
                    service_port_name: "http".into(),
                    network: NETS.get(net).and_then(|n| n.parse().ok()),
                    cluster: CLUSTERS.get(cl).and_then(|c| c.parse().ok()),
                    locality: ["r/z1", "r/z2", ""][loc].into(),
                    tls_mode: if istio {
                        TlsMode::Istio
                    } else {
                        TlsMode::Disabled
                    },
                    hbone_tunnel: hbone,
                    lb_weight,
                    namespace: "ns".into(),
                    ..EdsEndpoint::default()
                }
            },
        )
}

fn gateway() -> impl Strategy<Value = Gateway> {
    (
        0usize..4,
        0usize..4,
        0u8..4,
        prop_oneof![5 => Just(15443u32), 1 => Just(0)],
        prop::bool::ANY,
    )
        .prop_map(|(net, cl, last, port, v6)| Gateway {
            network: NETS[net].parse().unwrap_or_else(|e| panic!("{e}")),
            cluster: CLUSTERS.get(cl).and_then(|c| c.parse().ok()),
            address: if v6 {
                format!("2001:db8:ff::{last}")
            } else {
                format!("192.0.2.{last}")
            },
            port,
            hbone_port: 15008,
            service_account: String::new(),
        })
}

fn class() -> impl Strategy<Value = ProxyClass> {
    (0usize..5, prop::bool::weighted(0.8), 0usize..4).prop_map(|(net, sidecar, fam)| ProxyClass {
        proxy_type: if sidecar {
            ProxyType::Sidecar
        } else {
            ProxyType::Router
        },
        network: NETS.get(net).and_then(|n| n.parse().ok()),
        ip_family: [
            IpFamily::Ipv4,
            IpFamily::Ipv6,
            IpFamily::Dual,
            IpFamily::Unknown,
        ][fam],
        ..ProxyClass::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn invariants_hold(
        endpoints in prop::collection::vec(endpoint(), 0..16),
        gateways in prop::collection::vec(gateway(), 0..6),
        class in class(),
        sni in prop::bool::weighted(0.2),
        mtls_allowed in prop::bool::weighted(0.8),
        prefer_hbone_send in prop::bool::ANY,
    ) {
        let mut cluster: ClusterRequest = "outbound|80||foo.ns".parse().unwrap_or_default();
        cluster.port_name = "http".into();
        if sni {
            cluster.kind = ClusterKind::SniDnat;
        }
        let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed,
            features: Features { prefer_hbone_send, ..Features::default() },
        };
        let index = Arc::new(GatewayIndex::new(gateways.clone()));
        let view = View::new(&index, class.clone());
        let cla = view.assignment(&request).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_invariants(&gateways, &class, &request, &cla)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{cla:#?}")))?;
        // Deterministic, and independent of gateway input order and of which view instance.
        deterministic(|| view.assignment(&request)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut reversed = gateways.clone();
        reversed.reverse();
        let other = View::new(&Arc::new(GatewayIndex::new(reversed)), class.clone());
        prop_assert_eq!(other.assignment(&request).ok(), Some(cla.clone()));
        // A service prepared once gives every view what the one-shot path gives it.
        let prepared = PreparedService::new(&index, request);
        prop_assert_eq!(view.assignment_prepared(&prepared).ok(), Some(cla.clone()));
        for net in [None, NETS[0].parse().ok(), NETS[3].parse().ok()] {
            let v = View::new(&index, ProxyClass { network: net, ..class.clone() });
            prop_assert_eq!(v.assignment_prepared(&prepared).ok(), v.assignment(&request).ok());
        }
        // The explanation accounts for every input endpoint and agrees with the output.
        let (same, explanation) = view.explain(&request).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&same, &cla);
        prop_assert_eq!(explanation.endpoints.len(), endpoints.len());
        let direct_in = explanation.endpoints.iter().filter(|e| e.outcome.is_direct()).count();
        let direct_out = cla.localities.iter().flat_map(|l| &l.endpoints)
            .filter(|e| e.kind == mesh_eds::EndpointKind::Direct).count();
        prop_assert_eq!(direct_in, direct_out);
    }
}
