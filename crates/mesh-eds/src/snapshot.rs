//! Incremental snapshots: an endpoint index keyed by (service, cluster) shards, deltas, and
//! immutable snapshots published through `arc-swap` (readers never block).
//!
//! A snapshot holds each service encoded once ([`EncodedService`]) for every modern-profile class,
//! and writes a class's `ClusterLoadAssignment` bytes from it when asked ([`Snapshot::encode_into`],
//! a copy of cached pieces). Applying deltas re-encodes only the services they touch; no work is
//! done per (service, class) pair until a reader asks. The pre-1.8 profiles, which the fast path
//! does not implement, keep their bytes per (service, class), recomputed when touched.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hashbrown::HashTable;
use mesh_model::{ClusterId, Gateway, NetworkId};

use crate::assignment::LoadAssignment;
use crate::encoded::{EncodedService, WeightChange, write_direct_prefix};
use crate::error::EdsError;
use crate::index::GatewayIndex;
use crate::input::{
    ClusterKind, ClusterRequest, EdsEndpoint, Features, ProxyClass, ServiceRequest,
};
use crate::legacy::LegacyNetworks;
use crate::prepared::{Facts, Grouped, PreparedService};
use crate::rules::index_u32;
use crate::view::View;
use crate::wire::{self, EncodeOptions};

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
        /// The registry (cluster) the shard belongs to.
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
}

type LegacyBytes = Arc<Result<Vec<u8>, EdsError>>;

/// One service in a snapshot, shared between snapshots when nothing touched it.
#[derive(Debug, Clone)]
struct ServiceSlot {
    /// Encoded once for every modern-profile class (`None` when there is none).
    encoded: Option<Arc<EncodedService>>,
    /// Parallel to the snapshot's classes: the bytes of each pre-1.8-profile class (empty when
    /// no class is pre-1.8).
    legacy: Vec<Option<LegacyBytes>>,
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
    services: ServiceTable,
}

/// A snapshot's services, sorted by name. The names are shared between snapshots while no
/// service comes or goes, so the next snapshot copies one pointer a service (not a tree).
#[derive(Debug, Clone, Default)]
struct ServiceTable {
    names: Arc<[Arc<str>]>,
    /// Parallel to `names`.
    slots: Vec<Arc<ServiceSlot>>,
}

/// The number of `sorted`'s names before `name`, found by doubling steps from the start: a
/// sorted batch of changes looks each name up near the previous one, in O(log gap) comparisons.
fn gallop(sorted: &[Arc<str>], name: &str) -> usize {
    let mut end = 1;
    while end <= sorted.len() && sorted[end - 1].as_ref() < name {
        end *= 2;
    }
    let start = end / 2;
    let end = end.min(sorted.len());
    start + sorted[start..end].partition_point(|n| n.as_ref() < name)
}

impl ServiceTable {
    fn new(mut services: Vec<(Arc<str>, Arc<ServiceSlot>)>) -> Self {
        services.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (names, slots): (Vec<_>, Vec<_>) = services.into_iter().unzip();
        Self {
            names: names.into(),
            slots,
        }
    }

    fn get(&self, name: &str) -> Option<&Arc<ServiceSlot>> {
        let i = self.names.binary_search_by(|n| n.as_ref().cmp(name)).ok()?;
        self.slots.get(i)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(AsRef::as_ref)
    }

