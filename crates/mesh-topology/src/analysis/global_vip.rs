//! `global-vip-overlap`: the `.global` virtual-IP range against pod and service CIDRs, and its size.

use super::reachability::Analysis;
use crate::cidr::{shared_range, size_text};
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    /// Replicated control planes (several primaries) or an explicit `globalVipRange`: the range
    /// `.global` virtual IPs come from must stay clear of every pod and service CIDR, and hold one
    /// address per service (mesh-global allocates them).
    pub(super) fn global_vip_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let spec = &self.doc.spec;
        if self.groups().len() < 2 && spec.global_vip_range.is_none() {
            return;
        }
        let range = spec.global_vip_range();
        let fix = "Choose a globalVipRange that no cluster routes (the default 240.0.0.0/4 is \
                   reserved) and that has an address for every service";
        let mut overlapping = false;
        for (&name, c) in &self.clusters {
            let cidrs = c.pod_cidrs.iter().map(|n| ("pod", n));
            for (kind, cidr) in cidrs.chain(c.service_cidrs.iter().map(|n| ("service", n))) {
                let Some(shared) = shared_range(&range, cidr) else {
                    continue;
                };
                overlapping = true;
                out.push(Diagnostic::new(
                    Code::GlobalVipOverlap,
                    format!("the .global virtual-IP range {range} overlaps {kind} CIDR {cidr} of cluster {name}"),
                    vec![
                        Subject::Cluster(name.to_owned()),
                        Subject::Cidr(range.to_string()),
                        Subject::Cidr(cidr.to_string()),
                    ],
                    format!(
                        "They share {shared} ({}): a sidecar captures traffic to a .global virtual IP, so a \
                         real {kind} address in that range would be sent to a remote cluster instead",
                        size_text(&shared)
                    ),
                    fix,
                ));
            }
        }
        if overlapping {
            return;
        }
        if let Err(e @ mesh_global::AllocationError::Exhausted { .. }) =
            mesh_global::allocate_for_mesh(spec, &mesh_global::Allocations::default())
        {
            out.push(Diagnostic::new(
                Code::GlobalVipOverlap,
                format!("the .global virtual-IP range {range} is too small"),
                vec![Subject::Cidr(range.to_string())],
                e.to_string(),
                fix,
            ));
        }
    }
}
