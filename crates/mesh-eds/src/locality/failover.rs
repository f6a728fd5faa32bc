//! Group-level priorities: locality failover levels (L12–L14) and zone-aware regional buckets
//! (L21). Both compose with the priority a group enters with (a failoverPriority tier, or 0)
//! and compact.

use super::parts::{Parts, compact};
use super::{Decision, GroupPriorities};
use crate::policy::Failover;

/// L12, L13: 0 same subzone, 1 same zone, 2 same region, 3 other region, 4 other region that is
/// not the first matching rule's target.
#[inline(always)] // per group of every view on the push path
pub(crate) fn level(proxy: Parts<'_>, group: Parts<'_>, rules: &[Failover]) -> u8 {
    if proxy.region() == group.region() {
        if proxy.zone() != group.zone() {
            return 2;
        }
        return if proxy.subzone() == group.subzone() {
            0
        } else {
            1
        };
    }
    match rules.iter().find(|r| proxy.region().is(&r.from)) {
        Some(rule) if !group.region().is(&rule.to) => 4,
        _ => 3,
    }
}

/// L21: 0 the proxy's region, 1 the first matching rule's target region, else 2.
#[inline(always)]
pub(crate) fn bucket(proxy: Parts<'_>, group: Parts<'_>, rules: &[Failover]) -> u8 {
    if proxy.region() == group.region() {
        return 0;
    }
    match rules.iter().find(|r| proxy.region().is(&r.from)) {
        Some(rule) if group.region().is(&rule.to) => 1,
        _ => 2,
    }
}

/// L14: raw = priority × 5 + level, compacted.
pub(super) fn apply_levels<G: GroupPriorities>(
    rules: &[Failover],
    proxy: Parts<'_>,
    groups: &mut G,
) {
    compose(
        groups,
        5,
        |group| level(proxy, group, rules),
        |tier, level| Decision::Failover { tier, level },
    );
}

/// L21: raw = priority × 3 + bucket, compacted.
pub(super) fn apply_buckets<G: GroupPriorities>(
    rules: &[Failover],
    proxy: Parts<'_>,
    groups: &mut G,
) {
    compose(
        groups,
        3,
        |group| bucket(proxy, group, rules),
        |tier, bucket| Decision::ZoneAware { tier, bucket },
    );
}

/// raw = entry priority × `base` + the group's rank by locality, then compaction.
fn compose<G: GroupPriorities>(
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
    use crate::locality::parts::Keyed;

    fn of(locality: &str) -> Keyed<'_> {
        Keyed::new(locality)
    }

    #[test]
    fn levels_and_buckets() {
        let rules = [Failover {
            from: "r1".into(),
            to: "r2".into(),
        }];
        let p = "r1/z1/s1";
        let got: Vec<u8> = ["r1/z1/s1", "r1/z1/s2", "r1/z2", "r2", "r3", ""]
            .iter()
            .map(|g| level(of(p).parts(), of(g).parts(), &rules))
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 4, 4]);
        assert_eq!(level(of("").parts(), of("").parts(), &rules), 0);
        assert_eq!(level(of("").parts(), of("r1").parts(), &rules), 3);
        assert_eq!(bucket(of(p).parts(), of("r1/z9").parts(), &rules), 0);
        assert_eq!(bucket(of(p).parts(), of("r2/z1").parts(), &rules), 1);
        assert_eq!(bucket(of(p).parts(), of("r3").parts(), &rules), 2);
    }
}
