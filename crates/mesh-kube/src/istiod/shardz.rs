//! `/debug/endpointShardz`: every endpoint istiod holds. `pilot/pkg/xds/debug.go`
//! `endpointShardz` writes `EndpointIndex.Shardz()` (`pilot/pkg/model/endpointshards.go`):
//! hostname → namespace → `EndpointShards`, whose `Shards` map a `ShardKey` — marshalled by its
//! `MarshalText` as `provider/cluster` (`Kubernetes/cluster1`) — to a list of `IstioEndpoint`,
//! and whose `ServiceAccounts` is a set (`{"spiffe://…": {}}`). `IstioEndpoint`
//! (`pilot/pkg/model/service.go`) has no JSON tags: Go's field names, every field written
//! (`DiscoverabilityPolicy` excepted, `json:"-"`). Its `Locality` is `{"Label": "region/zone/subzone",
//! "ClusterID"}`; `HealthStatus` is 1 Healthy, 2 UnHealthy, 3 Draining, 4 Terminating (0, unset,
//! reaches Envoy as UNKNOWN, which it treats as healthy: `endpoint_builder.go`
//! `buildIstioEndpoint`). No credential is in it: service accounts are SPIFFE names.
//!
//! One document endpoint per cluster and address list: istiod keeps one `IstioEndpoint` per
//! service port, the document one endpoint serving every port of its service.

use std::collections::BTreeMap;
use std::net::IpAddr;

use mesh_model::{
    ClusterId, Endpoint, Locality, Namespace, NetworkId, Service, ServiceName, ServicePort, TlsMode,
};

use super::error::IstiodError;
use super::json::{At, Fields, Unread};
use crate::object::ObjectRef;
use crate::report::ImportReport;

/// The report's name for what is not of one cluster.
const ENDPOINT: &str = "/debug/endpointShardz";

/// The provider of Kubernetes shards (`pkg/serviceregistry/provider` `Kubernetes`).
const KUBERNETES: &str = "Kubernetes";

/// What `/debug/endpointShardz` gives the document.
#[derive(Debug, Default)]
pub(super) struct Shardz {
    /// The services, sorted by namespace then name.
    pub services: Vec<Service>,
    /// The DNS suffix of the hostnames (`svc.<suffix>`), when any was read.
    pub domain_suffix: Option<String>,
    /// Each endpoint's cluster and network, for the clusters' default networks.
    pub networks: Vec<(ClusterId, Option<NetworkId>)>,
    /// How many `EndpointShards` and `IstioEndpoint`s were read.
    pub read: (usize, usize),
}

/// The report's name for a service's shards.
fn object(hostname: &str, namespace: &str) -> ObjectRef {
    ObjectRef {
        kind: "EndpointShards".into(),
        namespace: namespace.to_owned(),
        name: hostname.to_owned(),
    }
}

/// One `IstioEndpoint`, read.
struct Read {
    cluster: ClusterId,
    addresses: Vec<IpAddr>,
    port_name: String,
    service_port: u16,
    endpoint_port: u16,
    endpoint: Endpoint,
}

/// `spiffe://<trust domain>/ns/<namespace>/sa/<name>` → `name` when the namespace is the
/// endpoint's (the document's `serviceAccount` is the pod's `serviceAccountName`).
fn service_account_name<'a>(identity: &'a str, namespace: &str) -> Option<&'a str> {
    let rest = identity.strip_prefix("spiffe://")?;
    let (_, path) = rest.split_once('/')?;
    let (ns, sa) = path.strip_prefix("ns/")?.split_once("/sa/")?;
    (ns == namespace && !sa.is_empty() && !sa.contains('/')).then_some(sa)
}

