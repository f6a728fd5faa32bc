//! One service's state in the store: its endpoints in Istio's order with each one's (shard,
//! key), what re-encoding needs of each (the cache), and patching weight-only changes into its
//! published encoded form.
//!
//! Keys are kept compactly: each position's key is a [`KeyRow`] (its shard as an index into the
//! service's shard list, and a range of one text arena per service), so a delta's lookup hashes
//! the key and compares it against the arena, touching no per-endpoint string allocations.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use hashbrown::HashTable;
use mesh_model::ClusterId;

use crate::encoded::{EncodedService, WeightChange, write_direct_prefix};
use crate::input::{ClusterRequest, EdsEndpoint, ServiceRequest};
use crate::prepared::{Facts, Transport};
use crate::rules::index_u32;
use crate::wire::EncodeOptions;

use super::names::{Maybe, Names};

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
pub(super) struct ServiceState {
    /// Its key in the store (the Envoy cluster name).
    pub(super) name: Arc<str>,
    /// Changed since the last apply (and listed in that apply's dirty list).
    pub(super) dirty: bool,
    pub(super) cluster: ClusterRequest,
    /// Parallel to `endpoints`: each position's shard and key.
    pub(super) keys: Vec<KeyRow>,
    /// The keys' text, one after another (`KeyRow::text`); a removed key's text stays until
    /// `settle` rebuilds the arena.
    pub(super) key_text: String,
    /// The shards `keys` name (`KeyRow::shard`), sorted by cluster id after `settle`; shards
    /// first named in this apply are appended.
    pub(super) shards: Vec<Option<ClusterId>>,
    /// Per shard present: its index in `shards` and the positions of its live keys, found by the
    /// key (`key_hash`, compared with the arena).
    pub(super) tables: HashMap<Option<ClusterId>, ShardTable>,
    pub(super) endpoints: Vec<EdsEndpoint>,
    /// Parallel to `endpoints`; `None` = changed since the last apply.
    pub(super) cache: Vec<Option<CachedEndpoint>>,
    /// Positions removed in this apply (dropped by `settle`).
    pub(super) removed: Vec<u32>,
    /// Keys appended in this apply before a key of a later shard: `settle` sorts.
    pub(super) unsorted: bool,
    /// The cache entries' direct bytes, contiguous (re-encoding reads them in order); entries
    /// replaced leave garbage, compacted when it outweighs what is live.
    pub(super) prefixes: Vec<u8>,
    /// Since the last apply: the entries replaced in place (position, entry before), and whether
    /// positions moved or every entry was dropped (then the service is encoded afresh).
    pub(super) replaced: Vec<(usize, CachedEndpoint)>,
    pub(super) reshaped: bool,
    /// Bytes of `prefixes` no entry refers to any more.
    pub(super) garbage: usize,
}

/// One position's shard and key: 12 bytes, the key's text in the service's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyRow {
    /// An index into `ServiceState::shards`.
    pub(super) shard: u32,
    /// The key's text: a range of `ServiceState::key_text`.
    pub(super) text: (u32, u32),
}

impl KeyRow {
    fn text<'t>(&self, arena: &'t str) -> &'t str {
        arena
            .get(self.text.0 as usize..self.text.1 as usize)
            .unwrap_or("")
    }
}

/// One shard's key table: its index in `ServiceState::shards` and its live positions.
#[derive(Debug, Default)]
pub(super) struct ShardTable {
    shard: u32,
    positions: HashTable<u32>,
}

/// What the store keeps of one endpoint so that re-encoding its service reads none of the
/// (scattered) endpoints: its [`Facts`] with shared ids, and its direct `LbEndpoint` bytes up to
/// the weight. A service's cache depends on its cluster request (selection), its mTLS policy and
/// the store's features and encode options; a change of either clears it.
#[derive(Debug, Clone)]
pub(super) struct CachedEndpoint {
    pub(super) selected: bool,
    /// Ids into the store's [`Names`] tables: equal ids, equal values.
    pub(super) network: u32,
    pub(super) cluster: u32,
    pub(super) locality: u32,
    pub(super) transport: Transport,
    pub(super) weight: u32,
    /// Its direct `LbEndpoint` bytes up to the weight: a range of the service's `prefixes`.
    pub(super) prefix: (u32, u32),
}

