//! Incremental snapshots: an endpoint index keyed by (service, cluster) shards, deltas, and
//! immutable snapshots published through `arc-swap` (readers never block).
//!
//! A snapshot holds each service encoded once ([`EncodedService`]) for every modern-profile class,
//! and writes a class's `ClusterLoadAssignment` bytes from it when asked ([`Snapshot::encode_into`],
//! a copy of cached pieces). Applying deltas re-encodes only the services they touch; no work is
//! done per (service, class) pair until a reader asks. The pre-1.8 profiles, which the fast path
//! does not implement, keep their bytes per (service, class), recomputed when touched.
//!
//! # Inside
//!
//! * **Services and shards** (`service`): each service's endpoints in Istio's order (shards by
//!   cluster id, registry order within), with each endpoint's (shard, key) as a 12-byte row: the
//!   shard an index into the service's shard list, the key a range of one text arena per service
//!   (rebuilt, live keys only, when positions move). A per-shard `hashbrown` table of positions,
//!   looked up by the key's hash and compared against the arena, finds an upsert's slot; within
//!   an apply a new key is appended and a removal leaves a tombstone, and `settle` restores the
//!   order once (a stable sort by shard), so every delta costs O(1) expected whatever shard it
//!   names. A service left without endpoints at the end of an apply disappears.
//! * **The re-encoding cache** (`service`): next to each endpoint, what re-encoding needs (its
//!   facts, naming network, cluster and locality by `u32` ids into store-wide tables (`names`),
//!   and its direct bytes in one contiguous arena per service, compacted
//!   when replaced entries outweigh live ones), so re-encoding a touched service reads none of
//!   the scattered endpoint strings.
//! * **Weight patches** (`service::patch`): when the only changes to a service since its last
//!   encoding are endpoint weights (and direct bytes: nothing that decides where an endpoint
//!   goes), its encoded form is patched: each changed entry rewritten and its weight's shares
//!   moved in its set's sums (wrapping sums are invertible); the copy shares everything a weight
//!   does not change with the service it patches.
//! * **Locality policies** ([`Delta::Locality`]): kept by cluster name, read into each service's
//!   request; the encoded service carries the stage, so a policy change encodes the service
//!   again, and a service whose policy has failoverPriority is never weight-patched (its
//!   sub-group weights are sums of member weights).
//! * **Snapshots** (`snapshot`): one `EncodedService` per service (shared by `Arc` with the
//!   previous snapshot when untouched) in a table sorted by name, whose names are shared between
//!   versions while no service comes or goes; the next snapshot merges the sorted touched names
//!   into it (each found by galloping from the previous one). A class's bytes are written when
//!   read; pre-1.8 classes keep bytes per (service, class). A gateway, MeshNetworks or
//!   encode-options change builds a new index and re-encodes every service.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arc_swap::ArcSwap;
use mesh_model::{ClusterId, Gateway};

use crate::assignment::LoadAssignment;
use crate::encoded::{EncodedService, write_direct_prefix};
use crate::error::{EdsError, ServeError};
use crate::index::GatewayIndex;
use crate::input::{
    ClusterKind, ClusterRequest, EdsEndpoint, Features, ProxyClass, ServiceRequest,
};
use crate::legacy::LegacyNetworks;
use crate::policy::LocalityPolicy;
use crate::prepared::{Facts, Grouped, PreparedService};
use crate::scope::{ScopeProxy, ServiceScope};
use crate::view::View;
use crate::wire::{self, EncodeOptions};

mod delta;
mod names;
mod service;
mod snapshot;

pub use delta::{ApplyStats, Delta};
use names::Names;
use service::{CacheParts, ServiceState, patch, refresh};
use snapshot::{ServiceSlot, ServiceTable};
pub use snapshot::{Snapshot, SnapshotReader};

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
/// // What a sidecar on n1 is pushed: bytes, written from the encoded service.
/// let bytes = reader.load().encoded(&n1, "outbound|80||foo.ns1")?;
/// // The same as the value path, which the writer side offers for inspection.
/// let cla = store.assignment(&n1, "outbound|80||foo.ns1")?;
/// assert_eq!(cla.localities[0].endpoints.len(), 1); // the n2 gateway
/// assert_eq!(bytes, mesh_eds::wire::encode(&cla));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EdsStore {
    features: Features,
    options: EncodeOptions,
    /// By Envoy cluster name (the snapshot orders them).
    services: HashMap<Arc<str>, ServiceState>,
    /// Scratch for rendering a delta's cluster name.
    name: String,
    /// The networks, clusters and locality labels the cache entries name by id.
    names: Names,
    mtls: BTreeMap<Arc<str>, bool>,
    /// The scope of each service given one ([`Delta::Scope`]).
    scopes: BTreeMap<Arc<str>, ServiceScope>,
    /// Locality policies other than Istio's default, by cluster name ([`Delta::Locality`]).
    policies: BTreeMap<Arc<str>, LocalityPolicy>,
    gateways: Vec<Gateway>,
    legacy: Option<LegacyNetworks>,
    classes: BTreeSet<ProxyClass>,
    /// `options` changed since the last apply: every service is encoded again.
    options_changed: bool,
    published: Arc<ArcSwap<Snapshot>>,
}

