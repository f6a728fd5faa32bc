//! `cluster_local`, `scope_eds` and `lifecycle` cases (`istio-scope-cases.json`): the case format
//! → mesh-model's `ClusterLocalHosts` and `match_service_scope`, mesh-eds' `ServiceScope` → the
//! `actual` JSON (lifecycle cases: `lifecycle.rs`), and the comparison `check` makes. Format mapping only:
//! every decision is the libraries'.

use std::collections::{BTreeMap, BTreeSet};

use mesh_eds::{Provider, ScopeInput, ScopeProxy, ServiceScope, ShardKey};
use mesh_model::{
    AmbientScope, ClusterId, ClusterLocalHosts, McsFeatures, ServiceScopeConfig, ServiceSetting,
    match_service_scope,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Why a case cannot be run: a message naming the path.
type Unsupported = String;

pub(super) fn typed<T: DeserializeOwned + Default>(
    v: Option<&Value>,
    path: &str,
) -> Result<T, Unsupported> {
    match v {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("{path}: {e}")),
    }
}

pub(super) fn text<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a str, Unsupported> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{path}.{key}: {other} is not a string")),
    }
}

pub(super) fn flag(v: &Value, key: &str, default: bool, path: &str) -> Result<bool, Unsupported> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{path}.{key}: {other} is not a bool")),
    }
}

/// A cluster id of the case (`""` = none) under the same stand-in naming as the EDS cases.
pub(super) fn cluster(s: &str) -> Result<Option<ClusterId>, Unsupported> {
    super::names::cluster_id(s)
}

fn clusters(v: Option<&Value>, path: &str) -> Result<BTreeSet<ClusterId>, Unsupported> {
    let names: Vec<String> = typed(v, path)?;
    let mut out = BTreeSet::new();
    for n in names {
        out.extend(cluster(&n)?);
    }
    Ok(out)
}

/// The cluster-local table of a case's `mesh_config` and `domain_suffix`.
fn cluster_local_hosts(input: &Value) -> Result<ClusterLocalHosts, Unsupported> {
    let mesh = input.get("mesh_config").unwrap_or(&Value::Null);
    let settings: Vec<ServiceSetting> = typed(
        mesh.get("serviceSettings"),
        "input.mesh_config.serviceSettings",
    )?;
    let discovery = match mesh.get("defaultConfig") {
        None | Some(Value::Null) => None,
        Some(dc) => match dc.get("discoveryAddress") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(format!(
                    "input.mesh_config.defaultConfig.discoveryAddress: {other} is not a string"
                ));
            }
        },
    };
    let domain = text(input, "domain_suffix", "input")?;
    Ok(ClusterLocalHosts::new(&settings, domain, discovery))
}

/// Evaluates a `cluster_local` case.
pub fn cluster_local(input: &Value) -> Result<Value, Unsupported> {
    let hosts = cluster_local_hosts(input)?;
    let host = text(input, "host", "input")?;
    Ok(json!({ "cluster_local": hosts.is_cluster_local(host) }))
}

