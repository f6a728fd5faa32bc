//! mesh-model's consistency errors as diagnostics: the checks are mesh-model's
//! ([`MeshDocument::consistency_errors`]); this maps each error to its code, subjects, explanation and fix.

use mesh_model::{MeshDocument, ModelError};

use crate::diagnostic::{Code, Diagnostic, Subject};

/// The cluster or service a document path (`spec.clusters[3].controlPlane`,
/// `spec.services[1].endpoints[0].cluster`) is inside of.
fn referrer(doc: &MeshDocument, path: &str) -> Option<Subject> {
    let index = |prefix: &str| -> Option<usize> {
        path.strip_prefix(prefix)?.split(']').next()?.parse().ok()
    };
    if let Some(c) = index("spec.clusters[").and_then(|i| doc.spec.clusters.get(i)) {
        return Some(Subject::Cluster(c.name.to_string()));
    }
    index("spec.services[")
        .and_then(|i| doc.spec.services.get(i))
        .map(|s| Subject::Service(s.key().to_string()))
}

/// The diagnostics of one model error.
pub(crate) fn model_diagnostic(doc: &MeshDocument, e: &ModelError) -> Vec<Diagnostic> {
    let at = e.path();
    let one = |code, message: String, subjects, explanation: String, fix: &str| {
        vec![Diagnostic::new(code, message, subjects, explanation, fix)]
    };
    match e {
        ModelError::DuplicateCluster { name, first, .. } => one(
            Code::DuplicateCluster,
            format!("cluster {name} is defined twice"),
            vec![Subject::Cluster(name.to_string())],
            format!("{at} repeats the name of {first}; cluster names are registry ids and must be unique (only the first is used)"),
            "Rename or remove one of the clusters",
        ),
        ModelError::DuplicateService { key, first, .. } => one(
            Code::DuplicateService,
            format!("service {key} is defined twice"),
            vec![Subject::Service(key.clone())],
            format!("{at} repeats {first}: name.namespace is the same service in every cluster"),
            "Merge the two entries (list both clusters' endpoints under one service)",
        ),
        ModelError::DestinationRuleUnknownHost { host, .. } => one(
            Code::DestinationRuleUnknownHost,
            format!("{at}: DestinationRule for {host}, which is not in spec.services"),
            vec![Subject::Service(host.clone())],
            format!("{e}. Istio accepts a rule for a host it does not know; it applies to no cluster, so its load balancing and outlier detection change nothing"),
            "Fix the host (name.namespace or name.namespace.svc.<suffix>), or add the service",
        ),
        ModelError::FailoverWithoutOutlierDetection { host, .. } => one(
            Code::FailoverWithoutOutlierDetection,
            format!("{at}: locality failover for {host} without outlier detection"),
            vec![Subject::Service(host.clone())],
            format!("{e} (Istio's validation warning). Without outlierDetection in the merged policy Istio assigns no failover priorities (locality-lb L3, L8): every locality gets priority 0, and an unhealthy locality keeps its share of the traffic"),
            "Add outlierDetection (e.g. consecutive5xxErrors, interval, baseEjectionTime) to this traffic policy",
        ),
        ModelError::UnknownCluster { name, .. } => one(
            Code::UnknownCluster,
            format!("{at} names cluster {name:?}, which is not in spec.clusters"),
            // The missing cluster, and the cluster or service whose field names it, so the
            // picture marks the one that holds the mistake.
            std::iter::once(Subject::Cluster(name.clone()))
                .chain(referrer(doc, at))
                .collect(),
            e.to_string(),
            "Fix the name, or add the cluster to spec.clusters",
        ),
        ModelError::UnknownNetwork { name, .. } => one(
            Code::UnknownNetwork,
            format!("{at} names network {name:?}, which is not defined"),
            vec![Subject::Network(name.clone())],
            format!(
                "{e}; defined networks: {}",
                doc.defined_networks().into_iter().collect::<Vec<_>>().join(", ")
            ),
            "Fix the name, or define the network under spec.meshNetworks.networks (network names must be valid ids)",
        ),
        ModelError::NetworkNotInMeshNetworks { name, .. } => one(
            Code::NetworkNotInMeshnetworks,
            format!("{at} names network {name}, which spec.meshNetworks does not list"),
            vec![Subject::Network(name.to_string())],
            format!(
                "{e} ({}). Istio accepts this: the network is only a label, so its endpoints are on network {name}, but MeshNetworks gives no gateway for it and proxies on other networks get none of its endpoints (unless a gateway labeled topology.istio.io/network={name} is discovered)",
                doc.spec.mesh_networks.networks.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            &format!("Add {name} to spec.meshNetworks.networks (with its endpoints and gateways), or correct the name"),
        ),
        ModelError::DegenerateLink { path } => {
            let networks: Vec<String> = path
                .strip_prefix("spec.links[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| doc.spec.links.get(i))
                .map(|l| l.networks.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            one(
                Code::DegenerateLink,
                format!("{path} joins fewer than two distinct networks"),
                networks.iter().map(|n| Subject::Network(n.clone())).collect(),
                format!("{path} lists [{}]: a link connects at least two networks, so this one does nothing", networks.join(", ")),
                "List the two (or more) networks the link joins, or remove it",
            )
        }
        ModelError::OverlappingPodCidrs {
            cluster,
            cidr,
            first,
            ..
        } => one(
            Code::PodCidrsOverlap,
            format!("pod CIDRs {first} and {cidr} of cluster {cluster} overlap"),
            vec![
                Subject::Cluster(cluster.to_string()),
                Subject::Cidr(first.to_string()),
                Subject::Cidr(cidr.to_string()),
            ],
            format!("{e}: the addresses they share are listed twice, probably a typo in one of them"),
            "Remove the range contained in the other, or correct the one that was mistyped",
        ),
        ModelError::EndpointOutsidePodCidrs {
            address,
            cluster,
            inside,
            ..
        } => {
            let mut subjects = vec![Subject::Cluster(cluster.to_string())];
            let (message, fix) = match inside {
                Some(other) => {
                    subjects.push(Subject::Cluster(other.to_string()));
                    (
                        format!("endpoint {address} of cluster {cluster} is in the pod CIDRs of cluster {other}"),
                        format!("Put the endpoint under cluster {other}, or correct its address"),
                    )
                }
                None => (
                    format!("endpoint {address} is outside the pod CIDRs of its cluster {cluster}"),
                    format!("Correct the address, its cluster, or cluster {cluster}'s podCidrs"),
                ),
            };
            one(
                Code::EndpointOutsidePodCidrs,
                message,
                subjects,
                format!("{e}: a pod's address comes from its own cluster's pod ranges, so the endpoint is probably listed under the wrong cluster or mistyped (a VM or host-network endpoint may be right)"),
                &fix,
            )
        }
        ModelError::DuplicatePortName { name, first, .. } => one(
            Code::DuplicatePortName,
            format!("port name {name:?} is used twice in one service"),
            service_of(doc, at),
            format!("{at} repeats the name of {first}: Istio selects endpoints by port name, so one of the two ports gets the other's endpoints"),
            "Give every port of the service its own name",
        ),
        ModelError::DuplicateEndpoint { first, .. } => one(
            Code::DuplicateEndpoint,
            format!("{at} repeats the endpoint {first}"),
            service_of(doc, at),
            format!("{e}: Istio pushes it twice, so it gets twice the traffic of the others"),
            "Remove one of the two entries",
        ),
        ModelError::IgnoredMeshNetworksField {
            field, suggestion, ..
        } => {
            one(
                Code::MeshnetworksUnknownField,
                match suggestion {
                    Some(s) => format!("{at}: unknown field {field:?} (did you mean {s:?}?)"),
                    None => format!("{at}: unknown field {field:?}"),
                },
                meshnetworks_network(at),
                format!("{e}: istiod reads MeshNetworks as protobuf JSON and drops fields it does not know without a word, so whatever this line meant to configure is not configured"),
                &match suggestion {
                    Some(s) => format!("Rename {field:?} to {s:?}"),
                    None => format!("Remove {field:?}, or rename it to a MeshNetworks field"),
                },
            )
        }
        ModelError::MeshNetworksOneofOverridden { field, kept, .. } => one(
            Code::MeshnetworksReadAsIstio,
            e.to_string(),
            meshnetworks_network(at),
            "istiod decodes MeshNetworks with the protobuf-JSON decoder, which sets fields in declaration order; setting a oneof member clears the other, so only the later one takes effect".to_owned(),
            &format!("Remove {field:?} (Istio uses {kept:?})"),
        ),
        ModelError::MeshNetworksOctalPort { value, written, .. } => one(
            Code::MeshnetworksReadAsIstio,
            e.to_string(),
            meshnetworks_network(at),
            format!("istiod reads MeshNetworks YAML as YAML 1.1 (sigs.k8s.io/yaml), where a plain number with a leading zero is octal; meshspan reads it the same way, so the gateway port is {value}"),
            &format!("Write the port without the leading zero (or {value} if octal was meant), not {written}"),
        ),
        ModelError::InvalidMeshNetworks(errors) => errors
            .0
            .iter()
            .map(|err| {
                Diagnostic::new(
                    Code::InvalidMeshnetworks,
                    err.to_string(),
                    vec![Subject::Network(err.network.clone())],
                    "istiod validates MeshNetworks on load (rules V1–V6) and rejects the whole document on any error, keeping the last good one",
                    "Correct the value Istio names in the message",
                )
            })
            .collect(),
        _ => one(
            Code::ModelError,
            e.to_string(),
            Vec::new(),
            format!("mesh-model reports a problem at {at}"),
            "Correct the document where the message says",
        ),
    }
}

/// The network (as a subject) a `spec.meshNetworks.networks.<name>…` path is inside.
fn meshnetworks_network(at: &str) -> Vec<Subject> {
    at.strip_prefix("spec.meshNetworks.networks.")
        .map(|r| r.split(['.', '[']).next().unwrap_or(r))
        .map(|n| vec![Subject::Network(n.to_owned())])
        .unwrap_or_default()
}

/// The service (as a subject) a `spec.services[i]…` path is inside.
fn service_of(doc: &MeshDocument, path: &str) -> Vec<Subject> {
    path.strip_prefix("spec.services[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok())
        .and_then(|i| doc.spec.services.get(i))
        .map(|s| vec![Subject::Service(s.key().to_string())])
        .unwrap_or_default()
}
