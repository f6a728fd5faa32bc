//! istiod's debug endpoints as an import source: the JSON of `/debug/endpointShardz`,
//! `/debug/networkz`, `/debug/clusterz` and `/debug/mesh` (`pilot/pkg/xds/debug.go`, `InitDebug`)
//! read into a mesh document, with the same [`ImportReport`] as the dump importer. No I/O: the
//! caller fetches the texts (`kubectl exec -n istio-system deploy/istiod -- curl -s
//! localhost:15014/debug/endpointShardz`) and hands them over.
//!
//! What each endpoint gives, each module citing the Go type it reads:
//! - `clusterz` ([`clusterz`]): the clusters; the config cluster (istiod's own) manages those of
//!   its remote secrets. These outputs are one istiod's view — what it pushes to the proxies it
//!   serves — so each remote cluster is `controlPlane: <config cluster>`: in a multi-primary mesh
//!   the remote's own istiod, symmetric, pushes the same; the report says so.
//! - `networkz` ([`networkz`]): the gateways, as `meshNetworks` address gateways of their network
//!   (the document's form, as the dump importer writes label gateways); a gateway's `Cluster`
//!   gives that cluster's default network.
//! - `endpointShardz` ([`shardz`]): services and endpoints; a cluster no gateway names takes its
//!   endpoints' network when they have one.
//! - `mesh` ([`mesh`]): trust domain, aliases, mesh ID, and `spec.meshConfig`'s locality and scope
//!   fields.
//!
//! None of these endpoints carries a credential (clusterz names remote secrets, never their data):
//! nothing secret can reach the document, the report or an error.

mod clusterz;
mod error;
mod json;
mod mesh;
mod networkz;
mod shardz;

use std::collections::{BTreeMap, BTreeSet};

use mesh_model::{
    Cluster, ClusterId, GatewayAddress, MeshDocument, MeshNetworks, MeshSpec, Metadata,
    NetworkGateway, NetworkId, TrustDomain,
};

pub use error::{DebugEndpoint, IstiodError, UnknownDebugEndpoint};

use crate::assemble::{Import, ImportOptions};
use crate::report::ImportReport;
use json::{At, Unread};

