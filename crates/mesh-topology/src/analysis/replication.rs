//! `service-not-replicated`: one control plane over a VPN needs every Service in every cluster.

use std::collections::BTreeSet;

use super::reachability::Analysis;
use crate::diagnostic::{Code, Diagnostic, Subject};
use crate::report::ControlPlaneKind;

impl<'a> Analysis<'a> {
    pub(super) fn replication_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for (primary, members) in self.groups() {
            // The design's one-control-plane-over-a-VPN mesh resolves names through each
            // cluster's own kube-dns, so every cluster needs the Service object.
            let kind = self.group_kind(primary, &members);
            if kind != ControlPlaneKind::Vpn {
                continue;
            }
            for s in &self.doc.spec.services {
                let have: BTreeSet<&str> = s.clusters().iter().map(|c| c.as_str()).collect();
                if !members.iter().any(|m| have.contains(m)) {
                    continue;
                }
                let key = s.key().to_string();
                let present: Vec<&str> = members
                    .iter()
                    .copied()
                    .filter(|m| have.contains(m))
                    .collect();
                for &m in &members {
                    if have.contains(m) {
                        continue;
                    }
                    out.push(Diagnostic::new(
                        Code::ServiceNotReplicated,
                        format!("service {key} is not defined in cluster {m}"),
                        vec![Subject::Service(key.clone()), Subject::Cluster(m.to_owned())],
                        format!(
                            "Clusters {} share one control plane (in {primary}, {}); {key} exists in {} but not in {m}, so kube-dns in {m} has no name for it and clients there cannot resolve {}",
                            members.join(", "),
                            kind.describe(),
                            present.join(", "),
                            s.key().cluster_host(&self.doc.spec.domain_suffix),
                        ),
                        format!("Create the Service {key} (it may have no pods) in cluster {m}, or add {m} to its definedIn"),
                    ));
                }
            }
        }
    }
}
