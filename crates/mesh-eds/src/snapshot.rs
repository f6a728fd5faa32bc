//! Incremental snapshots: an endpoint index keyed by (service, cluster) shards, deltas, and
//! immutable snapshots published through `arc-swap` (readers never block). Applying deltas
//! recomputes only the (service, view) pairs they touch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use mesh_model::{ClusterId, Gateway, NetworkId};

use crate::assignment::LoadAssignment;
use crate::gateways::{GatewayIndex, LegacyNetworks};
use crate::input::{ClusterRequest, EdsEndpoint, Features, ProxyClass, ServiceRequest};
use crate::prepared::PreparedService;
use crate::view::{EdsError, View};

/// One change to the store's inputs.
// Deltas are short-lived messages consumed by `apply`; boxing the endpoint would only add an
// allocation per upsert.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delta {
    /// Adds or replaces (by `key`, in place) one endpoint of a shard; a new key is appended.
    UpsertEndpoint {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The registry (cluster) the shard belongs to.
        cluster: Option<ClusterId>,
        /// The endpoint's identity within the shard (a pod name, an address).
        key: String,
        /// The endpoint.
        endpoint: EdsEndpoint,
    },
    /// Removes one endpoint of a shard (no-op when absent).
    RemoveEndpoint {
        /// The service's Envoy cluster.
        service: ClusterRequest,
        /// The shard's cluster.
        cluster: Option<ClusterId>,
        /// The endpoint's identity.
        key: String,
    },
    /// Replaces a whole shard (registry order).
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
    /// Replaces the resolved gateway set (rules G1–G4).
    Gateways(Vec<Gateway>),
    /// Replaces MeshNetworks as the legacy profiles read it (`None`: no MeshNetworks).
    MeshNetworks(Option<LegacyNetworks>),
    /// Starts serving a proxy class.
    AddClass(ProxyClass),
    /// Stops serving a proxy class.
    RemoveClass(ProxyClass),
}

/// What one [`EdsStore::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyStats {
    /// The version of the published snapshot.
    pub version: u64,
    /// (service, view) assignments computed.
    pub recomputed: usize,
    /// (service, view) assignments carried over from the previous snapshot.
    pub reused: usize,
}

type Computed = Arc<Result<LoadAssignment, EdsError>>;

/// One service in a snapshot: its assignment in every class (parallel to the
/// snapshot's class list). Shared between snapshots when nothing touched it.
#[derive(Debug, Clone, PartialEq)]
struct ServiceSlot {
    assignments: Vec<Computed>,
}

/// An immutable view of every (service, proxy class) assignment at one version.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    version: u64,
    index: Arc<GatewayIndex>,
    /// Sorted.
    classes: Vec<ProxyClass>,
    /// Parallel to `classes`.
    views: Vec<Arc<View>>,
    services: BTreeMap<Arc<str>, Arc<ServiceSlot>>,
}

impl PartialEq for Snapshot {
    /// Same classes, services and assignments (versions and sharing ignored).
    fn eq(&self, other: &Self) -> bool {
        self.classes == other.classes && self.services == other.services
    }
}

impl Snapshot {
    /// The version (0 for the empty snapshot, +1 per apply).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The assignment `class` receives for the Envoy cluster `cluster_name`.
    pub fn assignment(
        &self,
        class: &ProxyClass,
        cluster_name: &str,
    ) -> Option<&Result<LoadAssignment, EdsError>> {
        let i = self.classes.binary_search(class).ok()?;
        self.services
            .get(cluster_name)?
            .assignments
            .get(i)
            .map(AsRef::as_ref)
    }

    /// Every assignment of one class, by cluster name.
    pub fn class_assignments(
        &self,
        class: &ProxyClass,
    ) -> impl Iterator<Item = (&str, &Result<LoadAssignment, EdsError>)> {
        let i = self.classes.binary_search(class).ok();
        self.services
            .iter()
            .filter_map(move |(k, slot)| Some((k.as_ref(), slot.assignments.get(i?)?.as_ref())))
    }

    /// The classes served, sorted.
    pub fn classes(&self) -> impl Iterator<Item = &ProxyClass> {
        self.classes.iter()
    }

    /// The services' cluster names, sorted.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(AsRef::as_ref)
    }

    /// The view of a class.
    pub fn view(&self, class: &ProxyClass) -> Option<&Arc<View>> {
        let i = self.classes.binary_search(class).ok()?;
        self.views.get(i)
    }
}

