//! Service scope (`spec/service-scope.md`): `proxy-cluster-id-unregistered` (a cluster's
//! proxies send a CLUSTER_ID no registry is named, S36), `cluster-local-mismatch` (a service
//! cluster-local for some control planes and global for others, S4–S5) and
//! `mcs-export-unreachable` (an MCS export from a network other networks reach only through a
//! gateway it does not have, S15).

use std::collections::BTreeSet;

use super::reachability::Analysis;
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    pub(super) fn scope_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        self.proxy_cluster_ids(out);
        self.cluster_local_mismatches(out);
        self.mcs_exports(out);
    }

    fn proxy_cluster_ids(&self, out: &mut Vec<Diagnostic>) {
        for (&name, c) in &self.clusters {
            let Some(p) = c.proxy_cluster_id.as_ref().map(|p| p.as_str()) else {
                continue;
            };
            if p == name || self.clusters.contains_key(p) {
                continue;
            }
            out.push(Diagnostic::new(
                Code::ProxyClusterIdUnregistered,
                format!("proxies of cluster {name} send CLUSTER_ID {p}, which no registry or remote secret is named"),
                vec![Subject::Cluster(name.to_owned())],
                format!(
                    "istiod registers {name}'s endpoints under {name} (the remote secret's data key or istiod's own CLUSTER_ID) and compares that id with each proxy's CLUSTER_ID as plain strings: cluster-local services (kube-system and kubernetes.default by default, and meshConfig.serviceSettings) and ambient LOCAL services give these proxies nothing, not even {name}'s own endpoints (S9, S24, S36)"
                ),
                format!("Make the proxies of {name} send CLUSTER_ID {name} (values.global.multiCluster.clusterName), or map {p} to {name} with istiod's --clusterAliases"),
            ));
        }
    }

    fn cluster_local_mismatches(&self, out: &mut Vec<Diagnostic>) {
        let spec = &self.doc.spec;
        let primaries: Vec<(&str, mesh_model::ClusterLocalHosts)> = self
            .groups()
            .keys()
            .filter_map(|p| self.clusters.get(p))
            .map(|c| {
                let config = spec.mesh_config_of(c);
                (
                    c.name.as_str(),
                    config.cluster_local_hosts(&spec.domain_suffix),
                )
            })
            .collect();
        if primaries.len() < 2 {
            return;
        }
        let mut seen = BTreeSet::new();
        for s in &spec.services {
            let key = s.key().to_string();
            if !seen.insert(key.clone()) {
                continue;
            }
            let host = s.key().cluster_host(&spec.domain_suffix);
            let (local, global): (Vec<&str>, Vec<&str>) = {
                let mut l = Vec::new();
                let mut g = Vec::new();
                for (p, hosts) in &primaries {
                    if hosts.is_cluster_local(&host) {
                        l.push(*p);
                    } else {
                        g.push(*p);
                    }
                }
                (l, g)
            };
            if local.is_empty() || global.is_empty() {
                continue;
            }
            let mut subjects = vec![Subject::Service(key.clone())];
            subjects.extend(
                local
                    .iter()
                    .chain(&global)
                    .map(|c| Subject::Cluster((*c).to_owned())),
            );
            out.push(Diagnostic::new(
                Code::ClusterLocalMismatch,
                format!(
                    "service {key} is cluster-local for the control plane of {} and global for that of {}",
                    local.join(", "),
                    global.join(", ")
                ),
                subjects,
                format!(
                    "Each istiod applies its own meshConfig.serviceSettings (S4, S5): proxies served by {} get only their own cluster's endpoints of {host}, proxies served by {} get every cluster's, so calls to {key} behave differently depending on where they start",
                    local.join(", "),
                    global.join(", ")
                ),
                format!("Give every control plane the same serviceSettings for {host}"),
            ));
        }
    }

    fn mcs_exports(&self, out: &mut Vec<Diagnostic>) {
        if !self.doc.spec.mcs.effective().service_discovery {
            return;
        }
        let clients = self.served_clients();
        for s in &self.doc.spec.services {
            let key = s.key().to_string();
            let exported: BTreeSet<&str> = s.service_exports.iter().map(|c| c.as_str()).collect();
            for x in exported {
                if !s.endpoints.iter().any(|e| e.cluster.as_str() == x) {
                    continue; // a cluster without endpoints gains nothing by exporting (S15)
                }
                let net = self.network_of_cluster(x);
                let stranded: BTreeSet<&str> = clients
                    .iter()
                    .map(|c| self.network_of_cluster(c.name.as_str()))
                    .filter(|m| !self.reaches_pods(m, net) && self.usable_gateway(m, net).is_none())
                    .collect();
                if stranded.is_empty() {
                    continue;
                }
                let list: Vec<&str> = stranded.into_iter().collect();
                out.push(Diagnostic::new(
                    Code::McsExportUnreachable,
                    format!("service {key} is exported from {x}, but clients on {} cannot reach network {net}", list.join(", ")),
                    vec![Subject::Service(key.clone()), Subject::Cluster(x.to_owned()), Subject::Network(net.to_owned())],
                    format!(
                        "With ENABLE_MCS_SERVICE_DISCOVERY the ServiceExport in {x} makes its endpoints of {key} visible outside {x} (S15); clients on {} are not in {net}'s flat address space and {net} has no gateway they can use, so the export cannot be honoured for them: split-horizon sends the endpoints directly (M6), which their pods cannot reach",
                        list.join(", ")
                    ),
                    format!("Add an east-west gateway for {net} to meshNetworks, link the networks, or drop the ServiceExport in {x}"),
                ));
            }
        }
    }
}
