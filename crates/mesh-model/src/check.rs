//! Consistency of a parsed document: what serde alone cannot see (duplicates, references to
//! clusters and networks that do not exist, Istio's MeshNetworks validation).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::document::MeshDocument;
use crate::id::{ClusterId, NetworkId};
use crate::meshnetworks::{MeshNetworksErrors, NetworkEndpoints};

/// A problem in a parsed document. Each names the path and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// Two clusters share a name.
    DuplicateCluster {
        /// The second one.
        path: String,
        /// The name.
        name: ClusterId,
        /// The first one.
        first: String,
    },
    /// Two services share `name.namespace`.
    DuplicateService {
        /// The second one.
        path: String,
        /// `name.namespace`.
        key: String,
        /// The first one.
        first: String,
    },
    /// A reference names no cluster of the document.
    UnknownCluster {
        /// Where the reference is.
        path: String,
        /// The name.
        name: String,
    },
    /// A reference names a network that is not defined (by MeshNetworks when it defines any
    /// network, else by some cluster's `network`).
    UnknownNetwork {
        /// Where the reference is.
        path: String,
        /// The name.
        name: String,
    },
    /// MeshNetworks lists networks, but not this one, which a cluster or endpoint is on. Istio
    /// accepts it (the network is only a label); it just knows no gateway of it from MeshNetworks.
    NetworkNotInMeshNetworks {
        /// Where the network is named.
        path: String,
        /// The network.
        name: NetworkId,
    },
    /// A link joins fewer than two distinct networks.
    DegenerateLink {
        /// Where the link is.
        path: String,
    },
    /// Istio's own validation rejects `spec.meshNetworks` (rules V1–V6).
    InvalidMeshNetworks(MeshNetworksErrors),
    /// `spec.meshNetworks` has a field Istio ignores (P1): most likely a typo.
    IgnoredMeshNetworksField {
        /// The object that holds it (`spec.meshNetworks.networks.n1.gateways[0]`).
        path: String,
        /// The field as written.
        field: String,
        /// The known field closest to it, when one is close.
        suggestion: Option<&'static str>,
    },
    /// Both members of a MeshNetworks oneof are set: Istio keeps the one declared later and
    /// drops `field` without an error (a warning).
    MeshNetworksOneofOverridden {
        /// The object that holds both (`spec.meshNetworks.networks.n1.gateways[0]`).
        path: String,
        /// The member Istio drops, as written.
        field: String,
        /// The member it keeps.
        kept: &'static str,
    },
    /// A MeshNetworks gateway port written as a plain leading-zero number, which Istio's YAML
    /// reader takes for octal (a warning).
    MeshNetworksOctalPort {
        /// The port (`spec.meshNetworks.networks.n1.gateways[0].port`).
        path: String,
        /// As written (`0443`).
        written: String,
        /// As Istio reads it (291).
        value: u64,
        /// Its line.
        line: usize,
    },
    /// Two `podCidrs` of one cluster overlap (one contains the other).
    OverlappingPodCidrs {
        /// The second range.
        path: String,
        /// The cluster.
        cluster: ClusterId,
        /// The second range.
        cidr: IpNet,
        /// The first range, which it overlaps.
        first: IpNet,
    },
    /// An endpoint address is outside every `podCidrs` range of its cluster (which lists some),
    /// or inside another cluster's.
    EndpointOutsidePodCidrs {
        /// The address.
        path: String,
        /// The address.
        address: IpAddr,
        /// The endpoint's cluster.
        cluster: ClusterId,
        /// Another cluster whose `podCidrs` hold the address, if any.
        inside: Option<ClusterId>,
    },
    /// Two ports of one service share a name (Istio matches endpoints by port name).
    DuplicatePortName {
        /// The second port.
        path: String,
        /// The name.
        name: String,
        /// The first port.
        first: String,
    },
    /// Two endpoints of one service have the same cluster, addresses and port.
    DuplicateEndpoint {
        /// The second endpoint.
        path: String,
        /// The first endpoint.
        first: String,
    },
    /// A DestinationRule's host is no service of the document: it applies to nothing.
    DestinationRuleUnknownHost {
        /// `spec.destinationRules[i].host`.
        path: String,
        /// The host, `name.namespace`.
        host: String,
    },
    /// A traffic policy sets locality `failover` or `failoverPriority` but no
    /// `outlierDetection`: Istio's validation warns ("outlier detection policy must be provided
    /// for failover"), and the setting does nothing without it (L8).
    FailoverWithoutOutlierDetection {
        /// The load balancer (`spec.destinationRules[i].trafficPolicy.loadBalancer`).
        path: String,
        /// The DestinationRule's host, `name.namespace`.
        host: String,
    },
}

