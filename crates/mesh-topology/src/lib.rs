//! # mesh-topology
//!
//! Validates a whole multicluster mesh offline, explains every problem, and answers "what if
//! this fails?". Input is a parsed [`mesh_model::MeshDocument`]; no I/O.
//!
//! ## Design overview
//!
//! - **Flat address spaces** ([`FlatAddressSpaces`]): a network plus every network linked to it,
//!   the connected components of the link graph (one union-find pass).
//! - **Overlaps** ([`overlap_groups`]): sort and sweep over prefixes into a containment forest,
//!   O(n log n); each tree of overlapping ranges is one diagnostic (never one per pair: n equal
//!   ranges are one group, not n·(n−1)/2 pairs). Pod and service CIDRs are checked per flat
//!   address space, MeshNetworks `fromCidr` across networks.
//! - **Control planes**: every cluster names the primary that manages it; the mesh is classified
//!   (replicated control planes, one control plane over a VPN, one with split-horizon EDS, or a
//!   mix) and each part checked against its needs: API servers reachable from the control plane,
//!   control plane reachable from remote workloads, gateways for networks consumed from afar.
//! - **Diagnostics** ([`Diagnostic`]): a stable [`Code`], a severity, typed subjects, the why and
//!   the fix, sorted by code then subjects.
//! - **What-if** ([`simulate`]): the same analysis with one [`Failure`], compared with the mesh
//!   as written, per (client network, service), each loss with its [`LossReason`]; proxies cut
//!   off from their control plane keep their last config ([`WHAT_IF_MODEL`]).
//! - **Trust** ([`check_with`]): replicated control planes' CA material (`caCerts`) must chain to
//!   one root, verified with mesh-ca at a time the caller gives.
//! - **Picture** ([`to_dot`]): Graphviz DOT with problems in red.
//!
//! ## Getting started
//!
//! ```
//! use mesh_model::MeshDocument;
//! let doc = MeshDocument::from_yaml(r#"
//! apiVersion: meshspan/v1alpha1
//! kind: Mesh
//! metadata: {name: demo}
//! spec:
//!   clusters:
//!   - {name: c1, network: n1}
//!   - name: c2
//!     network: n2
//!     controlPlane: c1
//!     apiServer: {address: 10.2.0.1:6443}
//! "#)?;
//! let report = mesh_topology::check(&doc);
//! let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.code.as_str()).collect();
//! assert_eq!(codes, ["api-server-unreachable", "control-plane-unreachable"]);
//! println!("{}", report.diagnostics[0]); // message, subjects, why, fix
//! # Ok::<(), mesh_model::DocumentError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod analysis;
mod cidr;
mod diagnostic;
mod dot;
mod lifecycle_what_if;
mod model_errors;
mod report;
mod spaces;
mod trust;
mod what_if;

pub use analysis::{CheckOptions, check, check_with};
pub use cidr::{containing_prefixes, overlap_groups, overlapping_pairs, shared_range};
pub use diagnostic::{Code, Diagnostic, Severity, Subject};
pub use dot::to_dot;
pub use lifecycle_what_if::{
    ClusterEvent, ClusterEventError, ClusterEventParseError, EventAbsences, EventImpact,
    EventPhase, EventWhatIf, PhaseAbsences, event_absences, simulate_event,
};
pub use report::{ControlPlane, ControlPlaneKind, MeshKind, NetworkSummary, Report, Topology};
pub use spaces::FlatAddressSpaces;
pub use what_if::{
    Failure, FailureParseError, Impact, LastConfig, LossReason, LostEndpoints, WHAT_IF_MODEL,
    WhatIf, WhatIfError, simulate,
};
