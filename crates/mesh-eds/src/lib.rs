//! # mesh-eds
//!
//! Split-horizon EDS exactly as Istio computes it: given a service's endpoints, the gateway set and
//! a proxy class, the `ClusterLoadAssignment` that proxy receives (rules M1–M18 of
//! `spec/split-horizon-eds.md`, plus the Istio 1.1 and 1.5 profiles), why each endpoint is there,
//! replaced or missing, and incremental snapshots for control planes.
//!
//! Data flow: gateways → [`GatewayIndex`] (once) → one [`View`] per proxy class (once) →
//! [`PreparedService`] per service (once, shared by every view) → [`LoadAssignment`] per
//! (service, view) → [`wire`] bytes. The push fast path skips the intermediate value:
//! [`EncodedService`] (once per service) writes each view's bytes from cached pieces.
//! [`EdsStore`] keeps it all up to date under deltas.
//!
//! No I/O: callers pass values in.
//!
//! ```
//! use std::sync::Arc;
//! use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
//! use mesh_model::Gateway;
//!
//! let index = Arc::new(GatewayIndex::new([Gateway {
//!     network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
//!     hbone_port: 0, service_account: String::new(),
//! }]));
//! let view = View::new(&index, ProxyClass { network: Some("n1".parse()?), ..Default::default() });
//! let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse()?;
//! let remote = EdsEndpoint {
//!     addresses: vec!["10.2.0.1".into()], port: 8080, network: Some("n2".parse()?),
//!     ..Default::default()
//! };
//! let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
//!     cluster: &cluster, endpoints: &[remote], mtls_allowed: true, features: Default::default(),
//! };
//! let (cla, why) = view.explain(&request)?;
//! assert_eq!(cla.localities[0].endpoints[0].weight, 1);
//! assert!(why.endpoints[0].outcome.to_string().starts_with("replaced by 1 gateway(s)"));
//! let bytes = mesh_eds::wire::encode(&cla);
//! assert!(!bytes.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod assignment;
mod document;
mod encoded;
mod error;
mod explain;
mod first_seen;
mod index;
mod input;
mod invariants;
mod legacy;
mod locality;
mod modern;
#[cfg(feature = "oracle")]
pub mod oracle;
mod policy;
mod prepared;
mod rules;
mod store;
mod view;
pub mod wire;

pub use assignment::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
pub use document::accepted_mesh_networks;
pub use document::{DocumentEds, ServicePortEndpoints};
pub use encoded::EncodedService;
pub use error::{EdsError, NotEncodable};
pub use explain::{
    DirectReason, DropReason, EndpointExplanation, Explanation, GatewayContribution, Outcome,
};
pub use index::GatewayIndex;
pub use input::{
    ClusterKind, ClusterNameError, ClusterRequest, EdsEndpoint, Features, Health, IpFamily,
    Profile, ProfileError, ProxyClass, ProxyType, ServiceRequest,
};
pub use invariants::{
    InvariantViolation, check_invariants, deterministic, gateways_are_real,
    local_endpoints_never_replaced, locality_weights_are_sums,
    remote_endpoints_use_own_network_gateways,
};
pub use legacy::{LegacyGateway, LegacyNetworks};
pub use locality::{
    Decision, EndpointLabels, GroupReason, Untouched, apply_locality_stage, gateway_label,
};
pub use policy::{
    CLUSTER_LABEL, Distribute, EffectiveSetting, Failover, HOSTNAME_LABEL, LocalityLbSetting,
    LocalityPolicy, MeshLocality, NETWORK_LABEL, REGION_LABEL, SUBZONE_LABEL, Setting,
    SettingSource, TrafficDistribution, TrafficPolicy, ZONE_LABEL, ZoneAwareLbSetting,
};
pub use prepared::PreparedService;
pub use rules::{CONNECT_ORIGINATE, scale_weight};
pub use store::{ApplyStats, Delta, EdsStore, Snapshot, SnapshotReader};
pub use view::View;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
