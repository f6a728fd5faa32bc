//! Per-cluster imports joined into one mesh document: identities, who watches whom (multi-primary
//! and primary-remote), API-server addresses from remote secrets, meshNetworks with the gateways
//! found from Services, and the services merged by `name.namespace`.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use mesh_model::{
    ApiServer, CaCerts, Cluster, ClusterId, GatewayAddress, MeshDocument, MeshNetworks, MeshSpec,
    Metadata, Namespace, NetworkGateway, NetworkId, Service, ServiceName, ServicePort,
    TrafficDistribution, TrustDomain,
};

use crate::dump;
use crate::endpoints::{self, Pods, ServiceEndpoints};
use crate::error::ImportError;
use crate::gateway::{self, LabelGateway};
use crate::identity::{self, ClusterValues};
use crate::istio::DOMAIN_SUFFIX;
use crate::istio::destination_rule::{self, ReadRule};
use crate::istio::peer_authentication::{self, ReadPolicy};
use crate::istio::service_entry;
use crate::network::{self, MeshConfigMap, SYSTEM_NAMESPACE};
use crate::object::{IntOrString, ObjectRef};
use crate::report::ImportReport;
use crate::secret::{self, RemoteCluster};

/// One cluster's input: its dump and what the caller knows about it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterInput<'a> {
    /// The dump's name (`--cluster NAME=...`): the cluster ID unless the dump or values say
    /// otherwise.
    pub name: &'a str,
    /// The dump: `kubectl get ... -A -o json|yaml` output.
    pub dump: &'a str,
    /// Helm values or an IstioOperator for this cluster.
    pub values: ClusterValues,
    /// Pod CIDRs to use when no node carries `spec.podCIDR(s)`.
    pub pod_cidrs: Vec<IpNet>,
    /// Service CIDRs to use when no `ServiceCIDR` object carries them.
    pub service_cidrs: Vec<IpNet>,
}

impl<'a> ClusterInput<'a> {
    /// A dump with nothing else known.
    pub fn new(name: &'a str, dump: &'a str) -> Self {
        Self {
            name,
            dump,
            values: ClusterValues::default(),
            pod_cidrs: Vec::new(),
            service_cidrs: Vec::new(),
        }
    }
}

/// Options of the whole import.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The mesh ID (`metadata.name`); default: the values' `global.meshID`, else the trust domain
    /// (Istio's default).
    pub mesh_id: Option<String>,
}

/// The result: the document and the account of how it was made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Import {
    /// The mesh document.
    pub document: MeshDocument,
    /// What was inferred, skipped and not recognised.
    pub report: ImportReport,
}

/// What one dump contributed, before the clusters are joined.
struct ClusterImport {
    dump: String,
    id: ClusterId,
    values: ClusterValues,
    has_istiod: bool,
    network: Option<NetworkId>,
    mesh_config: Option<MeshConfigMap>,
    pod_cidrs: Vec<IpNet>,
    service_cidrs: Vec<IpNet>,
    services: Vec<ImportedService>,
    gateways: Vec<LabelGateway>,
    remotes: Vec<RemoteCluster>,
    ca_certs: Option<CaCerts>,
    destination_rules: Vec<ReadRule>,
    peer_authentications: Vec<ReadPolicy>,
    auto_passthrough: Option<Vec<mesh_model::AutoPassthroughServer>>,
}

struct ImportedService {
    name: ServiceName,
    namespace: Namespace,
    ports: Vec<ServicePort>,
    external_addresses: Vec<String>,
    endpoints: Vec<mesh_model::Endpoint>,
    /// Whether the dump holds the Service object (not only slices naming it).
    has_object: bool,
    /// Its traffic distribution (spec, else annotations), when Istio knows the value.
    traffic_distribution: Option<TrafficDistribution>,
}

