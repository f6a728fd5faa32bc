//! What a caller tells the store ([`Delta`]) and what an apply did ([`ApplyStats`]).

use mesh_model::{ClusterId, Gateway};

use crate::input::{ClusterRequest, EdsEndpoint, ProxyClass};
use crate::legacy::LegacyNetworks;
use crate::policy::LocalityPolicy;
use crate::scope::ServiceScope;

/// One change to the store's inputs.
// Deltas are short-lived messages consumed by `apply`; boxing the endpoint would only add an
// allocation per upsert.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delta {
    /// Adds or replaces (by `key`, in place) one endpoint of a shard; a new key is appended.
    UpsertEndpoint {
        /// The service's Envoy cluster. Services are keyed by its name; a request that differs
        /// in port name or subset labels replaces the service's (the last one wins, counted in
        /// [`ApplyStats::requests_replaced`]).
        service: ClusterRequest,
        /// The registry (cluster) the shard belongs to: it keys and orders the shards. The
        /// endpoint's own `cluster` is not replaced by it and is what the rules read; an
        /// endpoint naming another cluster is counted in [`ApplyStats::cluster_differs`].
        cluster: Option<ClusterId>,
        /// The endpoint's identity within the shard (a pod name, an address).
        key: String,
        /// The endpoint.
        endpoint: EdsEndpoint,
    },
    /// Removes one endpoint of a shard (no-op when absent: nothing is encoded again). A service
    /// left without endpoints at the end of the apply disappears.
    RemoveEndpoint {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The shard's cluster.
        cluster: Option<ClusterId>,
        /// The endpoint's identity.
        key: String,
    },
    /// Replaces a whole shard (registry order). A key given twice keeps its first place and its
    /// last endpoint, as the same upserts one by one would.
    ReplaceShard {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The shard's cluster.
        cluster: Option<ClusterId>,
        /// `(key, endpoint)` in registry order.
        endpoints: Vec<(String, EdsEndpoint)>,
    },
    /// Removes a shard; a service left without endpoints by it disappears.
    RemoveShard {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The shard's cluster.
        cluster: Option<ClusterId>,
    },
    /// Sets whether clients may use Istio mTLS to the service's endpoints (default true).
    MtlsAllowed {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The resolved policy.
        allowed: bool,
    },
    /// Sets the scope stage's decision for the service (default [`ServiceScope::global`]: every
    /// endpoint reaches every class). A scope that restricts (cluster-local, node-local, MCS,
    /// ambient LOCAL; rules S7–S24) is applied before split-horizon for each modern-profile class,
    /// the service encoded once per distinct (cluster, node) of those classes; the pre-1.8
    /// profiles reproduce releases that had no scope settings and ignore it.
    Scope {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// Its resolved scope.
        scope: ServiceScope,
    },
    /// Sets the locality load-balancing policy of one Envoy cluster (service, port and subset:
    /// the merged DestinationRule traffic policy, `trafficDistribution` and mesh settings, as
    /// [`LocalityPolicy`] holds them); `None` goes back to
    /// [`LocalityPolicy::istio_default`], which leaves assignments as split-horizon made them.
    /// Like [`Delta::MtlsAllowed`] it is kept by cluster name whether or not the service has
    /// endpoints yet. A change encodes the service again; every published class then gets the
    /// stage applied for its locality and labels (L1–L33), on the push path as on the value path.
    Locality {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The policy; `None` = Istio's default. Boxed: it is larger than any other delta.
        policy: Option<Box<LocalityPolicy>>,
    },
    /// Replaces the resolved gateway set (rules G1–G4).
    Gateways(Vec<Gateway>),
    /// Replaces MeshNetworks as the legacy profiles read it (`None`: no MeshNetworks).
    MeshNetworks(Option<LegacyNetworks>),
    /// Starts serving a proxy class.
    AddClass(ProxyClass),
    /// Stops serving a proxy class.
    RemoveClass(ProxyClass),
}

/// What one [`crate::EdsStore::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ApplyStats {
    /// The version of the published snapshot.
    pub version: u64,
    /// Services prepared and encoded again (for the modern-profile classes).
    pub encoded: usize,
    /// Services whose only changes were endpoint weights, patched into their encoded form
    /// (a copy and a few sums instead of a pass over every endpoint).
    pub patched: usize,
    /// Services carried over from the previous snapshot untouched.
    pub reused: usize,
    /// (service, class) assignments of pre-1.8-profile classes computed.
    pub legacy_computed: usize,
    /// Deltas whose [`ClusterRequest`] differed from the one the service had (same Envoy cluster
    /// name, another port name or subset labels): the last one given wins and selects the
    /// service's endpoints from then on (rule M1). Counted so that a caller mixing requests
    /// for one cluster name sees it.
    pub requests_replaced: usize,
    /// Endpoints given (upserted or in a replaced shard) with a `cluster` of their own that is
    /// not the shard's. The shard's cluster only keys and orders shards (Istio's
    /// `ShardKey.Cluster`); the endpoint's own cluster is what the rules and the `istio`
    /// metadata read (Istio's `IstioEndpoint.Locality.ClusterID`), so a mismatch is not an
    /// error — the two differ in Istio too for endpoints another registry reports — but
    /// usually a caller's slip, counted so that it is not silent.
    pub cluster_differs: usize,
}