/// A cheap, cloneable handle for readers: `load()` never blocks the writer nor other readers.
#[derive(Debug, Clone)]
pub struct SnapshotReader(Arc<ArcSwap<Snapshot>>);

impl SnapshotReader {
    /// The current snapshot.
    pub fn load(&self) -> Arc<Snapshot> {
        self.0.load_full()
    }
}

/// One service's endpoints, merged in Istio's order (shards by cluster id, registry order
/// within) and updated in place, with each endpoint's (shard, key) alongside.
#[derive(Debug)]
struct ServiceState {
    cluster: ClusterRequest,
    keys: Vec<(Option<ClusterId>, String)>,
    endpoints: Vec<EdsEndpoint>,
}

impl ServiceState {
    /// The positions of `cluster`'s shard.
    fn shard(&self, cluster: &Option<ClusterId>) -> std::ops::Range<usize> {
        let start = self.keys.partition_point(|(c, _)| c < cluster);
        let end = self.keys.partition_point(|(c, _)| c <= cluster);
        start..end
    }

    fn upsert(&mut self, cluster: Option<ClusterId>, key: String, endpoint: EdsEndpoint) {
        let range = self.shard(&cluster);
        match self.keys[range.clone()].iter().position(|(_, k)| *k == key) {
            Some(i) => self.endpoints[range.start + i] = endpoint,
            None => {
                self.keys.insert(range.end, (cluster, key));
                self.endpoints.insert(range.end, endpoint);
            }
        }
    }

    fn remove(&mut self, cluster: &Option<ClusterId>, key: &str) {
        let range = self.shard(cluster);
        if let Some(i) = self.keys[range.clone()].iter().position(|(_, k)| k == key) {
            self.keys.remove(range.start + i);
            self.endpoints.remove(range.start + i);
        }
    }

    fn replace_shard(&mut self, cluster: Option<ClusterId>, endpoints: Vec<(String, EdsEndpoint)>) {
        let range = self.shard(&cluster);
        let (keys, eps): (Vec<_>, Vec<_>) = endpoints
            .into_iter()
            .map(|(k, e)| ((cluster.clone(), k), e))
            .unzip();
        self.keys.splice(range.clone(), keys);
        self.endpoints.splice(range, eps);
    }
}

/// The writer side: inputs as shards, and the published snapshot.
///
/// ```
/// use mesh_eds::{ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, ProxyClass};
/// use mesh_model::Gateway;
/// let mut store = EdsStore::new(Features::default());
/// let reader = store.reader();
/// let foo: ClusterRequest = "outbound|80||foo.ns1".parse()?;
/// let n1 = ProxyClass { network: Some("n1".parse()?), ..Default::default() };
/// store.apply([
///     Delta::AddClass(n1.clone()),
///     Delta::Gateways(vec![Gateway {
///         network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
///         hbone_port: 0, service_account: String::new(),
///     }]),
///     Delta::UpsertEndpoint {
///         service: foo.clone(), cluster: Some("c2".parse()?), key: "pod-a".into(),
///         endpoint: EdsEndpoint {
///             addresses: vec!["10.2.0.1".into()], port: 8080, network: Some("n2".parse()?),
///             ..Default::default()
///         },
///     },
/// ]);
/// let snap = reader.load();
/// let cla = snap.assignment(&n1, "outbound|80||foo.ns1").unwrap().as_ref().unwrap();
/// assert_eq!(cla.localities[0].endpoints.len(), 1); // the n2 gateway
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EdsStore {
    features: Features,
    services: BTreeMap<Arc<str>, ServiceState>,
    mtls: BTreeMap<Arc<str>, bool>,
    gateways: Vec<Gateway>,
    legacy: Option<LegacyNetworks>,
    classes: BTreeSet<ProxyClass>,
    published: Arc<ArcSwap<Snapshot>>,
}

impl EdsStore {
    /// An empty store (no services, gateways or classes) publishing version 0.
    pub fn new(features: Features) -> Self {
        Self {
            features,
            services: BTreeMap::new(),
            mtls: BTreeMap::new(),
            gateways: Vec::new(),
            legacy: None,
            classes: BTreeSet::new(),
            published: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
        }
    }