/// Imports dumps one at a time (each dump's text may be dropped once added), then joins them.
///
/// ```
/// use mesh_kube::{ClusterInput, ImportOptions, Importer};
/// let dump = r#"{"apiVersion": "v1", "kind": "List", "items": [
///   {"apiVersion": "v1", "kind": "Namespace",
///    "metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "network1"}}}]}"#;
/// let mut importer = Importer::new(ImportOptions::default());
/// importer.add(ClusterInput::new("cluster1", dump))?;
/// let import = importer.finish()?;
/// let cluster = &import.document.spec.clusters[0];
/// assert_eq!(cluster.name.as_str(), "cluster1");
/// assert_eq!(cluster.network.as_ref().map(|n| n.as_str()), Some("network1"));
/// # Ok::<(), mesh_kube::ImportError>(())
/// ```
#[derive(Default)]
pub struct Importer {
    options: ImportOptions,
    clusters: Vec<ClusterImport>,
    report: ImportReport,
}

impl Importer {
    /// An importer with no clusters yet.
    pub fn new(options: ImportOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Reads one cluster's dump.
    pub fn add(&mut self, input: ClusterInput<'_>) -> Result<(), ImportError> {
        if self.clusters.iter().any(|c| c.dump == input.name) {
            return Err(ImportError::DuplicateDump {
                cluster: input.name.to_owned(),
            });
        }
        let cluster = read_cluster(input, &mut self.report)?;
        self.clusters.push(cluster);
        Ok(())
    }

    /// Joins the clusters into one document.
    pub fn finish(mut self) -> Result<Import, ImportError> {
        let report = &mut self.report;
        let clusters = &self.clusters;
        let role = roles(clusters, report);
        let (mesh_networks, trust) = mesh_networks(clusters, report);
        let trust_domain = trust
            .as_deref()
            .or_else(|| {
                clusters
                    .iter()
                    .find_map(|c| c.values.trust_domain.as_deref())
            })
            .unwrap_or("cluster.local");
        let trust_domain = TrustDomain::new(trust_domain).map_err(|e| ImportError::Option {
            cluster: String::new(),
            option: "trustDomain",
            message: e.to_string(),
        })?;
        let mesh_id = match self
            .options
            .mesh_id
            .clone()
            .or_else(|| clusters.iter().find_map(|c| c.values.mesh_id.clone()))
        {
            Some(id) => id,
            None => {
                report.infer(
                    "",
                    "metadata.name",
                    &trust_domain,
                    "no mesh ID given: Istio's default, the trust domain",
                );
                trust_domain.to_string()
            }
        };
        // Each watched cluster's API server, from the first remote secret naming it.
        let mut api_servers: BTreeMap<&str, &RemoteCluster> = BTreeMap::new();
        for c in clusters {
            for r in &c.remotes {
                match api_servers.get(r.cluster_id.as_str()) {
                    Some(first) if first.server != r.server => report.infer(
                        &c.dump,
                        format!("clusters[{}].apiServer.address", r.cluster_id),
                        &first.server,
                        format!("{} (a different address, {}, in {}: the document has one address per API server)", first.secret, r.server, r.secret),
                    ),
                    Some(_) => {}
                    None => {
                        api_servers.insert(&r.cluster_id, r);
                    }
                }
            }
        }
        let mut out_clusters = Vec::with_capacity(clusters.len());
        for (c, role) in clusters.iter().zip(&role) {
            let api_server = api_servers.get(c.id.as_str()).map(|r| {
                let (exposure, why) = secret::exposure_of(&r.server);
                report.infer(
                    &c.dump,
                    format!("clusters[{}].apiServer.exposure", c.id),
                    exposure,
                    format!("{} in {}", why, r.secret),
                );
                ApiServer {
                    address: r.server.clone(),
                    exposure,
                    reachable_from: Vec::new(),
                }
            });
            let mut watches: Vec<ClusterId> = Vec::new();
            for r in &c.remotes {
                let id = ClusterId::new(r.cluster_id.as_str()).map_err(|e| {
                    ImportError::field(
                        &c.dump,
                        &r.secret,
                        format!("data.{}", r.cluster_id),
                        e.to_string(),
                    )
                })?;
                watches.push(id);
            }
            out_clusters.push(Cluster {
                name: c.id.clone(),
                network: c.network.clone(),
                control_plane: role.clone(),
                api_server,
                pod_cidrs: c.pod_cidrs.clone(),
                service_cidrs: c.service_cidrs.clone(),
                locality: None,
                ca_certs: c.ca_certs.clone(),
                auto_passthrough: c.auto_passthrough.clone(),
                watches,
                mesh_config: None,
                proxy_cluster_id: None,
            });
        }
        let rules = self
            .clusters
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.destination_rules))
            .collect();
        let destination_rules = destination_rule::merged(rules, &mut self.report);
        let policies = self
            .clusters
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.peer_authentications))
            .collect();
        let peer_authentications = peer_authentication::joined(policies, &mut self.report);
        // istiod reads PeerAuthentications against its mesh config's rootNamespace: the first
        // control plane's `istio` ConfigMap, as for meshNetworks.
        let root_namespace = self
            .clusters
            .iter()
            .find_map(|c| c.mesh_config.as_ref())
            .map(|m| m.mesh.root_namespace.clone())
            .filter(|n| !n.is_empty() && n != mesh_model::DEFAULT_ROOT_NAMESPACE);
        let services = merge_services(std::mem::take(&mut self.clusters));
        let document = MeshDocument {
            api_version: mesh_model::API_VERSION.to_owned(),
            kind: mesh_model::KIND.to_owned(),
            metadata: Metadata { name: mesh_id },
            spec: MeshSpec {
                trust_domain,
                trust_domain_aliases: Vec::new(),
                domain_suffix: DOMAIN_SUFFIX.to_owned(),
                clusters: out_clusters,
                mesh_networks,
                links: Vec::new(),
                services,
                dns: BTreeMap::new(),
                global_vip_range: None,
                mcs: Default::default(),
                mesh_config: mesh_model::MeshConfig {
                    root_namespace,
                    ..Default::default()
                },
                destination_rules,
                peer_authentications,
            },
        };
        Ok(Import {
            document,
            report: self.report,
        })
    }
}

