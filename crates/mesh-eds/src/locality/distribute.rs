//! `distribute` (L9–L11): the first rule whose `from` matches the proxy claims groups for its
//! `to` patterns and reweights them; unclaimed groups are emptied.

use super::parts::matches;
use super::{Decision, StageGroups};
use crate::policy::Distribute;

/// L9: the first rule whose `from` matches `proxy_locality`.
pub(super) fn rule<'r>(rules: &'r [Distribute], proxy_locality: &str) -> Option<&'r Distribute> {
    rules.iter().find(|r| matches(&r.from, proxy_locality))
}

/// L10, L11: `rule` (the one [`rule`] found) claims and reweights the groups.
pub(super) fn apply<G: StageGroups>(rule: &Distribute, groups: &mut G) {
    let mut claimed = vec![false; groups.len()];
    let mut members: Vec<usize> = Vec::new();
    for (pattern, share) in &rule.to {
        members.clear();
        members.extend(
            (0..groups.len()).filter(|&g| !claimed[g] && matches(pattern, groups.label(g))),
        );
        // L29: the bases' sum and each base × share wrap modulo 2^32.
        let base = |groups: &G, g: usize| groups.weight(g).unwrap_or(1);
        let total = members
            .iter()
            .fold(0u32, |t, &g| t.wrapping_add(base(groups, g)));
        for &g in &members {
            claimed[g] = true;
            let product = base(groups, g).wrapping_mul(*share);
            // ceil(product / T) in float64; T = 0 gives +Inf/NaN, which Go turns into 0 on amd64
            // and then does not write (L29).
            let weight = if total == 0 {
                0
            } else {
                (f64::from(product) / f64::from(total)).ceil() as u32
            };
            if weight > 0 {
                groups.set_weight(g, weight);
            }
            groups.decide(g, || Decision::Distributed {
                from: rule.from.clone(),
                to: pattern.clone(),
                share: *share,
            });
        }
    }
    for (g, claimed) in claimed.iter().enumerate() {
        if !claimed {
            groups.clear_endpoints(g);
            groups.decide(g, || Decision::Unclaimed {
                from: rule.from.clone(),
            });
        }
    }
}
