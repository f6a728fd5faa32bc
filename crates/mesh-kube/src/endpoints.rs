//! EndpointSlices → the endpoints of each Service, with what Istio reads from each endpoint's pod.
//!
//! Istio's rules (`pilot/pkg/serviceregistry/kube/controller/endpointslice.go`):
//! - A slice belongs to the Service its label `kubernetes.io/service-name` names
//!   (`serviceNameForEndpointSlice`); slices labelled `multicluster.kubernetes.io/service-name`
//!   (MCS) are not read (`endpointSliceSelector`), nor `addressType: FQDN` slices
//!   (`updateEndpointCacheForSlice`).
//! - Health (`endpointHealthStatus`): `ready` absent or true → healthy; else serving (or absent)
//!   and terminating (or absent) → draining; else terminating → terminating; else unhealthy. The
//!   mesh document keeps healthy or not.
//! - The pod is the `targetRef` when it is a Pod; one that is missing drops the address (`getPod`);
//!   without a targetRef, the first pod with that IP in the slice's namespace (`Controller.getPod`).
//! - From the pod (`endpoint_builder.go`, `NewEndpointBuilder`): its labels, locality
//!   (`locality`), service account (`conversion.go`, `SecureNamingSAN`), TLS mode — the label
//!   `security.istio.io/tlsMode`, `disabled` without a pod (`conversion.go`, `PodTLSMode`) — and
//!   its network label (`network`).
//! - An address already seen for the Service in another slice is one endpoint
//!   (`endpointSliceCache.get` dedupes by address and port).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use mesh_model::{ClusterId, Endpoint, Locality, NetworkId, TlsMode};

use crate::error::ImportError;
use crate::label;
use crate::locality::{node_locality, pod_locality};
use crate::object::{EndpointSlice, Node, ObjectRef, Pod};
use crate::report::ImportReport;

/// The endpoints of one Service from its slices, and the slices' named ports.
#[derive(Debug, Default)]
pub(crate) struct ServiceEndpoints {
    pub endpoints: Vec<Endpoint>,
    /// Port name → number, from the slices (what a named `targetPort` means).
    pub ports: BTreeMap<String, u16>,
    seen: HashSet<IpAddr>,
}

/// How many endpoints were not healthy, by Istio's health status.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Health {
    pub draining: usize,
    pub terminating: usize,
    pub unhealthy: usize,
}

/// Pods by name and by IP, nodes' localities by name.
pub(crate) struct Pods<'a> {
    by_key: HashMap<(&'a str, &'a str), &'a Pod>,
    by_ip: HashMap<&'a str, Vec<&'a Pod>>,
    nodes: HashMap<&'a str, Option<String>>,
}

impl<'a> Pods<'a> {
    pub(crate) fn new(pods: &'a [(ObjectRef, Pod)], nodes: &'a [(ObjectRef, Node)]) -> Self {
        let mut by_key = HashMap::with_capacity(pods.len());
        let mut by_ip: HashMap<&str, Vec<&Pod>> = HashMap::with_capacity(pods.len());
        for (r, p) in pods {
            by_key.insert((r.namespace.as_str(), r.name.as_str()), p);
            let ips = p.status.pod_ips.iter().map(|i| i.ip.as_str());
            for ip in std::iter::once(p.status.pod_ip.as_str()).chain(ips) {
                if !ip.is_empty() {
                    let list = by_ip.entry(ip).or_default();
                    if !list.iter().any(|q| std::ptr::eq(*q, p)) {
                        list.push(p);
                    }
                }
            }
        }
        let nodes = nodes
            .iter()
            .map(|(r, n)| (r.name.as_str(), node_locality(&n.metadata.labels)))
            .collect();
        Self {
            by_key,
            by_ip,
            nodes,
        }
    }
}

