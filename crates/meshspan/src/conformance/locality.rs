//! `locality_lb` cases (`istio-locality-cases.json`): the case format → the library's
//! `LoadAssignment`, `ProxyClass` and `LocalityPolicy` → `apply_locality_stage` → the `actual` JSON,
//! and the comparison `check` makes. Format mapping only: every decision is the library's.

use std::collections::BTreeMap;

use mesh_eds::{
    Distribute, EffectiveSetting, EndpointAddress, EndpointKind, Failover, LbEndpoint,
    LoadAssignment, LocalityGroup, LocalityLbSetting, LocalityPolicy, MeshLocality, ProxyClass,
    ProxyType, Setting, TrafficPolicy, ZoneAwareLbSetting, apply_locality_stage,
};
use mesh_model::{ClusterId, NetworkId};
use serde_json::{Value, json};

/// Why a case cannot be run (as in `case.rs`: a message naming the path).
type Unsupported = String;

/// Evaluates one `locality_lb` case input.
pub fn eval(input: &Value) -> Result<Value, Unsupported> {
    let policy = policy(input)?;
    let effective = policy.effective();
    let p = input.get("proxy").unwrap_or(&Value::Null);
    let (mut cla, labels) = groups(input.get("localities"), "input.localities")?;
    let class = proxy(p, &effective)?;
    apply_locality_stage(&mut cla, &labels, &class, &effective);
    Ok(json!({
        "localities": cla.localities.iter().map(group_json).collect::<Vec<_>>(),
        "effective": effective_json(&effective),
    }))
}

fn proxy(p: &Value, effective: &EffectiveSetting) -> Result<ProxyClass, Unsupported> {
    let proxy_type = match p.get("type").and_then(Value::as_str).unwrap_or("sidecar") {
        "sidecar" => ProxyType::Sidecar,
        "router" => ProxyType::Router,
        "waypoint" => ProxyType::Waypoint,
        other => return Err(format!("input.proxy.type: unknown proxy type {other:?}")),
    };
    let locality = opt_str(p.get("locality"), "input.proxy.locality")?;
    let all = string_map(p.get("labels"), "input.proxy.labels")?;
    // The class keeps the values of the keys the effective failoverPriority names, as an
    // embedder's classes do.
    let keys: Vec<&str> = effective
        .failover_priority()
        .iter()
        .map(|e| e.split('=').next().unwrap_or(""))
        .collect();
    Ok(ProxyClass {
        proxy_type,
        locality,
        ..ProxyClass::default()
    }
    .with_labels(&all, keys))
}

fn policy(input: &Value) -> Result<LocalityPolicy, Unsupported> {
    let destination_rule = match input.get("destination_rule") {
        None | Some(Value::Null) => None,
        Some(dr) => Some(TrafficPolicy {
            locality_lb_setting: locality_setting(
                dr.get("locality_lb_setting"),
                "input.destination_rule.locality_lb_setting",
            )?,
            zone_aware_lb_setting: zone_aware_setting(
                dr.get("zone_aware_lb_setting"),
                "input.destination_rule.zone_aware_lb_setting",
            )?,
            outlier_detection: match dr.get("outlier_detection") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(format!(
                        "input.destination_rule.outlier_detection: {other} is not a bool"
                    ));
                }
            },
        }),
    };
    let traffic_distribution = opt_str(
        input.get("service_traffic_distribution"),
        "input.service_traffic_distribution",
    )?
    .parse()
    .unwrap_or_default();
    Ok(LocalityPolicy {
        destination_rule,
        traffic_distribution,
        mesh: MeshLocality {
            locality_lb_setting: locality_setting(
                input.get("mesh_locality_lb_setting"),
                "input.mesh_locality_lb_setting",
            )?,
            zone_aware_lb_setting: zone_aware_setting(
                input.get("mesh_zone_aware_lb_setting"),
                "input.mesh_zone_aware_lb_setting",
            )?,
        },
    })
}

