//! Resident bytes an endpoint of the engine's data at 1,000,000 endpoints, measured with a
//! counting global allocator (`cap`): live heap bytes before and after building each structure.
//!
//! `cargo bench -p meshspan-benches --bench memory` prints, for small, large and huge: the
//! engine's input (`DocumentEds`, one `EdsEndpoint` per endpoint); the services encoded once for
//! every view (`EncodedService`s: what a published snapshot holds); the whole store (`EdsStore`
//! with its published snapshot) and its index (the store minus the encoded services: merged
//! endpoints, keys, and the per-endpoint cache of facts and direct bytes); and, to size what is
//! not kept, the `LoadAssignment`s of every view (the value path) and their bytes on the wire.
//! Goal ≤ 128 bytes an endpoint; istiod ≈ 1 kB. The smoke run (`-- --test`) measures small only;
//! `MESHSPAN_BENCH_XL=1` adds the 10M-endpoint workload (≈ 10 GB). Last, the bench process's
//! peak resident set (`VmHWM` of `/proc/self/status`, Linux) is printed.
use std::alloc::System;

use cap::Cap;
use mesh_eds::wire::{self, EncodeOptions};
use mesh_eds::{EncodedService, PreparedService};
use meshspan_benches::workbench::Workbench;
use test_support::{Workload, workload};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fn live() -> usize {
    ALLOCATOR.allocated()
}

fn per(bytes: usize, endpoints: usize) -> f64 {
    bytes as f64 / endpoints as f64
}

fn measure(name: &str, kind: Workload) {
    let doc = workload(kind, 7);
    let before = live();
    let w = Workbench::new(&doc);
    let input = live() - before;
    drop(doc);
    let n = w.endpoints;

    let before = live();
    let assignments = w.assignments();
    let views = live() - before;
    let emitted: usize = assignments
        .iter()
        .flat_map(|a| &a.localities)
        .map(|l| l.endpoints.len())
        .sum();
    let wire: usize = assignments.iter().map(wire::encoded_len).sum();
    drop(assignments);

    let before = live();
    let encoded: Vec<EncodedService> = w
        .eds
        .services
        .iter()
        .map(|s| {
            let prepared = PreparedService::new(w.views[0].index(), w.request(s));
            EncodedService::new(&prepared, EncodeOptions::default())
        })
        .collect();
    let encoded_bytes = live() - before;
    drop(encoded);

    let before = live();
    let (store, all) = w.store();
    drop(all);
    let store_total = live() - before;
    drop(store);

    let index = store_total.saturating_sub(encoded_bytes);
    println!(
        "| {name} | {n} | {} | {emitted} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
        w.views.len(),
        per(wire, n),
        per(views, n),
        per(input, n),
        per(index, n),
        per(encoded_bytes, n),
        per(store_total, n),
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    println!(
        "| workload | endpoints | views | LbEndpoints in all views | all views on the wire B/ep | all views' LoadAssignments B/ep | engine input B/ep | store index B/ep | encoded services B/ep | store total B/ep |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    measure("small", Workload::Small);
    if !smoke {
        measure("large", Workload::Large);
        measure("huge", Workload::Huge);
        if std::env::var_os("MESHSPAN_BENCH_XL").is_some() {
            measure("xl", Workload::Xl);
        }
    }
    match peak_rss() {
        Some(peak) => println!("\npeak RSS of the bench process (VmHWM): {peak}"),
        None => println!("\npeak RSS of the bench process: unknown (no /proc/self/status)"),
    }
}

/// The `VmHWM` line of `/proc/self/status` (e.g. `1234567 kB`).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_owned())
}
