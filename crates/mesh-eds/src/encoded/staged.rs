//! The push path with the locality stage (L1): a view plans every group as the default path
//! does (M2–M15), then the stage's decisions ([`crate::locality`], the same code the value path
//! runs) are taken over the planned groups — priorities, `distribute` weights and emptied
//! groups, failoverPriority sub-groups — and the groups are written from the cached bytes with
//! their priority. Nothing is encoded again: a sub-group is a choice of cached entries.

use std::borrow::Cow;
use std::ops::Range;

use mesh_model::NetworkId;

use super::{Direct, EncodedService, Group, Member, Set, Sizes, Stage};
use crate::locality::{
    Decision, GroupPriorities, Part, Parts, StageGroups, Step, apply_step, gateway_parts_label,
};
use crate::modern::{NetworkRules, Routes, first_group_totals};
use crate::rules::gateway_weight;
use crate::view::View;

/// One output group as planned for a view.
#[derive(Debug, Clone)]
struct Planned<'s> {
    group: &'s Group,
    /// Its position in the service's groups.
    index: usize,
    /// Its direct entries: a range of [`Plans::sets`] or of [`Plans::members`].
    direct: PlannedDirect,
    /// A range of [`Plans::gateways`]: (gateway, share sum).
    gateways: Range<usize>,
    /// Its entries' lengths and weight sums (measured once).
    sizes: Sizes,
    weight: Option<u32>,
    priority: u32,
}

#[derive(Debug, Clone)]
enum PlannedDirect {
    Sets(Range<usize>),
    Members(Range<usize>),
}

/// Every group of one service as one view plans it, in flat buffers (no allocation a group).
struct Plans<'s> {
    service: &'s EncodedService,
    stage: &'s Stage,
    groups: Vec<Planned<'s>>,
    sets: Vec<&'s Set>,
    members: Vec<Member>,
    gateways: Vec<(u32, u32)>,
}

impl<'s> Plans<'s> {
    fn direct(&self, p: &Planned<'s>) -> Direct<'_, 's> {
        match &p.direct {
            PlannedDirect::Sets(r) => Direct::Sets(&self.sets[r.clone()]),
            PlannedDirect::Members(r) => Direct::Members(&self.members[r.clone()]),
        }
    }

    /// Group `g`'s direct members in output order (M3: input order across sets).
    fn direct_members(&self, g: usize) -> Cow<'_, [Member]> {
        let p = &self.groups[g];
        match self.direct(p) {
            Direct::Members(m) => Cow::Borrowed(m),
            Direct::Sets([set]) => Cow::Borrowed(&self.service.shape.members[set.kept.clone()]),
            Direct::Sets(sets) => {
                let mut merged: Vec<Member> = sets
                    .iter()
                    .flat_map(|set| self.service.shape.members[set.kept.clone()].iter().copied())
                    .collect();
                merged.sort_unstable_by_key(|m| m.input);
                Cow::Owned(merged)
            }
        }
    }
}

impl GroupPriorities for Plans<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.groups.len()
    }
    #[inline]
    fn parts(&self, g: usize) -> Parts<'_> {
        self.stage.parts(self.groups[g].index)
    }
    #[inline]
    fn priority(&self, g: usize) -> u32 {
        self.groups[g].priority
    }
    #[inline]
    fn set_priority(&mut self, g: usize, priority: u32) {
        self.groups[g].priority = priority;
    }
    #[inline]
    fn decide(&mut self, _: usize, _: impl FnOnce() -> Decision) {}
}

