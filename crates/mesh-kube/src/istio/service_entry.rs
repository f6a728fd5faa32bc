//! `networking.istio.io` ServiceEntries and WorkloadEntries → services and endpoints, as istiod's
//! serviceentry registry makes them (`pilot/pkg/serviceregistry/serviceentry/conversion.go`):
//!
//! * A ServiceEntry is read when the document can hold it: `resolution: STATIC` (the default is
//!   `NONE`, which has no EDS; `DNS`/`DNS_ROUND_ROBIN` resolve names, which a library without
//!   I/O does not), `location: MESH_INTERNAL` (the default is `MESH_EXTERNAL`), and for each host
//!   of the form `<name>.<namespace>.svc.<suffix>`, the key of the document's services. Every
//!   entry or host left out is reported with the reason.
//! * Its endpoints are its inline `endpoints`, or with a `workloadSelector` the WorkloadEntries of
//!   its namespace whose labels (spec `labels` merged under `metadata.labels`,
//!   `ConvertWorkloadEntry`) hold all the selector's.
//! * Each endpoint (`convertWorkloadEntryToWorkloadInstance`): its `address` (an IP; a hostname
//!   or `unix://` address is reported and left out, as istiod keeps those out of EDS for
//!   Kubernetes-style services); `network`; `locality`, else the locality label
//!   (`GetLocalityLabel`); `weight`; `serviceAccount`; TLS mode from the label
//!   `security.istio.io/tlsMode`, else `istio` when a service account is given, else `disabled`
//!   (`getTLSModeFromWorkloadEntry`); the cluster whose dump holds the entry; workload name the
//!   WorkloadEntry's name (`<entry>-<i>` inline).
//! * The endpoint port of a service port (`convertWorkloadInstanceToServiceInstance`): the
//!   entry's `ports[port name]`, else the ServiceEntry port's `targetPort`, else its `number`.
//! * A WorkloadEntry with the annotation `proxy.istio.io/health-checks-enabled: "true"` is healthy
//!   only with the status condition `Healthy: True` (`isHealthy`).
//!
//! Not read: Kubernetes Services whose selector picks WorkloadEntries (istiod's kube registry
//! `WorkloadInstanceHandler`; the importer does not read Service selectors) — such entries are
//! reported as selected by no ServiceEntry.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use mesh_model::{
    ClusterId, Endpoint, Locality, Namespace, NetworkId, ServiceName, ServicePort, TlsMode,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Config, DOMAIN_SUFFIX};
use crate::error::ImportError;
use crate::label;
use crate::locality;
use crate::object::ObjectRef;
use crate::report::ImportReport;

/// `proxy.istio.io/health-checks-enabled`.
const HEALTH_CHECKS: &str = "proxy.istio.io/health-checks-enabled";

/// A service a ServiceEntry defines in one dump, with its endpoints.
#[derive(Debug)]
pub(crate) struct EntryService {
    pub name: ServiceName,
    pub namespace: Namespace,
    pub ports: Vec<ServicePort>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ServiceEntrySpec {
    hosts: Vec<String>,
    ports: Vec<EntryPort>,
    location: String,
    resolution: String,
    endpoints: Vec<WorkloadEntrySpec>,
    workload_selector: Option<Selector>,
    export_to: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct EntryPort {
    number: u16,
    name: String,
    protocol: String,
    target_port: u16,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Selector {
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WorkloadEntrySpec {
    address: String,
    ports: BTreeMap<String, u16>,
    labels: BTreeMap<String, String>,
    network: String,
    locality: String,
    weight: u32,
    service_account: String,
}

/// `status` of a WorkloadEntry: its health condition.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    conditions: Vec<Condition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

/// A WorkloadEntry as the serviceentry registry sees it.
struct Workload<'a> {
    object: &'a ObjectRef,
    spec: WorkloadEntrySpec,
    healthy: bool,
}

fn spec_of<T: DeserializeOwned>(
    dump: &str,
    object: &ObjectRef,
    value: &serde_json::Value,
    at: &str,
) -> Result<T, ImportError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        ImportError::field(
            dump,
            object,
            format!("{at}.{}", e.path()),
            e.inner().to_string(),
        )
    })
}