/// Evaluates a `scope_eds` case: the endpoints the proxy receives before split-horizon.
pub fn scope_eds(input: &Value) -> Result<Value, Unsupported> {
    let hosts = cluster_local_hosts(input)?;
    let features = input.get("features").unwrap_or(&Value::Null);
    let f = |key| flag(features, key, false, "input.features");
    let mcs = McsFeatures {
        service_discovery: f("ENABLE_MCS_SERVICE_DISCOVERY")?,
        host: f("ENABLE_MCS_HOST")?,
        cluster_local: f("ENABLE_MCS_CLUSTER_LOCAL")?,
    };
    let service = input.get("service").unwrap_or(&Value::Null);
    let hostname = text(service, "hostname", "input.service")?;
    let ambient = if f("AMBIENT_ENABLE_MULTI_NETWORK")?
        && flag(service, "ambient_service_info", true, "input.service")?
    {
        Some(match service.get("ambient_scope") {
            None | Some(Value::Null) => {
                let configs: Vec<ServiceScopeConfig> = typed(
                    input
                        .get("mesh_config")
                        .and_then(|m| m.get("serviceScopeConfigs")),
                    "input.mesh_config.serviceScopeConfigs",
                )?;
                // An explicit null is a namespace istiod did not find (S21).
                let namespace: Option<BTreeMap<String, String>> =
                    match service.get("namespace_labels") {
                        Some(Value::Null) => None,
                        v => Some(typed(v, "input.service.namespace_labels")?),
                    };
                let labels: BTreeMap<String, String> =
                    typed(service.get("labels"), "input.service.labels")?;
                match_service_scope(&configs, namespace.as_ref(), &labels)
            }
            v => typed::<AmbientScope>(v, "input.service.ambient_scope")?,
        })
    } else {
        None
    };
    let shards = shards(input.get("shards"))?;
    let shard_clusters: BTreeSet<ClusterId> = shards
        .iter()
        .filter_map(|(k, _)| k.cluster.clone())
        .collect();
    let exports = clusters(input.get("service_exports"), "input.service_exports")?;
    let imports = match input.get("service_imports") {
        None | Some(Value::Null) => None,
        v => Some(clusters(v, "input.service_imports")?),
    };
    let scope = ServiceScope::resolve(&ScopeInput {
        hostname,
        node_local: flag(service, "node_local", false, "input.service")?,
        mcs,
        exports: &exports,
        imports: imports.as_ref(),
        shard_clusters: &shard_clusters,
        ambient,
        ..ScopeInput::new(&hosts)
    });
    let proxy = proxy(input)?;
    let mut received: BTreeSet<String> = BTreeSet::new();
    let mut addresses: Vec<String> = Vec::new();
    for (key, endpoints) in &shards {
        for (address, endpoint_cluster, node) in endpoints {
            if scope
                .admits(&proxy, key, endpoint_cluster.as_ref(), node)
                .is_ok()
            {
                received.insert(
                    endpoint_cluster
                        .as_ref()
                        .map_or("", |c| c.as_str())
                        .to_owned(),
                );
                addresses.push(address.clone());
            }
        }
    }
    addresses.sort();
    // Output cluster names as the case wrote them (stand-ins map back through the shards).
    let names = shard_names(input.get("shards"))?;
    let clusters: Vec<String> = received
        .iter()
        .map(|c| names.get(c).cloned().unwrap_or_else(|| c.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(json!({
        "clusters": clusters,
        "addresses": addresses,
        "cluster_local": scope.is_cluster_local(),
        "service_exists": scope.exists,
        "ambient_scope": scope.ambient.map(|a| a.to_string()),
    }))
}

fn proxy(input: &Value) -> Result<ScopeProxy, Unsupported> {
    let p = input.get("proxy").unwrap_or(&Value::Null);
    let advertised = text(p, "cluster", "input.proxy")?;
    let aliases: BTreeMap<String, String> =
        typed(input.get("cluster_aliases"), "input.cluster_aliases")?;
    let aliased = aliases.get(advertised).map_or(advertised, String::as_str);
    Ok(ScopeProxy {
        cluster: cluster(aliased)?,
        node_name: text(p, "node_name", "input.proxy")?.to_owned(),
    })
}

/// One endpoint of a case shard: (address, endpoint cluster, node name).
type CaseEndpoint = (String, Option<ClusterId>, String);

fn shards(v: Option<&Value>) -> Result<Vec<(ShardKey, Vec<CaseEndpoint>)>, Unsupported> {
    let list: Vec<Value> = typed(v, "input.shards")?;
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let path = format!("input.shards[{i}]");
        let provider = match text(s, "provider", &path)? {
            "" | "Kubernetes" => Provider::Kubernetes,
            "External" => Provider::External,
            other => return Err(format!("{path}.provider: unknown provider {other:?}")),
        };
        let shard_cluster = cluster(text(s, "cluster", &path)?)?;
        let endpoints: Vec<Value> = typed(s.get("endpoints"), &format!("{path}.endpoints"))?;
        let mut eps = Vec::new();
        for (j, e) in endpoints.iter().enumerate() {
            let at = format!("{path}.endpoints[{j}]");
            let endpoint_cluster = match e.get("cluster") {
                None | Some(Value::Null) => shard_cluster.clone(),
                Some(_) => cluster(text(e, "cluster", &at)?)?,
            };
            eps.push((
                text(e, "address", &at)?.to_owned(),
                endpoint_cluster,
                text(e, "node_name", &at)?.to_owned(),
            ));
        }
        out.push((
            ShardKey {
                provider,
                cluster: shard_cluster,
            },
            eps,
        ));
    }
    Ok(out)
}

/// Library cluster name → the case's spelling, for every cluster the shards name.
fn shard_names(v: Option<&Value>) -> Result<BTreeMap<String, String>, Unsupported> {
    let list: Vec<Value> = typed(v, "input.shards")?;
    let mut out = BTreeMap::new();
    let mut add = |name: &str| -> Result<(), Unsupported> {
        let id = cluster(name)?;
        out.insert(
            id.map_or(String::new(), |c| c.as_str().to_owned()),
            name.to_owned(),
        );
        Ok(())
    };
    for s in &list {
        add(s.get("cluster").and_then(Value::as_str).unwrap_or(""))?;
        for e in s
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(c) = e.get("cluster").and_then(Value::as_str) {
                add(c)?;
            }
        }
    }
    Ok(out)
}

