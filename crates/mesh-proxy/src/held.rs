//! What a proxy holds, read from one of three dumps: Envoy's `/config_dump?include_eds`, Envoy's
//! `/clusters?format=json`, or `istioctl proxy-config endpoint <pod> -o json`. All three become one
//! [`ProxyDump`]; what each format lacks (the proxy's identity, locality weights) is `None`.

use serde::Serialize;
use serde_json::Value;

/// One endpoint as the proxy holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HeldEndpoint {
    /// The socket address (an IP, or whatever the proxy shows).
    pub address: String,
    /// The port.
    pub port: u32,
    /// The load-balancing weight (Envoy's default 1 when the dump omits it).
    pub weight: u32,
    /// The locality as Istio writes it: `region/zone/subzone`, trailing empty parts dropped.
    pub locality: String,
    /// The priority (0 when omitted).
    pub priority: u32,
}

/// One Envoy cluster's endpoints as the proxy holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldCluster {
    /// The Envoy cluster name.
    pub name: String,
    /// The endpoints, in the dump's order.
    pub endpoints: Vec<HeldEndpoint>,
    /// Locality weights by label, where the dump has them (`/config_dump` only).
    pub locality_weights: Option<Vec<(String, Option<u32>)>>,
}

/// The proxy's identity, where the dump names it (`/config_dump`'s bootstrap node).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProxyIdentity {
    /// Node metadata `NETWORK` (or `ISTIO_META_NETWORK`).
    pub network: Option<String>,
    /// Node metadata `CLUSTER_ID` (or `ISTIO_META_CLUSTER_ID`).
    pub cluster: Option<String>,
    /// `node.locality` as a label.
    pub locality: Option<String>,
}

/// Which dump it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DumpFormat {
    /// Envoy's `/config_dump?include_eds`.
    ConfigDump,
    /// Envoy's `/clusters?format=json`.
    Clusters,
    /// `istioctl proxy-config endpoint <pod> -o json`.
    Istioctl,
}

/// Everything read from one dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyDump {
    /// The format it was read from.
    pub format: DumpFormat,
    /// The proxy's identity as far as the dump tells.
    pub identity: ProxyIdentity,
    /// The clusters with endpoints, in the dump's order.
    pub clusters: Vec<HeldCluster>,
}

/// Why a dump cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but none of the three dumps.
    #[error(
        "not a proxy dump: expected Envoy's /config_dump (an object with `configs`), \
         /clusters?format=json (an object with `cluster_statuses`) or istioctl's endpoint list (an array)"
    )]
    UnknownFormat,
    /// A field has the wrong type or is missing.
    #[error("{path}: expected {expected}, found {found}")]
    Field {
        /// Where, as a JSON path (`configs[2].dynamic_endpoint_configs[0].endpoint_config.cluster_name`).
        path: String,
        /// What was expected there.
        expected: &'static str,
        /// What was there.
        found: String,
    },
}

/// Reads any of the three dumps, telling them apart by shape.
///
/// ```
/// let dump = mesh_proxy::parse_dump(r#"[{"name": "outbound|80||a.b.svc.cluster.local",
///   "hostStatuses": [{"address": {"socketAddress": {"address": "10.0.0.1", "portValue": 80}},
///                     "weight": 2, "locality": {"region": "r1"}}]}]"#)?;
/// assert_eq!(dump.format, mesh_proxy::DumpFormat::Istioctl);
/// assert_eq!(dump.clusters[0].endpoints[0].weight, 2);
/// assert_eq!(dump.clusters[0].endpoints[0].locality, "r1");
/// # Ok::<(), mesh_proxy::DumpError>(())
/// ```
pub fn parse_dump(text: &str) -> Result<ProxyDump, DumpError> {
    let root: Value = serde_json::from_str(text).map_err(|e| DumpError::NotJson(e.to_string()))?;
    let at = Node {
        value: &root,
        path: String::new(),
    };
    match &root {
        Value::Object(o) if o.contains_key("configs") => config_dump(&at),
        Value::Object(o) if o.contains_key("cluster_statuses") => clusters(&at),
        Value::Array(_) => istioctl(&at),
        _ => Err(DumpError::UnknownFormat),
    }
}

