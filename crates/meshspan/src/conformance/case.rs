//! One case of the conformance format → the library API → the `actual` JSON of `eval`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use mesh_eds::{
    ClusterKind, ClusterRequest, EdsEndpoint, EndpointAddress, EndpointKind, Features,
    GatewayIndex, Health, IpFamily, LegacyNetworks, LoadAssignment, Profile, ProxyClass, ProxyType,
    ServiceRequest, View, accepted_mesh_networks,
};
use mesh_model::{Gateway, GatewaySource, MeshNetworks, TlsMode};
use serde_json::{Map, Value, json};

use super::names::{cluster_id, network, network_key};

/// Why a case cannot be run.
pub(super) type Unsupported = String;

/// `{"id", "actual"}` (plus `actual_other_variants`), or `{"id", "unsupported"}`.
pub fn eval(case: &Value) -> Value {
    let id = case.get("id").cloned().unwrap_or(Value::Null);
    match eval_case(case) {
        Ok((actual, variants)) => {
            let mut out = Map::new();
            out.insert("id".into(), id);
            out.insert("actual".into(), actual);
            if !variants.is_empty() {
                out.insert("actual_other_variants".into(), Value::Object(variants));
            }
            Value::Object(out)
        }
        Err(why) => json!({ "id": id, "unsupported": why }),
    }
}

fn eval_case(case: &Value) -> Result<(Value, Map<String, Value>), Unsupported> {
    let kind = case.get("kind").and_then(Value::as_str).unwrap_or("");
    let input = case.get("input").unwrap_or(&Value::Null);
    match kind {
        "eds" => {
            let profile = profile_of(case.get("semantics"))?;
            let actual = eds(input, profile)?;
            let mut variants = Map::new();
            if let Some(Value::Object(others)) = case.get("expected_other_variants") {
                for name in others.keys() {
                    // A variant this library has no profile for (e.g. a hand-computed
                    // `istio-1.11..1.29`) is reported on its own, not for the whole case.
                    let result = match name.parse::<Profile>() {
                        Ok(p) => eds(input, p).unwrap_or_else(|why| json!({ "unsupported": why })),
                        Err(e) => json!({ "unsupported": e.to_string() }),
                    };
                    variants.insert(name.clone(), result);
                }
            }
            Ok((actual, variants))
        }
        "locality_lb" => Ok((super::locality::eval(input)?, Map::new())),
        "cluster_local" => Ok((super::scope::cluster_local(input)?, Map::new())),
        "scope_eds" => Ok((super::scope::scope_eds(input)?, Map::new())),
        "lifecycle" => {
            let variants: Vec<String> = case
                .get("expected_other_variants")
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            super::lifecycle::eval(input, &variants)
        }
        "meshnetworks_validation" => Ok((validation(input)?, Map::new())),
        "meshnetworks_parse" => Ok((parse(input)?, Map::new())),
        "gateway_set" => {
            Err("gateway_set cases (DNS re-resolution over time) are informational".into())
        }
        other => Err(format!("unknown case kind {other:?}")),
    }
}

fn profile_of(v: Option<&Value>) -> Result<Profile, Unsupported> {
    match v {
        None | Some(Value::Null) => Ok(Profile::IstioModern),
        Some(Value::String(s)) => s.parse().map_err(|e| format!("{e}")),
        Some(other) => Err(format!("semantics {other} is not a string")),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn bool_of(v: &Value, key: &str, default: bool) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn u32_of(v: &Value, key: &str) -> Result<u32, Unsupported> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{key} {n} is not a uint32")),
    }
}

