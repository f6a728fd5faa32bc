//! Split-horizon EDS of whole workloads (`shared/bench/WORKLOADS.md`): every client view (one per
//! network) of every service port, beside an Istio-shaped baseline measured in the same run.
//!
//! Workloads: small, large, large with 5 networks × 2 clusters, and huge (1,000,000 endpoints,
//! 50 views) when `MESHSPAN_BENCH_HUGE=1` is set (its set-up alone takes tens of seconds, so
//! CI's smoke run `cargo bench -p meshspan-benches -- --test` skips it).
//!
//! Variants: full push of all views with Istio metadata (`full+encode`: every service prepared
//! and encoded once with `EncodedService`, then each view's bytes written from its cached pieces)
//! and on 2 threads (`full+encode, 2 threads`: services split between the machine's 2 cores)
//! and without the `istio` workload metadata (`full+encode, no istio metadata`); the same push
//! through `LoadAssignment` values and `wire::encode_into_with` (`full+encode via
//! LoadAssignment`); views only (`full, no encode`); views of services already encoded
//! (`views+encode, services encoded`) or prepared (`views+encode`); encode only; 1 % endpoint churn and a cluster of
//! 4,000 endpoints joining, through the incremental store (`EdsStore::apply`, snapshot
//! published); and the baseline, Istio-shaped (`baseline.rs`): `istio-shaped with XDS cache, N
//! proxies a network` is the one to compare with — istiod's EDS cache, so proxies with equal
//! endpoint-builder keys share one computation (every service built as an object tree and
//! serialized once a network, then a key and a lookup per proxy); `istio-shaped, no XDS cache`
//! (1 proxy a network; for small also 100) is the same builder with nothing shared, a labelled
//! row only.
//!
//! The `eds-locality/<workload>` group runs the pushes on the workload placed in 3 localities a
//! network with one view per (network, locality) (`Workbench::with_localities`): `3 localities,
//! failover` with every service under a DestinationRule with outlier detection (the locality
//! stage assigns priorities on every view), and `3 localities, no stage` the same views and
//! endpoints with Istio's default policy (goal: failover ≤ 1.2× no stage).
//!
//! Throughput counts endpoint-views (endpoints × views) for the pushes, so the inverse is the
//! time an endpoint a view (goal ≤ 0.25 µs with encoding; Istio ≈ 2.7 µs), and changed
//! endpoints for churn / join.
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_eds::wire::{self, EncodeOptions};
use mesh_eds::{EncodedService, PreparedService, View};
use meshspan_benches::baseline::IstioGateways;
use meshspan_benches::workbench::{Workbench, upsert};
use test_support::{Workload, workload};

const NO_ISTIO: EncodeOptions = EncodeOptions {
    istio_workload: false,
};

fn workloads() -> Vec<(&'static str, Workload)> {
    let mut w = vec![
        ("small", Workload::Small),
        ("large", Workload::Large),
        ("large-5net", Workload::LargeFiveNetworks),
    ];
    if std::env::var_os("MESHSPAN_BENCH_HUGE").is_some() {
        w.push(("huge", Workload::Huge));
    }
    w
}

