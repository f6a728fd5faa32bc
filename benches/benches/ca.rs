//! Benchmarks of mesh-ca: workload certificate issuance (key supplied, and with key generation),
//! chain verification, and the trust report.
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mesh_ca::{ClusterBundle, KeyPair, ReportOptions, RootCa, TrustBundle, TrustReport};
use mesh_model::{ClusterId, SpiffeId, TrustDomain};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

fn issuance(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let root = RootCa::generate(&mut rng, NOW).expect("root");
    let ca = root
        .generate_intermediate(&ClusterId::new("c1").expect("id"), &mut rng, NOW)
        .expect("intermediate");
    let id: SpiffeId = "spiffe://cluster.local/ns/default/sa/bench"
        .parse()
        .expect("spiffe id");
    let workload = KeyPair::generate(&mut rng);

    let mut group = c.benchmark_group("ca issue");
    group.throughput(Throughput::Elements(1));
    group.bench_function("workload cert, key supplied", |b| {
        b.iter(|| {
            ca.issue_workload(&id, workload.public_key(), NOW, 3600, &mut rng)
                .expect("issue")
        })
    });
    group.bench_function("workload cert, key supplied, + PEM", |b| {
        b.iter(|| {
            ca.issue_workload(&id, workload.public_key(), NOW, 3600, &mut rng)
                .expect("issue")
                .to_pem()
        })
    });
    group.bench_function("workload cert with key generation", |b| {
        b.iter(|| {
            let key = KeyPair::generate(&mut rng);
            ca.issue_workload(&id, key.public_key(), NOW, 3600, &mut rng)
                .expect("issue")
        })
    });
    group.bench_function("p256 sign only (the floor)", |b| {
        let tbs = [0x5au8; 400];
        b.iter(|| workload.sign(&tbs))
    });
    group.finish();

    let leaf = ca
        .issue_workload(&id, workload.public_key(), NOW, 3600, &mut rng)
        .expect("issue")
        .certificate()
        .expect("parse");
    let chain = [leaf, ca.certificate().clone()];
    let bundle = TrustBundle::new(
        vec![root.certificate().clone()],
        TrustDomain::new("cluster.local").expect("td"),
    );
    c.bench_function("ca verify workload chain (webpki)", |b| {
        b.iter(|| bundle.verify(&chain, NOW + 1).expect("verifies"))
    });
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("ca trust report");
    for clusters in [4usize, 16] {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let root = RootCa::generate(&mut rng, NOW).expect("root");
        let bundles: Vec<ClusterBundle> = (0..clusters)
            .map(|i| {
                let cluster = ClusterId::new(format!("c{i}")).expect("id");
                let ca = root
                    .generate_intermediate(&cluster, &mut rng, NOW)
                    .expect("intermediate");
                ClusterBundle::new(
                    cluster,
                    TrustDomain::new("cluster.local").expect("td"),
                    ca.plugin_files(),
                )
            })
            .collect();
        group.bench_function(format!("{clusters} clusters, shared root"), |b| {
            b.iter_batched(
                || bundles.clone(),
                |bundles| TrustReport::build(&bundles, NOW, &ReportOptions::default()).expect("ok"),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, issuance, report);
criterion_main!(benches);
