//! The split-horizon EDS engine on arbitrary structured input: never a panic, the public invariant
//! checks hold, the output is deterministic, its bytes encode, and the fast path equals the
//! reference oracle (istio-modern).
#![no_main]

use std::collections::BTreeSet;
use std::sync::Arc;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mesh_eds::{
    ClusterKind, ClusterRequest, EdsEndpoint, EncodedService, Features, GatewayIndex, Health,
    IpFamily, PreparedService, ProxyClass, ProxyType, ServiceRequest, View, check_invariants,
    oracle, wire,
};
use mesh_model::{ClusterId, Gateway, NetworkId, TlsMode};

fn pick<'a, T: ?Sized>(u: &mut Unstructured<'_>, items: &'a [&'a T]) -> Result<&'a T> {
    Ok(items[u.choose_index(items.len())?])
}

/// Mostly one of a few names (so endpoints, gateways and proxies meet), sometimes one of many
/// (so services spread over dozens of networks, clusters and localities are reached too).
fn name(u: &mut Unstructured<'_>, prefix: &str) -> Result<String> {
    let i = if u.ratio(3, 4)? {
        u.int_in_range(1..=3u8)?
    } else {
        u.int_in_range(1..=48u8)?
    };
    Ok(format!("{prefix}{i}"))
}

fn network(u: &mut Unstructured<'_>) -> Result<Option<NetworkId>> {
    Ok(if u.ratio(1, 4)? {
        None
    } else {
        name(u, "n")?.parse().ok()
    })
}

fn cluster(u: &mut Unstructured<'_>) -> Result<Option<ClusterId>> {
    Ok(if u.ratio(1, 4)? {
        None
    } else {
        name(u, "c")?.parse().ok()
    })
}

fn weight(u: &mut Unstructured<'_>) -> Result<u32> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => 0,
        1 => u.int_in_range(1..=5)?,
        2 => u32::MAX,
        3 => u32::MAX / 3,
        _ => u.arbitrary()?,
    })
}

const ADDRESSES: &[&str] = &[
    "10.0.0.1",
    "10.0.0.2",
    "9.0.0.1",
    "100.0.0.1",
    "2001:db8::1",
    "::ffff:10.0.0.9",
    "ep.example.com",
    "",
];

fn endpoint(u: &mut Unstructured<'_>) -> Result<EdsEndpoint> {
    let n = u.int_in_range(0..=2usize)?;
    let address = |u: &mut Unstructured<'_>| -> Result<String> {
        Ok(if u.ratio(1, 3)? {
            format!(
                "10.{}.{}.{}",
                u.int_in_range(0..=3u8)?,
                u.arbitrary::<u8>()?,
                u.arbitrary::<u8>()?
            )
        } else {
            pick(u, ADDRESSES)?.to_owned()
        })
    };
    let addresses = (0..n).map(|_| address(u)).collect::<Result<_>>()?;
    let mut labels = std::collections::BTreeMap::new();
    if u.arbitrary()? {
        labels.insert(
            "version".to_owned(),
            pick(u, &["v1", "v2", "latest"])?.to_owned(),
        );
    }
    Ok(EdsEndpoint {
        addresses,
        port: *pick(u, &[&0u32, &8080, &9090])?,
        service_port_name: pick(u, &["http", "grpc"])?.to_owned(),
        network: network(u)?,
        cluster: cluster(u)?,
        locality: if u.ratio(1, 4)? {
            name(u, "r9/z")?
        } else {
            pick(u, &["", "r1/z1", "r1/z2", "r2"])?.to_owned()
        },
        labels: labels.into(),
        tls_mode: if u.ratio(1, 4)? {
            TlsMode::Disabled
        } else {
            TlsMode::Istio
        },
        hbone_tunnel: u.ratio(1, 5)?,
        lb_weight: weight(u)?,
        namespace: "ns1".to_owned(),
        workload_name: pick(u, &["foo-1", ""])?.to_owned(),
        service_account: "sa".to_owned(),
        health: *pick(
            u,
            &[
                &Health::Healthy,
                &Health::Healthy,
                &Health::Unhealthy,
                &Health::Draining,
                &Health::Terminating,
            ],
        )?,
        node_name: String::new(),
    })
}

