//! Growth checks: input shapes that once went quadratic (or aborted), each at two sizes a factor
//! 10 apart. Throughput is elements (endpoints, deltas or gateways), so criterion's time an
//! element shows the growth: flat for linear work, ×log for n log n; ×10 would be quadratic.
//!
//! - `localities x networks`: one service whose endpoints each sit in their own locality and
//!   network, one gateway: `PreparedService` + `EncodedService` (aborted at 20k before).
//! - `remove half`: one apply removing every other endpoint of a 2n-endpoint shard.
//! - `insert into early shard`: one apply of n new keys into a shard that sorts before a shard
//!   of n.
//! - `gateway clusters`: `GatewayIndex::new` + one `View` over n gateways of one network, each
//!   in its own cluster.
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_eds::wire::EncodeOptions;
use mesh_eds::{
    ClusterRequest, Delta, EdsEndpoint, EdsStore, EncodedService, Features, GatewayIndex,
    PreparedService, ProxyClass, ServiceRequest, View,
};
use mesh_model::{Gateway, TlsMode};

fn address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

fn endpoint(i: usize, own_place: bool) -> EdsEndpoint {
    EdsEndpoint {
        addresses: vec![address(i)],
        port: 8080,
        network: own_place.then(|| format!("net-{i}").parse().ok()).flatten(),
        locality: if own_place {
            format!("r/z-{i}")
        } else {
            String::new()
        },
        tls_mode: TlsMode::Istio,
        ..EdsEndpoint::default()
    }
}

fn service() -> ClusterRequest {
    "outbound|8080||foo.ns1".parse().unwrap_or_default()
}

fn upsert(shard: &str, i: usize) -> Delta {
    Delta::UpsertEndpoint {
        service: service(),
        cluster: shard.parse().ok(),
        key: format!("pod-{i}"),
        endpoint: endpoint(i, false),
    }
}

fn store_with(deltas: impl IntoIterator<Item = Delta>) -> EdsStore {
    let mut store = EdsStore::new(Features::default());
    store.apply(std::iter::once(Delta::AddClass(ProxyClass::default())).chain(deltas));
    store
}

fn gateway(i: usize) -> Gateway {
    Gateway {
        network: "east".parse().unwrap_or_else(|e| panic!("{e}")),
        cluster: format!("c{i}").parse().ok(),
        address: format!("192.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
        port: 15443,
        hbone_port: 0,
        service_account: String::new(),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("complexity");
    group.sample_size(10);

    for n in [2_000usize, 20_000] {
        let endpoints: Vec<EdsEndpoint> = (0..n).map(|i| endpoint(i, true)).collect();
        let cluster = service();
        let index = Arc::new(GatewayIndex::new([Gateway {
            network: "net-7".parse().unwrap_or_else(|e| panic!("{e}")),
            ..gateway(0)
        }]));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("localities x networks", n), |b| {
            b.iter(|| {
                let request = ServiceRequest {
                    locality: mesh_eds::LocalityPolicy::istio_default(),
                    cluster: &cluster,
                    endpoints: &endpoints,
                    mtls_allowed: true,
                    features: Features::default(),
                };
                let prepared = PreparedService::new(&index, request);
                black_box(EncodedService::new(&prepared, EncodeOptions::default()))
            })
        });
    }

    for n in [2_000usize, 20_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("remove half", n), |b| {
            b.iter_batched(
                || store_with((0..2 * n).map(|i| upsert("c1", i))),
                |mut store| {
                    store.apply((0..2 * n).step_by(2).map(|i| Delta::RemoveEndpoint {
                        service: service(),
                        cluster: "c1".parse().ok(),
                        key: format!("pod-{i}"),
                    }));
                    store
                },
                BatchSize::LargeInput,
            )
        });
    }

    for n in [5_000usize, 50_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("insert into early shard", n), |b| {
            b.iter_batched(
                || store_with((0..n).map(|i| upsert("c2", i))),
                |mut store| {
                    store.apply((n..2 * n).map(|i| upsert("c1", i)));
                    store
                },
                BatchSize::LargeInput,
            )
        });
    }

    for n in [10_000usize, 100_000] {
        let gateways: Vec<Gateway> = (0..n).map(gateway).collect();
        let class = ProxyClass {
            network: "west".parse().ok(),
            ..ProxyClass::default()
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("gateway clusters", n), |b| {
            b.iter(|| {
                let index = Arc::new(GatewayIndex::new(gateways.iter().cloned()));
                black_box(View::new(&index, class.clone()))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
