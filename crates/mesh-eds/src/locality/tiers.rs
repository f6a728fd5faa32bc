//! `failoverPriority` (L15–L19): each endpoint's tier from its paired labels against the
//! proxy's, each group split into one sub-group per tier, the sub-groups compacted across the
//! assignment and put in place of the groups.

use std::collections::BTreeMap;

use super::parts::compact;
use super::{Decision, Part, StageGroups};
use crate::policy::NETWORK_LABEL;

/// The parsed entries: keys in order, the fixed values (L15: the last fixed value of a key wins
/// for every position of that key), and whether the literal first entry is the network key (L17).
pub(crate) struct Ranking<'a> {
    keys: Vec<&'a str>,
    wanted: Vec<&'a str>,
    network_first: bool,
}

impl<'a> Ranking<'a> {
    /// The ranking of `entries` for a proxy with `proxy_labels`.
    pub(crate) fn new(entries: &'a [String], proxy_labels: &'a BTreeMap<String, String>) -> Self {
        let mut fixed: BTreeMap<&str, &str> = BTreeMap::new();
        let mut keys = Vec::with_capacity(entries.len());
        for entry in entries {
            let parts: Vec<&str> = entry.split('=').collect();
            keys.push(parts[0]);
            if let [key, value] = parts[..] {
                fixed.insert(key, value);
            }
        }
        let wanted = keys
            .iter()
            .map(|k| {
                fixed
                    .get(k)
                    .copied()
                    .or_else(|| proxy_labels.get(*k).map(String::as_str))
                    .unwrap_or("")
            })
            .collect();
        Self {
            keys,
            wanted,
            network_first: entries.first().is_some_and(|e| e == NETWORK_LABEL),
        }
    }

    /// L16, L17: n − j for the first mismatching key j (absent reads as ""), 0 when all match;
    /// a mismatch on a literal first network key adds n and goes on.
    pub(crate) fn tier<'l>(&self, label: impl Fn(&str) -> Option<&'l str>) -> u32 {
        let n = self.keys.len() as u32;
        let mut tier = 0u32;
        for (j, (key, wanted)) in self.keys.iter().zip(&self.wanted).enumerate() {
            if label(key).unwrap_or("") == *wanted {
                continue;
            }
            if j == 0 && self.network_first {
                tier = n;
                continue;
            }
            return tier + n - j as u32;
        }
        tier
    }
}

/// L18, L19 for a proxy with labels (without, nothing is split: [`super::Step::of`]).
pub(super) fn apply<G: StageGroups>(
    entries: &[String],
    proxy_labels: &BTreeMap<String, String>,
    groups: &mut G,
) {
    if groups.len() == 0 {
        return;
    }
    let ranking = Ranking::new(entries, proxy_labels);
    let mut tiers: Vec<u32> = Vec::new();
    let mut parts: Vec<Part> = Vec::with_capacity(groups.len());
    let mut distinct: Vec<u32> = Vec::new();
    for g in 0..groups.len() {
        let start = tiers.len();
        tiers.extend(
            (0..groups.endpoints(g)).map(|e| ranking.tier(|key| groups.endpoint_label(g, e, key))),
        );
        let own = &tiers[start..];
        distinct.clear();
        distinct.extend_from_slice(own);
        distinct.sort_unstable();
        distinct.dedup();
        for &tier in &distinct {
            // L18, L29: the weight is the wrapping sum of the members' weights, always set.
            let weight = (0..)
                .zip(own)
                .filter(|(_, t)| **t == tier)
                .fold(0u32, |s, (e, _)| {
                    s.wrapping_add(groups.endpoint_weight(g, e))
                });
            parts.push(Part {
                group: g,
                tier,
                weight,
            });
        }
    }
    groups.split(&tiers, &parts);
    for (g, part) in parts.iter().enumerate() {
        groups.decide(g, || Decision::Tiered { tier: part.tier });
    }
    compact(groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tiers_follow_the_first_mismatch_and_the_network_rule() {
        let proxy = labels(&[(NETWORK_LABEL, "n1"), ("a", "1"), ("b", "2")]);
        let entries: Vec<String> = [NETWORK_LABEL, "a", "b"].map(String::from).to_vec();
        let r = Ranking::new(&entries, &proxy);
        let tier = |l: &BTreeMap<String, String>| r.tier(|k| l.get(k).map(String::as_str));
        assert_eq!(tier(&proxy), 0);
        assert_eq!(tier(&labels(&[(NETWORK_LABEL, "n1"), ("a", "1")])), 1);
        assert_eq!(tier(&labels(&[(NETWORK_LABEL, "n1")])), 2);
        assert_eq!(tier(&labels(&[("a", "1"), ("b", "2")])), 3);
        assert_eq!(tier(&labels(&[])), 5);
        // Fixed values: the last one of a key applies to both positions; a=b=c is key a.
        let entries: Vec<String> = ["a=9", "b", "a=1=x"].map(String::from).to_vec();
        let r = Ranking::new(&entries, &proxy);
        assert_eq!(r.tier(|k| proxy.get(k).map(String::as_str)), 3);
    }
}