    /// This table with the services named in `changed` (sorted, distinct) replaced by what
    /// `slot` gives for them (from their slot here, if any), or removed where it gives `None`;
    /// the rest kept.
    fn merged(
        &self,
        changed: &[Arc<str>],
        mut slot: impl FnMut(&Arc<str>, Option<&Arc<ServiceSlot>>) -> Option<Arc<ServiceSlot>>,
    ) -> Self {
        let mut slots = Vec::with_capacity(self.slots.len() + changed.len());
        let mut names: Vec<Arc<str>> = Vec::new();
        // Whether the names differ from `self.names` (then `names` holds them so far).
        let mut renamed = false;
        let mut i = 0;
        for name in changed {
            let at = i + gallop(&self.names[i..], name);
            slots.extend_from_slice(&self.slots[i..at]);
            if renamed {
                names.extend_from_slice(&self.names[i..at]);
            }
            i = at;
            let previous = (self.names.get(i) == Some(name))
                .then(|| self.slots.get(i))
                .flatten();
            let existed = previous.is_some();
            if existed {
                i += 1;
            }
            let new = slot(name, previous);
            if !renamed && existed != new.is_some() {
                renamed = true;
                names.extend_from_slice(&self.names[..slots.len()]);
            }
            if let Some(new) = new {
                slots.push(new);
                if renamed {
                    names.push(Arc::clone(name));
                }
            }
        }
        slots.extend_from_slice(&self.slots[i..]);
        if renamed {
            names.extend_from_slice(&self.names[i..]);
        }
        Self {
            names: if renamed {
                names.into()
            } else {
                Arc::clone(&self.names)
            },
            slots,
        }
    }
}

impl PartialEq for Snapshot {
    /// Same classes, services and bytes for every (class, service) (versions, sharing and
    /// gateway-index instances ignored).
    fn eq(&self, other: &Self) -> bool {
        self.classes == other.classes
            && self.services.names().eq(other.services.names())
            && self.classes.iter().all(|class| {
                self.services
                    .names()
                    .all(|name| self.encoded(class, name) == other.encoded(class, name))
            })
    }
}

impl Snapshot {
    /// The version (0 for the empty snapshot, +1 per apply).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Appends the `ClusterLoadAssignment` bytes `class` receives for the Envoy cluster
    /// `cluster_name` to `buf`: `None` when the class or the cluster is not served, an error when
    /// the class's Istio version would fail on it (rule H1.2).
    pub fn encode_into(
        &self,
        class: &ProxyClass,
        cluster_name: &str,
        buf: &mut Vec<u8>,
    ) -> Option<Result<(), EdsError>> {
        let i = self.classes.binary_search(class).ok()?;
        let slot = self.services.get(cluster_name)?;
        if let Some(Some(legacy)) = slot.legacy.get(i) {
            return Some(match legacy.as_ref() {
                Ok(bytes) => {
                    buf.extend_from_slice(bytes);
                    Ok(())
                }
                Err(e) => Err(e.clone()),
            });
        }
        let written = slot.encoded.as_ref()?.encode_into(&self.views[i], buf);
        // Every modern view of this snapshot shares the index its services were encoded for.
        debug_assert!(written.is_ok(), "{written:?}");
        written.ok().map(Ok)
    }

    /// [`Snapshot::encode_into`] a new buffer.
    pub fn encoded(
        &self,
        class: &ProxyClass,
        cluster_name: &str,
    ) -> Option<Result<Vec<u8>, EdsError>> {
        let mut buf = Vec::new();
        Some(
            self.encode_into(class, cluster_name, &mut buf)?
                .map(|()| buf),
        )
    }

    /// The classes served, sorted.
    pub fn classes(&self) -> impl Iterator<Item = &ProxyClass> {
        self.classes.iter()
    }

