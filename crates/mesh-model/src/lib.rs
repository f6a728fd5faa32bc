//! # mesh-model
//!
//! The domain of a multicluster service mesh, as Istio's multicluster design describes it: validated
//! identifiers, the mesh document (clusters, networks, links, services, endpoints), Istio's
//! MeshNetworks format with its validation, and the pure functions that resolve what the document
//! means: each endpoint's network, the gateway set, which control plane manages which cluster.
//!
//! No I/O: callers read files and pass text or values in.
//!
//! ```
//! use mesh_model::{MeshDocument, NetworkResolver};
//! let doc = MeshDocument::from_yaml(r#"
//! apiVersion: meshspan/v1alpha1
//! kind: Mesh
//! metadata: {name: demo}
//! spec:
//!   clusters:
//!   - {name: c1, network: n1}
//!   services:
//!   - name: foo
//!     namespace: ns1
//!     endpoints: [{cluster: c1, address: 10.0.0.1}]
//! "#)?;
//! assert!(doc.consistency_errors().is_empty());
//! let networks = NetworkResolver::new(&doc.spec);
//! let ep = &doc.spec.services[0].endpoints[0];
//! assert_eq!(networks.network_of(ep).map(|n| n.as_str()), Some("n1"));
//! # Ok::<(), mesh_model::DocumentError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod check;
mod counted;
mod destination_rule;
mod document;
mod gateway;
mod id;
mod mesh_config;
mod meshnetworks;
mod null;
mod parse;
mod peer_authentication;
mod resolve;
mod scope;
#[cfg(feature = "proptest")]
pub mod strategies;
mod suggest;
mod yaml11;

pub use check::ModelError;
pub use counted::counted;
pub use destination_rule::{
    ClientTlsMode, ClientTlsSettings, DestinationRule, Distribute, Failover, LoadBalancerSettings,
    LocalityLbSetting, MergedPolicy, OutlierDetection, PolicyError, PolicyErrorKind, PortSelector,
    PortTrafficPolicy, SimpleLb, Subset, TrafficPolicy, Weights, ZoneAwareLbSetting,
};
pub use document::{
    API_VERSION, ApiServer, AutoPassthroughServer, CaCerts, Cluster, DEFAULT_GLOBAL_VIP_RANGE,
    Endpoint, Exposure, KIND, Link, MeshDocument, MeshSpec, Metadata, Service, ServicePort,
    TlsMode, TrafficDistribution,
};
pub use gateway::{
    Gateway, GatewayResolution, GatewaySource, UnresolvedGateway, UnresolvedReason,
    resolve_gateways,
};
pub use id::{
    ClusterId, IdError, Locality, Namespace, NetworkId, ServiceKey, ServiceKeyError, ServiceName,
    SpiffeId, TrustDomain,
};
pub use mesh_config::MeshConfig;
pub use meshnetworks::{
    GatewayAddress, IgnoredField, MeshNetworks, MeshNetworksError, MeshNetworksErrors,
    MeshNetworksParseError, Network, NetworkEndpoints, NetworkErrorKind, NetworkGateway,
};
pub use parse::DocumentError;
pub use peer_authentication::{
    DEFAULT_ROOT_NAMESPACE, PeerAuthentication, PeerAuthenticationError,
    PeerAuthenticationErrorKind, PeerAuthentications, PeerMtls, PeerMtlsMode,
};
pub use resolve::NetworkResolver;
pub use scope::{
    AmbientScope, ClusterLocalHosts, ClusterLocalMatch, ClusterLocalSource,
    DEFAULT_DISCOVERY_ADDRESS, DefaultClusterLocal, LabelSelector, LabelSelectorRequirement,
    McsFeatures, SelectorError, ServiceScopeConfig, ServiceSetting, ServiceSettingValues,
    match_service_scope,
};
pub use yaml11::OctalNumber;