/// Imports all clusters at once: [`Importer`] in one call.
pub fn import(
    options: ImportOptions,
    clusters: Vec<ClusterInput<'_>>,
) -> Result<Import, ImportError> {
    let mut importer = Importer::new(options);
    for c in clusters {
        importer.add(c)?;
    }
    importer.finish()
}

fn read_cluster(
    input: ClusterInput<'_>,
    report: &mut ImportReport,
) -> Result<ClusterImport, ImportError> {
    let dump = input.name;
    let objects = dump::read(dump, input.dump)?;
    report.read.insert(dump.to_owned(), objects.counts.clone());
    for o in &objects.unrecognised {
        ImportReport::list(&mut report.unrecognised, dump, o);
    }
    for o in &objects.not_modelled {
        ImportReport::list(&mut report.not_modelled, dump, o);
        if let Some(why) = dump::not_modelled_reason(&o.kind) {
            report
                .not_modelled_reasons
                .entry(o.kind.clone())
                .or_insert_with(|| why.to_owned());
        }
    }
    let istiod = identity::istiod(&objects.pods);
    let system = istiod
        .as_ref()
        .map_or(SYSTEM_NAMESPACE, |i| i.pod.namespace.as_str())
        .to_owned();
    let (id, from) = identity::cluster_id(dump, &input.values, istiod.as_ref());
    if let Some(from) = from {
        report.infer(dump, "clusters[].name (cluster ID)", &id, from);
    }
    let id = ClusterId::new(id.as_str()).map_err(|e| ImportError::Values {
        cluster: dump.to_owned(),
        field: "global.multiCluster.clusterName".into(),
        message: e.to_string(),
    })?;
    let network = match network::system_namespace_network(&objects.namespaces, &system) {
        Some((ns, n)) => Some(NetworkId::new(n).map_err(|e| {
            ImportError::field(
                dump,
                ns,
                "metadata.labels[\"topology.istio.io/network\"]",
                e.to_string(),
            )
        })?),
        None => match &input.values.network {
            Some(n) => {
                report.infer(dump, format!("clusters[{id}].network"), n, format!("values global.network (namespace {system} has no topology.istio.io/network label, which istiod reads first)"));
                Some(NetworkId::new(n.as_str()).map_err(|e| ImportError::Values {
                    cluster: dump.to_owned(),
                    field: "global.network".into(),
                    message: e.to_string(),
                })?)
            }
            None => None,
        },
    };
    let mesh_config = network::mesh_config(dump, &objects.config_maps, &system)?;
    let pod_cidrs = pod_cidrs(dump, &id, &objects, &input.pod_cidrs, report)?;
    let service_cidrs = service_cidrs(dump, &id, &objects, &input.service_cidrs, report)?;
    let remotes = secret::remote_clusters(dump, id.as_str(), &objects.secrets, &system, report)?;
    let ca_certs = secret::ca_certs(dump, &objects.secrets, &system)?.map(|(object, certs)| {
        report.infer(
            dump,
            format!("clusters[{id}].caCerts"),
            "root-cert.pem, ca-cert.pem, cert-chain.pem",
            object.to_string(),
        );
        certs
    });
    let destination_rules = destination_rule::read(dump, &objects.istio.destination_rules, report)?;
    let peer_authentications =
        peer_authentication::read(dump, &objects.istio.peer_authentications, report)?;
    let auto_passthrough = crate::istio::gateway::auto_passthrough(dump, &objects.istio.gateways)?;
    let entries = service_entry::services(
        dump,
        &id,
        &objects.istio.service_entries,
        &objects.istio.workload_entries,
        report,
    )?;
    // Endpoints of every Service.
    let pods = Pods::new(&objects.pods, &objects.nodes);
    let mut by_service: BTreeMap<(String, String), ServiceEndpoints> = BTreeMap::new();
    let health =
        endpoints::read_slices(dump, &id, &objects.slices, &pods, &mut by_service, report)?;
    if health.draining + health.terminating + health.unhealthy > 0 {
        report.infer(
            dump,
            "services[].endpoints[].healthy",
            false,
            format!(
                "{} draining, {} terminating, {} unhealthy endpoints (endpointslice.go, endpointHealthStatus; the document keeps only healthy or not)",
                health.draining, health.terminating, health.unhealthy
            ),
        );
    }
    let mut services = Vec::with_capacity(objects.services.len());
    let mut gateways = Vec::new();
    for (object, svc) in &objects.services {
        let (external, node_ports) = gateway::external_addresses(svc, &objects.nodes);
        gateways.extend(gateway::label_gateways(
            dump,
            object,
            svc,
            &external,
            &node_ports,
            report,
        ));
        let key = (object.namespace.clone(), object.name.clone());
        let found = by_service.remove(&key).unwrap_or_default();
        let mut imported = imported_service(dump, object, svc, external, found)?;
        imported.traffic_distribution =
            traffic_distribution(svc, &object.namespace, &objects.namespaces);
        services.push(imported);
    }
    // Slices of Services the dump does not hold: their endpoints still count (istiod caches them
    // by host name), as a service without ports.
    for ((ns, name), found) in by_service {
        if found.endpoints.is_empty() {
            continue;
        }
        let object = ObjectRef {
            kind: "Service".into(),
            namespace: ns,
            name,
        };
        report.infer(
            dump,
            format!("services[{}.{}]", object.name, object.namespace),
            "no ports",
            "EndpointSlices of a Service that is not in the dump",
        );
        let mut s = imported_service(dump, &object, &Default::default(), Vec::new(), found)?;
        s.has_object = false;
        services.push(s);
    }
    services.extend(entries.into_iter().map(|e| ImportedService {
        name: e.name,
        namespace: e.namespace,
        ports: e.ports,
        external_addresses: Vec::new(),
        endpoints: e.endpoints,
        has_object: true,
        traffic_distribution: None,
    }));
    Ok(ClusterImport {
        dump: dump.to_owned(),
        id,
        values: input.values,
        has_istiod: istiod.is_some(),
        network,
        mesh_config,
        pod_cidrs,
        service_cidrs,
        services,
        gateways,
        remotes,
        ca_certs,
        destination_rules,
        peer_authentications,
        auto_passthrough,
    })
}