    /// The services' cluster names, sorted.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.names()
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
/// within) and updated in place, with each endpoint's (shard, key) and what re-encoding the
/// service needs of it alongside.
///
/// Every delta costs O(1) expected, whatever shard it names and however many endpoints it
/// removes: within an apply, a new key is appended at the end and a removed endpoint left as a
/// tombstone, each found through its shard's key table; [`ServiceState::settle`] restores the
/// order once at the end of the apply (a stable sort by shard keeps registry order within each),
/// which the re-encoding that follows pays for anyway.
#[derive(Debug)]
struct ServiceState {
    /// Its key in the store (the Envoy cluster name).
    name: Arc<str>,
    /// Changed since the last apply (and listed in that apply's dirty list).
    dirty: bool,
    cluster: ClusterRequest,
    keys: Vec<(Option<ClusterId>, String)>,
    /// Per shard: the positions of its live keys, found by the key (`key_hash`, compared with
    /// `keys`).
    tables: HashMap<Option<ClusterId>, HashTable<u32>>,
    endpoints: Vec<EdsEndpoint>,
    /// Parallel to `endpoints`; `None` = changed since the last apply.
    cache: Vec<Option<CachedEndpoint>>,
    /// Positions removed in this apply (dropped by `settle`).
    removed: Vec<u32>,
    /// Keys appended in this apply before a key of a later shard: `settle` sorts.
    unsorted: bool,
    /// The cache entries' direct bytes, contiguous (re-encoding reads them in order); entries
    /// replaced leave garbage, compacted when it outweighs what is live.
    prefixes: Vec<u8>,
    /// Since the last apply: the entries replaced in place (position, entry before), and whether
    /// positions moved or every entry was dropped (then the service is encoded afresh).
    replaced: Vec<(usize, CachedEndpoint)>,
    reshaped: bool,
    /// Bytes of `prefixes` no entry refers to any more.
    garbage: usize,
}

/// What the store keeps of one endpoint so that re-encoding its service reads none of the
/// (scattered) endpoints: its [`Facts`] with shared ids, and its direct `LbEndpoint` bytes up to
/// the weight. A service's cache depends on its cluster request (selection), its mTLS policy and
/// the store's features and encode options; a change of either clears it.
#[derive(Debug, Clone)]
struct CachedEndpoint {
    selected: bool,
    network: Option<NetworkId>,
    cluster: Option<ClusterId>,
    locality: Arc<str>,
    no_addresses: bool,
    hbone: bool,
    mtls: bool,
    empty_host: bool,
    weight: u32,
    /// Its direct `LbEndpoint` bytes up to the weight: a range of the service's `prefixes`.
    prefix: (u32, u32),
}

impl CachedEndpoint {
    fn prefix(&self) -> Range<usize> {
        self.prefix.0 as usize..self.prefix.1 as usize
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            selected: self.selected,
            network: self.network.as_ref(),
            cluster: self.cluster.as_ref(),
            locality: &self.locality,
            no_addresses: self.no_addresses,
            hbone: self.hbone,
            mtls: self.mtls,
            empty_host: self.empty_host,
            weight: self.weight,
        }
    }
}

impl ServiceState {
    fn new(name: Arc<str>, cluster: ClusterRequest) -> Self {
        Self {
            name,
            dirty: false,
            cluster,
            keys: Vec::new(),
            tables: HashMap::new(),
            endpoints: Vec::new(),
            cache: Vec::new(),
            removed: Vec::new(),
            unsorted: false,
            prefixes: Vec::new(),
            replaced: Vec::new(),
            reshaped: false,
            garbage: 0,
        }
    }

    /// Lists the service in `dirty` unless it is already.
    fn mark_dirty(&mut self, dirty: &mut Vec<Arc<str>>) {
        if !self.dirty {
            self.dirty = true;
            dirty.push(Arc::clone(&self.name));
        }
    }

    /// The position of (shard, key), if live.
    fn position(&self, cluster: &Option<ClusterId>, key: &str) -> Option<usize> {
        let table = self.tables.get(cluster)?;
        let keys = &self.keys;
        table
            .find(key_hash(key), |&i| keys[i as usize].1 == key)
            .map(|&i| i as usize)
    }

    fn upsert(&mut self, cluster: Option<ClusterId>, key: String, endpoint: EdsEndpoint) {
        if let Some(i) = self.position(&cluster, &key) {
            self.endpoints[i] = endpoint;
            if let Some(old) = self.cache[i].take() {
                self.replaced.push((i, old));
            }
            return;
        }
        // Appended; out of order when a later shard's key is already last (`settle` sorts).
        if self.keys.last().is_some_and(|(c, _)| *c > cluster) {
            self.unsorted = true;
        }
        let at = index_u32(self.keys.len());
        let keys = &self.keys;
        self.tables
            .entry(cluster.clone())
            .or_default()
            .insert_unique(key_hash(&key), at, |&i| key_hash(&keys[i as usize].1));
        self.keys.push((cluster, key));
        self.endpoints.push(endpoint);
        self.cache.push(None);
        self.reshaped = true;
    }

