//! A control plane embedding mesh-eds: a simulated watch feeds deltas from two clusters (two
//! networks joined by east-west gateways), sidecars of both networks read their assignments from
//! the published snapshot, and after each delta we print what each proxy class would be pushed.
//!
//! Run: `cargo run -p mesh-eds --example control_plane`

use std::thread;

use mesh_eds::wire;
use mesh_eds::{
    ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, IpFamily, ProxyClass, Snapshot,
    SnapshotReader,
};
use mesh_model::{Gateway, IdError, TlsMode};

fn endpoint(
    address: &str,
    network: &str,
    cluster: &str,
    zone: &str,
) -> Result<EdsEndpoint, IdError> {
    Ok(EdsEndpoint {
        addresses: vec![address.to_owned()],
        port: 9080,
        service_port_name: "http".to_owned(),
        network: Some(network.parse()?),
        cluster: Some(cluster.parse()?),
        locality: format!("region/{zone}"),
        tls_mode: TlsMode::Istio,
        namespace: "bookinfo".to_owned(),
        ..EdsEndpoint::default()
    })
}

fn gateway(network: &str, cluster: &str, address: &str) -> Result<Gateway, IdError> {
    Ok(Gateway {
        network: network.parse()?,
        cluster: Some(cluster.parse()?),
        address: address.to_owned(),
        port: 15443,
        hbone_port: 0,
        service_account: String::new(),
    })
}

/// The endpoints of a pushed `ClusterLoadAssignment`, decoded from the bytes a proxy receives.
fn show(bytes: &[u8]) -> Result<String, prost::DecodeError> {
    let cla: wire::ClusterLoadAssignment = prost::Message::decode(bytes)?;
    Ok(cla
        .endpoints
        .iter()
        .map(|l| {
            let eps: Vec<String> = l
                .lb_endpoints
                .iter()
                .map(|e| {
                    let weight = e.load_balancing_weight.as_ref().map_or(0, |w| w.value);
                    let address = e.endpoint.as_ref().and_then(|e| e.address.as_ref());
                    match address.and_then(|a| a.address.as_ref()) {
                        Some(wire::AddressKind::SocketAddress(s)) => {
                            let port = match s.port_specifier {
                                Some(wire::PortSpecifier::PortValue(p)) => p,
                                None => 0,
                            };
                            format!("{}:{port}×{weight}", s.address)
                        }
                        Some(wire::AddressKind::EnvoyInternalAddress(i)) => {
                            format!("hbone {}×{weight}", i.endpoint_id)
                        }
                        None => format!("?×{weight}"),
                    }
                })
                .collect();
            let zone = l.locality.as_ref().map_or("", |l| l.zone.as_str());
            let weight = l.load_balancing_weight.as_ref().map(|w| w.value);
            format!("[{zone} w={weight:?}: {}]", eps.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" "))
}

/// What a proxy of each class would be pushed for `cluster`: the snapshot's bytes.
fn print_pushes(snapshot: &Snapshot, cluster: &str) -> Result<(), prost::DecodeError> {
    for class in snapshot.classes() {
        let net = class.network.as_ref().map_or("-", |n| n.as_str());
        match snapshot.encoded(class, cluster) {
            Ok(bytes) => println!("  sidecar on {net}: {}", show(&bytes)?),
            Err(e) => println!("  sidecar on {net}: {e}"),
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reviews: ClusterRequest = "outbound|9080||reviews.bookinfo.svc.cluster.local".parse()?;
    let reviews = ClusterRequest {
        port_name: "http".to_owned(),
        ..reviews
    };
    let classes: Vec<ProxyClass> = ["network1", "network2"]
        .iter()
        .map(|n| {
            Ok(ProxyClass {
                network: Some(n.parse()?),
                ip_family: IpFamily::Ipv4,
                ..ProxyClass::default()
            })
        })
        .collect::<Result<_, IdError>>()?;

    let mut store = EdsStore::new(Features::default());
    let reader: SnapshotReader = store.reader();

    // What the registries of cluster1 (network1) and cluster2 (network2) report, in order.
    let watch: Vec<(&str, Vec<Delta>)> = vec![
        (
            "proxies connect; gateways discovered",
            classes
                .iter()
                .cloned()
                .map(Delta::AddClass)
                .chain([Delta::Gateways(vec![
                    gateway("network1", "cluster1", "192.0.2.10")?,
                    gateway("network2", "cluster2", "198.51.100.7")?,
                    gateway("network2", "cluster2", "198.51.100.8")?,
                ])])
                .collect(),
        ),
        (
            "cluster1 reports reviews v1 and v2",
            vec![Delta::ReplaceShard {
                service: reviews.clone(),
                cluster: Some("cluster1".parse()?),
                endpoints: vec![
                    (
                        "reviews-v1".into(),
                        endpoint("10.10.1.5", "network1", "cluster1", "a")?,
                    ),
                    (
                        "reviews-v2".into(),
                        endpoint("10.10.1.6", "network1", "cluster1", "a")?,
                    ),
                ],
            }],
        ),
        (
            "cluster2 reports reviews v3",
            vec![Delta::UpsertEndpoint {
                service: reviews.clone(),
                cluster: Some("cluster2".parse()?),
                key: "reviews-v3".into(),
                endpoint: endpoint("10.20.3.7", "network2", "cluster2", "b")?,
            }],
        ),
        (
            "one of network2's gateways goes away",
            vec![Delta::Gateways(vec![
                gateway("network1", "cluster1", "192.0.2.10")?,
                gateway("network2", "cluster2", "198.51.100.7")?,
            ])],
        ),
        (
            "reviews-v1 is deleted",
            vec![Delta::RemoveEndpoint {
                service: reviews.clone(),
                cluster: Some("cluster1".parse()?),
                key: "reviews-v1".into(),
            }],
        ),
    ];

    for (what, deltas) in watch {
        let stats = store.apply(deltas);
        // Readers (the xDS push loop) run concurrently and never block the writer.
        let reader = reader.clone();
        let name = reviews.name();
        thread::spawn(move || {
            let snapshot = reader.load();
            println!(
                "v{} {what} ({} services encoded, {} reused):",
                snapshot.version(),
                stats.encoded,
                stats.reused
            );
            print_pushes(&snapshot, &name)
        })
        .join()
        .map_err(|_| "reader thread panicked")??;
    }
    Ok(())
}