/// A Service's traffic distribution as Istio reads it (`pilot/pkg/model/service.go`,
/// locality-lb L7): its `spec.trafficDistribution`, else the
/// `networking.istio.io/traffic-distribution` annotation on it, else on its namespace; a value
/// Istio does not know means no preference.
fn traffic_distribution(
    svc: &crate::object::Service,
    namespace: &str,
    namespaces: &[(ObjectRef, crate::object::Namespace)],
) -> Option<TrafficDistribution> {
    const ANNOTATION: &str = "networking.istio.io/traffic-distribution";
    let value = Some(svc.spec.traffic_distribution.as_str())
        .filter(|v| !v.is_empty())
        .or_else(|| svc.metadata.annotations.get(ANNOTATION).map(String::as_str))
        .or_else(|| {
            namespaces
                .iter()
                .find(|(o, _)| o.name == namespace)
                .and_then(|(_, ns)| ns.metadata.annotations.get(ANNOTATION))
                .map(String::as_str)
        })?;
    match value {
        "PreferClose" => Some(TrafficDistribution::PreferClose),
        "PreferSameZone" => Some(TrafficDistribution::PreferSameZone),
        "PreferSameNode" => Some(TrafficDistribution::PreferSameNode),
        _ => None,
    }
}

fn imported_service(
    dump: &str,
    object: &ObjectRef,
    svc: &crate::object::Service,
    external_addresses: Vec<String>,
    found: ServiceEndpoints,
) -> Result<ImportedService, ImportError> {
    let name = ServiceName::new(object.name.as_str())
        .map_err(|e| ImportError::field(dump, object, "metadata.name", e.to_string()))?;
    let namespace = Namespace::new(object.namespace.as_str())
        .map_err(|e| ImportError::field(dump, object, "metadata.namespace", e.to_string()))?;
    let ports: Vec<ServicePort> = svc
        .spec
        .ports
        .iter()
        .map(|p| ServicePort {
            name: p.name.clone(),
            port: p.port,
            target_port: match &p.target_port {
                Some(IntOrString::Int(t)) if *t != p.port => Some(*t),
                Some(IntOrString::String(n)) => {
                    found.ports.get(n).copied().filter(|t| *t != p.port)
                }
                _ => None,
            },
            protocol: if p.app_protocol.is_empty() {
                None
            } else {
                Some(p.app_protocol.clone())
            },
        })
        .collect();
    // An endpoint's port is kept only where it is not what the Service's one port says.
    let only_target = match ports.as_slice() {
        [one] => Some(one.endpoint_port()),
        _ => None,
    };
    let mut endpoints = found.endpoints;
    for e in &mut endpoints {
        if e.port.is_some() && (e.port == only_target || ports.len() > 1) {
            e.port = None;
        }
    }
    Ok(ImportedService {
        name,
        namespace,
        ports,
        external_addresses,
        endpoints,
        has_object: true,
        traffic_distribution: None,
    })
}