impl ModelError {
    /// Where in the document the problem is.
    pub fn path(&self) -> &str {
        match self {
            Self::DuplicateCluster { path, .. }
            | Self::DuplicateService { path, .. }
            | Self::UnknownCluster { path, .. }
            | Self::UnknownNetwork { path, .. }
            | Self::NetworkNotInMeshNetworks { path, .. }
            | Self::DegenerateLink { path }
            | Self::OverlappingPodCidrs { path, .. }
            | Self::EndpointOutsidePodCidrs { path, .. }
            | Self::DuplicatePortName { path, .. }
            | Self::DuplicateEndpoint { path, .. }
            | Self::DestinationRuleUnknownHost { path, .. }
            | Self::FailoverWithoutOutlierDetection { path, .. }
            | Self::IgnoredMeshNetworksField { path, .. }
            | Self::MeshNetworksOneofOverridden { path, .. }
            | Self::MeshNetworksOctalPort { path, .. } => path,
            Self::InvalidMeshNetworks(_) => "spec.meshNetworks",
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateCluster { path, name, first } => {
                write!(
                    f,
                    "{path}: cluster {:?} is already defined at {first}",
                    name.as_str()
                )
            }
            Self::DuplicateService { path, key, first } => {
                write!(f, "{path}: service {key:?} is already defined at {first}")
            }
            Self::UnknownCluster { path, name } => {
                write!(f, "{path}: {name:?} names no cluster of this mesh")
            }
            Self::UnknownNetwork { path, name } => {
                write!(f, "{path}: {name:?} names no network of this mesh")
            }
            Self::NetworkNotInMeshNetworks { path, name } => write!(
                f,
                "{path}: network {:?} is not listed in spec.meshNetworks.networks",
                name.as_str()
            ),
            Self::DegenerateLink { path } => {
                write!(f, "{path}: a link joins at least two different networks")
            }
            Self::OverlappingPodCidrs {
                path,
                cluster,
                cidr,
                first,
            } => write!(
                f,
                "{path}: pod CIDR {cidr} of cluster {:?} overlaps its pod CIDR {first}",
                cluster.as_str()
            ),
            Self::EndpointOutsidePodCidrs {
                path,
                address,
                cluster,
                inside,
            } => match inside {
                Some(other) => write!(
                    f,
                    "{path}: {address} of an endpoint in cluster {:?} is inside the pod CIDRs of cluster {:?}",
                    cluster.as_str(),
                    other.as_str()
                ),
                None => write!(
                    f,
                    "{path}: {address} is outside the pod CIDRs of its cluster {:?}",
                    cluster.as_str()
                ),
            },
            Self::DuplicatePortName { path, name, first } => {
                write!(f, "{path}: port name {name:?} is already used at {first}")
            }
            Self::DuplicateEndpoint { path, first } => write!(
                f,
                "{path}: the same endpoint (cluster, addresses, port) as {first}"
            ),
            Self::DestinationRuleUnknownHost { path, host } => write!(
                f,
                "{path}: {host:?} is no service of this mesh: the DestinationRule applies to nothing"
            ),
            Self::FailoverWithoutOutlierDetection { path, .. } => write!(
                f,
                "{path}: outlier detection policy must be provided for failover"
            ),
            Self::IgnoredMeshNetworksField {
                path,
                field,
                suggestion,
            } => {
                write!(f, "{path}: Istio ignores the unknown field {field:?}")?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean {s:?}?)"),
                    None => Ok(()),
                }
            }
            Self::MeshNetworksOneofOverridden { path, field, kept } => write!(
                f,
                "{path}: both {field:?} and {kept:?} are set, members of one oneof: Istio keeps {kept:?} (declared later) and drops {field:?} without an error"
            ),
            Self::MeshNetworksOctalPort {
                path,
                written,
                value,
                line,
            } => write!(
                f,
                "{path}: port {written} (line {line}) is a YAML 1.1 octal number: Istio reads it as {value}"
            ),
            Self::InvalidMeshNetworks(e) => {
                write!(f, "spec.meshNetworks: Istio rejects this MeshNetworks: ")?;
                let msgs: Vec<String> = e.0.iter().map(ToString::to_string).collect();
                f.write_str(&msgs.join("; "))
            }
        }
    }
}