fn locality_setting(
    v: Option<&Value>,
    path: &str,
) -> Result<Option<LocalityLbSetting>, Unsupported> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let mut distribute = Vec::new();
    for (i, d) in list(v.get("distribute"), &format!("{path}.distribute"))?
        .iter()
        .enumerate()
    {
        let at = format!("{path}.distribute[{i}]");
        let mut to = Vec::new();
        match d.get("to") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (pattern, w) in m {
                    let w = w
                        .as_u64()
                        .and_then(|w| u32::try_from(w).ok())
                        .ok_or_else(|| format!("{at}.to.{pattern}: {w} is not a uint32"))?;
                    to.push((pattern.clone(), w));
                }
            }
            Some(other) => return Err(format!("{at}.to: {other} is not an object")),
        }
        distribute.push(Distribute {
            from: opt_str(d.get("from"), &format!("{at}.from"))?,
            to,
        });
    }
    Ok(Some(LocalityLbSetting {
        enabled: enabled(v, path)?,
        distribute,
        failover: failover(v, path)?,
        failover_priority: strings(
            v.get("failoverPriority"),
            &format!("{path}.failoverPriority"),
        )?,
    }))
}

fn zone_aware_setting(
    v: Option<&Value>,
    path: &str,
) -> Result<Option<ZoneAwareLbSetting>, Unsupported> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    Ok(Some(ZoneAwareLbSetting {
        enabled: enabled(v, path)?,
        failover: failover(v, path)?,
        failover_priority: strings(
            v.get("failoverPriority"),
            &format!("{path}.failoverPriority"),
        )?,
    }))
}

fn enabled(v: &Value, path: &str) -> Result<Option<bool>, Unsupported> {
    match v.get("enabled") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("{path}.enabled: {other} is not a bool")),
    }
}

fn failover(v: &Value, path: &str) -> Result<Vec<Failover>, Unsupported> {
    list(v.get("failover"), &format!("{path}.failover"))?
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = format!("{path}.failover[{i}]");
            Ok(Failover {
                from: opt_str(f.get("from"), &format!("{at}.from"))?,
                to: opt_str(f.get("to"), &format!("{at}.to"))?,
            })
        })
        .collect()
}

fn list<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a [Value], Unsupported> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!("{path}: {other} is not a list")),
    }
}

fn strings(v: Option<&Value>, path: &str) -> Result<Vec<String>, Unsupported> {
    list(v, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| opt_str(Some(s), &format!("{path}[{i}]")))
        .collect()
}

/// A string, `""` for null or absent.
fn opt_str(v: Option<&Value>, path: &str) -> Result<String, Unsupported> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("{path}: {other} is not a string")),
    }
}

fn string_map(v: Option<&Value>, path: &str) -> Result<BTreeMap<String, String>, Unsupported> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), opt_str(Some(v), &format!("{path}.{k}"))?)))
            .collect(),
        Some(other) => Err(format!("{path}: {other} is not an object")),
    }
}

fn u32_at(v: Option<&Value>, path: &str) -> Result<Option<u32>, Unsupported> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{path}: {n} is not a uint32")),
    }
}

type PairedLabels = Vec<Vec<BTreeMap<String, String>>>;

/// The groups after split-horizon as a `LoadAssignment`, with the labels paired with each endpoint.
fn groups(v: Option<&Value>, path: &str) -> Result<(LoadAssignment, PairedLabels), Unsupported> {
    let mut localities = Vec::new();
    let mut labels = Vec::new();
    for (g, group) in list(v, path)?.iter().enumerate() {
        let at = format!("{path}[{g}]");
        let mut endpoints = Vec::new();
        let mut group_labels = Vec::new();
        for (e, ep) in list(group.get("endpoints"), &format!("{at}.endpoints"))?
            .iter()
            .enumerate()
        {
            let at = format!("{at}.endpoints[{e}]");
            let kind = match ep.get("kind").and_then(Value::as_str).unwrap_or("direct") {
                "direct" => EndpointKind::Direct,
                "gateway" => EndpointKind::Gateway,
                other => return Err(format!("{at}.kind: unknown kind {other:?}")),
            };
            let network = opt_str(ep.get("network"), &format!("{at}.network"))?;
            let cluster = opt_str(ep.get("cluster"), &format!("{at}.cluster"))?;
            endpoints.push(LbEndpoint {
                address: EndpointAddress::Socket {
                    address: opt_str(ep.get("address"), &format!("{at}.address"))?,
                    port: u32_at(ep.get("port"), &format!("{at}.port"))?.unwrap_or(0),
                },
                weight: u32_at(ep.get("weight"), &format!("{at}.weight"))?.unwrap_or(0),
                kind,
                mtls: false,
                // Informational in the case format: kept when the id types accept them.
                network: NetworkId::new(network).ok(),
                cluster: ClusterId::new(cluster).ok(),
                workload: String::new(),
            });
            group_labels.push(string_map(ep.get("labels"), &format!("{at}.labels"))?);
        }
        localities.push(LocalityGroup {
            locality: opt_str(group.get("locality"), &format!("{at}.locality"))?,
            weight: u32_at(group.get("weight"), &format!("{at}.weight"))?,
            priority: u32_at(group.get("priority"), &format!("{at}.priority"))?.unwrap_or(0),
            endpoints,
        });
        labels.push(group_labels);
    }
    let cla = LoadAssignment {
        cluster_name: String::new(),
        localities,
    };
    Ok((cla, labels))
}