/// Parses `list` (the field `field` of `object`), host bits cleared, into `into`.
fn parse_cidrs<'s>(
    dump: &str,
    object: &ObjectRef,
    field: &str,
    list: impl IntoIterator<Item = &'s String>,
    into: &mut Vec<IpNet>,
) -> Result<(), ImportError> {
    for (i, c) in list.into_iter().enumerate() {
        let net: IpNet = c.parse().map_err(|_| {
            ImportError::field(
                dump,
                object,
                format!("{field}[{i}]"),
                format!("{c:?} is not a CIDR"),
            )
        })?;
        into.push(net.trunc());
    }
    Ok(())
}

/// The CIDRs read from objects (aggregated), else the caller's; reported either way.
fn chosen_cidrs(
    dump: &str,
    field: String,
    found: &[IpNet],
    from: String,
    given: &[IpNet],
    missing: &str,
    report: &mut ImportReport,
) -> Vec<IpNet> {
    if found.is_empty() {
        let value = if given.is_empty() {
            "none".to_owned()
        } else {
            list_text(given)
        };
        report.infer(dump, field, value, missing);
        return given.to_vec();
    }
    let out = IpNet::aggregate(&found.to_vec());
    report.infer(dump, field, list_text(&out), from);
    out
}

/// Pod CIDRs: the nodes' `spec.podCIDRs` (else `spec.podCIDR`), aggregated; else the caller's.
fn pod_cidrs(
    dump: &str,
    id: &ClusterId,
    objects: &dump::Objects,
    given: &[IpNet],
    report: &mut ImportReport,
) -> Result<Vec<IpNet>, ImportError> {
    let mut nets = Vec::new();
    let mut nodes = 0;
    for (object, n) in &objects.nodes {
        let list: Vec<&String> = if n.spec.pod_cidrs.is_empty() {
            std::iter::once(&n.spec.pod_cidr)
                .filter(|c| !c.is_empty())
                .collect()
        } else {
            n.spec.pod_cidrs.iter().collect()
        };
        nodes += usize::from(!list.is_empty());
        parse_cidrs(dump, object, "spec.podCIDRs", list, &mut nets)?;
    }
    Ok(chosen_cidrs(
        dump,
        format!("clusters[{id}].podCidrs"),
        &nets,
        format!("spec.podCIDR(s) of {nodes} nodes, aggregated"),
        given,
        "no node carries spec.podCIDR(s): --pod-cidr, if given",
        report,
    ))
}