/// Compares a scope case's result with its expectation (README: sorted sets and exact flags;
/// for lifecycle, both required fields of every state).
pub fn compare(kind: &str, expected: &Value, actual: &Value) -> Result<(), String> {
    let fields: &[&str] = match kind {
        "cluster_local" => &["cluster_local"],
        "scope_eds" => &["clusters", "addresses", "cluster_local", "service_exists"],
        "lifecycle" => return compare_lifecycle(expected, actual),
        other => return Err(format!("cannot compare a {other:?} case")),
    };
    for f in fields {
        let sorted = |v: Option<&Value>| -> Option<Value> {
            v.map(|v| match v {
                Value::Array(a) => {
                    let mut a = a.clone();
                    a.sort_by_key(Value::to_string);
                    a.dedup();
                    Value::Array(a)
                }
                other => other.clone(),
            })
        };
        let (e, a) = (sorted(expected.get(*f)), sorted(actual.get(*f)));
        if e != a {
            return Err(format!(
                "{f}: {} expected, {} got",
                e.unwrap_or(Value::Null),
                a.unwrap_or(Value::Null)
            ));
        }
    }
    Ok(())
}

fn compare_lifecycle(expected: &Value, actual: &Value) -> Result<(), String> {
    let state = |at: &str| -> Result<(), String> {
        let (e, a) = (
            expected.pointer(at).unwrap_or(&Value::Null),
            actual.pointer(at).unwrap_or(&Value::Null),
        );
        for f in ["shards_present", "ready"] {
            let norm = |x: Option<&Value>| -> Value {
                match x {
                    Some(Value::Array(l)) => {
                        let mut l = l.clone();
                        l.sort_by_key(Value::to_string);
                        Value::Array(l)
                    }
                    Some(other) => other.clone(),
                    None => Value::Null,
                }
            };
            let (ef, af) = (norm(e.get(f)), norm(a.get(f)));
            if ef != af {
                return Err(format!("{at}.{f}: {ef} expected, {af} got"));
            }
        }
        Ok(())
    };
    state("/initial")?;
    let steps = expected
        .get("steps")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let got = actual
        .get("steps")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if steps != got {
        return Err(format!("{steps} steps expected, {got} got"));
    }
    for i in 0..steps {
        state(&format!("/steps/{i}"))?;
    }
    Ok(())
}
