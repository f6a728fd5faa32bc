//! Group-level priorities: locality failover levels (L12–L14) and zone-aware regional buckets
//! (L21). Both compose with the priority a group enters with (a failoverPriority tier, or 0)
//! and compact.

#[cfg(test)]
use super::parts::split;
use super::parts::{Parts, compact};
use super::{Decision, StageGroups};
use crate::policy::Failover;

/// L12, L13: 0 same subzone, 1 same zone, 2 same region, 3 other region, 4 other region that is
/// not the first matching rule's target.
#[inline]
pub(crate) fn level(proxy: Parts<'_>, group: Parts<'_>, rules: &[Failover]) -> u8 {
    let (pr, pz, ps) = proxy;
    let (gr, gz, gs) = group;
    if pr == gr && pz == gz && ps == gs {
        return 0;
    }
    if pr == gr && pz == gz {
        return 1;
    }
    if pr == gr {
        return 2;
    }
    match rules.iter().find(|r| r.from == pr) {
        Some(rule) if rule.to != gr => 4,
        _ => 3,
    }
}

/// L21: 0 the proxy's region, 1 the first matching rule's target region, else 2.
#[inline]
pub(crate) fn bucket(proxy: Parts<'_>, group: Parts<'_>, rules: &[Failover]) -> u8 {
    let (pr, gr) = (proxy.0, group.0);
    if pr == gr {
        return 0;
    }
    match rules.iter().find(|r| r.from == pr) {
        Some(rule) if rule.to == gr => 1,
        _ => 2,
    }
}

/// L14: raw = priority × 5 + level, compacted.
pub(super) fn apply_levels<G: StageGroups>(rules: &[Failover], proxy: Parts<'_>, groups: &mut G) {
    compose(
        groups,
        5,
        |group| level(proxy, group, rules),
        |tier, level| Decision::Failover { tier, level },
    );
}

/// L21: raw = priority × 3 + bucket, compacted.
pub(super) fn apply_buckets<G: StageGroups>(rules: &[Failover], proxy: Parts<'_>, groups: &mut G) {
    compose(
        groups,
        3,
        |group| bucket(proxy, group, rules),
        |tier, bucket| Decision::ZoneAware { tier, bucket },
    );
}

/// raw = entry priority × `base` + the group's rank by locality, then compaction.
fn compose<G: StageGroups>(
    groups: &mut G,
    base: u32,
    rank: impl Fn(Parts<'_>) -> u8,
    decision: impl Fn(u32, u8) -> Decision,
) {
    for g in 0..groups.len() {
        let r = rank(groups.parts(g));
        let priority = groups.priority(g);
        groups.set_priority(g, priority.wrapping_mul(base).wrapping_add(u32::from(r)));
        groups.decide(g, || decision(priority, r));
    }
    compact(groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_buckets() {
        let rules = [Failover {
            from: "r1".into(),
            to: "r2".into(),
        }];
        let p = "r1/z1/s1";
        let got: Vec<u8> = ["r1/z1/s1", "r1/z1/s2", "r1/z2", "r2", "r3", ""]
            .iter()
            .map(|g| level(split(p), split(g), &rules))
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 4, 4]);
        assert_eq!(level(split(""), split(""), &rules), 0);
        assert_eq!(level(split(""), split("r1"), &rules), 3);
        assert_eq!(bucket(split(p), split("r1/z9"), &rules), 0);
        assert_eq!(bucket(split(p), split("r2/z1"), &rules), 1);
        assert_eq!(bucket(split(p), split("r3"), &rules), 2);
    }
}