/// Imports one istiod's debug outputs, each `(endpoint, JSON text)`, into a mesh document. Any
/// subset of the four endpoints may be given, each at most once.
///
/// ```
/// use mesh_kube::{DebugEndpoint, ImportOptions, import_istiod};
/// let clusterz = r#"[{"id": "cluster1", "secretName": "", "syncStatus": "synced"}]"#;
/// let shardz = r#"{"reviews.bookinfo.svc.cluster.local": {"bookinfo": {
///   "Shards": {"Kubernetes/cluster1": [{"Labels": {"app": "reviews"}, "Addresses": ["10.10.0.5"],
///     "ServicePortName": "http", "LegacyClusterPortKey": 9080, "ServiceAccount": "spiffe://cluster.local/ns/bookinfo/sa/reviews",
///     "Network": "network1", "Locality": {"Label": "us-east1/us-east1-b/", "ClusterID": "cluster1"},
///     "EndpointPort": 9080, "LbWeight": 0, "TLSMode": "istio", "Namespace": "bookinfo",
///     "WorkloadName": "reviews-v1", "HostName": "", "SubDomain": "", "HealthStatus": 1,
///     "SendUnhealthyEndpoints": false, "NodeName": "node-1"}]},
///   "ServiceAccounts": {"spiffe://cluster.local/ns/bookinfo/sa/reviews": {}}}}}"#;
/// let import = import_istiod(
///     &ImportOptions::default(),
///     &[(DebugEndpoint::Clusterz, clusterz), (DebugEndpoint::EndpointShardz, shardz)],
/// )?;
/// let doc = &import.document;
/// assert_eq!(doc.spec.clusters[0].network.as_ref().unwrap().as_str(), "network1");
/// let e = &doc.spec.services[0].endpoints[0];
/// assert_eq!((e.addresses[0].to_string(), e.service_account.as_deref()), ("10.10.0.5".into(), Some("reviews")));
/// // NodeName is not modelled: listed, counted.
/// assert_eq!(import.report.not_modelled["IstioEndpoint fields"], ["NodeName (1)"]);
/// # Ok::<(), mesh_kube::IstiodError>(())
/// ```
pub fn import_istiod(
    options: &ImportOptions,
    inputs: &[(DebugEndpoint, &str)],
) -> Result<Import, IstiodError> {
    if inputs.is_empty() {
        return Err(IstiodError::Empty);
    }
    let mut texts: BTreeMap<DebugEndpoint, serde_json::Value> = BTreeMap::new();
    for &(endpoint, text) in inputs {
        if texts.contains_key(&endpoint) {
            return Err(IstiodError::Duplicate { endpoint });
        }
        texts.insert(endpoint, json::parse(endpoint, text)?);
    }
    let at = |endpoint| texts.get(&endpoint).map(|value| At { endpoint, value });
    let mut report = ImportReport::default();
    // Go types are distinct across the endpoints: one account for all.
    let mut unread = Unread::default();
    let clusters = match at(DebugEndpoint::Clusterz) {
        Some(root) => clusterz::read(root, &mut unread)?,
        None => Vec::new(),
    };
    let gateways = match at(DebugEndpoint::Networkz) {
        Some(root) => networkz::read(root, &mut unread)?,
        None => Vec::new(),
    };
    let mesh = match at(DebugEndpoint::Mesh) {
        Some(root) => Some(mesh::read(root, &mut unread)?),
        None => None,
    };
    let shardz = match at(DebugEndpoint::EndpointShardz) {
        Some(root) => Some(shardz::read(root, &mut report, &mut unread)?),
        None => None,
    };
    // What was read, per endpoint given: Go type → how many.
    let counts = [
        (DebugEndpoint::Clusterz, "cluster.DebugInfo", clusters.len()),
        (DebugEndpoint::Networkz, "NetworkGateway", gateways.len()),
        (
            DebugEndpoint::Mesh,
            "MeshConfig",
            usize::from(mesh.is_some()),
        ),
        (
            DebugEndpoint::EndpointShardz,
            "EndpointShards",
            shardz.as_ref().map_or(0, |s| s.read.0),
        ),
        (
            DebugEndpoint::EndpointShardz,
            "IstioEndpoint",
            shardz.as_ref().map_or(0, |s| s.read.1),
        ),
    ];
    for (endpoint, go_type, n) in counts {
        if texts.contains_key(&endpoint) {
            report
                .read
                .entry(endpoint.to_string())
                .or_default()
                .insert(go_type.to_owned(), n);
        }
    }
    for (go_type, fields) in &unread.0 {
        let list = fields.iter().map(|(f, n)| format!("{f} ({n})")).collect();
        report
            .not_modelled
            .insert(format!("{go_type} fields"), list);
    }
    let shardz = shardz.unwrap_or_default();
    let mesh = mesh.unwrap_or_default();
    let out_clusters = document_clusters(&clusters, &gateways, &shardz, &mut report)?;
    let mesh_networks = mesh_networks(&gateways, &mut report)?;
    let trust_domain = match mesh.trust_domain {
        Some(td) => td,
        None => {
            let td = TrustDomain::new("cluster.local").expect("valid constant");
            report.infer(
                "",
                "spec.trustDomain",
                &td,
                "Istio's default: no /debug/mesh trustDomain",
            );
            td
        }
    };
    let mesh_id = match (&options.mesh_id, &mesh.mesh_id) {
        (Some(id), _) => id.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            report.infer(
                "",
                "metadata.name",
                &trust_domain,
                "the trust domain: /debug/mesh has no defaultConfig.meshId (Istio's default)",
            );
            trust_domain.as_str().to_owned()
        }
    };
    let domain_suffix = shardz
        .domain_suffix
        .clone()
        .unwrap_or_else(|| "cluster.local".to_owned());
    if domain_suffix != "cluster.local" {
        report.infer(
            "",
            "spec.domainSuffix",
            &domain_suffix,
            "the hostnames of /debug/endpointShardz (<name>.<namespace>.svc.<suffix>)",
        );
    }
    let document = MeshDocument {
        api_version: mesh_model::API_VERSION.to_owned(),
        kind: mesh_model::KIND.to_owned(),
        metadata: Metadata { name: mesh_id },
        spec: MeshSpec {
            trust_domain,
            trust_domain_aliases: mesh.trust_domain_aliases,
            domain_suffix,
            clusters: out_clusters,
            mesh_networks,
            links: Vec::new(),
            services: shardz.services,
            dns: BTreeMap::new(),
            global_vip_range: None,
            mcs: Default::default(),
            mesh_config: mesh.config,
            destination_rules: Vec::new(),
            peer_authentications: Vec::new(),
        },
    };
    Ok(Import { document, report })
}

