//! Split-horizon EDS of whole workloads (`shared/bench/WORKLOADS.md`, small and large): every
//! client view (one per network) of every service port, computed from the shared gateway index,
//! with and without encoding to `ClusterLoadAssignment` bytes.
//!
//! Criterion's throughput line counts endpoint-views (endpoints × views): its inverse is the time
//! per endpoint per view (goal ≤ 0.25 µs including encoding; Istio ≈ 2.7 µs).
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_eds::{
    ClusterRequest, Delta, DocumentEds, EdsEndpoint, EdsStore, Features, PreparedService, Profile,
    ServicePortEndpoints, ServiceRequest, View, wire,
};
use mesh_model::{ClusterId, MeshDocument};
use test_support::{Workload, workload};

struct Prepared {
    eds: DocumentEds,
    views: Vec<View>,
    endpoint_views: u64,
}

fn prepare(doc: &MeshDocument) -> Prepared {
    let eds = DocumentEds::new(doc, Features::default());
    let index = eds.shared_index();
    let mut networks: Vec<_> = doc
        .spec
        .clusters
        .iter()
        .filter_map(|c| c.network.clone())
        .collect();
    networks.sort();
    networks.dedup();
    let views: Vec<View> = networks
        .iter()
        .map(|n| {
            View::new(
                &index,
                DocumentEds::class_for_network(n, Profile::IstioModern),
            )
        })
        .collect();
    let endpoints: usize = eds.services.iter().map(|s| s.endpoints.len()).sum();
    Prepared {
        endpoint_views: (endpoints * views.len()) as u64,
        eds,
        views,
    }
}

/// Every view of every service port, each service prepared once ([`PreparedService`]) and shared
/// by every view, as a control plane does on a push; returns the bytes written (or endpoints
/// emitted).
fn run(p: &Prepared, encode: bool, buf: &mut Vec<u8>) -> usize {
    let index = p.views[0].index();
    let mut total = 0;
    for s in &p.eds.services {
        let prepared = PreparedService::new(index, request(p, s));
        total += views(p, &prepared, encode, buf);
    }
    total
}

fn request<'a>(p: &Prepared, s: &'a ServicePortEndpoints) -> ServiceRequest<'a> {
    ServiceRequest {
        cluster: &s.cluster,
        endpoints: &s.endpoints,
        mtls_allowed: true,
        features: p.eds.features,
    }
}

fn views(p: &Prepared, prepared: &PreparedService<'_>, encode: bool, buf: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for view in &p.views {
        let Ok(cla) = view.assignment_prepared(prepared) else {
            continue;
        };
        if encode {
            buf.clear();
            wire::encode_into(&cla, buf);
            total += buf.len();
        } else {
            total += cla
                .localities
                .iter()
                .map(|l| l.endpoints.len())
                .sum::<usize>();
        }
    }
    total
}

type Churn = Vec<(ClusterRequest, Option<ClusterId>, String, EdsEndpoint)>;

/// A store holding the whole workload, and 1 % of its endpoints (spread over services) to change.
fn store_with_churn(p: &Prepared) -> (EdsStore, Churn) {
    let mut store = EdsStore::new(p.eds.features);
    let mut deltas: Vec<Delta> = p
        .views
        .iter()
        .map(|v| Delta::AddClass(v.class().clone()))
        .collect();
    deltas.push(Delta::Gateways(p.eds.gateways.gateways.clone()));
    let mut all = Vec::new();
    for s in &p.eds.services {
        for (i, e) in s.endpoints.iter().enumerate() {
            let key = format!("{}:{}#{i}", e.address(), e.port);
            all.push((s.cluster.clone(), e.cluster.clone(), key.clone(), e.clone()));
            deltas.push(Delta::UpsertEndpoint {
                service: s.cluster.clone(),
                cluster: e.cluster.clone(),
                key,
                endpoint: e.clone(),
            });
        }
    }
    store.apply(deltas);
    let churn = all.into_iter().step_by(100).collect();
    (store, churn)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("eds");
    group.sample_size(10);
    for (name, kind) in [("small", Workload::Small), ("large", Workload::Large)] {
        let doc = workload(kind, 7);
        let p = prepare(&doc);
        let mut buf = Vec::with_capacity(1 << 20);
        group.throughput(Throughput::Elements(p.endpoint_views));
        // Full push: prepare every service, every view, encode.
        group.bench_function(BenchmarkId::new("prepare+views+encode", name), |b| {
            b.iter(|| run(&p, true, &mut buf))
        });
        group.bench_function(BenchmarkId::new("prepare+views", name), |b| {
            b.iter(|| run(&p, false, &mut buf))
        });
        // Steady state: services prepared when their endpoints changed, views recomputed.
        let index = p.views[0].index();
        let prepared: Vec<PreparedService<'_>> = p
            .eds
            .services
            .iter()
            .map(|s| PreparedService::new(index, request(&p, s)))
            .collect();
        group.bench_function(BenchmarkId::new("views+encode", name), |b| {
            b.iter(|| {
                prepared
                    .iter()
                    .map(|s| views(&p, s, true, &mut buf))
                    .sum::<usize>()
            })
        });
        // 1 % endpoint churn through the incremental store: only the touched services are
        // recomputed (in every view) and a new snapshot is published.
        let (mut store, churn) = store_with_churn(&p);
        let mut flip = 0u32;
        group.throughput(Throughput::Elements(churn.len() as u64));
        group.bench_function(BenchmarkId::new("churn-1%", name), |b| {
            b.iter(|| {
                flip = flip.wrapping_add(1);
                let deltas = churn.iter().map(|(service, cluster, key, e)| {
                    let mut endpoint = e.clone();
                    endpoint.lb_weight = 1 + flip % 2;
                    Delta::UpsertEndpoint {
                        service: service.clone(),
                        cluster: cluster.clone(),
                        key: key.clone(),
                        endpoint,
                    }
                });
                store.apply(deltas).recomputed
            })
        });
        // Building the index and the views (once per gateway change).
        group.throughput(Throughput::Elements(p.views.len() as u64));
        group.bench_function(BenchmarkId::new("index+views", name), |b| {
            b.iter(|| {
                let index = Arc::new(p.eds.index());
                p.views
                    .iter()
                    .map(|v| View::new(&index, v.class().clone()))
                    .collect::<Vec<View>>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
