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

fn network(u: &mut Unstructured<'_>) -> Result<Option<NetworkId>> {
    Ok(if u.ratio(1, 4)? { None } else { pick(u, &["n1", "n2", "n3"])?.parse().ok() })
}

fn cluster(u: &mut Unstructured<'_>) -> Result<Option<ClusterId>> {
    Ok(if u.ratio(1, 4)? { None } else { pick(u, &["c1", "c2", "c3"])?.parse().ok() })
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
    "10.0.0.1", "10.0.0.2", "9.0.0.1", "100.0.0.1", "2001:db8::1", "::ffff:10.0.0.9",
    "ep.example.com", "",
];

fn endpoint(u: &mut Unstructured<'_>) -> Result<EdsEndpoint> {
    let n = u.int_in_range(0..=2usize)?;
    let addresses = (0..n).map(|_| pick(u, ADDRESSES).map(str::to_owned)).collect::<Result<_>>()?;
    let mut labels = std::collections::BTreeMap::new();
    if u.arbitrary()? {
        labels.insert("version".to_owned(), pick(u, &["v1", "v2", "latest"])?.to_owned());
    }
    Ok(EdsEndpoint {
        addresses,
        port: *pick(u, &[&0u32, &8080, &9090])?,
        service_port_name: pick(u, &["http", "grpc"])?.to_owned(),
        network: network(u)?,
        cluster: cluster(u)?,
        locality: pick(u, &["", "r1/z1", "r1/z2", "r2"])?.to_owned(),
        labels: labels.into(),
        tls_mode: if u.ratio(1, 4)? { TlsMode::Disabled } else { TlsMode::Istio },
        hbone_tunnel: u.ratio(1, 5)?,
        lb_weight: weight(u)?,
        namespace: "ns1".to_owned(),
        workload_name: pick(u, &["foo-1", ""])?.to_owned(),
        service_account: "sa".to_owned(),
        health: *pick(u, &[&Health::Healthy, &Health::Healthy, &Health::Unhealthy, &Health::Draining, &Health::Terminating])?,
    })
}

fn gateway(u: &mut Unstructured<'_>) -> Result<Gateway> {
    Ok(Gateway {
        network: pick(u, &["n1", "n2", "n3"])?.parse().expect("valid"),
        cluster: cluster(u)?,
        address: pick(u, &["192.0.2.1", "192.0.2.10", "2001:db8::10", "::ffff:192.0.2.7", "gw.example.com"])?.to_owned(),
        port: *pick(u, &[&15443u32, &15443, &0, &15444])?,
        hbone_port: *pick(u, &[&0u32, &15008])?,
        service_account: pick(u, &["", "sa-a"])?.to_owned(),
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let endpoints = (0..u.int_in_range(0..=12usize)?).map(|_| endpoint(u)).collect::<Result<Vec<_>>>()?;
    let gateways = (0..u.int_in_range(0..=6usize)?).map(|_| gateway(u)).collect::<Result<Vec<_>>>()?;
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
        proxy_type: if u.ratio(1, 4)? { ProxyType::Router } else { ProxyType::Sidecar },
        network: network(u)?,
        cluster: cluster(u)?,
        ip_family: *pick(u, &[&IpFamily::Ipv4, &IpFamily::Ipv6, &IpFamily::Dual, &IpFamily::Unknown])?,
        network_view,
        ..ProxyClass::default()
    };
    let subset = u.ratio(1, 4)?;
    let cluster_request = ClusterRequest {
        kind: if u.ratio(1, 4)? { ClusterKind::SniDnat } else { ClusterKind::Outbound },
        port: 80,
        subset: if subset { "v1".to_owned() } else { String::new() },
        host: "foo.ns1.svc.cluster.local".to_owned(),
        subset_labels: if subset {
            [("version".to_owned(), "v1".to_owned())].into_iter().collect()
        } else {
            Default::default()
        },
        port_name: "http".to_owned(),
    };
    let request = ServiceRequest {
        cluster: &cluster_request,
        endpoints: &endpoints,
        mtls_allowed: u.ratio(4, 5)?,
        features: Features { prefer_hbone_send: u.ratio(1, 5)?, ..Features::default() },
    };
    let index = Arc::new(GatewayIndex::new(gateways.clone()));
    let view = View::new(&index, class.clone());
    let fast = view.assignment(&request).expect("istio-modern never fails");
    check_invariants(&gateways, &class, &request, &fast).expect("invariants hold");
    assert_eq!(view.assignment(&request).expect("again"), fast, "deterministic");
    let slow = oracle::assignment(&gateways, &class, &request).expect("oracle covers istio-modern");
    assert_eq!(fast, slow, "fast path == oracle");
    let bytes = wire::encode(&fast);
    assert_eq!(bytes.len(), wire::encoded_len(&fast));
    // The push fast path writes the same bytes.
    let prepared = PreparedService::new(&index, request);
    let encoded = EncodedService::new(&prepared, wire::EncodeOptions::default());
    let mut pushed = Vec::new();
    encoded.encode_into(&view, &mut pushed).expect("a modern view of the same index");
    assert_eq!(pushed, bytes, "encoded fast path == encoding the assignment");
    let _ = view.explain(&request);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
