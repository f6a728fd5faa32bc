//! `distribute` (L9–L11): the first rule whose `from` matches the proxy claims groups for its
//! `to` patterns and reweights them; unclaimed groups are emptied.

use super::parts::matches;
use super::{Decision, GroupReason};
use crate::assignment::LocalityGroup;
use crate::policy::Distribute;

/// Applies the first rule matching `proxy_locality`; returns false (nothing done) when none does.
pub(super) fn apply(
    rules: &[Distribute],
    proxy_locality: &str,
    groups: &mut [LocalityGroup],
    reasons: &mut [GroupReason],
) -> bool {
    let Some(rule) = rules.iter().find(|r| matches(&r.from, proxy_locality)) else {
        return false;
    };
    let mut claimed = vec![false; groups.len()];
    for (pattern, share) in &rule.to {
        let members: Vec<usize> = (0..groups.len())
            .filter(|&i| !claimed[i] && matches(pattern, &groups[i].label))
            .collect();
        // L29: the bases' sum and each base × share wrap modulo 2^32.
        let base = |g: &LocalityGroup| g.weight.unwrap_or(1);
        let total = members
            .iter()
            .fold(0u32, |t, &i| t.wrapping_add(base(&groups[i])));
        for &i in &members {
            claimed[i] = true;
            let product = base(&groups[i]).wrapping_mul(*share);
            // ceil(product / T) in float64; T = 0 gives +Inf/NaN, which Go turns into 0 on amd64
            // and then does not write (L29).
            let weight = if total == 0 {
                0
            } else {
                (f64::from(product) / f64::from(total)).ceil() as u32
            };
            if weight > 0 {
                groups[i].weight = Some(weight);
            }
            reasons[i].decision = Decision::Distributed {
                from: rule.from.clone(),
                to: pattern.clone(),
                share: *share,
            };
        }
    }
    for (i, group) in groups.iter_mut().enumerate() {
        if !claimed[i] {
            group.endpoints.clear();
            reasons[i].decision = Decision::Unclaimed {
                from: rule.from.clone(),
            };
        }
    }
    true
}