    /// Removes (shard, key); whether it was there.
    fn remove(&mut self, cluster: &Option<ClusterId>, key: &str) -> bool {
        let Some(table) = self.tables.get_mut(cluster) else {
            return false;
        };
        let keys = &self.keys;
        let Ok(entry) = table.find_entry(key_hash(key), |&i| keys[i as usize].1 == key) else {
            return false;
        };
        let (i, _) = entry.remove();
        self.tombstone(i);
        true
    }

    fn tombstone(&mut self, i: u32) {
        self.removed.push(i);
        self.cache[i as usize] = None;
        self.reshaped = true;
    }

    /// Replaces a shard: its endpoints removed, then `endpoints` upserted in order (a key given
    /// twice keeps its first position and its last endpoint). Whether the shard existed or is
    /// given endpoints.
    fn replace_shard(
        &mut self,
        cluster: Option<ClusterId>,
        endpoints: Vec<(String, EdsEndpoint)>,
    ) -> bool {
        let existed = match self.tables.remove(&cluster) {
            Some(table) => {
                for i in table {
                    self.tombstone(i);
                }
                true
            }
            None => false,
        };
        let given = !endpoints.is_empty();
        for (key, endpoint) in endpoints {
            self.upsert(cluster.clone(), key, endpoint);
        }
        existed || given
    }

    /// Drops this apply's tombstones and restores Istio's order (shards by cluster id, registry
    /// order within), then renumbers the key tables: O(n log n) once per apply, only when some
    /// position moved.
    fn settle(&mut self) {
        if self.removed.is_empty() && !self.unsorted {
            return;
        }
        let mut gone = vec![false; self.keys.len()];
        for &i in &self.removed {
            gone[i as usize] = true;
        }
        let mut order: Vec<u32> = (0..index_u32(self.keys.len()))
            .filter(|&i| !gone[i as usize])
            .collect();
        if self.unsorted {
            // Stable: registry order within a shard is the order of arrival.
            order.sort_by(|&a, &b| self.keys[a as usize].0.cmp(&self.keys[b as usize].0));
        }
        self.keys = permuted(std::mem::take(&mut self.keys), &order);
        self.endpoints = permuted(std::mem::take(&mut self.endpoints), &order);
        self.cache = permuted(std::mem::take(&mut self.cache), &order);
        self.removed.clear();
        self.unsorted = false;
        self.tables.clear();
        let keys = &self.keys;
        for (i, (cluster, key)) in (0u32..).zip(keys) {
            self.tables
                .entry(cluster.clone())
                .or_default()
                .insert_unique(key_hash(key), i, |&j| key_hash(&keys[j as usize].1));
        }
    }
}

/// `items` taken in `order` (positions, each at most once); the rest dropped.
fn permuted<T>(items: Vec<T>, order: &[u32]) -> Vec<T> {
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| items.get_mut(i as usize).and_then(Option::take))
        .collect()
}