/// A cluster ID read from a gateway's `Cluster` (networkz) as it was written.
fn gateway_cluster(g: &networkz::Gateway) -> Result<Option<ClusterId>, IstiodError> {
    if g.cluster.is_empty() {
        return Ok(None);
    }
    ClusterId::new(g.cluster.as_str())
        .map(Some)
        .map_err(|e| IstiodError::Value {
            endpoint: DebugEndpoint::Networkz,
            path: format!("{}.Cluster", g.path),
            value: g.cluster.clone(),
            message: e.to_string(),
        })
}

fn network_id(g: &networkz::Gateway) -> Result<NetworkId, IstiodError> {
    NetworkId::new(g.network.as_str()).map_err(|e| IstiodError::Value {
        endpoint: DebugEndpoint::Networkz,
        path: format!("{}.Network", g.path),
        value: g.network.clone(),
        message: e.to_string(),
    })
}

/// The clusters: those of clusterz, then any other a shard or gateway names; each with its
/// network, the remotes managed by the config cluster.
fn document_clusters(
    infos: &[clusterz::ClusterInfo],
    gateways: &[networkz::Gateway],
    shardz: &shardz::Shardz,
    report: &mut ImportReport,
) -> Result<Vec<Cluster>, IstiodError> {
    let config = infos
        .iter()
        .find(|c| c.secret_name.is_empty())
        .map(|c| c.id.clone());
    let mut out: BTreeMap<ClusterId, Cluster> = BTreeMap::new();
    let blank = |name: ClusterId| Cluster {
        name,
        network: None,
        control_plane: None,
        api_server: None,
        pod_cidrs: Vec::new(),
        service_cidrs: Vec::new(),
        locality: None,
        ca_certs: None,
        watches: Vec::new(),
        mesh_config: None,
        proxy_cluster_id: None,
        auto_passthrough: None,
    };
    for c in infos {
        let cluster = out
            .entry(c.id.clone())
            .or_insert_with(|| blank(c.id.clone()));
        if let (false, Some(config)) = (c.secret_name.is_empty(), &config)
            && config != &c.id
        {
            cluster.control_plane = Some(config.clone());
            report.infer(
                c.id.as_str(),
                format!("clusters[{}].controlPlane", c.id),
                config,
                format!(
                    "/debug/clusterz: {config}'s istiod reads it through remote secret {}; these outputs show what that istiod pushes (its own istiod, if any, is not in them)",
                    c.secret_name
                ),
            );
        }
        if c.sync_status != "synced" {
            report
                .not_modelled
                .entry("cluster.DebugInfo syncStatus".into())
                .or_default()
                .push(format!(
                    "{}: {} (its endpoints may be missing: `what-if --event sync-timeout:{}` simulates it)",
                    c.id,
                    if c.sync_status.is_empty() { "\"\"" } else { c.sync_status.as_str() },
                    c.id
                ));
        }
    }
    let mut named = |id: &ClusterId, from: &str, report: &mut ImportReport| {
        if !out.contains_key(id) {
            out.insert(id.clone(), blank(id.clone()));
            report.infer(id.as_str(), "clusters[].name", id, from.to_owned());
        }
    };
    for g in gateways {
        if let Some(c) = gateway_cluster(g)? {
            named(&c, "NetworkGateway.Cluster of /debug/networkz", report);
        }
    }
    for (c, _) in &shardz.networks {
        named(c, "a shard key of /debug/endpointShardz", report);
    }
    // Networks: a gateway's cluster is on its network (`network.go`, gateways by network and
    // cluster); else the one network all of a cluster's endpoints state.
    for g in gateways {
        let Some(c) = gateway_cluster(g)? else {
            continue;
        };
        let network = network_id(g)?;
        let Some(cluster) = out.get_mut(&c) else {
            continue;
        };
        match &cluster.network {
            None => {
                report.infer(
                    c.as_str(),
                    format!("clusters[{c}].network"),
                    &network,
                    format!(
                        "/debug/networkz {}: a gateway of cluster {c} on network {network}",
                        g.path
                    ),
                );
                cluster.network = Some(network);
            }
            Some(n) if *n != network => report.infer(
                c.as_str(),
                format!("clusters[{c}].network"),
                n,
                format!(
                    "the first of its gateways' networks; /debug/networkz {} is on {network}",
                    g.path
                ),
            ),
            Some(_) => {}
        }
    }
    let mut endpoint_networks: BTreeMap<&ClusterId, BTreeSet<Option<&NetworkId>>> = BTreeMap::new();
    for (c, n) in &shardz.networks {
        endpoint_networks.entry(c).or_default().insert(n.as_ref());
    }
    for (c, networks) in endpoint_networks {
        let Some(cluster) = out.get_mut(c) else {
            continue;
        };
        if cluster.network.is_some() {
            continue;
        }
        if let [Some(n)] = networks.iter().collect::<Vec<_>>().as_slice() {
            report.infer(
                c.as_str(),
                format!("clusters[{c}].network"),
                n,
                "the IstioEndpoint.Network of all its endpoints (/debug/endpointShardz)",
            );
            cluster.network = Some((*n).clone());
        }
    }
    Ok(out.into_values().collect())
}

