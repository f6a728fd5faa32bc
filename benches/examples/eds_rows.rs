//! One row of the `eds` bench, run `REPS` times, for instruction counts under callgrind
//! (`benches/instructions.sh`): repeatable whatever else the machine is doing, unlike the
//! criterion times, so a refactor can be held to "no row more than 5 % slower" on a busy machine.
//!
//! `cargo run --release -p meshspan-benches --example eds_rows -- small full+encode 3`
use std::hint::black_box;

use mesh_eds::View;
use mesh_eds::wire::{self, EncodeOptions};
use meshspan_benches::baseline::IstioGateways;
use meshspan_benches::workbench::{Workbench, upsert};
use test_support::{Workload, workload};

/// The rows, as the `eds` bench names them; `loc3-` and `loc3-failover-` before a push row run
/// it on the workload placed in 3 localities a network with one view per locality
/// (`Workbench::with_localities`), without and with the locality stage (failover on).
const ROWS: [&str; 12] = [
    "full+encode",
    "full+encode-no-istio",
    "full+encode-via-LoadAssignment",
    "full-no-encode",
    "views+encode-services-encoded",
    "encode-only",
    "churn-1%",
    "join-4000",
    "index+views",
    "baseline-no-cache-1",
    "baseline-cached-1",
    "baseline-cached-100",
];

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, row, reps] = args.as_slice() else {
        return Err(format!(
            "usage: eds_rows small|large|large-5net|huge ROW REPS (rows: {ROWS:?})"
        ));
    };
    let kind = match kind.as_str() {
        "small" => Workload::Small,
        "large" => Workload::Large,
        "large-5net" => Workload::LargeFiveNetworks,
        "huge" => Workload::Huge,
        other => return Err(format!("unknown workload {other:?}")),
    };
    let reps: u32 = reps.parse().map_err(|e| format!("REPS {reps:?}: {e}"))?;
    let doc = workload(kind, 7);
    let (w, row) = if let Some(row) = row.strip_prefix("loc3-failover-") {
        (Workbench::with_localities(&doc, 3, true), row)
    } else if let Some(row) = row.strip_prefix("loc3-") {
        (Workbench::with_localities(&doc, 3, false), row)
    } else {
        (Workbench::new(&doc), row.as_str())
    };
    drop(doc);
    let mut buf = Vec::with_capacity(1 << 20);
    let no_istio = EncodeOptions {
        istio_workload: false,
    };
    let mut total = 0usize;
    match row {
        "full+encode" => {
            (0..reps).for_each(|_| total += w.push_encoded(EncodeOptions::default(), &mut buf))
        }
        "full+encode-no-istio" => {
            (0..reps).for_each(|_| total += w.push_encoded(no_istio, &mut buf))
        }
        "full+encode-via-LoadAssignment" => {
            (0..reps).for_each(|_| total += w.push(Some(EncodeOptions::default()), &mut buf))
        }
        "full-no-encode" => (0..reps).for_each(|_| total += w.push(None, &mut buf)),
        "views+encode-services-encoded" => {
            let encoded = w.encoded_services(EncodeOptions::default());
            for _ in 0..reps {
                total += encoded
                    .iter()
                    .map(|s| w.push_encoded_service(s, &mut buf))
                    .sum::<usize>();
            }
        }
        "encode-only" => {
            let assignments = w.assignments();
            for _ in 0..reps {
                for a in &assignments {
                    buf.clear();
                    wire::encode_into(a, &mut buf);
                    total += buf.len();
                }
            }
        }
        "churn-1%" => {
            let (mut store, all) = w.store();
            let churn: Vec<_> = all.into_iter().step_by(100).collect();
            for flip in 0..reps {
                let deltas = churn.iter().cloned().map(|mut c| {
                    c.3.lb_weight = 1 + flip % 2;
                    upsert(c)
                });
                total += black_box(store.apply(deltas)).encoded;
            }
        }
        "join-4000" => {
            let (mut store, _) = w.store();
            let (join, remove) = w.joining_cluster(4_000);
            for _ in 0..reps {
                total += black_box(store.apply(join.clone())).encoded;
                store.apply(remove.clone());
            }
        }
        "index+views" => {
            for _ in 0..reps {
                let index = std::sync::Arc::new(w.eds.index());
                let views: Vec<View> = w
                    .views
                    .iter()
                    .map(|v| View::new(&index, v.class().clone()))
                    .collect();
                total += views.len();
            }
        }
        // The Istio-shaped baseline on every network (`benches/src/baseline.rs`): without the
        // XDS cache for one proxy a network, and with it for 1 and 100 proxies a network.
        "baseline-no-cache-1" => {
            let gateways = IstioGateways::new(&w.eds.gateways.gateways);
            (0..reps).for_each(|_| total += w.baseline_push(&gateways, &w.networks))
        }
        "baseline-cached-1" | "baseline-cached-100" => {
            let per_network = if row.ends_with("-100") { 100 } else { 1 };
            let gateways = IstioGateways::new(&w.eds.gateways.gateways);
            for _ in 0..reps {
                total += w
                    .baseline_push_cached(&gateways, &w.networks, per_network)
                    .0;
            }
        }
        other => return Err(format!("unknown row {other:?} (rows: {ROWS:?})")),
    }
    println!("{row}: {}", black_box(total));
    Ok(())
}
