//! # mesh-eds
//!
//! Split-horizon EDS exactly as Istio computes it: given a service's endpoints, the gateway set and
//! a proxy class, the `ClusterLoadAssignment` that proxy receives (rules M1–M18 of
//! `spec/split-horizon-eds.md`, plus the Istio 1.1 and 1.5 profiles), and why.
//!
//! No I/O: callers pass values in.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod assignment;
mod document;
mod explain;
mod gateways;
mod input;
mod invariants;
mod legacy;
mod modern;
#[cfg(feature = "oracle")]
pub mod oracle;
mod prepared;
mod snapshot;
mod view;
pub mod wire;

pub use assignment::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
pub use document::{DocumentEds, ServicePortEndpoints};
pub use explain::{
    DirectReason, DropReason, EndpointExplanation, Explanation, GatewayContribution, Outcome,
};
pub use gateways::{GatewayIndex, LegacyGateway, LegacyNetworks, accepted_mesh_networks};
pub use input::{
    ClusterKind, ClusterNameError, ClusterRequest, EdsEndpoint, Features, Health, IpFamily,
    Profile, ProfileError, ProxyClass, ProxyType, ServiceRequest,
};
pub use invariants::{
    InvariantViolation, check_invariants, deterministic, gateways_are_real,
    local_endpoints_never_replaced, locality_weights_are_sums,
    remote_endpoints_use_own_network_gateways,
};
pub use modern::{CONNECT_ORIGINATE, scale_weight};
pub use prepared::PreparedService;
pub use snapshot::{ApplyStats, Delta, EdsStore, ServiceEndpoints, Snapshot, SnapshotReader};
pub use view::{EdsError, View};
