//! Benchmarks of mesh-ca: workload certificate issuance (key supplied, and with key generation),
//! chain verification, the trust report, and its warnings over N bundles (30 and 300: the time per
//! bundle grows with N, the matrix being N², never N³).
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mesh_ca::{
    ClusterBundle, IntermediateCa, KeyPair, ReportOptions, RootCa, TrustBundle, TrustReport,
    Validity,
};
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

/// The bundles of clusters c0, c1, ... with the intermediates `intermediate` makes for them.
fn bundles(
    clusters: usize,
    mut intermediate: impl FnMut(&ClusterId) -> IntermediateCa,
) -> Vec<ClusterBundle> {
    (0..clusters)
        .map(|i| {
            let cluster = ClusterId::new(format!("c{i}")).expect("id");
            let files = intermediate(&cluster).plugin_files();
            let td = TrustDomain::new("cluster.local").expect("td");
            ClusterBundle::new(cluster, td, files)
        })
        .collect()
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("ca trust report");
    for clusters in [4usize, 16] {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let root = RootCa::generate(&mut rng, NOW).expect("root");
        let bundles = bundles(clusters, |cluster| {
            root.generate_intermediate(cluster, &mut rng, NOW)
                .expect("intermediate")
        });
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

/// `TrustReport::warnings` over N bundles whose intermediates all outlive their shared root (one
/// warning per peer in every one of the N² cells), at two sizes a factor 10 apart. Issuing the
/// bundles and building the report are setup; only `warnings()` is measured.
fn warnings(c: &mut Criterion) {
    let mut group = c.benchmark_group("TrustReport of N bundles");
    group.sample_size(10);
    for clusters in [30usize, 300] {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let root = RootCa::new(
            KeyPair::generate(&mut rng),
            Validity::starting_at(NOW, 100 * 86_400),
            &mut rng,
        )
        .expect("root");
        let bundles = bundles(clusters, |cluster| {
            let key = KeyPair::generate(&mut rng);
            let validity = Validity::starting_at(NOW, 200 * 86_400);
            root.issue_intermediate(cluster, key, validity, &mut rng)
                .expect("intermediate")
        });
        let report = TrustReport::build(&bundles, NOW, &ReportOptions::default()).expect("ok");
        assert_eq!(report.warnings().len(), clusters);
        group.throughput(Throughput::Elements(clusters as u64));
        group.bench_function(format!("warnings: {clusters} bundles"), |b| {
            b.iter(|| report.warnings().len())
        });
    }
    group.finish();
}

criterion_group!(benches, issuance, report, warnings);
criterion_main!(benches);
