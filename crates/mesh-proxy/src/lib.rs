//! # mesh-proxy
//!
//! What a proxy really holds, against what meshspan computes for it; and what real consumers
//! (Envoy, gRPC's xDS client) make of meshspan's output.
//!
//! - [`parse_dump`] reads Envoy's `/config_dump?include_eds`, Envoy's `/clusters?format=json`, or
//!   `istioctl proxy-config endpoint <pod> -o json` into one [`ProxyDump`] (the proxy's identity
//!   from the dump's node where it is there);
//! - [`diff_cluster`] compares one held cluster with mesh-eds's [`mesh_eds::LoadAssignment`] for
//!   the same proxy class, by meaning (Envoy reorders localities, adds defaults, drops emptied
//!   groups and second copies of an address), and explains every difference with mesh-eds's
//!   [`mesh_eds::Explanation`];
//! - [`consumer_warnings`] names where Istio's output would be rejected or ignored by Envoy or
//!   gRPC (weight 0, hostnames, ports above 65535, groups without weight, one address in several
//!   groups), with the rule that produced it. It never changes the output.
//!
//! No I/O: callers pass the dump's text and the computed values.
//!
//! ```
//! let dump = mesh_proxy::parse_dump(r#"{"cluster_statuses": [{"name": "outbound|80||a.b.svc.cluster.local",
//!   "host_statuses": [{"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}},
//!                      "weight": 1, "locality": {}}]}]}"#)?;
//! assert_eq!(dump.format, mesh_proxy::DumpFormat::Clusters);
//! assert_eq!(dump.clusters[0].endpoints[0].address, "10.0.0.1");
//! # Ok::<(), mesh_proxy::DumpError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod compare;
mod consumers;
mod held;

pub use compare::{ClusterDiff, Difference, diff_cluster, missing_cluster};
pub use consumers::{
    ConsumerProblem, ConsumerWarning, Reaction, consumer_warnings, envoy_host_set,
    mesh_consumer_warnings,
};
pub use held::{
    DumpError, DumpFormat, HeldCluster, HeldEndpoint, ProxyDump, ProxyIdentity, parse_dump,
};
