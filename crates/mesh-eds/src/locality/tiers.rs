//! `failoverPriority` (L15–L19): each endpoint's tier from its paired labels against the
//! proxy's, each group split into one sub-group per tier, the sub-groups compacted across the
//! assignment and put in place of the groups.

use std::collections::BTreeMap;

use super::parts::dense_rank;
use super::{Decision, EndpointLabels, GroupReason};
use crate::assignment::{LbEndpoint, LocalityGroup};
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

/// L18, L19. Returns false (nothing done) when the proxy has no labels or there are no groups.
pub(super) fn apply(
    entries: &[String],
    proxy_labels: Option<&BTreeMap<String, String>>,
    labels: &dyn EndpointLabels,
    groups: &mut Vec<LocalityGroup>,
    reasons: &mut Vec<GroupReason>,
) -> bool {
    let Some(proxy_labels) = proxy_labels else {
        return false;
    };
    if groups.is_empty() {
        return false;
    }
    let ranking = Ranking::new(entries, proxy_labels);
    let mut split = Vec::with_capacity(groups.len());
    let mut split_reasons = Vec::with_capacity(groups.len());
    for (g, (group, reason)) in groups.drain(..).zip(reasons.drain(..)).enumerate() {
        let tiers: Vec<u32> = (0..group.endpoints.len())
            .map(|e| ranking.tier(|key| labels.label(g, e, key)))
            .collect();
        let mut distinct = tiers.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut endpoints: Vec<Option<LbEndpoint>> =
            group.endpoints.into_iter().map(Some).collect();
        for tier in distinct {
            let members: Vec<LbEndpoint> = endpoints
                .iter_mut()
                .zip(&tiers)
                .filter(|(_, t)| **t == tier)
                .filter_map(|(e, _)| e.take())
                .collect();
            // L18, L29: the weight is the wrapping sum of the members' weights, always set.
            let weight = members.iter().fold(0u32, |s, e| s.wrapping_add(e.weight));
            split.push(LocalityGroup {
                label: group.label.clone(),
                weight: Some(weight),
                priority: tier,
                endpoints: members,
            });
            split_reasons.push(GroupReason {
                source: reason.source,
                decision: Decision::Tiered { tier },
                priority: tier,
                weight: Some(weight),
            });
        }
    }
    let raw: Vec<u32> = split.iter().map(|g| g.priority).collect();
    for ((group, reason), p) in split
        .iter_mut()
        .zip(&mut split_reasons)
        .zip(dense_rank(&raw))
    {
        group.priority = p;
        reason.priority = p;
    }
    *groups = split;
    *reasons = split_reasons;
    true
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