/// A JSON value and its path, for errors naming where they are.
struct Node<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    /// The first of `names` present (Envoy's admin writes snake_case, istioctl camelCase).
    fn get(&self, names: &[&str]) -> Option<Node<'a>> {
        names.iter().find_map(|n| {
            self.value.get(*n).map(|value| Node {
                value,
                path: join(&self.path, n),
            })
        })
    }

    fn need(&self, names: &[&str], expected: &'static str) -> Result<Node<'a>, DumpError> {
        self.get(names).ok_or_else(|| DumpError::Field {
            path: join(&self.path, names[0]),
            expected,
            found: "nothing".into(),
        })
    }

    fn wrong(&self, expected: &'static str) -> DumpError {
        DumpError::Field {
            path: self.path.clone(),
            expected,
            found: short(self.value),
        }
    }

    fn items(&self) -> Result<impl Iterator<Item = Node<'a>>, DumpError> {
        let list = self
            .value
            .as_array()
            .ok_or_else(|| self.wrong("an array"))?;
        let path = self.path.clone();
        Ok(list.iter().enumerate().map(move |(i, value)| Node {
            value,
            path: format!("{path}[{i}]"),
        }))
    }

    fn str(&self) -> Result<&'a str, DumpError> {
        self.value.as_str().ok_or_else(|| self.wrong("a string"))
    }

    /// A `uint32` (proto JSON may quote it; a `UInt32Value` may be `{"value": n}`).
    fn u32(&self) -> Result<u32, DumpError> {
        let v = self.value.get("value").unwrap_or(self.value);
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        n.and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.wrong("an unsigned 32-bit integer"))
    }

    fn u32_or(&self, names: &[&str], default: u32) -> Result<u32, DumpError> {
        self.get(names).map_or(Ok(default), |n| n.u32())
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", &s[..s.floor_char_boundary(60)])
    } else {
        s
    }
}

/// `{region, zone, sub_zone}` → `region/zone/subzone`, trailing empty parts dropped.
fn locality(node: Option<Node<'_>>) -> Result<String, DumpError> {
    let Some(node) = node else {
        return Ok(String::new());
    };
    let mut parts = Vec::with_capacity(3);
    for names in [&["region"][..], &["zone"], &["sub_zone", "subZone"]] {
        parts.push(node.get(names).map_or(Ok(""), |n| n.str())?);
    }
    while parts.last() == Some(&"") {
        parts.pop();
    }
    Ok(parts.join("/"))
}

/// `address.socket_address.{address, port_value}`; `None` for another kind of address (a pipe,
/// an internal address).
fn socket_address(host: &Node<'_>) -> Result<Option<(String, u32)>, DumpError> {
    let Some(sa) = host
        .need(&["address"], "an address")?
        .get(&["socket_address", "socketAddress"])
    else {
        return Ok(None);
    };
    let address = sa
        .need(&["address"], "an address string")?
        .str()?
        .to_owned();
    Ok(Some((address, sa.u32_or(&["port_value", "portValue"], 0)?)))
}

fn config_dump(root: &Node<'_>) -> Result<ProxyDump, DumpError> {
    let mut identity = ProxyIdentity::default();
    let mut clusters = Vec::new();
    for config in root.need(&["configs"], "an array of configs")?.items()? {
        let kind = config.get(&["@type"]).map_or(Ok(""), |t| t.str())?;
        if kind.ends_with(".BootstrapConfigDump") {
            if let Some(node) = config.get(&["bootstrap"]).and_then(|b| b.get(&["node"])) {
                identity = node_identity(&node)?;
            }
        } else if kind.ends_with(".EndpointsConfigDump")
            && let Some(list) = config.get(&["dynamic_endpoint_configs"])
        {
            for entry in list.items()? {
                let cla = entry.need(&["endpoint_config"], "a ClusterLoadAssignment")?;
                clusters.push(assignment(&cla)?);
            }
        }
    }
    Ok(ProxyDump {
        format: DumpFormat::ConfigDump,
        identity,
        clusters,
    })
}

fn node_identity(node: &Node<'_>) -> Result<ProxyIdentity, DumpError> {
    let meta = node.get(&["metadata"]);
    let text = |names: &[&str]| -> Result<Option<String>, DumpError> {
        match meta.as_ref().and_then(|m| m.get(names)) {
            Some(v) => Ok(Some(v.str()?.to_owned()).filter(|s| !s.is_empty())),
            None => Ok(None),
        }
    };
    Ok(ProxyIdentity {
        network: text(&["NETWORK", "ISTIO_META_NETWORK"])?,
        cluster: text(&["CLUSTER_ID", "ISTIO_META_CLUSTER_ID"])?,
        locality: Some(locality(node.get(&["locality"]))?).filter(|l| !l.is_empty()),
    })
}

