//! # mesh-eds
//!
//! Split-horizon EDS exactly as Istio computes it: given a service's endpoints, the gateway set and
//! a proxy class, the `ClusterLoadAssignment` that proxy receives (rules M1–M18 of
//! `spec/split-horizon-eds.md`, plus the Istio 1.1 and 1.5 profiles), why each endpoint is there,
//! replaced or missing, and incremental snapshots for control planes.
//!
//! No I/O: callers pass values in.
//!
//! ## A control plane: [`EdsStore`]
//!
//! A control plane feeds the store what its watches see ([`Delta`]s: proxy classes, gateways,
//! endpoints) and serves proxies from [`Snapshot`]s that readers load without blocking the
//! writer; only the services a delta touched are re-encoded.
//!
//! ```
//! use mesh_eds::{ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, ProxyClass};
//! use mesh_model::Gateway;
//!
//! // The service port's name and the subset's labels come from the Service and DestinationRule.
//! let reviews = ClusterRequest::new(
//!     "outbound|9080||reviews.bookinfo.svc.cluster.local", "http", [] as [(&str, &str); 0],
//! )?;
//! let on = |network: &str| -> Result<ProxyClass, mesh_model::IdError> {
//!     Ok(ProxyClass { network: Some(network.parse()?), ..Default::default() })
//! };
//! let endpoint = |ip: &str, network: &str| -> Result<EdsEndpoint, mesh_model::IdError> {
//!     Ok(EdsEndpoint {
//!         addresses: vec![ip.into()], port: 9080, service_port_name: "http".into(),
//!         network: Some(network.parse()?), ..Default::default()
//!     })
//! };
//!
//! let mut store = EdsStore::new(Features::default());
//! let reader = store.reader(); // cheap to clone, one per serving thread
//! store.apply([
//!     Delta::AddClass(on("n1")?),
//!     Delta::Gateways(vec![Gateway::new("n2".parse()?, "192.0.2.2", 15443)]),
//!     Delta::UpsertEndpoint {
//!         service: reviews.clone(), cluster: Some("c2".parse()?), key: "reviews-v1".into(),
//!         endpoint: endpoint("10.2.0.1", "n2")?,
//!     },
//! ]);
//!
//! // What a sidecar on n1 is pushed: ClusterLoadAssignment bytes, n2's endpoint through its gateway.
//! let mut bytes = Vec::new();
//! reader.load().encode_into(&on("n1")?, &reviews.name(), &mut bytes)?;
//! let cla = store.assignment(&on("n1")?, &reviews.name())?;
//! assert_eq!(format!("{:?}", cla.localities[0].endpoints[0].address).contains("192.0.2.2"), true);
//! assert_eq!(bytes, mesh_eds::wire::encode(&cla));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Underneath: one computation, and why
//!
//! Data flow: gateways → [`GatewayIndex`] (once) → one [`View`] per proxy class (once) →
//! [`PreparedService`] per service (once, shared by every view) → [`LoadAssignment`] per
//! (service, view) → [`wire`] bytes. The push fast path skips the intermediate value:
//! [`EncodedService`] (once per service) writes each view's bytes from cached pieces, with the
//! locality stage ([`apply_locality_stage`]'s decisions, taken per view over the cached groups)
//! when the service's [`LocalityPolicy`] is not inert.
//! [`EdsStore`] keeps it all up to date under deltas. [`View::explain`] says, for each endpoint,
//! why it was kept, replaced by gateways or dropped:
//!
//! ```
//! use std::sync::Arc;
//! use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
//! use mesh_model::Gateway;
//!
//! let index = Arc::new(GatewayIndex::new([Gateway::new("n2".parse()?, "192.0.2.2", 15443)]));
//! let view = View::new(&index, ProxyClass { network: Some("n1".parse()?), ..Default::default() });
//! let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse()?;
//! let remote = EdsEndpoint {
//!     addresses: vec!["10.2.0.1".into()], port: 8080, network: Some("n2".parse()?),
//!     ..Default::default()
//! };
//! let request = ServiceRequest {
//!     cluster: &cluster, endpoints: &[remote], mtls_allowed: true, features: Default::default(),
//!     locality: mesh_eds::LocalityPolicy::istio_default(),
//! };
//! let (cla, why) = view.explain(&request)?;
//! assert_eq!(cla.localities[0].endpoints[0].weight, 1);
//! assert!(why.endpoints[0].outcome.to_string().starts_with("replaced by 1 gateway "));
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
mod lifecycle;
mod locality;
mod modern;
#[cfg(feature = "oracle")]
pub mod oracle;
mod outage;
mod policy;
mod prepared;
mod rules;
mod scope;
mod store;
mod view;
pub mod wire;

pub use assignment::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
pub use document::accepted_mesh_networks;
pub use document::{DocumentEds, PeerMtlsNotApplied, ScopedEndpoints, ServicePortEndpoints};
pub use encoded::EncodedService;
pub use error::{EdsError, NotEncodable, ServeError};
pub use explain::{
    DirectReason, DropReason, EndpointExplanation, Explanation, GatewayContribution,
    LeftOutGateway, LeftOutReason, Outcome,
};
pub use index::GatewayIndex;
pub use input::{
    ClusterKind, ClusterNameError, ClusterRequest, EdsEndpoint, Features, Health, IpFamily,
    Profile, ProfileError, ProxyClass, ProxyType, SelectionNote, ServiceRequest,
};
pub use invariants::{
    InvariantViolation, check_invariants, deterministic, gateways_are_real,
    local_endpoints_never_replaced, locality_weights_are_sums,
    remote_endpoints_use_own_network_gateways,
};
pub use legacy::{LegacyGateway, LegacyNetworks};
pub use lifecycle::{
    Absence, ClusterSource, ClusterStatus, LifecycleConfig, LifecycleEvent, LifecycleProfile,
    LifecycleProfileError, RemoteClusters, RemoteSecret, ShardChange, shard_deltas,
};
pub use locality::{
    Decision, EndpointLabels, GroupReason, Untouched, apply_locality_stage, gateway_label,
};
pub use outage::{
    Client, FailoverImpact, FailoverReport, LiveEndpoint, Outage, OutageError, OutageParseError,
    PriorityLoss, failover_what_if,
};
pub use policy::{
    CLUSTER_LABEL, Distribute, EffectiveSetting, Failover, HOSTNAME_LABEL, LocalityLbSetting,
    LocalityPolicy, MeshLocality, NETWORK_LABEL, REGION_LABEL, SUBZONE_LABEL, Setting,
    SettingSource, TrafficDistribution, TrafficPolicy, ZONE_LABEL, ZoneAwareLbSetting,
};
pub use prepared::PreparedService;
pub use rules::{CONNECT_ORIGINATE, scale_weight};
pub use scope::{
    Exclusion, Mcs, McsReason, Provider, ScopeInput, ScopeProxy, ServiceScope, ShardKey,
};
pub use store::{ApplyStats, Delta, EdsStore, Snapshot, SnapshotReader};
pub use view::View;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