fn endpoint(
    cluster: &ClusterId,
    namespace: &str,
    mut f: Fields<'_>,
    report: &mut ImportReport,
    unread: &mut Unread,
) -> Result<Option<Read>, IstiodError> {
    let mut addresses = Vec::new();
    for (path, a) in f.strings("Addresses")? {
        let ip = a
            .parse::<IpAddr>()
            .map_err(|_| f.field("Addresses").invalid(&path, a, "not an IP address"))?;
        addresses.push(ip);
    }
    let port_name = f.string("ServicePortName")?.to_owned();
    let service_port = f.uint::<u16>("LegacyClusterPortKey")?;
    let endpoint_port = f.uint::<u16>("EndpointPort")?;
    let sa = f.string("ServiceAccount")?;
    let network = f.string("Network")?;
    let network = if network.is_empty() {
        None
    } else {
        Some(NetworkId::new(network).map_err(|e| {
            f.field("Network")
                .invalid(&f.path_of("Network"), network, e.to_string())
        })?)
    };
    let locality_path = f.path_of("Locality");
    let mut loc = f.field("Locality").object(&locality_path)?;
    let label = loc.string("Label")?;
    let locality = if label.is_empty() {
        None
    } else {
        Some(label.parse::<Locality>().map_err(|e| {
            loc.field("Label")
                .invalid(&loc.path_of("Label"), label, e.to_string())
        })?)
    };
    // The shard key names the cluster; `Locality.ClusterID` repeats it (said when it does not).
    let locality_cluster = loc.string("ClusterID")?;
    if !locality_cluster.is_empty() && locality_cluster != cluster.as_str() {
        report
            .not_modelled
            .entry("IstioEndpoint Locality.ClusterID".into())
            .or_default()
            .push(format!(
                "{ENDPOINT} {}: {locality_cluster} (the shard key's {cluster} is used)",
                loc.path()
            ));
    }
    unread.count("IstioEndpoint.Locality", &loc);
    let weight = f.uint::<u32>("LbWeight")?;
    let tls = f.string("TLSMode")?;
    // `model.IstioMutualTLSModeLabel`: anything else is no Istio mTLS (`SupportsTunnel`,
    // `endpoint_builder.go`).
    let tls_mode = if tls == "istio" {
        TlsMode::Istio
    } else {
        TlsMode::Disabled
    };
    let ns = f.string("Namespace")?;
    if !ns.is_empty() && ns != namespace {
        return Err(f.field("Namespace").invalid(
            &f.path_of("Namespace"),
            ns,
            format!("the endpoint of a service of namespace {namespace} is in another"),
        ));
    }
    let workload = f.string("WorkloadName")?;
    let health = f.uint::<u32>("HealthStatus")?;
    let healthy = match health {
        0 | 1 => true,
        2..=4 => false,
        _ => {
            return Err(f.field("HealthStatus").invalid(
                &f.path_of("HealthStatus"),
                &health.to_string(),
                "not a HealthStatus (1 Healthy, 2 UnHealthy, 3 Draining, 4 Terminating)",
            ));
        }
    };
    let labels = f.string_map("Labels")?;
    let service_account = match (sa, service_account_name(sa, namespace)) {
        ("", _) => None,
        (_, Some(name)) => Some(name.to_owned()),
        (full, None) => {
            report.infer(
                cluster.as_str(),
                format!("{ENDPOINT} {}.ServiceAccount", f.path()),
                full,
                "IstioEndpoint.ServiceAccount, kept whole: not spiffe://<trust domain>/ns/<its namespace>/sa/<name>",
            );
            Some(full.to_owned())
        }
    };
    unread.count("IstioEndpoint", &f);
    if addresses.is_empty() {
        report.skip(
            cluster.as_str(),
            &ObjectRef {
                kind: "IstioEndpoint".into(),
                namespace: namespace.to_owned(),
                name: format!("{ENDPOINT} {}", f.path()),
            },
            "no Addresses: no Envoy endpoint can be built (endpoint_builder.go)",
        );
        return Ok(None);
    }
    Ok(Some(Read {
        cluster: cluster.clone(),
        addresses: addresses.clone(),
        port_name,
        service_port,
        endpoint_port,
        endpoint: Endpoint {
            cluster: cluster.clone(),
            addresses,
            port: None,
            network,
            locality,
            labels,
            tls_mode,
            service_account,
            workload: (!workload.is_empty()).then(|| workload.to_owned()),
            weight: (weight != 0).then_some(weight),
            healthy,
        },
    }))
}

/// `name.namespace.svc.suffix` → `(name, suffix)`.
fn kubernetes_host<'a>(hostname: &'a str, namespace: &str) -> Option<(&'a str, &'a str)> {
    let (name, rest) = hostname.split_once('.')?;
    let suffix = rest.strip_prefix(namespace)?.strip_prefix(".svc.")?;
    (!name.is_empty() && !suffix.is_empty()).then_some((name, suffix))
}

/// Reads `/debug/endpointShardz`.
pub(super) fn read(
    root: At<'_>,
    report: &mut ImportReport,
    unread: &mut Unread,
) -> Result<Shardz, IstiodError> {
    let mut out = Shardz::default();
    let mut services: BTreeMap<(String, String), Service> = BTreeMap::new();
    for (hostname, host_path, by_ns) in root.entries("$")? {
        for (namespace, path, shards) in by_ns.entries(&host_path)? {
            out.read.0 += 1;
            let obj = object(hostname, namespace);
            let mut f = shards.object(&path)?;
            f.set("ServiceAccounts")?;
            let shards_path = f.path_of("Shards");
            let shard_list = f.field("Shards").entries(&shards_path)?;
            unread.count("EndpointShards", &f);
            let Some((name, suffix)) = kubernetes_host(hostname, namespace) else {
                report.skip(
                    ENDPOINT,
                    &obj,
                    "not a Kubernetes service host (<name>.<namespace>.svc.<suffix>): a ServiceEntry host, not modelled",
                );
                continue;
            };
            match &out.domain_suffix {
                None => out.domain_suffix = Some(suffix.to_owned()),
                Some(s) if s != suffix => {
                    report.skip(
                        ENDPOINT,
                        &obj,
                        format!(
                            "its DNS suffix {suffix} is not the mesh's {s}: the document has one"
                        ),
                    );
                    continue;
                }
                Some(_) => {}
            }
            let svc_name = ServiceName::new(name)
                .map_err(|e| root.invalid(&host_path, hostname, e.to_string()))?;
            let svc_ns = Namespace::new(namespace)
                .map_err(|e| root.invalid(&path, namespace, e.to_string()))?;
            let mut reads = Vec::new();
            for (key, key_path, list) in shard_list {
                let (provider, cluster) = key.split_once('/').unwrap_or(("", key));
                if provider != KUBERNETES {
                    report.skip(
                        cluster,
                        &obj,
                        format!("shard {key}: provider {provider:?} is not Kubernetes (ServiceEntry endpoints are not modelled)"),
                    );
                    continue;
                }
                let cluster = ClusterId::new(cluster)
                    .map_err(|e| root.invalid(&key_path, key, e.to_string()))?;
                for (ep_path, item) in list.list(&key_path)? {
                    out.read.1 += 1;
                    let fields = item.object(&ep_path)?;
                    if let Some(r) = endpoint(&cluster, namespace, fields, report, unread)? {
                        reads.push((ep_path, r));
                    }
                }
            }
            let service = service(svc_name, svc_ns, &obj, reads, report);
            for e in &service.endpoints {
                out.networks.push((e.cluster.clone(), e.network.clone()));
            }
            services.insert((namespace.to_owned(), name.to_owned()), service);
        }
    }
    out.services = services.into_values().collect();
    Ok(out)
}