    /// A handle for readers.
    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader(Arc::clone(&self.published))
    }

    /// The current snapshot.
    pub fn load(&self) -> Arc<Snapshot> {
        self.published.load_full()
    }

    /// Applies deltas and publishes the next snapshot, recomputing only the (service, view)
    /// pairs they touch: an endpoint or shard change touches its service in every view; a
    /// gateway change touches the services with endpoints on a network whose gateways changed
    /// (every service when the scale factor or multi-network mode changes); a MeshNetworks change
    /// touches the legacy-profile views; a new class computes its own view.
    pub fn apply(&mut self, deltas: impl IntoIterator<Item = Delta>) -> ApplyStats {
        let old = self.published.load_full();
        let mut dirty_services: BTreeSet<Arc<str>> = BTreeSet::new();
        let mut gateways_changed = false;
        let mut legacy_changed = false;
        for d in deltas {
            match d {
                Delta::UpsertEndpoint {
                    service,
                    cluster,
                    key,
                    endpoint,
                } => self
                    .service(&service, &mut dirty_services)
                    .upsert(cluster, key, endpoint),
                Delta::RemoveEndpoint {
                    service,
                    cluster,
                    key,
                } => {
                    let name: Arc<str> = service.name().into();
                    if let Some(state) = self.services.get_mut(&name) {
                        state.remove(&cluster, &key);
                        dirty_services.insert(name);
                    }
                }
                Delta::ReplaceShard {
                    service,
                    cluster,
                    endpoints,
                } => self
                    .service(&service, &mut dirty_services)
                    .replace_shard(cluster, endpoints),
                Delta::RemoveShard { service, cluster } => {
                    let name: Arc<str> = service.name().into();
                    if let Some(state) = self.services.get_mut(&name) {
                        state.replace_shard(cluster, Vec::new());
                        if state.keys.is_empty() {
                            self.services.remove(&name);
                        }
                        dirty_services.insert(name);
                    }
                }
                Delta::MtlsAllowed { service, allowed } => {
                    let name: Arc<str> = service.name().into();
                    self.mtls.insert(Arc::clone(&name), allowed);
                    dirty_services.insert(name);
                }
                Delta::Gateways(g) => {
                    self.gateways = g;
                    gateways_changed = true;
                }
                Delta::MeshNetworks(l) => {
                    self.legacy = l;
                    legacy_changed = true;
                }
                Delta::AddClass(c) => {
                    self.classes.insert(c);
                }
                Delta::RemoveClass(c) => {
                    self.classes.remove(&c);
                }
            }
        }

        // The gateway index and which networks' routes changed.
        let index = if gateways_changed || legacy_changed {
            Arc::new(self.index())
        } else {
            Arc::clone(&old.index)
        };
        let all_modern = gateways_changed
            && (index.scale_factor() != old.index.scale_factor()
                || index.multi_network_enabled() != old.index.multi_network_enabled());
        let changed_networks = if gateways_changed && !all_modern {
            changed_networks(&old.index, &index)
        } else {
            BTreeSet::new()
        };

        // Views: rebuilt when the index changed, else shared.
        let classes: Vec<ProxyClass> = self.classes.iter().cloned().collect();
        let old_position: Vec<Option<usize>> = classes
            .iter()
            .map(|c| old.classes.binary_search(c).ok())
            .collect();
        let views: Vec<Arc<View>> = classes
            .iter()
            .zip(&old_position)
            .map(|(c, j)| match j.map(|j| &old.views[j]) {
                Some(v) if Arc::ptr_eq(v.index(), &index) => Arc::clone(v),
                _ => Arc::new(View::new(&index, c.clone())),
            })
            .collect();
        let same_classes = classes == old.classes;

        // Services: reuse what nothing touched, recompute the rest (each service prepared once
        // for all its dirty views).
        let mut stats = ApplyStats {
            version: old.version + 1,
            ..ApplyStats::default()
        };
        let mut services: BTreeMap<Arc<str>, Arc<ServiceSlot>> = BTreeMap::new();
        for (name, state) in &self.services {
            let previous = old.services.get(name);
            let service_dirty = dirty_services.contains(name.as_ref());
            let modern_dirty = service_dirty
                || all_modern
                || (!changed_networks.is_empty()
                    && state.endpoints.iter().any(|e| {
                        e.network
                            .as_ref()
                            .is_some_and(|n| changed_networks.contains(n))
                    }));
            let legacy_dirty = service_dirty || legacy_changed;
            if let Some(p) = previous
                && same_classes
                && !modern_dirty
                && !legacy_dirty
            {
                stats.reused += classes.len();
                services.insert(Arc::clone(name), Arc::clone(p));
                continue;
            }
            let request = self.request(name, state);
            let mut prepared: Option<PreparedService<'_>> = None;
            let assignments = classes
                .iter()
                .zip(&views)
                .zip(&old_position)
                .map(|((class, view), j)| {
                    let dirty = if class.profile.is_legacy() {
                        legacy_dirty
                    } else {
                        modern_dirty
                    };
                    match (previous, j) {
                        (Some(p), Some(j)) if !dirty => {
                            stats.reused += 1;
                            Arc::clone(&p.assignments[*j])
                        }
                        _ => {
                            stats.recomputed += 1;
                            let p = prepared
                                .get_or_insert_with(|| PreparedService::new(&index, request));
                            Arc::new(view.assignment_prepared(p))
                        }
                    }
                })
                .collect();
            services.insert(Arc::clone(name), Arc::new(ServiceSlot { assignments }));
        }

        self.published.store(Arc::new(Snapshot {
            version: stats.version,
            index,
            classes,
            views,
            services,
        }));
        stats
    }

    /// Everything recomputed from the current inputs, sharing nothing with the published
    /// snapshot: what [`EdsStore::apply`] must always equal.
    pub fn full_rebuild(&self) -> Snapshot {
        let index = Arc::new(self.index());
        let classes: Vec<ProxyClass> = self.classes.iter().cloned().collect();
        let views: Vec<Arc<View>> = classes
            .iter()
            .map(|c| Arc::new(View::new(&index, c.clone())))
            .collect();
        let services = self
            .services
            .iter()
            .map(|(name, state)| {
                let request = self.request(name, state);
                let assignments = views
                    .iter()
                    .map(|v| Arc::new(v.assignment(&request)))
                    .collect();
                (Arc::clone(name), Arc::new(ServiceSlot { assignments }))
            })
            .collect();
        Snapshot {
            version: self.load().version,
            index,
            classes,
            views,
            services,
        }
    }

    /// The request of one service: its merged endpoints and policy.
    fn request<'a>(&'a self, name: &str, state: &'a ServiceState) -> ServiceRequest<'a> {
        ServiceRequest {
            cluster: &state.cluster,
            endpoints: &state.endpoints,
            mtls_allowed: self.mtls.get(name).copied().unwrap_or(true),
            features: self.features,
        }
    }

    /// The endpoints of one service in the current inputs (Istio's order), if it exists.
    pub fn endpoints(&self, cluster_name: &str) -> Option<&[EdsEndpoint]> {
        self.services
            .get(cluster_name)
            .map(|s| s.endpoints.as_slice())
    }

    fn index(&self) -> GatewayIndex {
        let index = GatewayIndex::new(self.gateways.iter().cloned());
        match &self.legacy {
            Some(l) => index.with_legacy_networks(l.clone()),
            None => index,
        }
    }

    fn service(
        &mut self,
        service: &ClusterRequest,
        dirty: &mut BTreeSet<Arc<str>>,
    ) -> &mut ServiceState {
        let name: Arc<str> = service.name().into();
        dirty.insert(Arc::clone(&name));
        let state = self.services.entry(name).or_insert_with(|| ServiceState {
            cluster: service.clone(),
            keys: Vec::new(),
            endpoints: Vec::new(),
        });
        state.cluster = service.clone();
        state
    }
}