/// Service CIDRs: `ServiceCIDR` objects' `spec.cidrs`; else the caller's.
fn service_cidrs(
    dump: &str,
    id: &ClusterId,
    objects: &dump::Objects,
    given: &[IpNet],
    report: &mut ImportReport,
) -> Result<Vec<IpNet>, ImportError> {
    let mut nets = Vec::new();
    for (object, s) in &objects.service_cidrs {
        parse_cidrs(dump, object, "spec.cidrs", &s.spec.cidrs, &mut nets)?;
    }
    Ok(chosen_cidrs(
        dump,
        format!("clusters[{id}].serviceCidrs"),
        &nets,
        "ServiceCIDR objects".to_owned(),
        given,
        "no ServiceCIDR object (--service-cidr gives them; without, service CIDR overlaps are not checked)",
        report,
    ))
}

fn list_text(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each cluster's managing control plane (`None` = a primary).
///
/// A cluster is a remote when its values say so (`profile: remote`, `istiodRemote.enabled`), or
/// when its dump shows no istiod and no remote secrets while another cluster's remote secret
/// names it; its control plane is the first such cluster. Everything else is a primary; primaries
/// whose remote secrets name each other are multi-primary.
fn roles(clusters: &[ClusterImport], report: &mut ImportReport) -> Vec<Option<ClusterId>> {
    let watchers = |id: &ClusterId| -> Option<&ClusterImport> {
        clusters
            .iter()
            .find(|w| w.id != *id && w.remotes.iter().any(|r| r.cluster_id == id.as_str()))
    };
    clusters
        .iter()
        .map(|c| {
            let looks_remote =
                c.values.remote || (!c.has_istiod && c.remotes.is_empty() && watchers(&c.id).is_some());
            if !looks_remote {
                return None;
            }
            match watchers(&c.id) {
                Some(w) => {
                    let why = if c.values.remote { "values say remote" } else { "no istiod and no remote secrets in its dump" };
                    report.infer(&c.dump, format!("clusters[{}].controlPlane", c.id), &w.id, format!("{why}; the first control plane whose remote secret names it"));
                    Some(w.id.clone())
                }
                None => {
                    report.infer(&c.dump, format!("clusters[{}].controlPlane", c.id), "itself", "values say remote, but no remote secret names it: no control plane reads it");
                    None
                }
            }
        })
        .collect()
}

/// The mesh's meshNetworks: the first control plane's `istio` ConfigMap (others that differ are
/// reported), plus the gateways found from labelled Services (`network.go`, `NetworkGateways`
/// merges both). Also returns the trust domain of that mesh config.
fn mesh_networks(
    clusters: &[ClusterImport],
    report: &mut ImportReport,
) -> (MeshNetworks, Option<String>) {
    let mut configs = clusters
        .iter()
        .filter_map(|c| c.mesh_config.as_ref().map(|m| (c, m)));
    let (mut networks, trust) = match configs.next() {
        Some((c, first)) => {
            for (other, m) in configs {
                if m.mesh_networks != first.mesh_networks {
                    report.infer(
                        &other.dump,
                        "spec.meshNetworks",
                        format!("the one of {}", c.dump),
                        format!(
                            "{} differs from {} of {}: the document has one meshNetworks",
                            m.object, first.object, c.dump
                        ),
                    );
                }
            }
            let trust = Some(first.mesh.trust_domain.clone()).filter(|t| !t.is_empty());
            (first.mesh_networks.clone(), trust)
        }
        None => (MeshNetworks::default(), None),
    };
    let mut added: BTreeSet<(String, String, u32)> = BTreeSet::new();
    for c in clusters {
        for g in &c.gateways {
            let port = if g.port != 0 { g.port } else { g.hbone_port };
            if g.port == 0 {
                report.infer(
                    &c.dump,
                    format!("meshNetworks.networks.{}.gateways", g.network),
                    format!("{}:{port}", g.address),
                    format!(
                        "{} offers only HBONE ({port}); the document's gateways have one port",
                        g.service
                    ),
                );
            }
            let net = networks.networks.entry(g.network.clone()).or_default();
            let exists = net.gateways.iter().any(|x| {
                x.port == u32::from(port)
                    && matches!(&x.gw, Some(GatewayAddress::Address(a)) if *a == g.address)
            });
            if !exists && added.insert((g.network.clone(), g.address.clone(), u32::from(port))) {
                net.gateways.push(NetworkGateway {
                    gw: Some(GatewayAddress::Address(g.address.clone())),
                    port: u32::from(port),
                    locality: String::new(),
                });
                report.infer(
                    &c.dump,
                    format!("meshNetworks.networks.{}.gateways", g.network),
                    format!("{}:{port}", g.address),
                    format!(
                        "{} (label topology.istio.io/network; network.go, getGatewayDetails)",
                        g.service
                    ),
                );
            }
        }
    }
    (networks, trust)
}

/// The services of all clusters merged by `name.namespace`, sorted; each cluster with the Service
/// object is in `definedIn`, its external addresses under its cluster.
fn merge_services(clusters: Vec<ClusterImport>) -> Vec<Service> {
    let mut merged: BTreeMap<(String, String), Service> = BTreeMap::new();
    for c in clusters {
        for s in c.services {
            let key = (s.namespace.as_str().to_owned(), s.name.as_str().to_owned());
            let out = merged.entry(key).or_insert_with(|| Service {
                name: s.name.clone(),
                namespace: s.namespace.clone(),
                ports: Vec::new(),
                defined_in: Vec::new(),
                external_addresses: BTreeMap::new(),
                endpoints: Vec::new(),
                traffic_distribution: None,
                service_exports: Vec::new(),
            });
            if out.ports.is_empty() {
                out.ports = s.ports;
            }
            // The document holds one value a service: the first cluster's that says one.
            if out.traffic_distribution.is_none() {
                out.traffic_distribution = s.traffic_distribution;
            }
            // A ServiceEntry and a Service of one name in one cluster define it once.
            if s.has_object && !out.defined_in.contains(&c.id) {
                out.defined_in.push(c.id.clone());
            }
            if !s.external_addresses.is_empty() {
                out.external_addresses
                    .insert(c.id.clone(), s.external_addresses);
            }
            out.endpoints.extend(s.endpoints);
        }
    }
    merged.into_values().collect()
}
