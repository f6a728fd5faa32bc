//! What the document means, as pure functions: each endpoint's network (rules N1–N3).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::document::{Endpoint, MeshSpec};
use crate::id::{ClusterId, NetworkId};
use crate::meshnetworks::NetworkEndpoints;

/// Answers "which network is this endpoint on?" for one document, with rule N1's order: the
/// endpoint's own `network` label, else its cluster's `network` (the system namespace label), else
/// MeshNetworks `fromRegistry` of its cluster, else the **broadest** `fromCidr` containing its first
/// address (rule N3), else none.
///
/// Istio picks among several networks naming the same registry by Go map order (N2); this resolver
/// takes the first in name order, so it is deterministic (the check reports the ambiguity).
/// A `fromCidr` that is a plain IP never matches (N3).
#[derive(Debug, Clone)]
pub struct NetworkResolver<'a> {
    cluster_network: BTreeMap<&'a ClusterId, &'a NetworkId>,
    registry_network: BTreeMap<&'a str, NetworkId>,
    /// Sorted broadest first, then network name.
    cidrs: Vec<(IpNet, NetworkId)>,
}

impl<'a> NetworkResolver<'a> {
    /// Indexes the document once.
    pub fn new(spec: &'a MeshSpec) -> Self {
        let cluster_network = spec
            .clusters
            .iter()
            .filter_map(|c| Some((&c.name, c.network.as_ref()?)))
            .collect();
        let mut registry_network = BTreeMap::new();
        let mut cidrs = Vec::new();
        for (name, net) in &spec.mesh_networks.networks {
            let Ok(id) = NetworkId::new(name.as_str()) else {
                continue; // reported by the document check
            };
            for ep in &net.endpoints {
                match ep {
                    NetworkEndpoints::FromRegistry(r) => {
                        registry_network
                            .entry(r.as_str())
                            .or_insert_with(|| id.clone());
                    }
                    NetworkEndpoints::FromCidr(c) => {
                        if let Ok(n) = c.parse::<IpNet>() {
                            cidrs.push((n.trunc(), id.clone()));
                        }
                    }
                    NetworkEndpoints::Unset => {}
                }
            }
        }
        cidrs.sort_by(|(a, na), (b, nb)| a.prefix_len().cmp(&b.prefix_len()).then(na.cmp(nb)));
        Self {
            cluster_network,
            registry_network,
            cidrs,
        }
    }

    /// The network of an endpoint (rule N1), `None` for "no network".
    pub fn network_of<'e>(&'e self, endpoint: &'e Endpoint) -> Option<&'e NetworkId> {
        if let Some(n) = &endpoint.network {
            return Some(n);
        }
        self.network_of_address(&endpoint.cluster, endpoint.addresses.first().copied())
    }

    /// The network of an address discovered in `cluster` that carries no network label.
    pub fn network_of_address(
        &self,
        cluster: &ClusterId,
        ip: Option<IpAddr>,
    ) -> Option<&NetworkId> {
        if let Some(n) = self.cluster_network.get(cluster) {
            return Some(n);
        }
        if let Some(n) = self.registry_network.get(cluster.as_str()) {
            return Some(n);
        }
        let ip = ip?;
        self.cidrs
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, id)| id)
    }
}

impl MeshSpec {
    /// Which control plane manages which clusters: primary cluster → the clusters it manages
    /// (itself included), both sorted. A cluster whose `controlPlane` names a cluster that is not
    /// itself a primary is listed under the cluster it names; the check reports such chains.
    ///
    /// ```
    /// use mesh_model::MeshDocument;
    /// let doc = MeshDocument::from_yaml(
    ///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: a}, {name: b, controlPlane: a}, {name: c}]\n",
    /// )?;
    /// let cps = doc.spec.control_planes();
    /// assert_eq!(cps.len(), 2);
    /// let a: mesh_model::ClusterId = "a".parse()?;
    /// assert_eq!(cps[&a].len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn control_planes(&self) -> BTreeMap<&ClusterId, Vec<&ClusterId>> {
        let mut out: BTreeMap<&ClusterId, Vec<&ClusterId>> = BTreeMap::new();
        for c in &self.clusters {
            out.entry(c.managing_control_plane())
                .or_default()
                .push(&c.name);
        }
        for managed in out.values_mut() {
            managed.sort();
            managed.dedup();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::MeshDocument;

    use super::*;

    #[test]
    fn rule_n1_order_and_broadest_cidr() {
        let doc = MeshDocument::from_yaml(
            r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  clusters:
  - {name: labelled, network: n-label}
  - {name: reg}
  - {name: plain}
  meshNetworks:
    networks:
      n-reg: {endpoints: [{fromRegistry: reg}]}
      n-narrow: {endpoints: [{fromCidr: 10.1.0.0/16}]}
      n-broad: {endpoints: [{fromCidr: 10.0.0.0/8}, {fromCidr: 10.1.2.3}]}
  services:
  - name: foo
    namespace: ns
    endpoints:
    - {cluster: labelled, address: 10.1.0.1, network: n-own}
    - {cluster: labelled, address: 10.1.0.1}
    - {cluster: reg, address: 10.1.0.1}
    - {cluster: plain, address: 10.1.0.1}
    - {cluster: plain, address: 192.168.0.1}
"#,
        )
        .unwrap();
        let r = NetworkResolver::new(&doc.spec);
        let got: Vec<Option<&str>> = doc.spec.services[0]
            .endpoints
            .iter()
            .map(|e| r.network_of(e).map(NetworkId::as_str))
            .collect();
        assert_eq!(
            got,
            [
                Some("n-own"),
                Some("n-label"),
                Some("n-reg"),
                Some("n-broad"),
                None
            ]
        );
    }
}
