//! What every part of the stage reads the same way: locality strings (L28), locality patterns
//! (L9) and the compaction of raw priorities (L14, L19, L21).

use std::ops::Range;

use super::StageGroups;

/// A locality's `(region, zone, subzone)`.
pub(crate) type Parts<'a> = (&'a str, &'a str, &'a str);

/// `region/zone/subzone` of a locality string: "" is the empty locality; a fourth or later part
/// is ignored (L28).
pub(crate) fn split(locality: &str) -> Parts<'_> {
    let [region, zone, subzone] = split_ranges(locality);
    (&locality[region], &locality[zone], &locality[subzone])
}

/// Where [`split`]'s parts are in the string (a missing part is empty).
pub(crate) fn split_ranges(locality: &str) -> [Range<usize>; 3] {
    let mut ranges = [0..0, 0..0, 0..0];
    let mut start = 0;
    for (range, part) in ranges.iter_mut().zip(locality.split('/')) {
        *range = start..start + part.len();
        start += part.len() + 1;
    }
    ranges
}

/// Whether `locality` matches the `distribute` pattern (L9): the region must be `*` or equal; the
/// zone and subzone `*`, empty or equal.
pub(crate) fn matches(pattern: &str, locality: &str) -> bool {
    let (pr, pz, ps) = split(pattern);
    let (r, z, s) = split(locality);
    let loose = |p: &str, v: &str| p == "*" || p.is_empty() || p == v;
    (pr == "*" || pr == r) && loose(pz, z) && loose(ps, s)
}

/// Each raw value's rank among the distinct raw values: priorities 0..N without gaps.
pub(crate) fn dense_rank(raw: &[u32]) -> Vec<u32> {
    let mut distinct = raw.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    raw.iter()
        .map(|r| distinct.binary_search(r).map_or(0, |i| i as u32))
        .collect()
}

/// Replaces every group's (raw) priority by its dense rank ([`dense_rank`]); without allocating
/// when every raw priority is below 128, as they are but for many failoverPriority tiers.
pub(super) fn compact<G: StageGroups>(groups: &mut G) {
    let mut seen = 0u128;
    for g in 0..groups.len() {
        match 1u128.checked_shl(groups.priority(g)) {
            Some(bit) => seen |= bit,
            None => {
                let raw: Vec<u32> = (0..groups.len()).map(|g| groups.priority(g)).collect();
                for (g, p) in dense_rank(&raw).into_iter().enumerate() {
                    groups.set_priority(g, p);
                }
                return;
            }
        }
    }
    for g in 0..groups.len() {
        let below = (1u128 << groups.priority(g)) - 1;
        groups.set_priority(g, (seen & below).count_ones());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_istio_reads_them() {
        assert!(matches("r1", "r1/z1/s1"));
        assert!(matches("r1/z1", "r1/z1/s2"));
        assert!(!matches("r1/z1", "r1/z2"));
        assert!(matches("*", ""));
        assert!(!matches("r1", ""));
        assert!(matches("r1/*/s1", "r1/z9/s1"));
        assert!(matches("r1/z1/s1/extra", "r1/z1/s1"));
    }

    #[test]
    fn compaction_is_a_dense_rank() {
        assert_eq!(dense_rank(&[9, 0, 4, 9, 2]), [3, 0, 2, 3, 1]);
        assert_eq!(split("a/b/c/d"), ("a", "b", "c"));
        assert_eq!(split(""), ("", "", ""));
        assert_eq!(split("a//c"), ("a", "", "c"));
        assert_eq!(split("a"), ("a", "", ""));
    }
}