/// `encoded` (the service as last published) with the weight changes since, when nothing else
/// that decides where an endpoint goes changed; `None` = encode the service afresh.
fn patch(encoded: &EncodedService, state: &ServiceState) -> Option<EncodedService> {
    if state.reshaped {
        return None;
    }
    let changes = state
        .replaced
        .iter()
        .map(|(i, old)| {
            let new = state.cache.get(*i)?.as_ref()?;
            let same_place = old.selected == new.selected
                && old.network == new.network
                && old.cluster == new.cluster
                && old.locality == new.locality
                && old.no_addresses == new.no_addresses
                && old.hbone == new.hbone
                && old.mtls == new.mtls
                && old.empty_host == new.empty_host;
            same_place.then(|| WeightChange {
                position: u32::try_from(*i).unwrap_or(u32::MAX),
                old_weight: old.weight,
                new_weight: new.weight,
                prefix: &state.prefixes[new.prefix()],
                mtls: new.mtls,
                no_addresses: new.no_addresses,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    encoded.patched(&changes)
}

/// Fills the cache entries of endpoints changed since the last apply: all of them after a
/// reshape, else only those replaced in place (an unchanged direct encoding keeps its bytes).
fn refresh(
    parts: CacheParts<'_>,
    endpoints: &[EdsEndpoint],
    request: &ServiceRequest<'_>,
    options: EncodeOptions,
    localities: &mut HashSet<Arc<str>>,
) {
    let CacheParts {
        cache,
        prefixes,
        replaced,
        reshaped,
        garbage,
    } = parts;
    let mut workload = String::new();
    let mut scratch = Vec::new();
    let mut fill = |i: usize, old: Option<&CachedEndpoint>, prefixes: &mut Vec<u8>| {
        let ep = endpoints.get(i)?;
        let f = Facts::of(request, i, ep);
        scratch.clear();
        write_direct_prefix(ep, f.hbone, f.mtls, options, &mut workload, &mut scratch);
        let prefix = match old {
            Some(old) if prefixes[old.prefix()] == scratch[..] => old.prefix,
            _ => {
                *garbage += old.map_or(0, |o| o.prefix().len());
                let start = prefixes.len();
                prefixes.extend_from_slice(&scratch);
                (index_u32(start), index_u32(prefixes.len()))
            }
        };
        let locality = match localities.get(f.locality) {
            Some(l) => Arc::clone(l),
            None => {
                let l: Arc<str> = f.locality.into();
                localities.insert(Arc::clone(&l));
                l
            }
        };
        Some(CachedEndpoint {
            selected: f.selected,
            network: f.network.cloned(),
            cluster: f.cluster.cloned(),
            locality,
            no_addresses: f.no_addresses,
            hbone: f.hbone,
            mtls: f.mtls,
            empty_host: f.empty_host,
            weight: f.weight,
            prefix,
        })
    };
    if *reshaped {
        for (i, slot) in cache.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = fill(i, None, prefixes);
            }
        }
        let live: usize = cache.iter().flatten().map(|c| c.prefix().len()).sum();
        *garbage = prefixes.len().saturating_sub(live);
    } else {
        for (i, old) in replaced.iter() {
            if let Some(slot) = cache.get_mut(*i)
                && slot.is_none()
            {
                *slot = fill(*i, Some(old), prefixes);
            }
        }
    }
    let live = prefixes.len().saturating_sub(*garbage);
    if *garbage > live + 4096 {
        let mut compact = Vec::with_capacity(live + live / 4);
        for c in cache.iter_mut().flatten() {
            let start = compact.len();
            compact.extend_from_slice(&prefixes[c.prefix()]);
            c.prefix = (index_u32(start), index_u32(compact.len()));
        }
        *prefixes = compact;
        *garbage = 0;
    }
}

/// The parts of a [`ServiceState`] that [`refresh`] updates.
struct CacheParts<'s> {
    cache: &'s mut [Option<CachedEndpoint>],
    prefixes: &'s mut Vec<u8>,
    replaced: &'s [(usize, CachedEndpoint)],
    reshaped: &'s bool,
    garbage: &'s mut usize,
}

/// A key's hash for `ServiceState::tables` (`DefaultHasher::new` has fixed keys).
fn key_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
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
/// // What a sidecar on n1 is pushed: bytes, written from the encoded service.
/// let bytes = reader.load().encoded(&n1, "outbound|80||foo.ns1").unwrap()?;
/// // The same as the value path, which the writer side offers for inspection.
/// let cla = store.assignment(&n1, "outbound|80||foo.ns1").unwrap()?;
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
    /// Locality labels, shared by the cache entries naming them.
    localities: HashSet<Arc<str>>,
    mtls: BTreeMap<Arc<str>, bool>,
    gateways: Vec<Gateway>,
    legacy: Option<LegacyNetworks>,
    classes: BTreeSet<ProxyClass>,
    /// `options` changed since the last apply: every service is encoded again.
    options_changed: bool,
    published: Arc<ArcSwap<Snapshot>>,
}

