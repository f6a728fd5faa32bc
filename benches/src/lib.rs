//! Benchmarks live in `benches/`; this library holds what several of them share: the workload
//! set-up of the EDS benches and the Istio-shaped baseline they are compared against.

pub mod baseline;
pub mod workbench;