fn bench(c: &mut Criterion) {
    for (name, kind) in workloads() {
        let huge = kind == Workload::Huge;
        let doc = workload(kind, 7);
        locality(c, name, huge, &doc);
        let mut group = c.benchmark_group(format!("eds/{name}"));
        group.sample_size(10);
        if huge {
            group.warm_up_time(Duration::from_millis(1));
            group.measurement_time(Duration::from_secs(1));
        }
        let w = Workbench::new(&doc);
        drop(doc);
        let mut buf = Vec::with_capacity(1 << 20);

        group.throughput(Throughput::Elements(w.endpoint_views()));
        // The fast path writes exactly what encoding the assignments writes (proven byte for
        // byte by mesh-eds' property tests; here the totals, as a guard on the workload).
        let bytes = w.push_encoded(EncodeOptions::default(), &mut buf);
        assert_eq!(bytes, w.push(Some(EncodeOptions::default()), &mut buf));
        assert_eq!(bytes, w.push_encoded_parallel(EncodeOptions::default(), 2));
        group.bench_function("full+encode", |b| {
            b.iter(|| w.push_encoded(EncodeOptions::default(), &mut buf))
        });
        group.bench_function("full+encode, 2 threads", |b| {
            b.iter(|| w.push_encoded_parallel(EncodeOptions::default(), 2))
        });
        group.bench_function("full+encode, no istio metadata", |b| {
            b.iter(|| w.push_encoded(NO_ISTIO, &mut buf))
        });
        group.bench_function("full+encode via LoadAssignment", |b| {
            b.iter(|| w.push(Some(EncodeOptions::default()), &mut buf))
        });
        group.bench_function("full, no encode", |b| b.iter(|| w.push(None, &mut buf)));
        {
            let index = w.views[0].index();
            let prepared: Vec<PreparedService<'_>> = w
                .eds
                .services
                .iter()
                .map(|s| PreparedService::new(index, w.request(s)))
                .collect();
            let encoded: Vec<EncodedService> = prepared
                .iter()
                .map(|p| EncodedService::new(p, EncodeOptions::default()))
                .collect();
            group.bench_function("views+encode, services encoded", |b| {
                b.iter(|| {
                    encoded
                        .iter()
                        .map(|s| w.push_encoded_service(s, &mut buf))
                        .sum::<usize>()
                })
            });
            group.bench_function("views+encode", |b| {
                b.iter(|| {
                    prepared
                        .iter()
                        .map(|s| w.push_prepared(s, Some(EncodeOptions::default()), &mut buf))
                        .sum::<usize>()
                })
            });
        }
        {
            let assignments = w.assignments();
            group.bench_function("encode only", |b| {
                b.iter(|| {
                    let mut total = 0;
                    for a in &assignments {
                        buf.clear();
                        wire::encode_into(a, &mut buf);
                        total += buf.len();
                    }
                    total
                })
            });
        }

        // The baseline: one proxy on each network (huge: on 2 of the 50, per endpoint-view the same).
        let gateways = IstioGateways::new(&w.eds.gateways.gateways);
        let networks = if huge {
            w.networks[..2].to_vec()
        } else {
            w.networks.clone()
        };
        if !huge {
            let (engine, base) = w.emitted(&gateways);
            assert_eq!(engine, base, "the baseline emits the engine's endpoints");
        }
        group.throughput(Throughput::Elements((w.endpoints * networks.len()) as u64));
        group.bench_function(
            BenchmarkId::new(
                "istio-shaped, no XDS cache, 1 proxy a network",
                networks.len(),
            ),
            |b| b.iter(|| w.baseline_push(&gateways, &networks)),
        );
        // With istiod's EDS cache (the baseline to compare with): one computation per (service,
        // network), a key and a lookup per proxy; 1 and 100 proxies a network, run for real.
        for per_network in [1, 100] {
            let (_, computed) = w.baseline_push_cached(&gateways, &networks, per_network);
            assert_eq!(
                computed,
                w.eds.services.len() * networks.len(),
                "one computation a (service, network), whatever the number of proxies"
            );
            group.throughput(Throughput::Elements(
                (w.endpoints * networks.len() * per_network) as u64,
            ));
            group.bench_function(
                if per_network == 1 {
                    "istio-shaped with XDS cache, 1 proxy a network".to_owned()
                } else {
                    format!("istio-shaped with XDS cache, {per_network} proxies a network")
                },
                |b| b.iter(|| w.baseline_push_cached(&gateways, &networks, per_network)),
            );
        }
        if kind == Workload::Small {
            // Without the cache: 100 proxies on each network, run for real (nothing shared
            // between them), kept as a labelled row only.
            let proxies: Vec<_> = networks
                .iter()
                .flat_map(|n| std::iter::repeat_n(n.clone(), 100))
                .collect();
            group.throughput(Throughput::Elements((w.endpoints * proxies.len()) as u64));
            group.bench_function("istio-shaped, no XDS cache, 100 proxies a network", |b| {
                b.iter(|| w.baseline_push(&gateways, &proxies))
            });
        }

        // Incremental: 1 % endpoint churn (weights flip), then a 4,000-endpoint cluster joining.
        let (mut store, all) = w.store();
        let churn: Vec<_> = all.into_iter().step_by(100).collect();
        let mut flip = 0u32;
        group.throughput(Throughput::Elements(churn.len() as u64));
        group.bench_function(format!("churn 1% ({} endpoints)", churn.len()), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    flip = flip.wrapping_add(1);
                    let deltas: Vec<_> = churn
                        .iter()
                        .cloned()
                        .map(|mut c| {
                            c.3.lb_weight = 1 + flip % 2;
                            upsert(c)
                        })
                        .collect();
                    let start = Instant::now();
                    black_box(store.apply(deltas));
                    elapsed += start.elapsed();
                }
                elapsed
            })
        });
        let (join, remove) = w.joining_cluster(4_000);
        group.throughput(Throughput::Elements(4_000));
        group.bench_function("cluster of 4,000 endpoints joins", |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let deltas = join.clone();
                    let start = Instant::now();
                    black_box(store.apply(deltas));
                    elapsed += start.elapsed();
                    store.apply(remove.clone());
                }
                elapsed
            })
        });

        // The index and the views (once per gateway change).
        group.throughput(Throughput::Elements(w.views.len() as u64));
        group.bench_function("index+views", |b| {
            b.iter(|| {
                let index = std::sync::Arc::new(w.eds.index());
                w.views
                    .iter()
                    .map(|v| View::new(&index, v.class().clone()))
                    .collect::<Vec<View>>()
            })
        });
        group.finish();
    }
}

/// The `eds-locality/<name>` group: full push and views only, with and without the stage.
fn locality(c: &mut Criterion, name: &str, huge: bool, doc: &mesh_model::MeshDocument) {
    let mut group = c.benchmark_group(format!("eds-locality/{name}"));
    group.sample_size(10);
    if huge {
        group.warm_up_time(Duration::from_millis(1));
        group.measurement_time(Duration::from_secs(1));
    }
    let mut buf = Vec::with_capacity(1 << 20);
    for (label, failover) in [
        ("3 localities, no stage", false),
        ("3 localities, failover", true),
    ] {
        let w = Workbench::with_localities(doc, 3, failover);
        group.throughput(Throughput::Elements(w.endpoint_views()));
        // The push path writes the value path's bytes (proven by mesh-eds' properties; here
        // the totals, as a guard on the workload).
        let bytes = w.push_encoded(EncodeOptions::default(), &mut buf);
        assert_eq!(bytes, w.push(Some(EncodeOptions::default()), &mut buf));
        group.bench_function(format!("full+encode, {label}"), |b| {
            b.iter(|| w.push_encoded(EncodeOptions::default(), &mut buf))
        });
        let encoded = w.encoded_services(EncodeOptions::default());
        group.bench_function(format!("views+encode, services encoded, {label}"), |b| {
            b.iter(|| {
                encoded
                    .iter()
                    .map(|s| w.push_encoded_service(s, &mut buf))
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