impl std::error::Error for ModelError {}

impl MeshDocument {
    /// The networks this document defines: MeshNetworks' keys when it has any, else the clusters'
    /// `network` values.
    pub fn defined_networks(&self) -> BTreeSet<&str> {
        let spec = &self.spec;
        if spec.mesh_networks.networks.is_empty() {
            spec.clusters
                .iter()
                .filter_map(|c| c.network.as_ref().map(NetworkId::as_str))
                .collect()
        } else {
            spec.mesh_networks
                .networks
                .keys()
                .map(String::as_str)
                .collect()
        }
    }

    /// Every consistency problem of the document itself, in document order: references to
    /// clusters, networks and services that are not defined, duplicates, values out of range.
    /// Empty when the document is consistent. This is not the mesh analysis:
    /// `mesh_topology::check` runs these and then every diagnostic of the mesh it describes
    /// (CIDR overlaps, unreachable API servers, gateways, trust), which is what `meshspan check`
    /// prints.
    ///
    /// ```
    /// use mesh_model::{MeshDocument, ModelError};
    /// let doc = MeshDocument::from_yaml(
    ///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: a}, {name: a}]\n",
    /// )?;
    /// assert_eq!(doc.consistency_errors()[0].to_string(), r#"spec.clusters[1].name: cluster "a" is already defined at spec.clusters[0]"#);
    /// # Ok::<(), mesh_model::DocumentError>(())
    /// ```
    pub fn consistency_errors(&self) -> Vec<ModelError> {
        let spec = &self.spec;
        let mut errors = Vec::new();
        let mut clusters: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, c) in spec.clusters.iter().enumerate() {
            if let Some(first) = clusters.get(c.name.as_str()) {
                errors.push(ModelError::DuplicateCluster {
                    path: format!("spec.clusters[{i}].name"),
                    name: c.name.clone(),
                    first: format!("spec.clusters[{first}]"),
                });
            } else {
                clusters.insert(c.name.as_str(), i);
            }
        }
        // Networks exist by being named: a MeshNetworks key, or a cluster's or endpoint's network
        // (Istio's network is a label). Only meshspan's own references (links, reachableFrom)
        // can name a network that is nowhere.
        let mut networks = self.defined_networks();
        networks.extend(
            spec.clusters
                .iter()
                .filter_map(|c| c.network.as_ref())
                .chain(
                    spec.services
                        .iter()
                        .flat_map(|s| s.endpoints.iter().filter_map(|e| e.network.as_ref())),
                )
                .map(NetworkId::as_str),
        );
        let listed = |errors: &mut Vec<ModelError>, path: String, name: &NetworkId| {
            let nets = &spec.mesh_networks.networks;
            if !nets.is_empty() && !nets.contains_key(name.as_str()) {
                errors.push(ModelError::NetworkNotInMeshNetworks {
                    path,
                    name: name.clone(),
                });
            }
        };
        let cluster_ref = |errors: &mut Vec<ModelError>, path: String, name: &str| {
            if !clusters.contains_key(name) {
                errors.push(ModelError::UnknownCluster {
                    path,
                    name: name.to_owned(),
                });
            }
        };
        let network_ref = |errors: &mut Vec<ModelError>, path: String, name: &NetworkId| {
            if !networks.contains(name.as_str()) {
                errors.push(ModelError::UnknownNetwork {
                    path,
                    name: name.to_string(),
                });
            }
        };
        for (i, c) in spec.clusters.iter().enumerate() {
            if let Some(n) = &c.network {
                listed(&mut errors, format!("spec.clusters[{i}].network"), n);
            }
            if let Some(cp) = &c.control_plane {
                cluster_ref(
                    &mut errors,
                    format!("spec.clusters[{i}].controlPlane"),
                    cp.as_str(),
                );
            }
            for (j, w) in c.watches.iter().enumerate() {
                cluster_ref(
                    &mut errors,
                    format!("spec.clusters[{i}].watches[{j}]"),
                    w.as_str(),
                );
            }
            for (j, cidr) in c.pod_cidrs.iter().enumerate() {
                if let Some(first) = c.pod_cidrs[..j].iter().find(|p| overlap(p, cidr)) {
                    errors.push(ModelError::OverlappingPodCidrs {
                        path: format!("spec.clusters[{i}].podCidrs[{j}]"),
                        cluster: c.name.clone(),
                        cidr: *cidr,
                        first: *first,
                    });
                }
            }
            if let Some(api) = &c.api_server {
                for (j, n) in api.reachable_from.iter().enumerate() {
                    network_ref(
                        &mut errors,
                        format!("spec.clusters[{i}].apiServer.reachableFrom[{j}]"),
                        n,
                    );
                }
            }
        }
        for f in &spec.mesh_networks.ignored_fields {
            let path = if f.path.is_empty() {
                "spec.meshNetworks".to_owned()
            } else {
                format!("spec.meshNetworks.{}", f.path)
            };
            let field = f.field.clone();
            errors.push(match f.overridden_by {
                Some(kept) => ModelError::MeshNetworksOneofOverridden { path, field, kept },
                None => ModelError::IgnoredMeshNetworksField {
                    path,
                    field,
                    suggestion: f.suggestion,
                },
            });
        }
        for o in &spec.mesh_networks.octal_ports {
            errors.push(ModelError::MeshNetworksOctalPort {
                path: format!("spec.meshNetworks.{}", o.path),
                written: o.written.clone(),
                value: o.value,
                line: o.line,
            });
        }
        if let Err(e) = spec.mesh_networks.validate(true) {
            errors.push(ModelError::InvalidMeshNetworks(e));
        }
        for (name, net) in &spec.mesh_networks.networks {
            if NetworkId::new(name.as_str()).is_err() {
                errors.push(ModelError::UnknownNetwork {
                    path: format!("spec.meshNetworks.networks.{name}"),
                    name: name.clone(),
                });
            }
            for (j, ep) in net.endpoints.iter().enumerate() {
                if let NetworkEndpoints::FromRegistry(r) = ep {
                    cluster_ref(
                        &mut errors,
                        format!("spec.meshNetworks.networks.{name}.endpoints[{j}].fromRegistry"),
                        r,
                    );
                }
            }
        }
        for (i, link) in spec.links.iter().enumerate() {
            let distinct: BTreeSet<&NetworkId> = link.networks.iter().collect();
            if distinct.len() < 2 {
                errors.push(ModelError::DegenerateLink {
                    path: format!("spec.links[{i}]"),
                });
            }
            for (j, n) in link.networks.iter().enumerate() {
                network_ref(&mut errors, format!("spec.links[{i}].networks[{j}]"), n);
            }
        }
        let mut services = BTreeMap::new();
        for (i, s) in spec.services.iter().enumerate() {
            let key = s.key().to_string();
            if let Some(first) = services.get(&key) {
                errors.push(ModelError::DuplicateService {
                    path: format!("spec.services[{i}]"),
                    key: key.clone(),
                    first: format!("spec.services[{first}]"),
                });
            } else {
                services.insert(key, i);
            }
            for (j, c) in s.defined_in.iter().enumerate() {
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].definedIn[{j}]"),
                    c.as_str(),
                );
            }
            for (j, c) in s.service_exports.iter().enumerate() {
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].serviceExports[{j}]"),
                    c.as_str(),
                );
            }
            for c in s.external_addresses.keys() {
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].externalAddresses.{c}"),
                    c.as_str(),
                );
            }
            let mut port_names: BTreeMap<&str, usize> = BTreeMap::new();
            for (j, p) in s.ports.iter().enumerate() {
                if p.name.is_empty() {
                    continue;
                }
                if let Some(first) = port_names.insert(p.name.as_str(), j) {
                    port_names.insert(p.name.as_str(), first);
                    errors.push(ModelError::DuplicatePortName {
                        path: format!("spec.services[{i}].ports[{j}].name"),
                        name: p.name.clone(),
                        first: format!("spec.services[{i}].ports[{first}]"),
                    });
                }
            }
            let mut seen = BTreeMap::new();
            for (j, e) in s.endpoints.iter().enumerate() {
                if let Some(first) = seen.get(&(&e.cluster, &e.addresses, e.port)) {
                    errors.push(ModelError::DuplicateEndpoint {
                        path: format!("spec.services[{i}].endpoints[{j}]"),
                        first: format!("spec.services[{i}].endpoints[{first}]"),
                    });
                } else {
                    seen.insert((&e.cluster, &e.addresses, e.port), j);
                }
                for address in &e.addresses {
                    if let Some(problem) = pod_cidr_problem(spec, &e.cluster, *address) {
                        errors.push(ModelError::EndpointOutsidePodCidrs {
                            path: format!("spec.services[{i}].endpoints[{j}]"),
                            address: *address,
                            cluster: e.cluster.clone(),
                            inside: problem,
                        });
                    }
                }
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].endpoints[{j}].cluster"),
                    e.cluster.as_str(),
                );
                if let Some(n) = &e.network {
                    listed(
                        &mut errors,
                        format!("spec.services[{i}].endpoints[{j}].network"),
                        n,
                    );
                }
            }
        }
        destination_rule_problems(spec, &services, &mut errors);
        errors
    }
}

