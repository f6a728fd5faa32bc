//! Encode-only: `ClusterLoadAssignment` bytes of a 1,000- and a 40,000-endpoint assignment
//! (`shared/bench/WORKLOADS.md`, "encode-only"), with Istio metadata on (tlsMode + workload string),
//! three localities and a few gateway endpoints, as the split-horizon engine emits them.
//!
//! Reports time per assignment; divide by the endpoint count for ns per endpoint (criterion's
//! throughput line prints endpoints per second).
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup, wire};
use prost::Message as _;

/// A deterministic assignment of `n` direct endpoints over 3 zones plus 2 gateway endpoints a zone.
fn assignment(n: usize) -> LoadAssignment {
    let zones = [
        "us-east1/us-east1-b",
        "us-east1/us-east1-c",
        "us-east1/us-east1-d",
    ];
    let localities = zones
        .iter()
        .enumerate()
        .map(|(z, label)| {
            let mut endpoints: Vec<LbEndpoint> = (0..n)
                .filter(|i| i % zones.len() == z)
                .map(|i| LbEndpoint {
                    address: EndpointAddress::Socket {
                        address: format!(
                            "10.{}.{}.{}",
                            (i >> 16) & 0xff,
                            (i >> 8) & 0xff,
                            i & 0xff
                        ),
                        port: 8080,
                    },
                    weight: 2,
                    kind: EndpointKind::Direct,
                    mtls: true,
                    network: None,
                    cluster: None,
                    workload: format!(
                        "svc-{}-7d9f8b6c5-x{i:05};ns-{};svc-{};v1;cluster-{}",
                        i / 10,
                        i % 7,
                        i / 10,
                        i % 10
                    ),
                })
                .collect();
            for g in 0..2 {
                endpoints.push(LbEndpoint {
                    address: EndpointAddress::Socket {
                        address: format!("192.0.2.{}", 10 + g),
                        port: 15443,
                    },
                    weight: 1_000_000,
                    kind: EndpointKind::Gateway,
                    mtls: true,
                    network: None,
                    cluster: None,
                    workload: format!(";;;;cluster-{g}"),
                });
            }
            let weight = endpoints
                .iter()
                .map(|e| e.weight)
                .fold(0u32, u32::wrapping_add);
            LocalityGroup {
                priority: 0,
                locality: (*label).to_owned(),
                weight: Some(weight),
                endpoints,
            }
        })
        .collect();
    LoadAssignment {
        cluster_name: "outbound|8080||svc.ns-1.svc.cluster.local".to_owned(),
        localities,
    }
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for n in [1_000usize, 40_000] {
        let a = assignment(n);
        let endpoints: usize = a.localities.iter().map(|g| g.endpoints.len()).sum();
        group.throughput(Throughput::Elements(endpoints as u64));
        let mut buf = Vec::new();
        group.bench_with_input(BenchmarkId::new("direct, reused buffer", n), &a, |b, a| {
            b.iter(|| {
                buf.clear();
                wire::encode_into(a, &mut buf);
                buf.len()
            })
        });
        group.bench_with_input(BenchmarkId::new("direct, fresh Vec", n), &a, |b, a| {
            b.iter(|| wire::encode(a))
        });
        group.bench_with_input(
            BenchmarkId::new("prost tree (to_proto + encode)", n),
            &a,
            |b, a| b.iter(|| wire::to_proto(a).encode_to_vec()),
        );
    }
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