/// The services of one dump's ServiceEntries; entries, hosts and WorkloadEntries left out are
/// reported.
pub(crate) fn services(
    dump: &str,
    cluster: &ClusterId,
    entries: &[(ObjectRef, Config)],
    workload_entries: &[(ObjectRef, Config)],
    report: &mut ImportReport,
) -> Result<Vec<EntryService>, ImportError> {
    let mut workloads = Vec::with_capacity(workload_entries.len());
    for (object, config) in workload_entries {
        let mut spec: WorkloadEntrySpec = spec_of(dump, object, &config.spec, "spec")?;
        // Metadata labels take precedence (ConvertWorkloadEntry).
        spec.labels.extend(config.metadata.labels.clone());
        let checked = config
            .metadata
            .annotations
            .get(HEALTH_CHECKS)
            // Go's strconv.ParseBool (parseHealthAnnotation).
            .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True"));
        let healthy = if checked {
            let st: Status = if config.status.is_null() {
                Status::default()
            } else {
                spec_of(dump, object, &config.status, "status")?
            };
            st.conditions
                .iter()
                .any(|c| c.kind == "Healthy" && c.status == "True")
        } else {
            true
        };
        workloads.push(Workload {
            object,
            spec,
            healthy,
        });
    }
    // Selectors look only within their namespace.
    let mut by_namespace: BTreeMap<&str, Vec<&Workload<'_>>> = BTreeMap::new();
    for w in &workloads {
        by_namespace
            .entry(w.object.namespace.as_str())
            .or_default()
            .push(w);
    }
    let mut selected: BTreeSet<&ObjectRef> = BTreeSet::new();
    let mut out = Vec::new();
    for (object, config) in entries {
        let se: ServiceEntrySpec = spec_of(dump, object, &config.spec, "spec")?;
        let resolution = if se.resolution.is_empty() {
            "NONE"
        } else {
            se.resolution.as_str()
        };
        if resolution != "STATIC" {
            report.skip(dump, object, format!("resolution {resolution}: only STATIC entries have endpoints the document can hold (NONE has no EDS; DNS resolves names, which the importer does not)"));
            continue;
        }
        let location = if se.location.is_empty() {
            "MESH_EXTERNAL"
        } else {
            se.location.as_str()
        };
        if location != "MESH_INTERNAL" {
            report.skip(
                dump,
                object,
                format!("location {location}: the document's services are the mesh's own"),
            );
            continue;
        }
        if !se.export_to.is_empty() && se.export_to != ["*"] {
            report.infer(
                dump,
                "spec.services[]",
                "visible to every namespace",
                format!(
                    "{object} has exportTo {:?}: the document has no visibility, its services are seen by every client",
                    se.export_to
                ),
            );
        }
        // The entry's endpoints, once for all its hosts: (object and field for errors,
        // workload name, entry, healthy).
        let members: Vec<(&ObjectRef, String, String, WorkloadEntrySpec, bool)> =
            match &se.workload_selector {
                Some(sel) => by_namespace
                    .get(object.namespace.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|w| {
                        sel.labels
                            .iter()
                            .all(|(k, v)| w.spec.labels.get(k) == Some(v))
                    })
                    .map(|w| {
                        selected.insert(w.object);
                        (
                            w.object,
                            "spec".to_owned(),
                            w.object.name.clone(),
                            w.spec.clone(),
                            w.healthy,
                        )
                    })
                    .collect(),
                None => se
                    .endpoints
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        (
                            object,
                            format!("spec.endpoints[{i}]"),
                            format!("{}-{i}", object.name),
                            e.clone(),
                            true,
                        )
                    })
                    .collect(),
            };
        let mut ports = Vec::with_capacity(se.ports.len());
        for (i, p) in se.ports.iter().enumerate() {
            if p.number == 0 {
                return Err(ImportError::field(
                    dump,
                    object,
                    format!("spec.ports[{i}].number"),
                    "must be 1..65535",
                ));
            }
            ports.push(ServicePort {
                name: p.name.clone(),
                port: p.number,
                target_port: (p.target_port != 0 && p.target_port != p.number)
                    .then_some(p.target_port),
                protocol: (!p.protocol.is_empty()).then(|| p.protocol.to_ascii_lowercase()),
            });
        }
        let mut endpoints = Vec::with_capacity(members.len());
        for (at_object, at, workload, we, healthy) in members {
            let Ok(ip) = we.address.parse::<IpAddr>() else {
                report.skip(dump, object, format!("endpoint {workload}: address {:?} is not an IP (a hostname or unix:// address; conversion.go keeps these out of EDS for this kind of service)", we.address));
                continue;
            };
            let read = Read {
                dump,
                object: at_object,
                at: &at,
                cluster,
                workload: &workload,
            };
            endpoints.push(read.endpoint(&we, ip, &se.ports, healthy, report)?);
        }
        for host in &se.hosts {
            match service_key(host) {
                Some((name, namespace)) => {
                    let name = ServiceName::new(name).map_err(|e| ImportError::field(dump, object, "spec.hosts", e.to_string()))?;
                    let namespace = Namespace::new(namespace).map_err(|e| ImportError::field(dump, object, "spec.hosts", e.to_string()))?;
                    out.push(EntryService { name, namespace, ports: ports.clone(), endpoints: endpoints.clone() });
                }
                None => report.skip(dump, object, format!("host {host:?} is not of the form <name>.<namespace>.svc.{DOMAIN_SUFFIX}: the document keys services by name and namespace")),
            }
        }
    }
    for w in &workloads {
        if !selected.contains(w.object) {
            report.skip(dump, w.object, "selected by no ServiceEntry of its namespace (Kubernetes Services that select WorkloadEntries are not read)");
        }
    }
    Ok(out)
}