impl EdsStore {
    /// An empty store (no services, gateways or classes) publishing version 0.
    pub fn new(features: Features) -> Self {
        Self {
            features,
            options: EncodeOptions::default(),
            services: HashMap::new(),
            name: String::new(),
            localities: HashSet::new(),
            mtls: BTreeMap::new(),
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
        // Services changed by these deltas, listed when first marked (`ServiceState::dirty`).
        let mut dirty_services: Vec<Arc<str>> = Vec::new();
        let mut requests_replaced = 0;
        let mut gateways_changed = false;
        let mut legacy_changed = false;
        for d in deltas {
            match d {
                Delta::UpsertEndpoint {
                    service,
                    cluster,
                    key,
                    endpoint,
                } => {
                    if let Some(state) =
                        self.service(&service, &mut dirty_services, &mut requests_replaced)
                    {
                        state.upsert(cluster, key, endpoint);
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
                        state.mark_dirty(&mut dirty_services);
                    }
                }
                Delta::ReplaceShard {
                    service,
                    cluster,
                    endpoints,
                } => {
                    if let Some(state) =
                        self.service(&service, &mut dirty_services, &mut requests_replaced)
                    {
                        state.replace_shard(cluster, endpoints);
                    }
                }
                Delta::RemoveShard { service, cluster } => {
                    service.write_name(&mut self.name);
                    if let Some(state) = self.services.get_mut(self.name.as_str())
                        && state.replace_shard(cluster, Vec::new())
                    {
                        state.mark_dirty(&mut dirty_services);
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
                        state.mark_dirty(&mut dirty_services);
                    }
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

        let options_changed = std::mem::take(&mut self.options_changed);
        if options_changed {
            for state in self.services.values_mut() {
                state.mark_dirty(&mut dirty_services);
            }
        }
        // A service removed and added again is listed twice.
        dirty_services.sort_unstable();
        dirty_services.dedup();

        // Tombstones dropped and shard order restored; a service left without endpoints
        // disappears (from the store, and so from the snapshot).
        for name in &dirty_services {
            if let Some(state) = self.services.get_mut(name) {
                state.settle();
                if state.keys.is_empty() {
                    self.services.remove(name);
                }
            }
        }

        // What re-encoding needs of the endpoints changed since the last apply.
        for name in &dirty_services {
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
                refresh(
                    parts,
                    endpoints,
                    &request,
                    self.options,
                    &mut self.localities,
                );
            }
        }

        // The gateway index: a new one when gateways or MeshNetworks changed, which re-encodes
        // every service (encoded services refer to the index's gateway numbering), as Istio
        // pushes everything on such a change; new encode options re-encode everything too.
        let index_changed = gateways_changed || legacy_changed || options_changed;
        let index = if index_changed {
            Arc::new(self.index())
        } else {
            Arc::clone(&old.index)
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
        let any_modern = classes.iter().any(|c| !c.profile.is_legacy());
        let any_legacy = classes.iter().any(|c| c.profile.is_legacy());

        // Services: reuse what nothing touched, prepare the rest once for the encoded form and
        // every pre-1.8 class.
        let mut stats = ApplyStats {
            version: old.version + 1,
            requests_replaced,
            ..ApplyStats::default()
        };
        let same_classes = classes == old.classes;
        // A service's slot from its previous one (`None` if new).
        let mut slot = |name: &Arc<str>,
                        state: &ServiceState,
                        previous: Option<&Arc<ServiceSlot>>|
         -> Arc<ServiceSlot> {
            let service_dirty = state.dirty;
            let modern_dirty = service_dirty || index_changed;
            let legacy_dirty = service_dirty || index_changed;
            let encoded_ok = match previous.map(|p| &p.encoded) {
                Some(Some(_)) => any_modern && !modern_dirty,
                Some(None) | None => !any_modern,
            };
            let legacy_ok = |class: &ProxyClass, j: &Option<usize>| {
                !class.profile.is_legacy()
                    || (!legacy_dirty
                        && previous
                            .zip(*j)
                            .is_some_and(|(p, j)| p.legacy.get(j).is_some_and(Option::is_some)))
            };
            let all_legacy_ok = classes
                .iter()
                .zip(&old_position)
                .all(|(c, j)| legacy_ok(c, j));
            if let Some(p) = previous
                && encoded_ok
                && all_legacy_ok
                && same_classes
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
                        Some(c) => c.facts(),
                        // Refreshed above for every dirty service; computed here otherwise.
                        None => Facts::of(&request, i, ep),
                    })
            };
            let mut prepared: Option<PreparedService<'_>> = None;
            let mut prepare =
                || PreparedService::from_facts(&index, request, Cow::Borrowed(name), facts());
            let encoded = if !any_modern {
                None
            } else if encoded_ok {
                stats.reused += 1;
                previous.and_then(|p| p.encoded.clone())
            } else if let Some(patched) = previous
                .and_then(|p| p.encoded.as_ref())
                .filter(|_| !index_changed)
                .and_then(|p| patch(p, state))
            {
                stats.patched += 1;
                Some(Arc::new(patched))
            } else {
                stats.encoded += 1;
                let grouped = Grouped::new(&index, facts());
                Some(Arc::new(EncodedService::build(
                    &index,
                    self.options,
                    state.cluster.kind == ClusterKind::SniDnat,
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
                                m.hbone,
                                m.mtls,
                                self.options,
                                &mut workload,
                                buf,
                            );
                        }
                    },
                )))
            };
            let legacy = if !any_legacy {
                Vec::new()
            } else {
                classes
                    .iter()
                    .zip(&views)
                    .zip(&old_position)
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
            Arc::new(ServiceSlot { encoded, legacy })
        };
        let services = if same_classes && !index_changed {
            // Only the touched services can differ: start from the previous table (a pointer
            // each) rather than looking every service up.
            let mut touched = 0;
            let services = old.services.merged(&dirty_services, |name, previous| {
                let (name, state) = self.services.get_key_value(name)?;
                touched += 1;
                Some(slot(name, state, previous))
            });
            stats.reused = services.slots.len() - touched;
            services
        } else {
            ServiceTable::new(
                self.services
                    .iter()
                    .map(|(name, state)| {
                        let previous = old.services.get(name);
                        (Arc::clone(name), slot(name, state, previous))
                    })
                    .collect(),
            )
        };