fn gateway(u: &mut Unstructured<'_>) -> Result<Gateway> {
    Ok(Gateway {
        network: name(u, "n")?.parse().expect("valid"),
        cluster: cluster(u)?,
        address: if u.ratio(1, 3)? {
            format!(
                "192.0.{}.{}",
                u.int_in_range(0..=2u8)?,
                u.arbitrary::<u8>()?
            )
        } else {
            pick(
                u,
                &[
                    "192.0.2.1",
                    "192.0.2.10",
                    "2001:db8::10",
                    "::ffff:192.0.2.7",
                    "gw.example.com",
                ],
            )?
            .to_owned()
        },
        port: *pick(u, &[&15443u32, &15443, &0, &15444])?,
        hbone_port: *pick(u, &[&0u32, &15008])?,
        service_account: pick(u, &["", "sa-a"])?.to_owned(),
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let endpoints = (0..u.int_in_range(0..=64usize)?)
        .map(|_| endpoint(u))
        .collect::<Result<Vec<_>>>()?;
    let gateways = (0..u.int_in_range(0..=24usize)?)
        .map(|_| gateway(u))
        .collect::<Result<Vec<_>>>()?;
    let network_view = if u.ratio(1, 4)? {
        let mut s = BTreeSet::new();
        for _ in 0..u.int_in_range(0..=2)? {
            if let Some(n) = network(u)? {
                s.insert(n);
            }
        }
        Some(s)
    } else {
        None
    };
    let class = ProxyClass {
        proxy_type: if u.ratio(1, 4)? {
            ProxyType::Router
        } else {
            ProxyType::Sidecar
        },
        network: network(u)?,
        cluster: cluster(u)?,
        ip_family: *pick(
            u,
            &[
                &IpFamily::Ipv4,
                &IpFamily::Ipv6,
                &IpFamily::Dual,
                &IpFamily::Unknown,
            ],
        )?,
        network_view,
        ..ProxyClass::default()
    };
    let subset = u.ratio(1, 4)?;
    let cluster_request = ClusterRequest {
        kind: if u.ratio(1, 4)? {
            ClusterKind::SniDnat
        } else {
            ClusterKind::Outbound
        },
        port: 80,
        subset: if subset {
            "v1".to_owned()
        } else {
            String::new()
        },
        host: "foo.ns1.svc.cluster.local".to_owned(),
        subset_labels: if subset {
            [("version".to_owned(), "v1".to_owned())]
                .into_iter()
                .collect()
        } else {
            Default::default()
        },
        port_name: "http".to_owned(),
    };
    let request = ServiceRequest {
        locality: mesh_eds::LocalityPolicy::istio_default(),
        cluster: &cluster_request,
        endpoints: &endpoints,
        mtls_allowed: u.ratio(4, 5)?,
        features: Features {
            prefer_hbone_send: u.ratio(1, 5)?,
            ..Features::default()
        },
    };
    let index = Arc::new(GatewayIndex::new(gateways.clone()));
    let view = View::new(&index, class.clone());
    let fast = view.assignment(&request).expect("istio-modern never fails");
    check_invariants(&gateways, &class, &request, &fast).expect("invariants hold");
    assert_eq!(
        view.assignment(&request).expect("again"),
        fast,
        "deterministic"
    );
    let slow = oracle::assignment(&gateways, &class, &request).expect("oracle covers istio-modern");
    assert_eq!(fast, slow, "fast path == oracle");
    let bytes = wire::encode(&fast);
    assert_eq!(bytes.len(), wire::encoded_len(&fast));
    // The push fast path writes the same bytes.
    let prepared = PreparedService::new(&index, request);
    let encoded = EncodedService::new(&prepared, wire::EncodeOptions::default());
    let mut pushed = Vec::new();
    encoded
        .encode_into(&view, &mut pushed)
        .expect("a modern view of the same index");
    assert_eq!(
        pushed, bytes,
        "encoded fast path == encoding the assignment"
    );
    let _ = view.explain(&request);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
