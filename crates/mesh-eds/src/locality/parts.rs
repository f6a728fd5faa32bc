//! What every part of the stage reads the same way: locality strings (L28), locality patterns
//! (L9) and the compaction of raw priorities (L14, L19, L21).

/// `region/zone/subzone` of a locality string: "" is the empty locality; a fourth or later part
/// is ignored (L28).
pub(crate) fn split(locality: &str) -> (&str, &str, &str) {
    let mut parts = locality.split('/');
    let region = parts.next().unwrap_or("");
    let zone = parts.next().unwrap_or("");
    let subzone = parts.next().unwrap_or("");
    (region, zone, subzone)
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
    }
}