/// The document service of one hostname's endpoints: its ports from the endpoints' service ports,
/// one endpoint per cluster and address list.
fn service(
    name: ServiceName,
    namespace: Namespace,
    obj: &ObjectRef,
    reads: Vec<(String, Read)>,
    report: &mut ImportReport,
) -> Service {
    // Service port → (name, the first endpoint's port).
    let mut ports: BTreeMap<u16, (String, u16)> = BTreeMap::new();
    for (_, r) in &reads {
        let port = if r.service_port == 0 {
            r.endpoint_port
        } else {
            r.service_port
        };
        ports
            .entry(port)
            .or_insert_with(|| (r.port_name.clone(), r.endpoint_port));
    }
    for (port, (pname, _)) in &ports {
        if reads
            .iter()
            .any(|(_, r)| r.service_port == 0 && r.endpoint_port == *port)
        {
            report.infer(
                "",
                format!(
                    "services[{}.{}].ports[{pname}].port",
                    name.as_str(),
                    namespace.as_str()
                ),
                port,
                "IstioEndpoint.EndpointPort: LegacyClusterPortKey is absent (istiod before 1.22)",
            );
        }
    }
    let single_port = ports.len() == 1;
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut index: BTreeMap<(ClusterId, Vec<IpAddr>), usize> = BTreeMap::new();
    for (path, r) in reads {
        let port = if r.service_port == 0 {
            r.endpoint_port
        } else {
            r.service_port
        };
        let target = ports.get(&port).map_or(r.endpoint_port, |p| p.1);
        let key = (r.cluster.clone(), r.addresses.clone());
        let at = match index.get(&key) {
            Some(&i) => i,
            None => {
                index.insert(key, endpoints.len());
                endpoints.push(r.endpoint);
                endpoints.len() - 1
            }
        };
        if r.endpoint_port != target {
            if single_port {
                endpoints[at].port = Some(r.endpoint_port);
            } else {
                report.skip(
                    r.cluster.as_str(),
                    obj,
                    format!(
                        "{ENDPOINT} {path}: port {} differs from the other endpoints' {target} of service port {port}: the document has one target port a service port",
                        r.endpoint_port
                    ),
                );
            }
        }
    }
    Service {
        name,
        namespace,
        ports: ports
            .into_iter()
            .map(|(port, (pname, target))| ServicePort {
                name: pname,
                port,
                target_port: (target != port).then_some(target),
                protocol: None,
            })
            .collect(),
        defined_in: Vec::new(),
        external_addresses: BTreeMap::new(),
        endpoints,
        service_exports: Vec::new(),
        traffic_distribution: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts_are_names_only_for_the_endpoints_namespace() {
        let id = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews";
        assert_eq!(
            service_account_name(id, "bookinfo"),
            Some("bookinfo-reviews")
        );
        assert_eq!(service_account_name(id, "other"), None);
        assert_eq!(service_account_name("reviews", "bookinfo"), None);
        assert_eq!(
            service_account_name("spiffe://td/ns/bookinfo/sa/a/b", "bookinfo"),
            None
        );
    }

    #[test]
    fn kubernetes_hosts_split_into_name_and_suffix() {
        assert_eq!(
            kubernetes_host("reviews.bookinfo.svc.cluster.local", "bookinfo"),
            Some(("reviews", "cluster.local"))
        );
        assert_eq!(
            kubernetes_host("reviews.bookinfo.svc.cluster.local", "other"),
            None
        );
        assert_eq!(kubernetes_host("www.example.com", "bookinfo"), None);
        assert_eq!(kubernetes_host("reviews.bookinfo.svc.", "bookinfo"), None);
    }
}