        for name in &dirty_services {
            if let Some(state) = self.services.get_mut(name) {
                state.replaced.clear();
                state.reshaped = false;
                state.dirty = false;
            }
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
                (Arc::clone(name), Arc::new(ServiceSlot { encoded, legacy }))
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
    /// each call; the published snapshot holds bytes): for inspection and explanations.
    pub fn assignment(
        &self,
        class: &ProxyClass,
        cluster_name: &str,
    ) -> Option<Result<LoadAssignment, EdsError>> {
        let state = self.services.get(cluster_name)?;
        let snapshot = self.load();
        let view = match snapshot.view(class) {
            Some(view) => Arc::clone(view),
            None => Arc::new(View::new(&snapshot.index, class.clone())),
        };
        Some(view.assignment(&self.request(cluster_name, state)))
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
        assert!(
            reader
                .load()
                .encoded(&class("n1"), "outbound|80||c")
                .is_none()
        );
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
            let bytes = store.load().encoded(&class("n1"), "outbound|80||a")?.ok()?;
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
    fn gallop_counts_the_names_before() {
        for len in 0..40 {
            let sorted: Vec<Arc<str>> = (0..len).map(|i| format!("s{:03}", 2 * i).into()).collect();
            for probe in 0..(2 * len + 2) {
                let name = format!("s{probe:03}");
                let want = sorted.partition_point(|n| n.as_ref() < name.as_str());
                assert_eq!(gallop(&sorted, &name), want, "{len} {name}");
            }
        }
    }

    #[test]
    fn a_service_table_merges_changes_in_order() {
        let slot = || {
            Arc::new(ServiceSlot {
                encoded: None,
                legacy: Vec::new(),
            })
        };
        let names = |t: &ServiceTable| t.names().map(String::from).collect::<Vec<_>>();
        let table = ServiceTable::new(
            ["b", "d", "f"]
                .into_iter()
                .map(|n| (Arc::from(n), slot()))
                .collect(),
        );
        let (b, d, f) = (&table.slots[0], &table.slots[1], &table.slots[2]);
        // Replacing keeps the names (shared) and the untouched slots.
        let new_d = slot();
        let t = table.merged(&["d".into()], |_, _| Some(Arc::clone(&new_d)));
        assert!(Arc::ptr_eq(&t.names, &table.names));
        assert!(Arc::ptr_eq(&t.slots[0], b) && Arc::ptr_eq(&t.slots[2], f));
        assert!(Arc::ptr_eq(&t.slots[1], &new_d));
        // Added before, between and after; removed; a name neither there nor added.
        let changed: Vec<Arc<str>> = ["a", "c", "d", "e", "g"].map(Arc::from).into();
        let mut seen = Vec::new();
        let t = table.merged(&changed, |n, previous| {
            seen.push((n.to_string(), previous.is_some_and(|p| Arc::ptr_eq(p, d))));
            (n.as_ref() != "d" && n.as_ref() != "e").then(slot)
        });
        let only_d_existed = ["a", "c", "d", "e", "g"].map(|n| (n.to_string(), n == "d"));
        assert_eq!(seen, only_d_existed);
        assert_eq!(names(&t), ["a", "b", "c", "f", "g"]);
        assert!(Arc::ptr_eq(&t.slots[1], b) && Arc::ptr_eq(&t.slots[3], f));
        assert!(t.get("d").is_none() && t.get("c").is_some());
        // Every service removed.
        let all: Vec<Arc<str>> = ["b", "d", "f"].map(Arc::from).into();
        let t = table.merged(&all, |_, _| None);
        assert!(t.names.is_empty() && t.slots.is_empty());
        assert!(Arc::ptr_eq(&table.slots[1], d));
    }

    #[test]
    fn shards_keep_istio_order_whatever_the_order_of_arrival() {
        let mut state = ServiceState::new("outbound|80||a".into(), svc("a"));
        let c = |name: &str| Some(name.parse::<ClusterId>().unwrap());
        let order = |state: &ServiceState| {
            state
                .keys
                .iter()
                .map(|(c, k)| format!("{}/{k}", c.as_ref().map_or("-", |c| c.as_str())))
                .collect::<Vec<_>>()
        };
        state.upsert(c("c2"), "x".into(), ep("10.0.0.1", "n1"));
        state.upsert(c("c1"), "y".into(), ep("10.0.0.2", "n1"));
        state.upsert(None, "z".into(), ep("10.0.0.3", "n1"));
        state.upsert(c("c1"), "w".into(), ep("10.0.0.4", "n1"));
        assert!(state.unsorted);
        assert!(state.remove(&c("c1"), "y"));
        assert!(!state.remove(&c("c1"), "y"), "removed twice");
        assert!(!state.remove(&c("c3"), "y"), "no such shard");
        // Upserted after its removal in the same apply: a new endpoint, last of its shard.
        state.upsert(c("c1"), "y".into(), ep("10.0.0.5", "n1"));
        state.settle();
        assert_eq!(order(&state), ["-/z", "c1/w", "c1/y", "c2/x"]);
        assert_eq!(state.endpoints[2].addresses, ["10.0.0.5"]);
        for (i, (cluster, key)) in state.keys.iter().enumerate() {
            assert_eq!(state.position(cluster, key), Some(i), "{key}");
        }
        assert_eq!(state.position(&c("c2"), "w"), None);
        // A shard replaced with a key given twice: its first place, its last endpoint.
        assert!(state.replace_shard(
            c("c1"),
            vec![
                ("v".into(), ep("10.0.1.1", "n1")),
                ("u".into(), ep("10.0.1.2", "n1")),
                ("v".into(), ep("10.0.1.3", "n1")),
            ],
        ));
        state.settle();
        assert_eq!(order(&state), ["-/z", "c1/v", "c1/u", "c2/x"]);
        assert_eq!(state.endpoints[1].addresses, ["10.0.1.3"]);
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
            let bytes = s.encoded(&class("n1"), "outbound|80||a")?.ok()?;
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
