//! Immutable snapshots: every service encoded once, a class's bytes written from it when read,
//! and the handle readers load them through (`arc-swap`: readers never block the writer).

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::encoded::EncodedService;
use crate::error::{EdsError, ServeError};
use crate::index::GatewayIndex;
use crate::input::ProxyClass;
use crate::scope::ScopeProxy;
use crate::view::View;

pub(super) type LegacyBytes = Arc<Result<Vec<u8>, EdsError>>;

/// One service in a snapshot, shared between snapshots when nothing touched it.
#[derive(Debug, Clone)]
pub(super) struct ServiceSlot {
    /// Encoded once for every modern-profile class (`None` when there is none).
    pub(super) encoded: Option<Arc<EncodedService>>,
    /// Parallel to the snapshot's classes: the bytes of each pre-1.8-profile class (empty when
    /// no class is pre-1.8).
    pub(super) legacy: Vec<Option<LegacyBytes>>,
    /// For a service whose scope restricts (rules S7–S24): encoded once per distinct scope of
    /// the modern classes (their cluster and node), sorted; empty otherwise.
    pub(super) scoped: Vec<(ScopeProxy, Arc<EncodedService>)>,
}

/// An immutable view of every (service, proxy class) assignment at one version.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub(super) version: u64,
    pub(super) index: Arc<GatewayIndex>,
    /// Sorted.
    pub(super) classes: Vec<ProxyClass>,
    /// Parallel to `classes`.
    pub(super) views: Vec<Arc<View>>,
    pub(super) services: ServiceTable,
}

/// A snapshot's services, sorted by name. The names are shared between snapshots while no
/// service comes or goes, so the next snapshot copies one pointer a service (not a tree).
#[derive(Debug, Clone, Default)]
pub(super) struct ServiceTable {
    pub(super) names: Arc<[Arc<str>]>,
    /// Parallel to `names`.
    pub(super) slots: Vec<Arc<ServiceSlot>>,
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
    pub(super) fn new(mut services: Vec<(Arc<str>, Arc<ServiceSlot>)>) -> Self {
        services.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (names, slots): (Vec<_>, Vec<_>) = services.into_iter().unzip();
        Self {
            names: names.into(),
            slots,
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&Arc<ServiceSlot>> {
        let i = self.names.binary_search_by(|n| n.as_ref().cmp(name)).ok()?;
        self.slots.get(i)
    }

    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(AsRef::as_ref)
    }

    /// This table with the services named in `changed` (sorted, distinct) replaced by what
    /// `slot` gives for them (from their slot here, if any), or removed where it gives `None`;
    /// the rest kept.
    pub(super) fn merged(
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
    /// `cluster_name` to `buf`. Writes nothing and says why when the class is not served or no
    /// service has that name ([`ServeError`]), or when the class's Istio version fails on the
    /// service (rule H1.2, [`ServeError::Eds`]).
    pub fn encode_into(
        &self,
        class: &ProxyClass,
        cluster_name: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(), ServeError> {
        let i = self
            .classes
            .binary_search(class)
            .map_err(|_| ServeError::UnknownClass {
                class: format!("{class:?}"),
            })?;
        let unknown = || ServeError::UnknownCluster {
            cluster_name: cluster_name.to_owned(),
        };
        let slot = self.services.get(cluster_name).ok_or_else(unknown)?;
        if let Some(Some(legacy)) = slot.legacy.get(i) {
            return match &**legacy {
                Ok(bytes) => {
                    buf.extend_from_slice(bytes);
                    Ok(())
                }
                Err(e) => Err(ServeError::Eds(e.clone())),
            };
        }
        let encoded = if slot.scoped.is_empty() {
            slot.encoded.as_ref().ok_or_else(unknown)?
        } else {
            let j = slot
                .scoped
                .binary_search_by(|(p, _)| p.cmp_class(&self.classes[i]))
                .map_err(|_| unknown())?;
            &slot.scoped[j].1
        };
        let written = encoded.encode_into(&self.views[i], buf);
        // Every modern view of this snapshot shares the index its services were encoded for, so
        // the push path always serves it.
        debug_assert!(written.is_ok(), "{written:?}");
        Ok(written?)
    }

    /// [`Snapshot::encode_into`] a new buffer.
    pub fn encoded(&self, class: &ProxyClass, cluster_name: &str) -> Result<Vec<u8>, ServeError> {
        let mut buf = Vec::new();
        self.encode_into(class, cluster_name, &mut buf)?;
        Ok(buf)
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
pub struct SnapshotReader(pub(super) Arc<ArcSwap<Snapshot>>);

impl SnapshotReader {
    /// The current snapshot.
    pub fn load(&self) -> Arc<Snapshot> {
        self.0.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                scoped: Vec::new(),
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
}
