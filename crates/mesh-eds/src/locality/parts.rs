//! What every part of the stage reads the same way: locality strings (L28), locality patterns
//! (L9) and the compaction of raw priorities (L14, L19, L21).

use std::ops::Range;

use super::GroupPriorities;

/// A locality's region, zone and subzone (L28), as the rules that compare them with the proxy's
/// read them (L12, L13, L21): the keys of its parts ([`part_keys`]) and the string they locate
/// them in. Three words: the rules take it for every group of every view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    keys: &'a [PartKey; 3],
    text: &'a [u8],
}

impl<'a> Parts<'a> {
    /// The parts `keys` (from [`part_keys`]) locate in `text`.
    #[inline]
    pub(crate) fn new(keys: &'a [PartKey; 3], text: &'a str) -> Self {
        Self {
            keys,
            text: text.as_bytes(),
        }
    }

    #[inline(always)]
    pub(crate) fn region(self) -> LocalityPart<'a> {
        self.part(0)
    }

    #[inline(always)]
    pub(crate) fn zone(self) -> LocalityPart<'a> {
        self.part(1)
    }

    #[inline(always)]
    pub(crate) fn subzone(self) -> LocalityPart<'a> {
        self.part(2)
    }

    #[inline(always)]
    fn part(self, i: usize) -> LocalityPart<'a> {
        LocalityPart {
            key: &self.keys[i],
            text: self.text,
        }
    }
}

/// A locality string with its parts keyed: what [`Parts`] borrows where nothing keeps the keys
/// (the value path, which keys each group as the stage reads it).
#[derive(Debug, Clone)]
pub(crate) struct Keyed<'a> {
    keys: [PartKey; 3],
    text: &'a str,
}

impl<'a> Keyed<'a> {
    pub(crate) fn new(locality: &'a str) -> Self {
        Self {
            keys: part_keys(locality, 0),
            text: locality,
        }
    }

    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts::new(&self.keys, self.text)
    }
}

/// How many leading bytes of a part [`PartKey`] packs into one integer.
const HEAD: usize = 16;

/// Where one part of a locality is in a string, with its first [`HEAD`] bytes packed into an
/// integer: computed once per string (a view's locality, a service's group labels), so that
/// comparing two parts is comparing two integers and two lengths — the text is read only for
/// parts longer than [`HEAD`] bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PartKey {
    head: u128,
    start: u32,
    len: u32,
}

/// The keys of `locality`'s region, zone and subzone ([`split_ranges`]), positioned as if
/// `locality` started at `offset` of a longer string.
pub(crate) fn part_keys(locality: &str, offset: usize) -> [PartKey; 3] {
    split_ranges(locality).map(|range| key(locality, range, offset))
}

/// The key of `text[range]`, positioned as if `text` started at `offset` of a longer string.
fn key(text: &str, range: Range<usize>, offset: usize) -> PartKey {
    let bytes = text.as_bytes().get(range.clone()).unwrap_or_default();
    let mut head = [0u8; HEAD];
    let n = bytes.len().min(HEAD);
    head[..n].copy_from_slice(&bytes[..n]);
    let at = |i: usize| u32::try_from(offset + i).unwrap_or(u32::MAX);
    PartKey {
        head: u128::from_le_bytes(head),
        start: at(range.start),
        len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
    }
}

/// One part (region, zone or subzone) of a locality: equal to another exactly when their texts
/// are equal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalityPart<'a> {
    key: &'a PartKey,
    /// The string the key locates the part in.
    text: &'a [u8],
}

impl LocalityPart<'_> {
    /// Whether this part's text is `text`.
    pub(crate) fn is(&self, text: &str) -> bool {
        let key = key(text, 0..text.len(), 0);
        *self
            == LocalityPart {
                key: &key,
                text: text.as_bytes(),
            }
    }

    /// The bytes after the first [`HEAD`].
    fn rest(&self) -> &[u8] {
        let start = self.key.start as usize;
        let end = start.saturating_add(self.key.len as usize);
        self.text
            .get(start.saturating_add(HEAD)..end)
            .unwrap_or_default()
    }
}

impl PartialEq for LocalityPart<'_> {
    #[inline(always)] // per group of every view
    fn eq(&self, other: &Self) -> bool {
        // Same length and same first HEAD bytes: the same text when it is no longer than HEAD.
        let (a, b) = (self.key, other.key);
        a.head == b.head
            && a.len == b.len
            && (a.len as usize <= HEAD || self.rest() == other.rest())
    }
}

/// `region/zone/subzone` of a locality string: "" is the empty locality; a fourth or later part
/// is ignored (L28).
pub(crate) fn split(locality: &str) -> (&str, &str, &str) {
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
pub(super) fn compact<G: GroupPriorities>(groups: &mut G) {
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
    // Each raw value's rank: the set bits of `seen` numbered in order.
    let mut rank = [0u8; 128];
    let (mut bits, mut next) = (seen, 0u8);
    while bits != 0 {
        rank[bits.trailing_zeros() as usize] = next;
        next += 1;
        bits &= bits - 1;
    }
    for g in 0..groups.len() {
        let raw = groups.priority(g) as usize;
        groups.set_priority(g, u32::from(rank[raw & 127]));
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

    #[test]
    fn parts_are_equal_exactly_when_their_texts_are() {
        let texts = [
            "",
            "a",
            "b",
            "ab",
            "a\0",
            "us-central1",
            "us-central1-a",
            "0123456789abcdef",
            "0123456789abcdeg",
            "0123456789abcdef0",
            "0123456789abcdef1",
            "0123456789abcdef01",
            "é",
            "\u{e9}x",
        ];
        for x in texts {
            for y in texts {
                // As a region, a zone (after another region) and a subzone, at any offset.
                let (kx, ky) = (Keyed::new(x), Keyed::new(y));
                let (px, py) = (kx.parts(), ky.parts());
                let lx = format!("r/{x}/{x}");
                let ly = format!("other/{y}/{y}");
                let (kx, ky) = (Keyed::new(&lx), Keyed::new(&ly));
                let (qx, qy) = (kx.parts(), ky.parts());
                let padded = format!("pad{ly}");
                let keys = part_keys(&ly, 3);
                let qp = Parts::new(&keys, &padded);
                assert_eq!(px.region() == py.region(), x == y, "{x:?} {y:?}");
                assert_eq!(qx.zone() == qy.zone(), x == y, "{x:?} {y:?}");
                assert_eq!(qx.subzone() == qp.subzone(), x == y, "{x:?} {y:?}");
                assert!(qx.region() != qp.region(), "{x:?} {y:?}");
                assert_eq!(px.region().is(y), x == y, "{x:?} {y:?}");
            }
        }
        assert!(!Keyed::new("a").parts().region().is("a/b"));
    }
}