fn labels(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn mesh_networks(input: &Value) -> Result<MeshNetworks, Unsupported> {
    match input.get("mesh_networks") {
        None | Some(Value::Null) => Ok(MeshNetworks::default()),
        Some(v) => MeshNetworks::from_yaml(&v.to_string()).map_err(|e| e.to_string()),
    }
}

fn dns(input: &Value) -> Result<BTreeMap<String, Vec<IpAddr>>, Unsupported> {
    let mut out = BTreeMap::new();
    if let Some(m) = input.get("dns").and_then(Value::as_object) {
        for (host, ips) in m {
            let ips = ips
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|ip| ip.as_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            out.insert(host.clone(), ips);
        }
    }
    Ok(out)
}

/// The modern gateway set: MeshNetworks `address` gateways plus the registry gateways, resolved
/// through `dns` (rules G1–G4).
fn gateways(
    input: &Value,
    mn: &MeshNetworks,
    dns: &BTreeMap<String, Vec<IpAddr>>,
    resolve: bool,
) -> Result<Vec<Gateway>, Unsupported> {
    let (mut candidates, _) = mn.address_gateways();
    if let Some(list) = input.get("registry_gateways").and_then(Value::as_array) {
        for g in list {
            let Some(network) = network(str_of(g, "network"))? else {
                return Err("a registry gateway without network".into());
            };
            candidates.push((
                Gateway {
                    network,
                    cluster: cluster_id(str_of(g, "cluster"))?,
                    address: str_of(g, "address").to_owned(),
                    port: u32_of(g, "port")?,
                    hbone_port: u32_of(g, "hbone_port")?,
                    service_account: str_of(g, "service_account").to_owned(),
                },
                GatewaySource::Registry,
            ));
        }
    }
    Ok(mesh_model::resolve_gateways(candidates, dns, resolve).gateways)
}

fn endpoint(e: &Value) -> Result<EdsEndpoint, Unsupported> {
    let addresses = e
        .get("addresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    let health = match e.get("health").and_then(Value::as_str) {
        None | Some("healthy" | "HEALTHY") => Health::Healthy,
        Some("unhealthy" | "UNHEALTHY") => Health::Unhealthy,
        Some("draining" | "DRAINING") => Health::Draining,
        Some("terminating" | "TERMINATING") => Health::Terminating,
        Some(other) => return Err(format!("unknown endpoint health {other:?}")),
    };
    let health = if bool_of(e, "healthy", true) {
        health
    } else {
        Health::Unhealthy
    };
    Ok(EdsEndpoint {
        addresses,
        port: u32_of(e, "port")?,
        service_port_name: str_of(e, "service_port_name").to_owned(),
        network: network(str_of(e, "network"))?,
        cluster: cluster_id(str_of(e, "cluster"))?,
        locality: str_of(e, "locality").to_owned(),
        labels: labels(e.get("labels")).into(),
        tls_mode: if str_of(e, "tls_mode") == "istio" {
            TlsMode::Istio
        } else {
            TlsMode::Disabled
        },
        hbone_tunnel: bool_of(e, "hbone_tunnel", false),
        lb_weight: u32_of(e, "lb_weight")?,
        namespace: str_of(e, "namespace").to_owned(),
        workload_name: str_of(e, "workload_name").to_owned(),
        service_account: str_of(e, "service_account").to_owned(),
        health,
        node_name: str_of(e, "node_name").to_owned(),
    })
}

fn proxy(p: &Value, profile: Profile) -> Result<ProxyClass, Unsupported> {
    let proxy_type = match str_of(p, "type") {
        "" | "sidecar" => ProxyType::Sidecar,
        "router" => ProxyType::Router,
        other => return Err(format!("proxy type {other:?} is out of scope")),
    };
    let ip_family = match str_of(p, "ip_family") {
        "ipv4" => IpFamily::Ipv4,
        "ipv6" => IpFamily::Ipv6,
        "dual" => IpFamily::Dual,
        "" | "unknown" => IpFamily::Unknown,
        other => return Err(format!("unknown ip_family {other:?}")),
    };
    let network_view = match p.get("requested_network_view") {
        None | Some(Value::Null) => None,
        // Istio: an empty REQUESTED_NETWORK_VIEW is no view at all (every network visible).
        Some(Value::Array(list)) if list.is_empty() => None,
        Some(Value::Array(list)) => {
            let mut set = BTreeSet::new();
            for n in list {
                if let Some(n) = network(n.as_str().unwrap_or(""))? {
                    set.insert(n);
                }
            }
            Some(set)
        }
        Some(other) => return Err(format!("requested_network_view {other} is not a list")),
    };
    Ok(ProxyClass {
        proxy_type,
        network: network(str_of(p, "network"))?,
        cluster: cluster_id(str_of(p, "cluster"))?,
        ip_family,
        network_view,
        profile,
        ..ProxyClass::default()
    })
}

fn cluster_request(input: &Value) -> Result<ClusterRequest, Unsupported> {
    let service = input.get("service").unwrap_or(&Value::Null);
    let port_name = str_of(service, "port_name").to_owned();
    match input.get("cluster") {
        None | Some(Value::Null) => Ok(ClusterRequest {
            kind: ClusterKind::Outbound,
            port: u32_of(service, "port")?,
            subset: String::new(),
            host: str_of(service, "hostname").to_owned(),
            subset_labels: BTreeMap::new(),
            port_name,
        }),
        Some(c) => {
            let kind = match str_of(c, "kind") {
                "" | "outbound" => ClusterKind::Outbound,
                "sni_dnat" => ClusterKind::SniDnat,
                other => return Err(format!("unknown cluster kind {other:?}")),
            };
            let parsed: Option<ClusterRequest> = str_of(c, "name").parse().ok();
            let (port, host) = match parsed {
                Some(p) => (p.port, p.host),
                None => (
                    u32_of(service, "port")?,
                    str_of(service, "hostname").to_owned(),
                ),
            };
            Ok(ClusterRequest {
                kind,
                port,
                subset: str_of(c, "subset").to_owned(),
                host,
                subset_labels: labels(c.get("subset_labels")),
                port_name,
            })
        }
    }
}

fn eds(input: &Value, profile: Profile) -> Result<Value, Unsupported> {
    let features_v = input.get("features").unwrap_or(&Value::Null);
    if bool_of(features_v, "ambient_multi_network", false) {
        return Err("ambient multi-network mode is out of scope".into());
    }
    let features = Features {
        prefer_hbone_send: bool_of(features_v, "prefer_hbone_send", false),
        resolve_hostname_gateways: bool_of(features_v, "resolve_hostname_gateways", true),
        gateway_in_first_group: bool_of(features_v, "gateway_in_first_group", false),
    };
    let mut mn = mesh_networks(input)?;
    // Rule P2: an invalid document is rejected as a whole (modern); with no earlier one, none.
    mn =
        accepted_mesh_networks(&mn, profile, features.resolve_hostname_gateways, None).into_owned();
    mn.networks = std::mem::take(&mut mn.networks)
        .into_iter()
        .map(|(k, v)| (network_key(&k), v))
        .collect();
    let dns = dns(input)?;
    let mut index = if profile.is_legacy() {
        GatewayIndex::new([])
    } else {
        GatewayIndex::new(gateways(
            input,
            &mn,
            &dns,
            features.resolve_hostname_gateways,
        )?)
    };
    if profile.is_legacy() && input.get("mesh_networks").is_some_and(|v| !v.is_null()) {
        let services = input.get("registry_services").unwrap_or(&Value::Null);
        let lookup = |service: &str, registry: &str| -> Vec<String> {
            services
                .get(service)
                .and_then(|s| s.get("cluster_external_addresses"))
                .and_then(|m| m.get(registry))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| Some(s.as_str()?.to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        index = index.with_legacy_networks(LegacyNetworks::new(&mn, &dns, lookup));
    }
    let class = proxy(input.get("proxy").unwrap_or(&Value::Null), profile)?;
    let cluster = cluster_request(input)?;
    let endpoints = input
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(endpoint).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    let mtls_allowed = bool_of(
        input.get("mtls").unwrap_or(&Value::Null),
        "endpoint_mtls_allowed",
        true,
    );
    let view = View::new(&Arc::new(index), class);
    let request = ServiceRequest {
        locality: mesh_eds::LocalityPolicy::istio_default(),
        cluster: &cluster,
        endpoints: &endpoints,
        mtls_allowed,
        features,
    };
    Ok(match view.assignment(&request) {
        Ok(cla) => assignment_json(&cla),
        Err(e) => json!({ "error": e.to_string() }),
    })
}

/// The `expected` shape of an `eds` case.
pub fn assignment_json(cla: &LoadAssignment) -> Value {
    let localities: Vec<Value> = cla
        .localities
        .iter()
        .map(|l| {
            let endpoints: Vec<Value> = l
                .endpoints
                .iter()
                .map(|e| {
                    let (address, port, transport) = match &e.address {
                        EndpointAddress::Socket { address, port } => {
                            (address.clone(), *port, "plain")
                        }
                        EndpointAddress::Internal { endpoint_id, .. } => {
                            let (host, port) = split_host_port(endpoint_id);
                            (host, port, "hbone")
                        }
                    };
                    json!({
                        "address": address,
                        "port": port,
                        "weight": e.weight,
                        "kind": match e.kind {
                            EndpointKind::Direct => "direct",
                            EndpointKind::Gateway => "gateway",
                        },
                        "network": e.network.as_ref().map_or("", |n| n.as_str()),
                        "cluster": e.cluster.as_ref().map_or("", |c| c.as_str()),
                        "transport": transport,
                        "workload_metadata": e.workload,
                    })
                })
                .collect();
            json!({ "locality": l.locality, "weight": l.weight, "endpoints": endpoints })
        })
        .collect();
    json!({ "localities": localities })
}

/// `<host>:<port>` or `[<v6>]:<port>` → (host, port).
fn split_host_port(id: &str) -> (String, u32) {
    match id.rsplit_once(':') {
        Some((h, p)) => (
            h.trim_start_matches('[').trim_end_matches(']').to_owned(),
            p.parse().unwrap_or(0),
        ),
        None => (id.to_owned(), 0),
    }
}

fn validation(input: &Value) -> Result<Value, Unsupported> {
    let resolve = bool_of(
        input.get("features").unwrap_or(&Value::Null),
        "resolve_hostname_gateways",
        true,
    );
    let mn = match mesh_networks(input) {
        Ok(mn) => mn,
        Err(e) => return Ok(json!({ "valid": false, "errors": [e] })),
    };
    Ok(match mn.validate(resolve) {
        Ok(()) => json!({ "valid": true, "errors": [] }),
        Err(errs) => {
            let errors: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
            json!({ "valid": false, "errors": errors })
        }
    })
}

fn parse(input: &Value) -> Result<Value, Unsupported> {
    let text = input
        .as_str()
        .or_else(|| {
            [
                "yaml",
                "text",
                "mesh_networks_yaml",
                "document",
                "mesh_networks",
                "source",
            ]
            .iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
        })
        .ok_or("a meshnetworks_parse case without a YAML text input")?;
    Ok(match MeshNetworks::from_yaml(text) {
        Ok(mn) => json!({
            "valid": true,
            "parsed": serde_json::to_value(&mn).map_err(|e| e.to_string())?,
        }),
        Err(e) => json!({ "valid": false, "parsed": null, "error": e.to_string() }),
    })
}