impl CachedEndpoint {
    pub(super) fn prefix(&self) -> Range<usize> {
        self.prefix.0 as usize..self.prefix.1 as usize
    }

    /// Its facts, its ids read in `names` (the tables that handed them out).
    pub(super) fn facts<'n>(&self, names: &'n Names) -> Facts<'n> {
        Facts {
            selected: self.selected,
            network: names.networks.get(self.network).and_then(|n| n.0.as_ref()),
            cluster: names.clusters.get(self.cluster).and_then(|c| c.0.as_ref()),
            locality: names.localities.get(self.locality).map_or("", |l| l),
            transport: self.transport,
            weight: self.weight,
        }
    }
}

impl ServiceState {
    pub(super) fn new(name: Arc<str>, cluster: ClusterRequest) -> Self {
        Self {
            name,
            dirty: false,
            cluster,
            keys: Vec::new(),
            key_text: String::new(),
            shards: Vec::new(),
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
    pub(super) fn mark_dirty(&mut self, dirty: &mut Vec<Arc<str>>) {
        if !self.dirty {
            self.dirty = true;
            dirty.push(Arc::clone(&self.name));
        }
    }

    /// The position of (shard, key), if live.
    pub(super) fn position(&self, cluster: &Option<ClusterId>, key: &str) -> Option<usize> {
        let table = self.tables.get(cluster)?;
        let (keys, text) = (&self.keys, self.key_text.as_str());
        table
            .positions
            .find(key_hash(key), |&i| keys[i as usize].text(text) == key)
            .map(|&i| i as usize)
    }

    /// The shard of position `i` (`None` past the end, or for the unnamed shard).
    pub(super) fn shard_of(&self, i: usize) -> Option<&ClusterId> {
        let row = self.keys.get(i)?;
        self.shards.get(row.shard as usize)?.as_ref()
    }

    /// The key of position `i` (`""` past the end).
    #[cfg(test)]
    pub(super) fn key_of(&self, i: usize) -> &str {
        self.keys.get(i).map_or("", |row| row.text(&self.key_text))
    }

    pub(super) fn upsert(&mut self, cluster: Option<ClusterId>, key: &str, endpoint: EdsEndpoint) {
        if let Some(i) = self.position(&cluster, key) {
            self.endpoints[i] = endpoint;
            if let Some(old) = self.cache[i].take() {
                self.replaced.push((i, old));
            }
            return;
        }
        // Appended; out of order when a later shard's key is already last (`settle` sorts).
        if self
            .keys
            .last()
            .and_then(|row| self.shards.get(row.shard as usize))
            .is_some_and(|c| *c > cluster)
        {
            self.unsorted = true;
        }
        let at = index_u32(self.keys.len());
        let shards = &mut self.shards;
        let table = self.tables.entry(cluster).or_insert_with_key(|cluster| {
            // A shard named again after its removal in this apply keeps its index.
            let shard = match shards.iter().position(|s| s == cluster) {
                Some(j) => j,
                None => {
                    shards.push(cluster.clone());
                    shards.len() - 1
                }
            };
            ShardTable {
                shard: index_u32(shard),
                positions: HashTable::new(),
            }
        });
        let (keys, text) = (&self.keys, self.key_text.as_str());
        table.positions.insert_unique(key_hash(key), at, |&i| {
            key_hash(keys[i as usize].text(text))
        });
        let start = index_u32(self.key_text.len());
        self.key_text.push_str(key);
        self.keys.push(KeyRow {
            shard: table.shard,
            text: (start, index_u32(self.key_text.len())),
        });
        self.endpoints.push(endpoint);
        self.cache.push(None);
        self.reshaped = true;
    }

    /// Removes (shard, key); whether it was there.
    pub(super) fn remove(&mut self, cluster: &Option<ClusterId>, key: &str) -> bool {
        let Some(table) = self.tables.get_mut(cluster) else {
            return false;
        };
        let (keys, text) = (&self.keys, self.key_text.as_str());
        let Ok(entry) = table
            .positions
            .find_entry(key_hash(key), |&i| keys[i as usize].text(text) == key)
        else {
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
    pub(super) fn replace_shard(
        &mut self,
        cluster: Option<ClusterId>,
        endpoints: Vec<(String, EdsEndpoint)>,
    ) -> bool {
        let existed = match self.tables.remove(&cluster) {
            Some(table) => {
                for i in table.positions {
                    self.tombstone(i);
                }
                true
            }
            None => false,
        };
        let given = !endpoints.is_empty();
        for (key, endpoint) in endpoints {
            self.upsert(cluster.clone(), &key, endpoint);
        }
        existed || given
    }

    /// Drops this apply's tombstones and restores Istio's order (shards by cluster id, registry
    /// order within), then renumbers the key tables: O(n log n) once per apply, only when some
    /// position moved.
    pub(super) fn settle(&mut self) {
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
            let shards = &self.shards;
            let shard = |i: u32| &shards[self.keys[i as usize].shard as usize];
            order.sort_by(|&a, &b| shard(a).cmp(shard(b)));
        }
        self.keys = permuted(std::mem::take(&mut self.keys), &order);
        self.endpoints = permuted(std::mem::take(&mut self.endpoints), &order);
        self.cache = permuted(std::mem::take(&mut self.cache), &order);
        self.removed.clear();
        self.unsorted = false;
        self.rebuild_keys();
    }

    /// Rebuilds the shard list (the live shards, sorted), the key arena (live keys only, in
    /// order) and the key tables from `keys`.
    fn rebuild_keys(&mut self) {
        // The shards with live keys: those whose table is not empty.
        let mut shards: Vec<Option<ClusterId>> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.positions.is_empty())
            .map(|(c, _)| c.clone())
            .collect();
        shards.sort_unstable();
        let renumber: Vec<u32> = self
            .shards
            .iter()
            .map(|s| index_u32(shards.binary_search(s).unwrap_or(0)))
            .collect();
        let mut text =
            String::with_capacity(self.keys.iter().map(|r| r.text(&self.key_text).len()).sum());
        for row in &mut self.keys {
            let start = index_u32(text.len());
            text.push_str(row.text(&self.key_text));
            *row = KeyRow {
                shard: renumber[row.shard as usize],
                text: (start, index_u32(text.len())),
            };
        }
        self.key_text = text;
        self.shards = shards;
        self.tables.clear();
        let (keys, text) = (&self.keys, self.key_text.as_str());
        for (i, row) in (0u32..).zip(keys) {
            let cluster = &self.shards[row.shard as usize];
            self.tables
                .entry(cluster.clone())
                .or_insert_with(|| ShardTable {
                    shard: row.shard,
                    positions: HashTable::new(),
                })
                .positions
                .insert_unique(key_hash(row.text(text)), i, |&j| {
                    key_hash(keys[j as usize].text(text))
                });
        }
    }
}

/// `items` taken in `order` (positions, each at most once); the rest dropped.
pub(super) fn permuted<T>(items: Vec<T>, order: &[u32]) -> Vec<T> {
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| items.get_mut(i as usize).and_then(Option::take))
        .collect()
}

/// `encoded` (the service as last published) with the weight changes since, when nothing else
/// that decides where an endpoint goes changed; `None` = encode the service afresh.
pub(super) fn patch(encoded: &EncodedService, state: &ServiceState) -> Option<EncodedService> {
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
                && old.transport == new.transport;
            same_place.then(|| WeightChange {
                position: u32::try_from(*i).unwrap_or(u32::MAX),
                old_weight: old.weight,
                new_weight: new.weight,
                prefix: &state.prefixes[new.prefix()],
                transport: new.transport,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    encoded.patched(&changes)
}

/// Fills the cache entries of endpoints changed since the last apply: all of them after a
/// reshape, else only those replaced in place (an unchanged direct encoding keeps its bytes).
pub(super) fn refresh(
    parts: CacheParts<'_>,
    endpoints: &[EdsEndpoint],
    request: &ServiceRequest<'_>,
    options: EncodeOptions,
    names: &mut Names,
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
        write_direct_prefix(
            ep,
            f.transport.hbone,
            f.transport.mtls,
            options,
            &mut workload,
            &mut scratch,
        );
        let prefix = match old {
            Some(old) if prefixes[old.prefix()] == scratch[..] => old.prefix,
            _ => {
                *garbage += old.map_or(0, |o| o.prefix().len());
                let start = prefixes.len();
                prefixes.extend_from_slice(&scratch);
                (index_u32(start), index_u32(prefixes.len()))
            }
        };
        Some(CachedEndpoint {
            selected: f.selected,
            network: names
                .networks
                .id(&Maybe(f.network.cloned()), old.map(|o| o.network)),
            cluster: names
                .clusters
                .id(&Maybe(f.cluster.cloned()), old.map(|o| o.cluster)),
            locality: names.localities.id(f.locality, old.map(|o| o.locality)),
            transport: f.transport,
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
pub(super) struct CacheParts<'s> {
    pub(super) cache: &'s mut [Option<CachedEndpoint>],
    pub(super) prefixes: &'s mut Vec<u8>,
    pub(super) replaced: &'s [(usize, CachedEndpoint)],
    pub(super) reshaped: &'s bool,
    pub(super) garbage: &'s mut usize,
}

/// A key's hash for `ServiceState::tables` (`DefaultHasher::new` has fixed keys).
pub(super) fn key_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{ep, svc};

    #[test]
    fn shards_keep_istio_order_whatever_the_order_of_arrival() {
        let mut state = ServiceState::new("outbound|80||a".into(), svc("a"));
        let c = |name: &str| Some(name.parse::<ClusterId>().unwrap());
        let order = |state: &ServiceState| {
            (0..state.keys.len())
                .map(|i| {
                    let c = state.shard_of(i).map_or("-", |c| c.as_str());
                    format!("{c}/{}", state.key_of(i))
                })
                .collect::<Vec<_>>()
        };
        state.upsert(c("c2"), "x", ep("10.0.0.1", "n1"));
        state.upsert(c("c1"), "y", ep("10.0.0.2", "n1"));
        state.upsert(None, "z", ep("10.0.0.3", "n1"));
        state.upsert(c("c1"), "w", ep("10.0.0.4", "n1"));
        assert!(state.unsorted);
        assert!(state.remove(&c("c1"), "y"));
        assert!(!state.remove(&c("c1"), "y"), "removed twice");
        assert!(!state.remove(&c("c3"), "y"), "no such shard");
        // Upserted after its removal in the same apply: a new endpoint, last of its shard.
        state.upsert(c("c1"), "y", ep("10.0.0.5", "n1"));
        state.settle();
        assert_eq!(order(&state), ["-/z", "c1/w", "c1/y", "c2/x"]);
        assert_eq!(state.endpoints[2].addresses, ["10.0.0.5"]);
        for i in 0..state.keys.len() {
            let (cluster, key) = (state.shard_of(i).cloned(), state.key_of(i));
            assert_eq!(state.position(&cluster, key), Some(i), "{key}");
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
        // Settling keeps only live keys' text and live shards, sorted.
        assert_eq!(state.key_text, "zvux");
        assert_eq!(state.shards, [None, c("c1"), c("c2")]);
        assert!(state.remove(&c("c2"), "x"));
        state.settle();
        assert_eq!((state.key_text.as_str(), state.shards.len()), ("zvu", 2));
        assert_eq!(state.position(&c("c1"), "u"), Some(2));
    }
}