/// A `ClusterLoadAssignment` in proto JSON (snake_case or camelCase).
fn assignment(cla: &Node<'_>) -> Result<HeldCluster, DumpError> {
    let name = cla
        .need(&["cluster_name", "clusterName"], "a cluster name")?
        .str()?
        .to_owned();
    let mut endpoints = Vec::new();
    let mut weights = Vec::new();
    if let Some(groups) = cla.get(&["endpoints"]) {
        for group in groups.items()? {
            let label = locality(group.get(&["locality"]))?;
            let priority = group.u32_or(&["priority"], 0)?;
            let weight = match group.get(&["load_balancing_weight", "loadBalancingWeight"]) {
                Some(w) => Some(w.u32()?),
                None => None,
            };
            weights.push((label.clone(), weight));
            if let Some(list) = group.get(&["lb_endpoints", "lbEndpoints"]) {
                for lb in list.items()? {
                    let endpoint = lb.need(&["endpoint"], "an endpoint")?;
                    let Some((address, port)) = socket_address(&endpoint)? else {
                        continue;
                    };
                    endpoints.push(HeldEndpoint {
                        address,
                        port,
                        weight: lb.u32_or(&["load_balancing_weight", "loadBalancingWeight"], 1)?,
                        locality: label.clone(),
                        priority,
                    });
                }
            }
        }
    }
    Ok(HeldCluster {
        name,
        endpoints,
        locality_weights: Some(weights),
    })
}

fn clusters(root: &Node<'_>) -> Result<ProxyDump, DumpError> {
    let mut clusters = Vec::new();
    for status in root
        .need(&["cluster_statuses"], "an array of cluster statuses")?
        .items()?
    {
        clusters.push(cluster_status(&status, &["host_statuses"])?);
    }
    Ok(ProxyDump {
        format: DumpFormat::Clusters,
        identity: ProxyIdentity::default(),
        clusters,
    })
}

fn istioctl(root: &Node<'_>) -> Result<ProxyDump, DumpError> {
    let mut clusters = Vec::new();
    for status in root.items()? {
        clusters.push(cluster_status(&status, &["hostStatuses", "host_statuses"])?);
    }
    Ok(ProxyDump {
        format: DumpFormat::Istioctl,
        identity: ProxyIdentity::default(),
        clusters,
    })
}

/// Envoy admin's `ClusterStatus` (snake_case from `/clusters`, camelCase from istioctl).
fn cluster_status(status: &Node<'_>, hosts_field: &[&str]) -> Result<HeldCluster, DumpError> {
    let name = status.need(&["name"], "a cluster name")?.str()?.to_owned();
    let mut endpoints = Vec::new();
    if let Some(hosts) = status.get(hosts_field) {
        for host in hosts.items()? {
            let Some((address, port)) = socket_address(&host)? else {
                continue;
            };
            endpoints.push(HeldEndpoint {
                address,
                port,
                weight: host.u32_or(&["weight"], 1)?,
                locality: locality(host.get(&["locality"]))?,
                priority: host.u32_or(&["priority"], 0)?,
            });
        }
    }
    Ok(HeldCluster {
        name,
        endpoints,
        locality_weights: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_path() {
        let e = parse_dump(
            r#"{"cluster_statuses": [{"name": "a", "host_statuses": [{"address": {"socket_address": {"address": "10.0.0.1", "port_value": "x"}}}]}]}"#,
        );
        assert_eq!(
            e,
            Err(DumpError::Field {
                path: "cluster_statuses[0].host_statuses[0].address.socket_address.port_value"
                    .into(),
                expected: "an unsigned 32-bit integer",
                found: "\"x\"".into(),
            })
        );
        assert_eq!(parse_dump("{}"), Err(DumpError::UnknownFormat));
        assert!(matches!(parse_dump("{"), Err(DumpError::NotJson(_))));
        let e = parse_dump(r#"[{"hostStatuses": []}]"#);
        assert!(matches!(e, Err(DumpError::Field { ref path, .. }) if path == "[0].name"));
    }

    #[test]
    fn defaults_of_omitted_fields() -> Result<(), DumpError> {
        let d = parse_dump(
            r#"{"cluster_statuses": [{"name": "a", "host_statuses": [{"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}]}]}"#,
        )?;
        let e = &d.clusters[0].endpoints[0];
        assert_eq!((e.weight, e.priority, e.locality.as_str()), (1, 0, ""));
        Ok(())
    }
}