/// What step 1 of an apply found: the services its deltas changed (sorted) and what else they
/// touched.
#[derive(Debug, Default)]
struct Changes {
    dirty: Vec<Arc<str>>,
    requests_replaced: usize,
    cluster_differs: usize,
    gateways: bool,
    legacy: bool,
    /// The encode options changed since the last apply.
    options: bool,
}

/// The next snapshot's index and views (step 3), which its services are encoded for.
#[derive(Debug)]
struct Next {
    index: Arc<GatewayIndex>,
    index_changed: bool,
    /// Sorted.
    classes: Vec<ProxyClass>,
    /// Parallel to `classes`: each class's position in the previous snapshot.
    old_position: Vec<Option<usize>>,
    /// Parallel to `classes`.
    views: Vec<Arc<View>>,
    any_modern: bool,
    any_legacy: bool,
    same_classes: bool,
}

impl EdsStore {
    /// An empty store (no services, gateways or classes) publishing version 0.
    pub fn new(features: Features) -> Self {
        Self {
            features,
            options: EncodeOptions::default(),
            services: HashMap::new(),
            name: String::new(),
            names: Names::default(),
            mtls: BTreeMap::new(),
            scopes: BTreeMap::new(),
            policies: BTreeMap::new(),
            gateways: Vec::new(),
            legacy: None,
            classes: BTreeSet::new(),
            options_changed: false,
            published: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
        }
    }

