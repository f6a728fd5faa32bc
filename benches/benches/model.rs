//! Benchmarks of the mesh model.
use criterion::{Criterion, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    let text = test_support::EXAMPLE_SPLIT_HORIZON;
    c.bench_function("parse split-horizon example", |b| {
        b.iter(|| mesh_model::MeshDocument::parse(text).expect("valid"))
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
