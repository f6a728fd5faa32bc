//! Topology validation (`shared/bench/WORKLOADS.md`, "CIDR set" and "reachability graph" rows):
//!
//! - CIDR overlap by sort and sweep over 1,000,000 random v4/v6 prefixes (goal ≤ 100 ms): the
//!   containment forest, which holds every overlapping pair; listing the pairs one by one is
//!   output-bound (test-support's random prefixes have lengths /8–/32 and /16–/128, so about 73
//!   million pairs overlap) and measured too; and 1,000,000 disjoint prefixes (nothing to report);
//! - reachability over 511 clusters in a full mesh of links (Cilium's maximum; goal ≤ 5 ms):
//!   the flat address spaces of 511 networks joined by all 130,305 network pairs, over indices
//!   and from names;
//! - the whole check of that 511-cluster mesh (one primary, 510 remotes with private API servers)
//!   and of the huge workload (250 clusters, 1,000,000 endpoints);
//! - the whole check of N clusters on one network with the same pod CIDR (N = 300 and 3,000):
//!   one `cidr-overlap` group, not N·(N−1)/2 pairs, so the time per cluster stays flat.
//!
//! Run: `cargo bench -p meshspan-benches --bench topology`.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::IpNet;
use mesh_model::{Link, MeshDocument, NetworkId};
use mesh_topology::{FlatAddressSpaces, check, containing_prefixes, overlapping_pairs};
use test_support::{Workload, random_prefixes, workload};

const CLUSTERS: usize = 511;

/// 511 clusters on 511 networks, one primary and 510 remotes with private API servers, every pair
/// of networks linked by its own link (130,305 links).
fn full_mesh_document(n: usize) -> MeshDocument {
    let mut yaml = String::from(
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: full-mesh}\nspec:\n  clusters:\n",
    );
    for i in 0..n {
        let cp = if i == 0 {
            String::new()
        } else {
            ", controlPlane: c0".to_owned()
        };
        let (hi, lo) = (i / 256, i % 256);
        yaml.push_str(&format!(
            "  - {{name: c{i}, network: n{i}{cp}, apiServer: {{address: '100.{hi}.{lo}.1:6443'}}, podCidrs: ['10.{hi}.{lo}.0/24'], serviceCidrs: ['11.{hi}.{lo}.0/24']}}\n"
        ));
    }
    let mut doc = MeshDocument::parse(&yaml).expect("valid by construction");
    let names: Vec<NetworkId> = (0..n)
        .map(|i| format!("n{i}").parse().expect("valid"))
        .collect();
    for a in 0..n {
        for b in a + 1..n {
            doc.spec.links.push(Link {
                networks: vec![names[a].clone(), names[b].clone()],
            });
        }
    }
    doc
}

/// The number of overlapping pairs a containment forest holds: the sum of every prefix's depth,
/// without listing them (O(n) with memoised depths).
fn pairs_in_forest(parent: &[Option<usize>]) -> usize {
    let mut depth: Vec<Option<usize>> = vec![None; parent.len()];
    let mut chain = Vec::new();
    for start in 0..parent.len() {
        let mut at = Some(start);
        // Climb to a prefix whose depth is known (or a root), then fill the chain back.
        let mut base = 0;
        while let Some(i) = at {
            if let Some(d) = depth[i] {
                base = d + 1;
                break;
            }
            chain.push(i);
            at = parent[i];
        }
        while let Some(i) = chain.pop() {
            depth[i] = Some(base);
            base += 1;
        }
    }
    depth.iter().map(|d| d.unwrap_or(0)).sum()
}

fn cidr(c: &mut Criterion) {
    let random = random_prefixes(1, 1_000_000);
    eprintln!(
        "1M random prefixes: {} overlapping pairs",
        pairs_in_forest(&containing_prefixes(&random))
    );
    let disjoint: Vec<IpNet> = (0..1_000_000u32)
        .map(|i| IpNet::new(IpAddr::V4(Ipv4Addr::from(i << 8)), 24).expect("valid"))
        .rev()
        .collect();
    let mut g = c.benchmark_group("cidr-overlap");
    g.sample_size(10);
    g.bench_function(
        "1M random v4/v6: containment forest (every pair, implicit)",
        |b| b.iter(|| containing_prefixes(black_box(&random))),
    );
    g.bench_function("1M disjoint /24s: all pairs (none)", |b| {
        b.iter(|| overlapping_pairs(black_box(&disjoint)).len())
    });
    g.finish();
}

/// `n` clusters on one network (one primary, `n - 1` remotes), all with pod CIDR 10.244.0.0/16.
fn identical_cidrs_document(n: usize) -> MeshDocument {
    let mut yaml = String::from(
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: same-cidr}\nspec:\n  clusters:\n",
    );
    for i in 0..n {
        let cp = if i == 0 { "" } else { ", controlPlane: c0" };
        yaml.push_str(&format!(
            "  - {{name: c{i}, network: n1{cp}, podCidrs: ['10.244.0.0/16']}}\n"
        ));
    }
    MeshDocument::parse(&yaml).expect("valid by construction")
}

/// n identical CIDRs are n·(n−1)/2 overlapping pairs but one group: the whole check, per
/// cluster, at two sizes a factor 10 apart (flat per element = linear).
fn identical_cidrs(c: &mut Criterion) {
    let mut g = c.benchmark_group("N identical CIDRs");
    g.sample_size(10);
    for n in [300usize, 3000] {
        let doc = identical_cidrs_document(n);
        let report = check(&doc);
        let overlaps = report
            .diagnostics
            .iter()
            .filter(|d| d.code.as_str() == "cidr-overlap")
            .count();
        eprintln!(
            "{n} identical CIDRs: {overlaps} cidr-overlap diagnostics, {} bytes of text",
            report.to_string().len()
        );
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("check: {n} clusters, one podCidr"), |b| {
            b.iter(|| check(black_box(&doc)))
        });
    }
    g.finish();
}

fn reachability(c: &mut Criterion) {
    let names: Vec<String> = (0..CLUSTERS).map(|i| format!("n{i}")).collect();
    let mut sorted = names.clone();
    sorted.sort();
    let edges: Vec<(usize, usize)> = (0..CLUSTERS)
        .flat_map(|a| (a + 1..CLUSTERS).map(move |b| (a, b)))
        .collect();
    let mut g = c.benchmark_group("reachability");
    g.bench_function(
        "511 networks, 130,305 links: union-find over indices",
        |b| {
            b.iter(|| {
                FlatAddressSpaces::from_edges(sorted.clone(), black_box(&edges).iter().copied())
            })
        },
    );
    g.bench_function("511 networks, 130,305 links: from network names", |b| {
        b.iter(|| {
            FlatAddressSpaces::new(
                names.iter().map(String::as_str),
                edges
                    .iter()
                    .map(|&(a, b)| [names[a].as_str(), names[b].as_str()]),
                &[],
            )
        })
    });
    let doc = full_mesh_document(CLUSTERS);
    assert!(!check(&doc).has_errors());
    g.sample_size(10);
    g.bench_function("check: 511 clusters, 130,305 links", |b| {
        b.iter(|| check(black_box(&doc)))
    });

    g.finish();
}

fn huge(c: &mut Criterion) {
    let doc = workload(Workload::Huge, 1);
    let mut g = c.benchmark_group("topology-validation");
    g.sample_size(10);
    g.bench_function("check: huge workload", |b| {
        b.iter(|| check(black_box(&doc)))
    });
    g.finish();
}

criterion_group!(benches, cidr, identical_cidrs, reachability, huge);
criterion_main!(benches);
