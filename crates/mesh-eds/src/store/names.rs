//! The store's shared tables of what endpoints name (networks, registry clusters, locality
//! labels): each value kept once and named by a `u32` id, so the re-encoding cache holds ids,
//! not strings. Ids are dense and never reused; a table only grows (a value no endpoint names
//! any more stays, as a label set or a network name is small and few).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use mesh_model::{ClusterId, NetworkId};

use crate::rules::index_u32;

/// One table: values by id, and ids by value.
#[derive(Debug)]
pub(super) struct Table<T> {
    values: Vec<T>,
    ids: HashMap<T, u32>,
    /// The id handed out last: a service's endpoints mostly name the same values in a row.
    last: Option<u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            ids: HashMap::new(),
            last: None,
        }
    }
}

impl<T: Hash + Eq + Clone> Table<T> {
    /// The id of `value`, added if new; `hint` (the id the value had before, if any) is tried
    /// first, then the id handed out last, before the table is searched.
    pub(super) fn id<Q>(&mut self, value: &Q, hint: Option<u32>) -> u32
    where
        T: std::borrow::Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        for guess in [hint, self.last].into_iter().flatten() {
            if self
                .values
                .get(guess as usize)
                .is_some_and(|v| v.borrow() == value)
            {
                return guess;
            }
        }
        if let Some(&id) = self.ids.get(value) {
            self.last = Some(id);
            return id;
        }
        let id = index_u32(self.values.len());
        let value = T::from(value);
        self.values.push(value.clone());
        self.ids.insert(value, id);
        self.last = Some(id);
        id
    }

    /// The value of `id`, `None` for an id this table did not hand out.
    pub(super) fn get(&self, id: u32) -> Option<&T> {
        self.values.get(id as usize)
    }
}

/// A network or cluster id, or none (`""`): `Option` with the `From<&Option<_>>` tables need.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Maybe<T>(pub(super) Option<T>);

impl<T: Clone> From<&Maybe<T>> for Maybe<T> {
    fn from(v: &Maybe<T>) -> Self {
        v.clone()
    }
}

/// The store's tables.
#[derive(Debug, Default)]
pub(super) struct Names {
    pub(super) networks: Table<Maybe<NetworkId>>,
    pub(super) clusters: Table<Maybe<ClusterId>>,
    pub(super) localities: Table<Arc<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_get_one_id_and_read_back() {
        let mut names = Names::default();
        let a = names.localities.id("r1/z1", None);
        let b = names.localities.id("r2/z1", None);
        assert_ne!(a, b);
        assert_eq!(names.localities.id("r1/z1", None), a);
        // A hint that is wrong (or names no value) is only a guess.
        assert_eq!(names.localities.id("r1/z1", Some(b)), a);
        assert_eq!(names.localities.id("r2/z1", Some(a)), b);
        assert_eq!(names.localities.id("r2/z1", Some(99)), b);
        assert_eq!(names.localities.get(b).map(|l| &**l), Some("r2/z1"));
        assert_eq!(names.localities.get(7), None);
        let n1 = Maybe(Some("n1".parse::<NetworkId>().unwrap()));
        let none = names.networks.id(&Maybe(None), None);
        assert_eq!(names.networks.id(&n1, Some(none)), none + 1);
        assert_eq!(names.networks.get(none), Some(&Maybe(None)));
    }
}