    /// Encodes with `options` rather than Istio's default output. Set after an apply, it
    /// re-encodes every service and publishes the result (a new version), so the published
    /// snapshot always equals [`EdsStore::full_rebuild`].
    ///
    /// ```
    /// use mesh_eds::{ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, ProxyClass, wire};
    /// let mut store = EdsStore::new(Features::default());
    /// store.apply([
    ///     Delta::AddClass(ProxyClass::default()),
    ///     Delta::UpsertEndpoint {
    ///         service: "outbound|80||foo.ns1".parse()?, cluster: None, key: "a".into(),
    ///         endpoint: EdsEndpoint { addresses: vec!["10.0.0.1".into()], port: 80, ..Default::default() },
    ///     },
    /// ]);
    /// let store = store.with_encode_options(wire::EncodeOptions { istio_workload: false });
    /// assert_eq!(store.load().version(), 2);
    /// assert_eq!(*store.load(), store.full_rebuild());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_encode_options(mut self, options: EncodeOptions) -> Self {
        if options == self.options {
            return self;
        }
        self.options = options;
        // Every cached direct encoding was written with the old options.
        for state in self.services.values_mut() {
            state.cache.fill(None);
            state.prefixes.clear();
            state.garbage = 0;
            state.replaced.clear();
            state.reshaped = true;
        }
        self.options_changed = true;
        if self.load().version() > 0 {
            self.apply([]);
        }
        self
    }

    /// A handle for readers.
    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader(Arc::clone(&self.published))
    }

    /// The current snapshot.
    pub fn load(&self) -> Arc<Snapshot> {
        self.published.load_full()
    }

    /// Applies deltas and publishes the next snapshot: an endpoint, shard or mTLS-policy change
    /// re-encodes its service (once, for every modern class); a gateway or MeshNetworks change
    /// builds a new gateway index and re-encodes every service; a new modern class costs nothing
    /// (its bytes are written from the encoded services when read), a new pre-1.8 class computes
    /// its own column.
    pub fn apply(&mut self, deltas: impl IntoIterator<Item = Delta>) -> ApplyStats {
        let old = self.published.load_full();
        let changes = self.take(deltas);
        self.settle(&changes.dirty);
        let next = self.next_views(&old, &changes);
        let mut stats = ApplyStats {
            version: old.version + 1,
            requests_replaced: changes.requests_replaced,
            cluster_differs: changes.cluster_differs,
            ..ApplyStats::default()
        };
        let services = self.next_services(&old, &next, &changes.dirty, &mut stats);
        for name in &changes.dirty {
            if let Some(state) = self.services.get_mut(name) {
                state.replaced.clear();
                state.reshaped = false;
                state.dirty = false;
            }
        }
        self.published.store(Arc::new(Snapshot {
            version: stats.version,
            index: next.index,
            classes: next.classes,
            views: next.views,
            services,
        }));
        stats
    }

    /// Step 1: the deltas applied to the inputs; the services they changed listed, sorted.
    fn take(&mut self, deltas: impl IntoIterator<Item = Delta>) -> Changes {
        let mut changes = Changes::default();
        for d in deltas {
            match d {
                Delta::UpsertEndpoint {
                    service,
                    cluster,
                    key,
                    endpoint,
                } => {
                    if let Some(state) =
                        self.service(&service, &mut changes.dirty, &mut changes.requests_replaced)
                    {
                        changes.cluster_differs += usize::from(differs(&cluster, &endpoint));
                        state.upsert(cluster, &key, endpoint);
                    }
                }
                Delta::RemoveEndpoint {
                    service,
                    cluster,
                    key,
                } => {
                    // Something never added is no change: nothing is encoded for it.
                    service.write_name(&mut self.name);
                    if let Some(state) = self.services.get_mut(self.name.as_str())
                        && state.remove(&cluster, &key)
                    {
                        state.mark_dirty(&mut changes.dirty);
                    }
                }
                Delta::ReplaceShard {
                    service,
                    cluster,
                    endpoints,
                } => {
                    if let Some(state) =
                        self.service(&service, &mut changes.dirty, &mut changes.requests_replaced)
                    {
                        changes.cluster_differs += endpoints
                            .iter()
                            .filter(|(_, e)| differs(&cluster, e))
                            .count();
                        state.replace_shard(cluster, endpoints);
                    }
                }
                Delta::RemoveShard { service, cluster } => {
                    service.write_name(&mut self.name);
                    if let Some(state) = self.services.get_mut(self.name.as_str())
                        && state.replace_shard(cluster, Vec::new())
                    {
                        state.mark_dirty(&mut changes.dirty);
                    }
                }
                Delta::MtlsAllowed { service, allowed } => {
                    let name: Arc<str> = service.name().into();
                    if self.mtls.insert(Arc::clone(&name), allowed) != Some(allowed)
                        && let Some(state) = self.services.get_mut(&name)
                    {
                        // mTLS capability (M3) and the transport metadata change.
                        state.cache.fill(None);
                        state.reshaped = true;
                        state.mark_dirty(&mut changes.dirty);
                    }
                }
                Delta::Scope { service, scope } => {
                    let name: Arc<str> = service.name().into();
                    if self.scopes.get(&name) != Some(&scope) {
                        self.scopes.insert(Arc::clone(&name), scope);
                        if let Some(state) = self.services.get_mut(&name) {
                            state.mark_dirty(&mut changes.dirty);
                        }
                    }
                }
                Delta::Locality { service, policy } => {
                    let name: Arc<str> = service.name().into();
                    let policy = policy
                        .map(|p| *p)
                        .filter(|p| p != LocalityPolicy::istio_default());
                    let changed = match policy {
                        Some(p) => self.policies.insert(Arc::clone(&name), p.clone()) != Some(p),
                        None => self.policies.remove(&name).is_some(),
                    };
                    if changed && let Some(state) = self.services.get_mut(&name) {
                        // Encoded again (never patched: the encoded form holds the stage).
                        state.reshaped = true;
                        state.mark_dirty(&mut changes.dirty);
                    }
                }
                Delta::Gateways(g) => {
                    self.gateways = g;
                    changes.gateways = true;
                }
                Delta::MeshNetworks(l) => {
                    self.legacy = l;
                    changes.legacy = true;
                }
                Delta::AddClass(c) => {
                    self.classes.insert(c);
                }
                Delta::RemoveClass(c) => {
                    self.classes.remove(&c);
                }
            }
        }

        changes.options = std::mem::take(&mut self.options_changed);
        if changes.options {
            for state in self.services.values_mut() {
                state.mark_dirty(&mut changes.dirty);
            }
        }
        // A service removed and added again is listed twice.
        changes.dirty.sort_unstable();
        changes.dirty.dedup();
        changes
    }

    /// Step 2: tombstones dropped and shard order restored, a service left without endpoints
    /// gone (from the store, and so from the snapshot), and the cache of what changed refreshed.
    fn settle(&mut self, dirty: &[Arc<str>]) {
        for name in dirty {
            if let Some(state) = self.services.get_mut(name) {
                state.settle();
                if state.keys.is_empty() {
                    self.services.remove(name);
                }
            }
        }
        // What re-encoding needs of the endpoints changed since the last apply.
        for name in dirty {
            if let Some(state) = self.services.get_mut(name) {
                // Selection reads only the cluster request and the policy, not the endpoints.
                let ServiceState {
                    cluster,
                    endpoints,
                    cache,
                    prefixes,
                    replaced,
                    reshaped,
                    garbage,
                    ..
                } = state;
                let request = ServiceRequest {
                    locality: crate::LocalityPolicy::istio_default(),
                    cluster,
                    endpoints: &[],
                    mtls_allowed: self.mtls.get(name).copied().unwrap_or(true),
                    features: self.features,
                };
                let parts = CacheParts {
                    cache,
                    prefixes,
                    replaced,
                    reshaped,
                    garbage,
                };
                refresh(parts, endpoints, &request, self.options, &mut self.names);
            }
        }
    }

    /// Step 3: the gateway index — a new one when gateways or MeshNetworks changed, which
    /// re-encodes every service (encoded services refer to the index's gateway numbering), as
    /// Istio pushes everything on such a change; new encode options re-encode everything too —
    /// and the views, rebuilt when the index changed, else shared.
    fn next_views(&self, old: &Snapshot, changes: &Changes) -> Next {
        let index_changed = changes.gateways || changes.legacy || changes.options;
        let index = if index_changed {
            Arc::new(self.index())
        } else {
            Arc::clone(&old.index)
        };
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
        Next {
            any_modern: classes.iter().any(|c| !c.profile.is_legacy()),
            any_legacy: classes.iter().any(|c| c.profile.is_legacy()),
            same_classes: classes == old.classes,
            index,
            index_changed,
            classes,
            old_position,
            views,
        }
    }

    /// Step 4: the services of the next snapshot: what nothing touched reused, the rest
    /// patched or encoded once for every modern class, and computed for every pre-1.8 class.
    fn next_services(
        &self,
        old: &Snapshot,
        next: &Next,
        dirty: &[Arc<str>],
        stats: &mut ApplyStats,
    ) -> ServiceTable {
        if next.same_classes && !next.index_changed {
            // Only the touched services can differ: start from the previous table (a pointer
            // each) rather than looking every service up.
            let mut touched = 0;
            let services = old.services.merged(dirty, |name, previous| {
                let (name, state) = self.services.get_key_value(name)?;
                touched += 1;
                Some(self.slot(next, name, state, previous, stats))
            });
            stats.reused = services.slots.len() - touched;
            services
        } else {
            ServiceTable::new(
                self.services
                    .iter()
                    .map(|(name, state)| {
                        let previous = old.services.get(name);
                        (
                            Arc::clone(name),
                            self.slot(next, name, state, previous, stats),
                        )
                    })
                    .collect(),
            )
        }
    }

    /// A service's slot in the next snapshot, from its previous one (`None` if new).
    fn slot(
        &self,
        next: &Next,
        name: &Arc<str>,
        state: &ServiceState,
        previous: Option<&Arc<ServiceSlot>>,
        stats: &mut ApplyStats,
    ) -> Arc<ServiceSlot> {
        let service_dirty = state.dirty;
        let modern_dirty = service_dirty || next.index_changed;
        let legacy_dirty = service_dirty || next.index_changed;
        let encoded_ok = match previous.map(|p| &p.encoded) {
            Some(Some(_)) => next.any_modern && !modern_dirty,
            Some(None) | None => !next.any_modern,
        };
        let legacy_ok = |class: &ProxyClass, j: &Option<usize>| {
            !class.profile.is_legacy()
                || (!legacy_dirty
                    && previous
                        .zip(*j)
                        .is_some_and(|(p, j)| p.legacy.get(j).is_some_and(Option::is_some)))
        };
        let all_legacy_ok = next
            .classes
            .iter()
            .zip(&next.old_position)
            .all(|(c, j)| legacy_ok(c, j));
        if let Some(p) = previous
            && encoded_ok
            && all_legacy_ok
            && next.same_classes
        {
            stats.reused += 1;
            return Arc::clone(p);
        }
        let request = self.request(name, state);
        let facts = || {
            state
                .cache
                .iter()
                .zip(&state.endpoints)
                .enumerate()
                .map(|(i, (c, ep))| match c {
                    Some(c) => c.facts(&self.names),
                    // Refreshed above for every dirty service; computed here otherwise.
                    None => Facts::of(&request, i, ep),
                })
        };
        let mut prepared: Option<PreparedService<'_>> = None;
        let mut prepare =
            || PreparedService::from_facts(&next.index, request, Cow::Borrowed(name), facts());
        let encoded = if !next.any_modern {
            None
        } else if encoded_ok {
            stats.reused += 1;
            previous.and_then(|p| p.encoded.clone())
        } else if let Some(patched) = previous
            .and_then(|p| p.encoded.as_ref())
            .filter(|_| !next.index_changed)
            .and_then(|p| patch(p, state))
        {
            stats.patched += 1;
            Some(Arc::new(patched))
        } else {
            stats.encoded += 1;
            let grouped = Grouped::new(&next.index, facts());
            Some(Arc::new(
                EncodedService::build(
                    &next.index,
                    self.options,
                    state.cluster.kind == ClusterKind::SniDnat,
                    self.features.gateway_in_first_group,
                    name,
                    &grouped.networks,
                    grouped.groups(),
                    |m, buf| match &state.cache[m.index as usize] {
                        Some(c) => buf.extend_from_slice(&state.prefixes[c.prefix()]),
                        None => {
                            let ep = &state.endpoints[m.index as usize];
                            let mut workload = String::new();
                            write_direct_prefix(
                                ep,
                                m.transport.hbone,
                                m.transport.mtls,
                                self.options,
                                &mut workload,
                                buf,
                            );
                        }
                    },
                )
                .with_locality(
                    request.locality,
                    grouped.groups().map(|(label, _)| label),
                    &state.endpoints,
                ),
            ))
        };
        let legacy = if !next.any_legacy {
            Vec::new()
        } else {
            next.classes
                .iter()
                .zip(&next.views)
                .zip(&next.old_position)
                .map(|((class, view), j)| {
                    if !class.profile.is_legacy() {
                        return None;
                    }
                    if legacy_ok(class, j) {
                        return previous
                            .zip(*j)
                            .and_then(|(p, j)| p.legacy.get(j).cloned().flatten());
                    }
                    stats.legacy_computed += 1;
                    let p = prepared.get_or_insert_with(&mut prepare);
                    Some(Arc::new(self.legacy_bytes(view, p)))
                })
                .collect()
        };
        let scoped = match previous {
            Some(p) if encoded_ok && next.same_classes => p.scoped.clone(),
            _ if next.any_modern => self.scoped(&next.index, &next.classes, name, state),
            _ => Vec::new(),
        };
        Arc::new(ServiceSlot {
            encoded,
            legacy,
            scoped,
        })
    }

    /// A restricting scope's encodings (rules S7–S24): the endpoints each distinct scope of the
    /// modern `classes` is given, encoded; nothing for a service whose scope does not restrict.
    fn scoped(
        &self,
        index: &Arc<GatewayIndex>,
        classes: &[ProxyClass],
        name: &str,
        state: &ServiceState,
    ) -> Vec<(ScopeProxy, Arc<EncodedService>)> {
        let Some(scope) = self.scopes.get(name).filter(|s| s.restricts()) else {
            return Vec::new();
        };
        let proxies: BTreeSet<ScopeProxy> = classes
            .iter()
            .filter(|c| !c.profile.is_legacy())
            .map(ScopeProxy::of)
            .collect();
        proxies
            .into_iter()
            .map(|proxy| {
                let endpoints = self.visible(scope, &proxy, state);
                let request = ServiceRequest {
                    endpoints: &endpoints,
                    ..self.request(name, state)
                };
                let prepared = PreparedService::new(index, request);
                let encoded = Arc::new(EncodedService::new(&prepared, self.options));
                (proxy, encoded)
            })
            .collect()
    }

    /// The endpoints of `state` the scope stage hands split-horizon for `proxy`.
    fn visible(
        &self,
        scope: &ServiceScope,
        proxy: &ScopeProxy,
        state: &ServiceState,
    ) -> Vec<EdsEndpoint> {
        scope.visible(
            proxy,
            (0..state.endpoints.len())
                .map(|i| state.shard_of(i))
                .zip(&state.endpoints),
        )
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
        let any_modern = classes.iter().any(|c| !c.profile.is_legacy());
        let services = self
            .services
            .iter()
            .map(|(name, state)| {
                let prepared = PreparedService::new(&index, self.request(name, state));
                let encoded =
                    any_modern.then(|| Arc::new(EncodedService::new(&prepared, self.options)));
                let legacy = views
                    .iter()
                    .map(|v| {
                        v.class()
                            .profile
                            .is_legacy()
                            .then(|| Arc::new(self.legacy_bytes(v, &prepared)))
                    })
                    .collect();
                let scoped = if any_modern {
                    self.scoped(&index, &classes, name, state)
                } else {
                    Vec::new()
                };
                let slot = ServiceSlot {
                    encoded,
                    legacy,
                    scoped,
                };
                (Arc::clone(name), Arc::new(slot))
            })
            .collect();
        Snapshot {
            version: self.load().version,
            index,
            classes,
            views,
            services: ServiceTable::new(services),
        }
    }

    /// What `class` receives for `cluster_name` from the current inputs, as a value (computed on
    /// each call; the published snapshot holds bytes): for inspection and explanations. Any
    /// class is answered, served or not; an unknown service is [`ServeError::UnknownCluster`].
    pub fn assignment(
        &self,
        class: &ProxyClass,
        cluster_name: &str,
    ) -> Result<LoadAssignment, ServeError> {
        let state = self
            .services
            .get(cluster_name)
            .ok_or_else(|| ServeError::UnknownCluster {
                cluster_name: cluster_name.to_owned(),
            })?;
        let snapshot = self.load();
        let view = match snapshot.view(class) {
            Some(view) => Arc::clone(view),
            None => Arc::new(View::new(&snapshot.index, class.clone())),
        };
        let request = self.request(cluster_name, state);
        match self.scopes.get(cluster_name).filter(|s| s.restricts()) {
            Some(scope) if !class.profile.is_legacy() => {
                let endpoints = self.visible(scope, &ScopeProxy::of(class), state);
                Ok(view.assignment(&ServiceRequest {
                    endpoints: &endpoints,
                    ..request
                })?)
            }
            _ => Ok(view.assignment(&request)?),
        }
    }

    /// The bytes a pre-1.8-profile view gets (through the value path).
    fn legacy_bytes(
        &self,
        view: &View,
        prepared: &PreparedService<'_>,
    ) -> Result<Vec<u8>, EdsError> {
        view.assignment_prepared(prepared).map(|cla| {
            let mut buf = Vec::new();
            wire::encode_into_with(&cla, self.options, &mut buf);
            buf
        })
    }

    /// The request of one service: its merged endpoints and policy.
    fn request<'a>(&'a self, name: &str, state: &'a ServiceState) -> ServiceRequest<'a> {
        ServiceRequest {
            locality: self
                .policies
                .get(name)
                .unwrap_or(LocalityPolicy::istio_default()),
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

    /// The state of `service` (created empty if new), marked dirty (always `Some`); a request
    /// other than the service's replaces it and is counted in `replaced`.
    fn service(
        &mut self,
        service: &ClusterRequest,
        dirty: &mut Vec<Arc<str>>,
        replaced: &mut usize,
    ) -> Option<&mut ServiceState> {
        // Rendered into a reused buffer and looked up by reference: most deltas name a service
        // that exists, and then nothing is allocated.
        service.write_name(&mut self.name);
        if !self.services.contains_key(self.name.as_str()) {
            let name: Arc<str> = self.name.as_str().into();
            self.services
                .insert(Arc::clone(&name), ServiceState::new(name, service.clone()));
        }
        let state = self.services.get_mut(self.name.as_str())?;
        state.mark_dirty(dirty);
        if state.cluster != *service {
            // Selection (M1: port name, subset) may change.
            *replaced += 1;
            state.cluster = service.clone();
            state.cache.fill(None);
            state.reshaped = true;
        }
        Some(state)
    }
}

/// Whether an endpoint names another cluster than the shard it is given in: the endpoint's own
/// cluster is what the rules read ([`Delta::UpsertEndpoint`]), counted in
/// [`ApplyStats::cluster_differs`].
fn differs(shard: &Option<ClusterId>, endpoint: &EdsEndpoint) -> bool {
    endpoint.cluster.is_some() && endpoint.cluster != *shard
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

    pub(super) fn svc(name: &str) -> ClusterRequest {
        format!("outbound|80||{name}").parse().unwrap()
    }

    pub(super) fn ep(addr: &str, net: &str) -> EdsEndpoint {
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

    #[test]
    fn a_locality_policy_is_applied_on_the_push_path_and_cleared() {
        let mut store = EdsStore::new(Features::default());
        let class = ProxyClass {
            locality: "r1/z1".into(),
            ..class("n1")
        };
        let located = |addr: &str, locality: &str| EdsEndpoint {
            locality: locality.into(),
            ..ep(addr, "n1")
        };
        store.apply([
            Delta::AddClass(class.clone()),
            upsert("foo.ns", "a", located("10.0.0.1", "r1/z1")),
            upsert("foo.ns", "b", located("10.0.0.2", "r2/z1")),
        ]);
        let name = "outbound|80||foo.ns";
        let priorities = |store: &EdsStore| -> Vec<u32> {
            let cla = store.assignment(&class, name).unwrap();
            assert_eq!(
                store.load().encoded(&class, name).unwrap(),
                wire::encode(&cla)
            );
            cla.localities.iter().map(|g| g.priority).collect()
        };
        assert_eq!(priorities(&store), [0, 0]);
        let failover = LocalityPolicy {
            destination_rule: Some(crate::TrafficPolicy {
                outlier_detection: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let locality = |policy: Option<LocalityPolicy>| Delta::Locality {
            service: svc("foo.ns"),
            policy: policy.map(Box::new),
        };
        let stats = store.apply([locality(Some(failover.clone()))]);
        assert_eq!((stats.encoded, stats.patched), (1, 0));
        // L12-L14: the proxy's zone first, the other region next.
        assert_eq!(priorities(&store), [0, 1]);
        // The same policy again changes nothing; clearing it goes back to Istio's default.
        assert_eq!(store.apply([locality(Some(failover))]).encoded, 0);
        assert_eq!(store.apply([locality(None)]).encoded, 1);
        assert_eq!(priorities(&store), [0, 0]);
        assert_eq!(*store.load(), store.full_rebuild());
    }

    fn class(net: &str) -> ProxyClass {
        ProxyClass {
            network: net.parse().ok(),
            ..ProxyClass::default()
        }
    }

    fn stats(s: ApplyStats) -> (usize, usize, usize) {
        (s.encoded, s.reused, s.legacy_computed)
    }

    #[test]
    fn only_touched_services_are_encoded() {
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
        assert_eq!(stats(s), (3, 0, 0));
        // an endpoint of service a: a, once for both views
        let s = store.apply([upsert("a", "2", ep("10.1.0.2", "n1"))]);
        assert_eq!(stats(s), (1, 2, 0));
        // n2's gateway moves: a new index, every service again
        let s = store.apply([Delta::Gateways(vec![
            gw("n1", "192.0.2.1"),
            gw("n2", "192.0.2.22"),
            gw("n3", "192.0.2.3"),
        ])]);
        assert_eq!(stats(s), (3, 0, 0));
        // a second n3 gateway changes the scale factor: everything
        let s = store.apply([Delta::Gateways(vec![
            gw("n1", "192.0.2.1"),
            gw("n2", "192.0.2.22"),
            gw("n3", "192.0.2.3"),
            gw("n3", "192.0.2.33"),
        ])]);
        assert_eq!(stats(s), (3, 0, 0));
        // a legacy class: computes its own column only; MeshNetworks: a new index
        let legacy = ProxyClass {
            profile: crate::Profile::Istio1_1_3,
            ..class("n1")
        };
        let s = store.apply([Delta::AddClass(legacy)]);
        assert_eq!(stats(s), (0, 3, 3));
        let s = store.apply([Delta::MeshNetworks(Some(LegacyNetworks::default()))]);
        assert_eq!(stats(s), (3, 0, 3));
        assert_eq!(reader.load().version(), 6);
        assert_eq!(*reader.load(), store.full_rebuild());
        // the last shard of c removed: c disappears
        store.apply([Delta::RemoveShard {
            service: svc("c"),
            cluster: None,
        }]);
        assert_eq!(
            reader.load().encoded(&class("n1"), "outbound|80||c"),
            Err(crate::ServeError::UnknownCluster {
                cluster_name: "outbound|80||c".into()
            })
        );
        // A class never added is said to be unknown, not an empty answer.
        assert!(matches!(
            reader.load().encoded(&class("n9"), "outbound|80||a"),
            Err(crate::ServeError::UnknownClass { class }) if class.contains("n9")
        ));
        assert_eq!(*reader.load(), store.full_rebuild());
    }

    #[test]
    fn a_changed_cluster_request_reselects_cached_endpoints() {
        let mut store = EdsStore::new(Features::default());
        let mut http = svc("a");
        http.port_name = "http".into();
        let mut e = ep("10.1.0.1", "n1");
        e.service_port_name = "http".into();
        store.apply([
            Delta::AddClass(class("n1")),
            Delta::UpsertEndpoint {
                service: http.clone(),
                cluster: None,
                key: "1".into(),
                endpoint: e,
            },
        ]);
        let endpoints = |store: &EdsStore| {
            let bytes = store.load().encoded(&class("n1"), "outbound|80||a").ok()?;
            let cla: wire::ClusterLoadAssignment = prost::Message::decode(bytes.as_slice()).ok()?;
            Some(
                cla.endpoints
                    .iter()
                    .map(|l| l.lb_endpoints.len())
                    .sum::<usize>(),
            )
        };
        assert_eq!(endpoints(&store), Some(1));
        // The same cluster, now for the port named grpc: the cached http endpoint is dropped (M1).
        let grpc = ClusterRequest {
            port_name: "grpc".into(),
            ..http
        };
        store.apply([Delta::UpsertEndpoint {
            service: grpc,
            cluster: None,
            key: "2".into(),
            endpoint: ep("10.1.0.2", "n1"),
        }]);
        assert_eq!(endpoints(&store), Some(0));
        assert_eq!(*store.load(), store.full_rebuild());
    }

    #[test]
    fn replaced_direct_bytes_are_compacted() {
        let mut store = EdsStore::new(Features::default());
        store.apply([Delta::AddClass(class("n1"))]);
        for round in 0..200u32 {
            let mut e = ep("10.1.0.1", "n1");
            e.workload_name = format!("pod-{round}");
            store.apply([upsert("a", "1", e), upsert("a", "2", ep("10.1.0.2", "n1"))]);
        }
        let state = &store.services["outbound|80||a"];
        let live: usize = state.cache.iter().flatten().map(|c| c.prefix().len()).sum();
        // 400 entries written, two live: the garbage was dropped along the way.
        assert!(
            state.prefixes.len() <= 2 * live + 4096 + 256,
            "{}",
            state.prefixes.len()
        );
        assert_eq!(*store.load(), store.full_rebuild());
    }

    #[test]
    fn weight_changes_are_patched_in() {
        let mut store = EdsStore::new(Features::default());
        let mtls = |mut e: EdsEndpoint| {
            e.tls_mode = mesh_model::TlsMode::Istio;
            e
        };
        let mut no_address = mtls(ep("", "n2"));
        no_address.addresses.clear();
        // A proxy without a network goes through n2's gateway even for n2's endpoints (M8),
        // where the address-less one counts no more (M2).
        let no_network = ProxyClass::default();
        store.apply([
            Delta::AddClass(class("n1")),
            Delta::AddClass(no_network),
            Delta::Gateways(vec![gw("n2", "192.0.2.2"), gw("n2", "192.0.2.3")]),
            upsert("a", "1", mtls(ep("10.2.0.1", "n2"))),
            upsert("a", "2", no_address.clone()),
            upsert("a", "3", mtls(ep("10.1.0.1", "n1"))),
        ]);
        for (i, weight) in [5u32, 200, 1, u32::MAX, 7].into_iter().enumerate() {
            let mut changed = no_address.clone();
            changed.lb_weight = weight;
            let mut local = mtls(ep("10.1.0.1", "n1"));
            local.lb_weight = weight;
            let batch = if i % 2 == 0 {
                vec![upsert("a", "2", changed)]
            } else {
                vec![upsert("a", "2", changed), upsert("a", "3", local)]
            };
            let s = store.apply(batch);
            assert_eq!((s.patched, s.encoded), (1, 0), "round {i}");
            assert_eq!(*store.load(), store.full_rebuild(), "round {i}");
        }
        // Anything else about an endpoint changes: encoded afresh.
        let s = store.apply([upsert("a", "2", mtls(ep("10.2.0.9", "n2")))]);
        assert_eq!((s.patched, s.encoded), (0, 1));
        assert_eq!(*store.load(), store.full_rebuild());
    }

    #[test]
    fn removing_what_is_not_there_encodes_nothing() {
        let mut store = EdsStore::new(Features::default());
        store.apply([
            Delta::AddClass(class("n1")),
            upsert("a", "1", ep("10.1.0.1", "n1")),
        ]);
        let s = store.apply([
            Delta::RemoveEndpoint {
                service: svc("a"),
                cluster: None,
                key: "never".into(),
            },
            Delta::RemoveEndpoint {
                service: svc("nope"),
                cluster: None,
                key: "1".into(),
            },
            Delta::RemoveShard {
                service: svc("a"),
                cluster: "c9".parse().ok(),
            },
        ]);
        assert_eq!((s.encoded, s.patched, s.reused), (0, 0, 1));
        assert_eq!(*store.load(), store.full_rebuild());
    }

    #[test]
    fn a_service_emptied_by_removals_disappears() {
        let mut store = EdsStore::new(Features::default());
        store.apply([Delta::AddClass(class("n1"))]);
        for i in 0..50 {
            let name = format!("s{i}");
            store.apply([upsert(&name, "1", ep("10.1.0.1", "n1"))]);
            store.apply([Delta::RemoveEndpoint {
                service: svc(&name),
                cluster: None,
                key: "1".into(),
            }]);
        }
        assert_eq!(store.load().services().count(), 0);
        assert!(store.services.is_empty());
        // An empty ReplaceShard creates nothing either.
        store.apply([Delta::ReplaceShard {
            service: svc("e"),
            cluster: None,
            endpoints: Vec::new(),
        }]);
        assert_eq!(store.load().services().count(), 0);
        assert_eq!(*store.load(), store.full_rebuild());
    }

    #[test]
    fn a_replaced_cluster_request_is_counted() {
        let mut store = EdsStore::new(Features::default());
        let s = store.apply([
            Delta::AddClass(class("n1")),
            upsert("a", "1", ep("10.1.0.1", "n1")),
            upsert("a", "2", ep("10.1.0.2", "n1")),
        ]);
        assert_eq!(s.requests_replaced, 0);
        let mut subset = svc("a");
        subset.subset_labels.insert("version".into(), "v1".into());
        let s = store.apply([Delta::UpsertEndpoint {
            service: subset.clone(),
            cluster: None,
            key: "3".into(),
            endpoint: ep("10.1.0.3", "n1"),
        }]);
        assert_eq!(s.requests_replaced, 1);
        assert_eq!(store.services["outbound|80||a"].cluster, subset);
        assert_eq!(*store.load(), store.full_rebuild());
    }

    #[test]
    fn an_endpoint_naming_another_cluster_than_its_shard_is_counted() {
        let mut store = EdsStore::new(Features::default());
        let own = |c: &str| EdsEndpoint {
            cluster: c.parse().ok(),
            ..ep("10.1.0.1", "n1")
        };
        let c1: Option<ClusterId> = "c1".parse().ok();
        let s = store.apply([
            Delta::AddClass(class("n1")),
            // Same cluster, and none of its own: nothing to count.
            Delta::UpsertEndpoint {
                service: svc("a"),
                cluster: c1.clone(),
                key: "1".into(),
                endpoint: own("c1"),
            },
            Delta::UpsertEndpoint {
                service: svc("a"),
                cluster: c1.clone(),
                key: "2".into(),
                endpoint: ep("10.1.0.2", "n1"),
            },
        ]);
        assert_eq!(s.cluster_differs, 0);
        let s = store.apply([
            Delta::UpsertEndpoint {
                service: svc("a"),
                cluster: c1.clone(),
                key: "3".into(),
                endpoint: own("c2"),
            },
            Delta::ReplaceShard {
                service: svc("b"),
                cluster: c1,
                endpoints: vec![("1".into(), own("c2")), ("2".into(), own("c1"))],
            },
        ]);
        assert_eq!(s.cluster_differs, 2);
        // The endpoint keeps its own cluster: the shard's does not overwrite it.
        let kept = store
            .endpoints("outbound|80||a")
            .map(|e| e[2].cluster.clone());
        assert_eq!(kept, Some("c2".parse().ok()));
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
            let bytes = s.encoded(&class("n1"), "outbound|80||a").ok()?;
            let cla: wire::ClusterLoadAssignment = prost::Message::decode(bytes.as_slice()).ok()?;
            Some(cla.endpoints.len())
        };
        assert_eq!(a(&before), Some(1));
        // Its last endpoint removed: the service is gone (not an empty assignment kept forever).
        assert_eq!(a(&store.load()), None);
        assert_eq!(store.load().services().count(), 0);
        assert_eq!(before.services().count(), 1);
    }
}
