//! mesh-kube on realistic dumps (`tests/data/generate.py`: kubectl's objects completed with what a
//! live cluster adds): the documents they give, the problems `check` finds in them, errors, and
//! that no Secret value reaches any output.

use mesh_kube::{ClusterInput, ClusterValues, Import, ImportError, ImportOptions, import};
use mesh_model::{Exposure, TlsMode};

const MP1: &str = include_str!("../data/multi-primary-cluster1.json");
const MP2: &str = include_str!("../data/multi-primary-cluster2.yaml");
const PR1: &str = include_str!("../data/primary-remote-cluster1.yaml");
const PR2: &str = include_str!("../data/primary-remote-cluster2.json");
const VPN1: &str = include_str!("../data/vpn-cluster1.yaml");
const VPN3: &str = include_str!("../data/vpn-cluster3.yaml");

fn run(dumps: &[(&str, &str)]) -> Import {
    let inputs = dumps.iter().map(|(n, d)| ClusterInput::new(n, d)).collect();
    import(ImportOptions::default(), inputs).unwrap_or_else(|e| panic!("{e}"))
}

fn codes(i: &Import) -> Vec<String> {
    let report = mesh_topology::check(&i.document);
    report
        .diagnostics
        .iter()
        .map(|d| d.code.as_str().to_owned())
        .collect()
}

mod istio_crs;
mod istiod;
mod multi_primary;
mod problems;
mod secrets;