impl StageGroups for Plans<'_> {
    #[inline]
    fn label(&self, g: usize) -> &str {
        self.stage.label(self.groups[g].index)
    }
    #[inline]
    fn weight(&self, g: usize) -> Option<u32> {
        self.groups[g].weight
    }
    #[inline]
    fn set_weight(&mut self, g: usize, weight: u32) {
        self.groups[g].weight = Some(weight);
    }
    #[inline]
    fn clear_endpoints(&mut self, g: usize) {
        let p = &mut self.groups[g];
        p.direct = PlannedDirect::Members(0..0);
        p.gateways = 0..0;
        p.sizes = Sizes::default();
    }
    #[inline]
    fn endpoints(&self, g: usize) -> usize {
        self.direct_members(g).len() + self.groups[g].gateways.len()
    }
    #[inline]
    fn endpoint_weight(&self, g: usize, e: usize) -> u32 {
        let direct = self.direct_members(g);
        match direct.get(e) {
            Some(m) => m.weight,
            None => {
                let at = self.groups[g].gateways.start + (e - direct.len());
                self.gateways
                    .get(at)
                    .map_or(0, |&(_, sum)| gateway_weight(sum))
            }
        }
    }
    #[inline]
    fn endpoint_label(&self, g: usize, e: usize, key: &str) -> Option<&str> {
        let direct = self.direct_members(g);
        match direct.get(e) {
            Some(m) => {
                let keys = &self.stage.keys;
                let j = keys.iter().position(|k| &**k == key)?;
                let at = m.input as usize * keys.len() + j;
                self.stage.labels.get(at)?.as_deref()
            }
            None => {
                let at = self.groups[g].gateways.start + (e - direct.len());
                let gw = self.service.index.gateway(self.gateways.get(at)?.0);
                gateway_parts_label(gw.cluster.as_ref(), Some(&gw.network), key)
            }
        }
    }
    #[inline]
    fn split(&mut self, tiers: &[u32], parts: &[Part]) {
        let mut split = Vec::with_capacity(parts.len());
        let mut parts = parts.iter().peekable();
        let mut offset = 0;
        for g in 0..self.groups.len() {
            let direct = self.direct_members(g).into_owned();
            let gateways = self.groups[g].gateways.clone();
            let own = &tiers[offset..offset + direct.len() + gateways.len()];
            offset += own.len();
            let (direct_tiers, gateway_tiers) = own.split_at(direct.len());
            while let Some(part) = parts.next_if(|p| p.group == g) {
                let start = self.members.len();
                self.members.extend(
                    direct
                        .iter()
                        .zip(direct_tiers)
                        .filter(|(_, t)| **t == part.tier)
                        .map(|(m, _)| *m),
                );
                let gateway_start = self.gateways.len();
                for (at, t) in gateways.clone().zip(gateway_tiers) {
                    if *t == part.tier {
                        let entry = self.gateways[at];
                        self.gateways.push(entry);
                    }
                }
                let sizes = self.service.measure(
                    Direct::Members(&self.members[start..]),
                    &self.gateways[gateway_start..],
                );
                split.push(Planned {
                    group: self.groups[g].group,
                    index: self.groups[g].index,
                    direct: PlannedDirect::Members(start..self.members.len()),
                    gateways: gateway_start..self.gateways.len(),
                    sizes,
                    weight: Some(part.weight),
                    priority: part.tier,
                });
            }
        }
        self.groups = split;
    }
}

impl EncodedService {
    /// [`EncodedService::encode_into`] for a service with a locality stage: every group planned,
    /// `gateway_in_first_group` applied, then the stage, then the groups written.
    pub(super) fn encode_staged(
        &self,
        stage: &Stage,
        step: Step<'_>,
        view: &View,
        networks: &NetworkRules<'_, Option<NetworkId>>,
        routes: &Routes,
        buf: &mut Vec<u8>,
    ) {
        // failoverPriority reads each member's labels: plan members rather than whole sets.
        let by_member = !stage.keys.is_empty() && view.class().labels.is_some();
        let mut plans = Plans {
            service: self,
            stage,
            groups: Vec::with_capacity(self.shape.groups.len()),
            sets: Vec::new(),
            members: Vec::new(),
            gateways: Vec::new(),
        };
        // Planned into scratch (`plan` clears it), then appended to the flat buffers.
        let (mut direct, mut gateways) = (Vec::new(), Vec::new());
        for (index, group) in self.shape.groups.iter().enumerate() {
            if !self.plan(group, networks, routes, &mut direct, &mut gateways) {
                continue;
            }
            let start = plans.sets.len();
            plans.sets.extend_from_slice(&direct);
            let gateway_start = plans.gateways.len();
            plans.gateways.extend_from_slice(&gateways);
            plans.groups.push(Planned {
                group,
                index,
                direct: PlannedDirect::Sets(start..plans.sets.len()),
                gateways: gateway_start..plans.gateways.len(),
                sizes: Sizes::default(),
                weight: None,
                priority: 0,
            });
        }
        if self.gateway_in_first_group {
            // Each gateway once, in the first group that routes through it, with every group's
            // shares (as the default path does).
            let totals = first_group_totals(
                plans
                    .groups
                    .iter()
                    .map(|p| &plans.gateways[p.gateways.clone()]),
            );
            let mut kept = Vec::with_capacity(plans.gateways.len());
            for (i, p) in plans.groups.iter_mut().enumerate() {
                let start = kept.len();
                for &(g, _) in &plans.gateways[p.gateways.clone()] {
                    if let Some(&(first, total)) = totals.get(&g)
                        && first == i
                    {
                        kept.push((g, total));
                    }
                }
                p.gateways = start..kept.len();
            }
            plans.gateways = kept;
        }
        for i in 0..plans.groups.len() {
            if by_member {
                let members = plans.direct_members(i).into_owned();
                let start = plans.members.len();
                plans.members.extend_from_slice(&members);
                plans.groups[i].direct = PlannedDirect::Members(start..plans.members.len());
            }
            let p = &plans.groups[i];
            let sizes = self.measure(plans.direct(p), &plans.gateways[p.gateways.clone()]);
            plans.groups[i].sizes = sizes;
            plans.groups[i].weight = self.group_weight(sizes);
        }
        apply_step(step, &mut plans, view.locality_parts());
        let mut merged = Vec::new();
        for p in &plans.groups {
            let gateways = &plans.gateways[p.gateways.clone()];
            self.put_group(
                p.group,
                plans.direct(p),
                gateways,
                p.sizes,
                p.weight,
                p.priority,
                &mut merged,
                buf,
            );
        }
    }
}
