//! Readers under a busy writer: one writer applies deltas while several threads load snapshots.
//! No reader sees a torn state (two services changed by one apply always agree), and the
//! versions a reader sees never go backwards. Bounded: a fixed number of applies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mesh_eds::wire::ClusterLoadAssignment;
use mesh_eds::{ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, ProxyClass, Snapshot};
use prost::Message;

const APPLIES: u32 = 300;
const READERS: usize = 3;

fn endpoint(i: u32, weight: u32) -> EdsEndpoint {
    EdsEndpoint {
        addresses: vec![format!("10.0.{}.{}", i >> 8, i & 255)],
        port: 8080,
        lb_weight: weight,
        ..EdsEndpoint::default()
    }
}

/// (endpoints, weight of the first) of one service in a snapshot.
fn observed(snapshot: &Snapshot, class: &ProxyClass, name: &str) -> Option<(usize, u32)> {
    let bytes = snapshot.encoded(class, name).ok()?;
    let cla = ClusterLoadAssignment::decode(bytes.as_slice()).ok()?;
    let endpoints: Vec<_> = cla.endpoints.iter().flat_map(|l| &l.lb_endpoints).collect();
    let weight = endpoints.first()?.load_balancing_weight.as_ref()?.value;
    Some((endpoints.len(), weight))
}

#[test]
fn readers_never_see_a_torn_or_older_snapshot() {
    let grow: ClusterRequest = "outbound|80||grow.ns".parse().unwrap_or_default();
    let tick: ClusterRequest = "outbound|80||tick.ns".parse().unwrap_or_default();
    let class = ProxyClass::default();
    let mut store = EdsStore::new(Features::default());
    let reader = store.reader();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let reader = reader.clone();
            let done = Arc::clone(&done);
            let class = class.clone();
            let (grow, tick) = (grow.name(), tick.name());
            std::thread::spawn(move || -> Result<u64, String> {
                let mut last = 0;
                let mut checked = 0u64;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let snapshot = reader.load();
                    let version = snapshot.version();
                    if version < last {
                        return Err(format!("version went back from {last} to {version}"));
                    }
                    last = version;
                    if version > 0 {
                        // Apply v added the v-th endpoint of `grow` and set `tick`'s weight to v.
                        let g = observed(&snapshot, &class, &grow);
                        let t = observed(&snapshot, &class, &tick);
                        let v = u32::try_from(version).map_err(|e| e.to_string())?;
                        if g.map(|(n, _)| n) != Some(v as usize) || t.map(|(_, w)| w) != Some(v) {
                            return Err(format!("version {version}: grow {g:?}, tick {t:?}"));
                        }
                        checked += 1;
                    }
                    if finished {
                        return Ok(checked);
                    }
                }
            })
        })
        .collect();
    for v in 1..=APPLIES {
        let mut deltas = vec![
            Delta::UpsertEndpoint {
                service: grow.clone(),
                cluster: None,
                key: format!("pod-{v}"),
                endpoint: endpoint(v, 1),
            },
            Delta::UpsertEndpoint {
                service: tick.clone(),
                cluster: None,
                key: "only".into(),
                endpoint: endpoint(0, v),
            },
        ];
        if v == 1 {
            deltas.push(Delta::AddClass(class.clone()));
        }
        let stats = store.apply(deltas);
        assert_eq!(stats.version, u64::from(v));
    }
    done.store(true, Ordering::Release);
    for r in readers {
        let checked = r.join().unwrap_or_else(|_| Err("reader panicked".into()));
        assert!(checked.is_ok(), "{checked:?}");
    }
    assert_eq!(reader.load().version(), u64::from(APPLIES));
    assert_eq!(
        observed(&reader.load(), &class, &grow.name()),
        Some((APPLIES as usize, 1))
    );
}