/// A DestinationRule whose host is no service; failover without outlier detection in the same
/// traffic policy, as Istio's `validateLoadBalancer` warns (per policy object: the rule's, each
/// port-level entry, each subset's).
fn destination_rule_problems(
    spec: &crate::document::MeshSpec,
    services: &BTreeMap<String, usize>,
    errors: &mut Vec<ModelError>,
) {
    use crate::destination_rule::{LoadBalancerSettings, OutlierDetection};
    let fails_over = |lb: &Option<LoadBalancerSettings>| {
        lb.as_ref().is_some_and(|lb| {
            lb.locality_lb_setting
                .as_ref()
                .is_some_and(|l| !l.failover.is_empty() || !l.failover_priority.is_empty())
                || lb
                    .zone_aware_lb_setting
                    .as_ref()
                    .is_some_and(|z| !z.failover.is_empty() || !z.failover_priority.is_empty())
        })
    };
    for (i, rule) in spec.destination_rules.iter().enumerate() {
        let host = rule.host.to_string();
        if !services.contains_key(&host) {
            errors.push(ModelError::DestinationRuleUnknownHost {
                path: format!("spec.destinationRules[{i}].host"),
                host: host.clone(),
            });
        }
        let mut objects: Vec<(String, &crate::destination_rule::TrafficPolicy)> = Vec::new();
        if let Some(p) = &rule.traffic_policy {
            objects.push((format!("spec.destinationRules[{i}].trafficPolicy"), p));
        }
        for (j, sub) in rule.subsets.iter().enumerate() {
            if let Some(p) = &sub.traffic_policy {
                objects.push((
                    format!("spec.destinationRules[{i}].subsets[{j}].trafficPolicy"),
                    p,
                ));
            }
        }
        let mut policies: Vec<(
            String,
            &Option<LoadBalancerSettings>,
            &Option<OutlierDetection>,
        )> = Vec::new();
        for (at, p) in objects {
            policies.push((
                format!("{at}.loadBalancer"),
                &p.load_balancer,
                &p.outlier_detection,
            ));
            for (j, port) in p.port_level_settings.iter().enumerate() {
                policies.push((
                    format!("{at}.portLevelSettings[{j}].loadBalancer"),
                    &port.load_balancer,
                    &port.outlier_detection,
                ));
            }
        }
        for (path, lb, outlier) in policies {
            if fails_over(lb) && outlier.is_none() {
                errors.push(ModelError::FailoverWithoutOutlierDetection {
                    path,
                    host: host.clone(),
                });
            }
        }
    }
}