fn group_json(g: &LocalityGroup) -> Value {
    let endpoints: Vec<Value> = g
        .endpoints
        .iter()
        .map(|e| {
            let (address, port) = match &e.address {
                EndpointAddress::Socket { address, port } => (address.clone(), *port),
                EndpointAddress::Internal { endpoint_id, .. } => (endpoint_id.clone(), 0),
            };
            json!({ "address": address, "port": port, "weight": e.weight })
        })
        .collect();
    json!({
        "locality": g.locality,
        "weight": g.weight,
        "priority": g.priority,
        "endpoints": endpoints,
    })
}

fn effective_json(e: &EffectiveSetting) -> Value {
    let (kind, source, force) = match &e.setting {
        Setting::Locality { source, force, .. } => ("locality", Some(source.as_str()), *force),
        Setting::ZoneAware { source, .. } => ("zone_aware", Some(source.as_str()), false),
        _ => ("none", None, false),
    };
    json!({ "kind": kind, "source": source, "force_failover": force })
}

/// Compares `actual` with `expected` (or any of `expected_any_of`) as the conformance README says.
pub fn compare(case: &Value, actual: &Value) -> Result<(), String> {
    let got = actual.get("localities").and_then(Value::as_array);
    let Some(got) = got else {
        return Err("no localities in the result".into());
    };
    let expected = case
        .get("expected")
        .and_then(|e| e.get("localities"))
        .and_then(Value::as_array)
        .ok_or("the case has no expected.localities")?;
    let first = compare_groups(expected, got);
    if first.is_ok() {
        return first;
    }
    if let Some(Value::Array(any)) = case.get("expected_any_of") {
        for option in any {
            let option = option
                .get("localities")
                .and_then(Value::as_array)
                .or_else(|| option.as_array());
            if option.is_some_and(|o| compare_groups(o, got).is_ok()) {
                return Ok(());
            }
        }
    }
    first
}

fn compare_groups(expected: &[Value], got: &[Value]) -> Result<(), String> {
    if expected.len() != got.len() {
        return Err(format!(
            "{} expected, {} produced",
            mesh_model::counted(expected.len(), "group"),
            got.len()
        ));
    }
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        let triple = |v: &Value| {
            let s = v.get("locality").and_then(Value::as_str).unwrap_or("");
            let mut p = s.split('/');
            let mut next = || p.next().unwrap_or("").to_owned();
            (next(), next(), next())
        };
        if triple(e) != triple(g) {
            return Err(format!(
                "group {i}: locality {} expected, {} produced",
                e["locality"], g["locality"]
            ));
        }
        let field = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        for key in ["weight", "priority"] {
            let (ev, gv) = (field(e, key), field(g, key));
            let ev = if key == "priority" && ev.is_null() {
                json!(0)
            } else {
                ev
            };
            if ev != gv {
                return Err(format!("group {i}: {key} {ev} expected, {gv} produced"));
            }
        }
        let eps = |v: &Value| -> Vec<(Value, Value, Value)> {
            v.get("endpoints")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| (field(x, "address"), field(x, "port"), field(x, "weight")))
                        .collect()
                })
                .unwrap_or_default()
        };
        if eps(e) != eps(g) {
            return Err(format!("group {i}: endpoints differ"));
        }
    }
    Ok(())
}