/// Reads every slice into `out`, keyed by (namespace, service name).
pub(crate) fn read_slices(
    cluster: &str,
    id: &ClusterId,
    slices: &[(ObjectRef, EndpointSlice)],
    pods: &Pods<'_>,
    out: &mut BTreeMap<(String, String), ServiceEndpoints>,
    report: &mut ImportReport,
) -> Result<Health, ImportError> {
    let mut health = Health::default();
    for (object, slice) in slices {
        let labels = &slice.metadata.labels;
        if labels.contains_key(label::MCS_SERVICE_NAME) {
            report.skip(cluster, object, "an MCS slice (multicluster.kubernetes.io/service-name): not read (endpointslice.go, endpointSliceSelector)");
            continue;
        }
        let Some(service) = labels.get(label::SERVICE_NAME).filter(|s| !s.is_empty()) else {
            report.skip(cluster, object, "no kubernetes.io/service-name label: not a Service's slice (endpointslice.go, updateEndpointCacheForSlice)");
            continue;
        };
        if slice.address_type == "FQDN" {
            report.skip(cluster, object, "addressType FQDN is not supported by Istio (endpointslice.go, updateEndpointCacheForSlice)");
            continue;
        }
        let entry = out
            .entry((object.namespace.clone(), service.clone()))
            .or_default();
        for p in &slice.ports {
            if let (Some(name), Some(port)) = (&p.name, p.port) {
                entry.ports.entry(name.clone()).or_insert(port);
            }
        }
        let single_port = match slice.ports.as_slice() {
            [one] => one.port,
            _ => None,
        };
        for (i, e) in slice.endpoints.iter().enumerate() {
            let healthy = status(&e.conditions, &mut health);
            for (j, a) in e.addresses.iter().enumerate() {
                let ip: IpAddr = a.parse().map_err(|_| {
                    ImportError::field(
                        cluster,
                        object,
                        format!("endpoints[{i}].addresses[{j}]"),
                        format!("{a:?} is not an IP address"),
                    )
                })?;
                let pod = match &e.target_ref {
                    Some(t) if t.kind == "Pod" => {
                        let ns = if t.namespace.is_empty() {
                            &object.namespace
                        } else {
                            &t.namespace
                        };
                        match pods.by_key.get(&(ns.as_str(), t.name.as_str())) {
                            Some(p) => Some(*p),
                            None => {
                                report.skip(cluster, object, format!("endpoint {a}: its pod {ns}/{} is not in the dump: dropped, as istiod drops it until the pod arrives (endpointslice.go, getPod)", t.name));
                                continue;
                            }
                        }
                    }
                    _ => pods.by_ip.get(a.as_str()).and_then(|list| {
                        list.iter()
                            .find(|p| p.metadata.namespace == object.namespace)
                            .copied()
                    }),
                };
                if !entry.seen.insert(ip) {
                    continue;
                }
                // Built straight into the endpoint: the owned fields cost what a clone of cached
                // facts would, without keeping a second copy of every pod's labels.
                let facts = match pod {
                    Some(p) => PodFacts::of(cluster, p, pods)?,
                    None => PodFacts::default(),
                };
                entry.endpoints.push(Endpoint {
                    cluster: id.clone(),
                    addresses: vec![ip],
                    port: single_port,
                    network: facts.network,
                    locality: facts.locality,
                    labels: facts.labels,
                    tls_mode: facts.tls_mode,
                    service_account: facts.service_account,
                    workload: facts.workload,
                    weight: None,
                    healthy,
                });
            }
        }
    }
    Ok(health)
}

/// Istio's health status of one slice endpoint; counts the unhealthy kinds.
fn status(c: &crate::object::Conditions, health: &mut Health) -> bool {
    if c.ready.unwrap_or(true) {
        return true;
    }
    if c.serving.unwrap_or(true) && c.terminating.unwrap_or(true) {
        health.draining += 1;
    } else if c.terminating.unwrap_or(true) {
        health.terminating += 1;
    } else {
        health.unhealthy += 1;
    }
    false
}

/// What an endpoint takes from its pod.
#[derive(Debug, Default)]
struct PodFacts {
    network: Option<NetworkId>,
    locality: Option<Locality>,
    labels: BTreeMap<String, String>,
    tls_mode: TlsMode,
    service_account: Option<String>,
    workload: Option<String>,
}

impl PodFacts {
    fn of(cluster: &str, pod: &Pod, pods: &Pods<'_>) -> Result<Self, ImportError> {
        // Only an error names the pod.
        let object = || ObjectRef {
            kind: "Pod".into(),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
        };
        let labels = &pod.metadata.labels;
        let network = match labels
            .get(label::TOPOLOGY_NETWORK)
            .filter(|n| !n.is_empty())
        {
            Some(n) => Some(NetworkId::new(n.as_str()).map_err(|e| {
                ImportError::field(
                    cluster,
                    &object(),
                    format!("metadata.labels[{:?}]", label::TOPOLOGY_NETWORK),
                    e.to_string(),
                )
            })?),
            None => None,
        };
        let node = pods
            .nodes
            .get(pod.spec.node_name.as_str())
            .and_then(Option::as_deref);
        let locality = match pod_locality(labels, node) {
            Some(l) => Some(Locality::new(l).map_err(|e| {
                ImportError::field(
                    cluster,
                    &object(),
                    "locality (metadata.labels or its node's labels)",
                    e.to_string(),
                )
            })?),
            None => None,
        };
        let tls_mode = if labels.get(label::TLS_MODE).is_some_and(|m| m == "istio") {
            TlsMode::Istio
        } else {
            TlsMode::Disabled
        };
        let sa = &pod.spec.service_account_name;
        Ok(Self {
            network,
            locality,
            labels: labels.clone(),
            tls_mode,
            service_account: Some(if sa.is_empty() {
                "default".to_owned()
            } else {
                sa.clone()
            }),
            workload: Some(crate::workload::workload_name(&pod.metadata)),
        })
    }
}