/// Whether two ranges share an address (one contains the other).
fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// `Some(None)` when `address` is outside every pod CIDR of `cluster` (which lists some of the
/// address's family), `Some(Some(other))` when it is inside the pod CIDRs of another cluster (and
/// not its own), `None` when it is where it belongs, no cluster says where pods are, or a
/// MeshNetworks `fromCidr` range declares it (VMs and other non-pod workloads).
fn pod_cidr_problem(
    spec: &crate::document::MeshSpec,
    cluster: &ClusterId,
    address: IpAddr,
) -> Option<Option<ClusterId>> {
    let own = spec.clusters.iter().find(|c| &c.name == cluster)?;
    if own.pod_cidrs.iter().any(|p| p.contains(&address)) {
        return None;
    }
    let declared = spec.mesh_networks.networks.values().any(|n| {
        n.endpoints.iter().any(|e| match e {
            NetworkEndpoints::FromCidr(c) => c.parse::<IpNet>().is_ok_and(|c| c.contains(&address)),
            _ => false,
        })
    });
    if declared {
        return None;
    }
    let other = spec
        .clusters
        .iter()
        .find(|c| &c.name != cluster && c.pod_cidrs.iter().any(|p| p.contains(&address)));
    let same_family = |p: &IpNet| p.addr().is_ipv4() == address.is_ipv4();
    match other {
        Some(o) => Some(Some(o.name.clone())),
        None if own.pod_cidrs.iter().any(same_family) => Some(None),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_rules_for_no_service_or_failing_over_without_outlier_detection() {
        let doc = MeshDocument::from_yaml(
            r#"
apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  services: [{name: a, namespace: ns}]
  destinationRules:
  - host: b.ns
    trafficPolicy: {outlierDetection: {interval: 1s}}
  - host: a.ns.svc.cluster.local
    trafficPolicy:
      outlierDetection: {interval: 1s}
      loadBalancer: {localityLbSetting: {failover: [{from: r1, to: r2}]}}
      portLevelSettings:
      - port: {number: 80}
        loadBalancer: {zoneAwareLbSetting: {failoverPriority: [app]}}
    subsets:
    - name: v1
      trafficPolicy: {loadBalancer: {localityLbSetting: {failoverPriority: [app]}}}
    - name: v2
      trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: false}}}
"#,
        )
        .unwrap();
        let got: Vec<String> = doc
            .consistency_errors()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                r#"spec.destinationRules[0].host: "b.ns" is no service of this mesh: the DestinationRule applies to nothing"#,
                "spec.destinationRules[1].trafficPolicy.portLevelSettings[0].loadBalancer: outlier detection policy must be provided for failover",
                "spec.destinationRules[1].subsets[0].trafficPolicy.loadBalancer: outlier detection policy must be provided for failover",
            ]
        );
    }
}
