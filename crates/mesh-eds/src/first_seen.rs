//! Distinct values numbered in order of first appearance: a scan while there are few (the usual
//! case: a service has a handful of networks and localities), a hash map once there are many, so
//! numbering n values costs O(n) whatever their mix.

use std::collections::HashMap;
use std::hash::Hash;

use crate::rules::index_u32;

/// Up to this many distinct values are found by a linear scan.
const LINEAR: usize = 8;

/// The distinct values seen so far, each with its number (its index in [`FirstSeen::values`]).
#[derive(Debug, Clone)]
pub(crate) struct FirstSeen<T> {
    values: Vec<T>,
    /// Built when `values` outgrows [`LINEAR`].
    map: HashMap<T, u32>,
}

impl<T> Default for FirstSeen<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            map: HashMap::new(),
        }
    }
}

impl<T: Copy + Eq + Hash> FirstSeen<T> {
    /// The number of `value`, numbering it next if it is new. `same` is the scan's equality (it
    /// may short-cut, e.g. on pointer equality), which must agree with `Eq`.
    pub(crate) fn number(&mut self, value: T, same: impl Fn(&T, &T) -> bool) -> u32 {
        let found = if self.values.len() <= LINEAR {
            self.values
                .iter()
                .position(|v| same(v, &value))
                .map(index_u32)
        } else {
            self.map.get(&value).copied()
        };
        if let Some(n) = found {
            return n;
        }
        let n = index_u32(self.values.len());
        self.values.push(value);
        if self.values.len() > LINEAR {
            if self.map.is_empty() {
                self.map.extend(self.values.iter().copied().zip(0u32..));
            } else {
                self.map.insert(value, n);
            }
        }
        n
    }

    /// Forgets every value, keeping the allocations.
    pub(crate) fn clear(&mut self) {
        self.values.clear();
        self.map.clear();
    }

    /// The distinct values, in order of first appearance.
    pub(crate) fn values(&self) -> &[T] {
        &self.values
    }

    /// The distinct values, in order of first appearance.
    pub(crate) fn into_values(self) -> Vec<T> {
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_first_appearance_below_and_above_the_scan_limit() {
        let mut seen = FirstSeen::default();
        let input: Vec<u32> = (0..40).map(|i| (i * 7) % 23).collect();
        let numbers: Vec<u32> = input
            .iter()
            .map(|&v| seen.number(v, |a, b| a == b))
            .collect();
        let mut expected_values: Vec<u32> = Vec::new();
        for &v in &input {
            if !expected_values.contains(&v) {
                expected_values.push(v);
            }
        }
        assert_eq!(seen.values(), expected_values.as_slice());
        for (v, n) in input.iter().zip(&numbers) {
            assert_eq!(expected_values[*n as usize], *v);
        }
        seen.clear();
        assert!(seen.values().is_empty());
        assert_eq!(seen.number(5, |a, b| a == b), 0);
    }
}