/// The gateways as `meshNetworks` address gateways, each (network, address, port) once; a
/// gateway offering only HBONE is listed at its HBONE port (the document's gateways have one port).
fn mesh_networks(
    gateways: &[networkz::Gateway],
    report: &mut ImportReport,
) -> Result<MeshNetworks, IstiodError> {
    let mut networks = MeshNetworks::default();
    let mut seen = BTreeSet::new();
    for g in gateways {
        let network = network_id(g)?;
        let port = if g.port != 0 { g.port } else { g.hbone_port };
        if port == 0 {
            return Err(IstiodError::Value {
                endpoint: DebugEndpoint::Networkz,
                path: format!("{}.Port", g.path),
                value: "0".into(),
                message: "a gateway has a Port or an HBONEPort".into(),
            });
        }
        let field = format!("meshNetworks.networks.{network}.gateways");
        if g.port == 0 {
            report.infer(
                &g.cluster,
                &field,
                format!("{}:{port}", g.address),
                format!("/debug/networkz {} offers only HBONE ({port}); the document's gateways have one port", g.path),
            );
        } else if g.hbone_port != 0 {
            report
                .not_modelled
                .entry("NetworkGateway HBONEPort".into())
                .or_default()
                .push(format!(
                    "/debug/networkz {}: {}:{} also HBONE {}",
                    g.path, g.address, g.port, g.hbone_port
                ));
        }
        if seen.insert((network.clone(), g.address.clone(), port)) {
            networks
                .networks
                .entry(network.as_str().to_owned())
                .or_default()
                .gateways
                .push(NetworkGateway {
                    gw: Some(GatewayAddress::Address(g.address.clone())),
                    port,
                    locality: String::new(),
                });
        }
    }
    Ok(networks)
}