/// Networks whose gateway lists (all, or per cluster) differ between two indexes.
fn changed_networks(old: &GatewayIndex, new: &GatewayIndex) -> BTreeSet<NetworkId> {
    let per_network = |index: &GatewayIndex| -> BTreeMap<NetworkId, Vec<Gateway>> {
        let mut m: BTreeMap<NetworkId, Vec<Gateway>> = BTreeMap::new();
        for g in index.gateways() {
            m.entry(g.network.clone()).or_default().push(g.clone());
        }
        m
    };
    let (a, b) = (per_network(old), per_network(new));
    a.keys()
        .chain(b.keys())
        .filter(|n| a.get(*n) != b.get(*n))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(net: &str, addr: &str) -> Gateway {
        Gateway {
            network: net.parse().unwrap(),
            cluster: None,
            address: addr.into(),
            port: 15443,
            hbone_port: 0,
            service_account: String::new(),
        }
    }

    fn svc(name: &str) -> ClusterRequest {
        format!("outbound|80||{name}").parse().unwrap()
    }

    fn ep(addr: &str, net: &str) -> EdsEndpoint {
        EdsEndpoint {
            addresses: vec![addr.into()],
            port: 8080,
            network: net.parse().ok(),
            ..EdsEndpoint::default()
        }
    }

    fn upsert(service: &str, key: &str, e: EdsEndpoint) -> Delta {
        Delta::UpsertEndpoint {
            service: svc(service),
            cluster: None,
            key: key.into(),
            endpoint: e,
        }
    }

    fn class(net: &str) -> ProxyClass {
        ProxyClass {
            network: net.parse().ok(),
            ..ProxyClass::default()
        }
    }

    #[test]
    fn only_touched_pairs_are_recomputed() {
        let mut store = EdsStore::new(Features::default());
        let reader = store.reader();
        let s = store.apply([
            Delta::AddClass(class("n1")),
            Delta::AddClass(class("n2")),
            Delta::Gateways(vec![
                gw("n1", "192.0.2.1"),
                gw("n2", "192.0.2.2"),
                gw("n3", "192.0.2.3"),
            ]),
            upsert("a", "1", ep("10.1.0.1", "n1")),
            upsert("b", "1", ep("10.2.0.1", "n2")),
            upsert("c", "1", ep("10.3.0.1", "n3")),
        ]);
        assert_eq!((s.recomputed, s.reused), (6, 0));
        // an endpoint of service a: a in both views
        let s = store.apply([upsert("a", "2", ep("10.1.0.2", "n1"))]);
        assert_eq!((s.recomputed, s.reused), (2, 4));
        // n2's gateway moves, scale unchanged: only b (endpoints on n2), in both views
        let s = store.apply([Delta::Gateways(vec![
            gw("n1", "192.0.2.1"),
            gw("n2", "192.0.2.22"),
            gw("n3", "192.0.2.3"),
        ])]);
        assert_eq!((s.recomputed, s.reused), (2, 4));
        // a second n3 gateway changes the scale factor: everything
        let s = store.apply([Delta::Gateways(vec![
            gw("n1", "192.0.2.1"),
            gw("n2", "192.0.2.22"),
            gw("n3", "192.0.2.3"),
            gw("n3", "192.0.2.33"),
        ])]);
        assert_eq!((s.recomputed, s.reused), (6, 0));
        // a legacy class: computes its own column only; MeshNetworks touches only it
        let legacy = ProxyClass {
            profile: crate::Profile::Istio1_1_3,
            ..class("n1")
        };
        let s = store.apply([Delta::AddClass(legacy)]);
        assert_eq!((s.recomputed, s.reused), (3, 6));
        let s = store.apply([Delta::MeshNetworks(Some(LegacyNetworks::default()))]);
        assert_eq!((s.recomputed, s.reused), (3, 6));
        assert_eq!(reader.load().version(), 6);
        assert_eq!(*reader.load(), store.full_rebuild());
        // the last shard of c removed: c disappears
        store.apply([Delta::RemoveShard {
            service: svc("c"),
            cluster: None,
        }]);
        assert!(
            reader
                .load()
                .assignment(&class("n1"), "outbound|80||c")
                .is_none()
        );
        assert_eq!(*reader.load(), store.full_rebuild());
    }

    #[test]
    fn readers_keep_their_snapshot() {
        let mut store = EdsStore::new(Features::default());
        store.apply([
            Delta::AddClass(class("n1")),
            upsert("a", "1", ep("10.1.0.1", "n1")),
        ]);
        let before = store.load();
        store.apply([Delta::RemoveEndpoint {
            service: svc("a"),
            cluster: None,
            key: "1".into(),
        }]);
        let a = |s: &Snapshot| {
            s.assignment(&class("n1"), "outbound|80||a")
                .and_then(|r| r.as_ref().ok())
                .map(|c| c.localities.len())
        };
        assert_eq!(a(&before), Some(1));
        assert_eq!(a(&store.load()), Some(0));
    }
}
