//! The locality stage restated from the text of `spec/locality-lb.md` (L5–L21), independently of
//! `crate::locality` on purpose: no shared helpers, every rule spelled out where it is used.
//!
//! Where the spec leaves a choice the oracle makes the library's: `distribute`'s `to` patterns are
//! taken in document order (Istio's order is Go map order, L11), and a distribute total that wraps
//! to 0 writes no weight (L29, Go on amd64).

use std::collections::{BTreeMap, BTreeSet};

use crate::assignment::{EndpointKind, LoadAssignment, LocalityGroup};
use crate::input::{ProxyClass, ProxyType};
use crate::policy::{LocalityLbSetting, LocalityPolicy, ZoneAwareLbSetting};

/// What the oracle resolved (L5), in its own terms.
enum Resolved<'a> {
    Nothing,
    Locality(&'a LocalityLbSetting, bool),
    Synthetic(Vec<String>),
    ZoneAware(&'a ZoneAwareLbSetting),
}

/// The stage applied to `cla` for `proxy` under `policy`. `labels[g][e]` are the labels paired
/// with direct endpoint `e` of group `g`; gateway endpoints are paired with their cluster and
/// network only (L24), whatever `labels` holds for them.
pub fn locality_stage(
    cla: &LoadAssignment,
    labels: &[Vec<BTreeMap<String, String>>],
    proxy: &ProxyClass,
    policy: &LocalityPolicy,
) -> LoadAssignment {
    let mut out = cla.clone();
    let outlier = policy
        .destination_rule
        .as_ref()
        .map(|d| d.outlier_detection)
        .unwrap_or(false);
    // L5, first match wins.
    let dr = policy.destination_rule.as_ref();
    let resolved = if let Some(z) = dr.and_then(|d| d.zone_aware_lb_setting.as_ref()) {
        Resolved::ZoneAware(z)
    } else if let Some(l) = dr.and_then(|d| d.locality_lb_setting.as_ref()) {
        if l.enabled == Some(false) {
            Resolved::Nothing
        } else {
            Resolved::Locality(l, false)
        }
    } else if policy.traffic_distribution != crate::policy::TrafficDistribution::Any {
        let mut keys = vec![
            "topology.istio.io/network".to_string(),
            "topology.kubernetes.io/region".to_string(),
            "topology.kubernetes.io/zone".to_string(),
        ];
        if policy.traffic_distribution == crate::policy::TrafficDistribution::PreferSameNode {
            keys.push("topology.istio.io/subzone".to_string());
            keys.push("kubernetes.io/hostname".to_string());
        }
        Resolved::Synthetic(keys)
    } else if let Some(z) = policy.mesh.zone_aware_lb_setting.as_ref() {
        Resolved::ZoneAware(z)
    } else if let Some(l) = policy.mesh.locality_lb_setting.as_ref() {
        if l.enabled == Some(false) {
            Resolved::Nothing
        } else {
            Resolved::Locality(l, false)
        }
    } else {
        Resolved::Nothing
    };
    match resolved {
        Resolved::Nothing => {}
        Resolved::ZoneAware(z) => {
            if z.enabled != Some(false) && proxy.proxy_type != ProxyType::Waypoint {
                if !z.failover_priority.is_empty() {
                    by_labels(&mut out, labels, proxy, &z.failover_priority);
                }
                for g in &mut out.localities {
                    let mine = region(&proxy.locality);
                    let theirs = region(&g.locality);
                    let bucket = if mine == theirs {
                        0
                    } else {
                        match z.failover.iter().find(|f| f.from == mine) {
                            Some(f) if f.to == theirs => 1,
                            _ => 2,
                        }
                    };
                    g.priority = g.priority.wrapping_mul(3).wrapping_add(bucket);
                }
                compact(&mut out);
            }
        }
        Resolved::Synthetic(keys) => by_labels(&mut out, labels, proxy, &keys),
        Resolved::Locality(l, force) => {
            if !l.distribute.is_empty() {
                distribute(&mut out, proxy, l);
            } else if outlier || force {
                if l.failover_priority.is_empty() {
                    levels(&mut out, proxy, l);
                } else {
                    by_labels(&mut out, labels, proxy, &l.failover_priority);
                    if !l.failover.is_empty() {
                        levels(&mut out, proxy, l);
                    }
                }
            }
        }
    }
    out
}

fn parts(s: &str) -> [String; 3] {
    let v: Vec<&str> = s.split('/').collect();
    [0, 1, 2].map(|i| v.get(i).copied().unwrap_or("").to_string())
}

fn region(s: &str) -> String {
    let [r, _, _] = parts(s);
    r
}

fn compact(cla: &mut LoadAssignment) {
    let set: BTreeSet<u32> = cla.localities.iter().map(|g| g.priority).collect();
    let order: Vec<u32> = set.into_iter().collect();
    for g in &mut cla.localities {
        g.priority = order.iter().position(|p| *p == g.priority).unwrap_or(0) as u32;
    }
}

/// L12–L14.
fn levels(cla: &mut LoadAssignment, proxy: &ProxyClass, l: &LocalityLbSetting) {
    let [pr, pz, ps] = parts(&proxy.locality);
    for g in &mut cla.localities {
        let [gr, gz, gs] = parts(&g.locality);
        let mut level = if pr == gr && pz == gz && ps == gs {
            0
        } else if pr == gr && pz == gz {
            1
        } else if pr == gr {
            2
        } else {
            3
        };
        if level == 3
            && l.failover
                .iter()
                .find(|f| f.from == pr)
                .is_some_and(|r| r.to != gr)
        {
            level = 4;
        }
        g.priority = g.priority.wrapping_mul(5).wrapping_add(level);
    }
    compact(cla);
}

/// L9–L10.
fn distribute(cla: &mut LoadAssignment, proxy: &ProxyClass, l: &LocalityLbSetting) {
    fn matches(pattern: &str, locality: &str) -> bool {
        let [pr, pz, ps] = parts(pattern);
        let [r, z, s] = parts(locality);
        (pr == "*" || pr == r)
            && (pz == "*" || pz.is_empty() || pz == z)
            && (ps == "*" || ps.is_empty() || ps == s)
    }
    let Some(rule) = l
        .distribute
        .iter()
        .find(|d| matches(&d.from, &proxy.locality))
    else {
        return;
    };
    let mut owner: Vec<Option<usize>> = vec![None; cla.localities.len()];
    for (k, (pattern, _)) in rule.to.iter().enumerate() {
        for (i, g) in cla.localities.iter().enumerate() {
            if owner[i].is_none() && matches(pattern, &g.locality) {
                owner[i] = Some(k);
            }
        }
    }
    let before: Vec<u32> = cla
        .localities
        .iter()
        .map(|g| g.weight.unwrap_or(1))
        .collect();
    for (i, g) in cla.localities.iter_mut().enumerate() {
        match owner[i] {
            None => g.endpoints = Vec::new(),
            Some(k) => {
                let mut total: u32 = 0;
                for (j, o) in owner.iter().enumerate() {
                    if *o == Some(k) {
                        total = total.wrapping_add(before[j]);
                    }
                }
                let product = before[i].wrapping_mul(rule.to[k].1);
                if total != 0 {
                    let w = (product as f64 / total as f64).ceil() as u32;
                    if w > 0 {
                        g.weight = Some(w);
                    }
                }
            }
        }
    }
}

/// L15–L19.
fn by_labels(
    cla: &mut LoadAssignment,
    labels: &[Vec<BTreeMap<String, String>>],
    proxy: &ProxyClass,
    entries: &[String],
) {
    let Some(mine) = proxy.labels.as_ref() else {
        return;
    };
    if cla.localities.is_empty() {
        return;
    }
    let mut fixed = BTreeMap::new();
    for e in entries {
        let p: Vec<&str> = e.split('=').collect();
        if p.len() == 2 {
            fixed.insert(p[0].to_string(), p[1].to_string());
        }
    }
    let keys: Vec<String> = entries
        .iter()
        .map(|e| e.split('=').next().unwrap_or("").to_string())
        .collect();
    let n = keys.len() as u32;
    let network_first = entries.first().map(String::as_str) == Some("topology.istio.io/network");
    let mut groups = Vec::new();
    for (gi, g) in cla.localities.iter().enumerate() {
        let mut by_tier: BTreeMap<u32, Vec<_>> = BTreeMap::new();
        for (ei, e) in g.endpoints.iter().enumerate() {
            let theirs = |k: &str| -> String {
                if e.kind == EndpointKind::Gateway {
                    match k {
                        "topology.istio.io/cluster" => e
                            .cluster
                            .as_ref()
                            .map(|c| c.as_str().to_string())
                            .unwrap_or_default(),
                        "topology.istio.io/network" => e
                            .network
                            .as_ref()
                            .map(|c| c.as_str().to_string())
                            .unwrap_or_default(),
                        _ => String::new(),
                    }
                } else {
                    labels
                        .get(gi)
                        .and_then(|l| l.get(ei))
                        .and_then(|l| l.get(k))
                        .cloned()
                        .unwrap_or_default()
                }
            };
            let want =
                |k: &str| -> String { fixed.get(k).or(mine.get(k)).cloned().unwrap_or_default() };
            let mut tier = 0;
            let mut j = 0;
            while j < keys.len() {
                if want(&keys[j]) != theirs(&keys[j]) {
                    if j == 0 && network_first {
                        tier += n;
                    } else {
                        tier += n - j as u32;
                        break;
                    }
                }
                j += 1;
            }
            by_tier.entry(tier).or_default().push(e.clone());
        }
        for (tier, endpoints) in by_tier {
            let mut weight: u32 = 0;
            for e in &endpoints {
                weight = weight.wrapping_add(e.weight);
            }
            groups.push(LocalityGroup {
                locality: g.locality.clone(),
                weight: Some(weight),
                priority: tier,
                endpoints,
            });
        }
    }
    cla.localities = groups;
    compact(cla);
}