/// `name` and `namespace` of a host `<name>.<namespace>.svc.<suffix>`.
fn service_key(host: &str) -> Option<(&str, &str)> {
    let short = host
        .trim_end_matches('.')
        .strip_suffix(DOMAIN_SUFFIX)?
        .strip_suffix(".svc.")?;
    let (name, ns) = short.split_once('.')?;
    (!ns.contains('.')).then_some((name, ns))
}

/// Where an endpoint is read from: the dump, the object and field (for errors), its cluster and
/// workload name.
struct Read<'a> {
    dump: &'a str,
    object: &'a ObjectRef,
    at: &'a str,
    cluster: &'a ClusterId,
    workload: &'a str,
}

impl Read<'_> {
    fn error(&self, field: &str, message: impl std::fmt::Display) -> ImportError {
        ImportError::field(
            self.dump,
            self.object,
            format!("{}.{field}", self.at),
            message.to_string(),
        )
    }

    fn endpoint(
        &self,
        we: &WorkloadEntrySpec,
        ip: IpAddr,
        se_ports: &[EntryPort],
        healthy: bool,
        report: &mut ImportReport,
    ) -> Result<Endpoint, ImportError> {
        let (dump, workload) = (self.dump, self.workload);
        let network = match (!we.network.is_empty())
            .then_some(we.network.as_str())
            .or_else(|| we.labels.get(label::TOPOLOGY_NETWORK).map(String::as_str))
        {
            Some(n) => Some(NetworkId::new(n).map_err(|e| self.error("network", e))?),
            None => None,
        };
        let locality = match (!we.locality.is_empty())
            .then(|| we.locality.clone())
            .or_else(|| locality::pod_locality(&we.labels, None))
        {
            Some(l) => Some(
                l.parse::<Locality>()
                    .map_err(|e| self.error("locality", e))?,
            ),
            None => None,
        };
        let tls_mode = match we.labels.get(label::TLS_MODE) {
            Some(v) if v == "istio" => TlsMode::Istio,
            Some(_) => TlsMode::Disabled,
            None if !we.service_account.is_empty() => TlsMode::Istio,
            None => TlsMode::Disabled,
        };
        // The endpoint port of each service port; the document holds one per endpoint, which is
        // exact for one port (or when all agree with the ports' targets).
        let targets: Vec<(u16, u16)> = se_ports
            .iter()
            .map(|p| {
                let to = we.ports.get(&p.name).copied().filter(|t| *t > 0).unwrap_or(
                    if p.target_port > 0 {
                        p.target_port
                    } else {
                        p.number
                    },
                );
                let default = if p.target_port > 0 {
                    p.target_port
                } else {
                    p.number
                };
                (to, default)
            })
            .collect();
        let port = match targets.as_slice() {
            [(to, default)] if to != default => Some(*to),
            many => {
                if many.iter().any(|(to, default)| to != default) {
                    report.infer(dump, format!("services[].endpoints[{workload}].port"), "the service ports' targets", format!("{}: {workload} maps several ports to its own numbers; the document holds one port per endpoint", self.object));
                }
                None
            }
        };
        Ok(Endpoint {
            cluster: self.cluster.clone(),
            addresses: vec![ip],
            port,
            network,
            locality,
            labels: we.labels.clone(),
            tls_mode,
            service_account: (!we.service_account.is_empty()).then(|| we.service_account.clone()),
            workload: Some(workload.to_owned()),
            weight: (we.weight > 0).then_some(we.weight),
            healthy,
        })
    }
}
