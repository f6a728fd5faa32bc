//! `lifecycle` cases (`istio-scope-cases.json`): the case format → mesh-eds' `RemoteClusters`
//! events → one state per event, and each `expected_other_variants` profile run again. Format
//! mapping only: every decision is the library's.

use std::collections::{BTreeMap, BTreeSet};

use mesh_eds::{
    ClusterSource, LifecycleConfig, LifecycleEvent, LifecycleProfile, RemoteClusters, RemoteSecret,
};
use mesh_model::ClusterId;
use serde_json::{Map, Value, json};

use super::scope::{cluster, flag, text, typed};

/// Why a case cannot be run: a message naming the path.
type Unsupported = String;

/// The case's own spelling of every cluster id, to print ids as the case wrote them.
#[derive(Default)]
struct Names(BTreeMap<String, String>);

impl Names {
    fn id(&mut self, s: &str, path: &str) -> Result<ClusterId, Unsupported> {
        let id = cluster(s)?.ok_or_else(|| format!("{path}: an empty cluster id"))?;
        self.0.insert(id.as_str().to_owned(), s.to_owned());
        Ok(id)
    }

    fn show(&self, c: &ClusterId) -> String {
        self.0
            .get(c.as_str())
            .cloned()
            .unwrap_or_else(|| c.as_str().to_owned())
    }
}

/// Evaluates a `lifecycle` case under its own profile and each of `variants`.
pub fn eval(
    input: &Value,
    variants: &[String],
) -> Result<(Value, Map<String, Value>), Unsupported> {
    let actual = run(input, LifecycleProfile::IstioModern)?;
    let mut others = Map::new();
    for name in variants {
        let result = match name.parse::<LifecycleProfile>() {
            Ok(p) => run(input, p).unwrap_or_else(|why| json!({ "unsupported": why })),
            Err(e) => json!({ "unsupported": e.to_string() }),
        };
        others.insert(name.clone(), result);
    }
    Ok((actual, others))
}

fn hostnames(v: Option<&Value>, path: &str) -> Result<BTreeSet<String>, Unsupported> {
    typed::<Vec<String>>(v, path).map(|l| l.into_iter().collect())
}

fn content(
    v: Option<&Value>,
    path: &str,
    names: &mut Names,
) -> Result<BTreeMap<ClusterId, BTreeSet<String>>, Unsupported> {
    let raw: BTreeMap<String, Vec<String>> = typed(v, path)?;
    let mut out = BTreeMap::new();
    for (c, hs) in raw {
        out.insert(names.id(&c, path)?, hs.into_iter().collect());
    }
    Ok(out)
}

fn run(input: &Value, profile: LifecycleProfile) -> Result<Value, Unsupported> {
    let mut names = Names::default();
    let config_cluster = match text(input, "config_cluster", "input")? {
        "" => None,
        c => Some(names.id(c, "input.config_cluster")?),
    };
    let system_namespace = text(input, "system_namespace", "input")?.to_owned();
    let source = match text(input, "source", "input")? {
        "" | "secret" => ClusterSource::Secrets,
        "file" => ClusterSource::Files,
        other => return Err(format!("input.source: unknown source {other:?}")),
    };
    let mut initial_shards: BTreeMap<ClusterId, BTreeSet<String>> = BTreeMap::new();
    for s in typed::<Vec<String>>(input.get("initial_shards"), "input.initial_shards")? {
        let (c, h) = s
            .split_once('/')
            .ok_or_else(|| format!("input.initial_shards: {s:?} is not <cluster>/<hostname>"))?;
        initial_shards
            .entry(names.id(c, "input.initial_shards")?)
            .or_default()
            .insert(h.to_owned());
    }
    let config = LifecycleConfig {
        config_cluster,
        config_cluster_synced: flag(input, "config_cluster_synced", true, "input")?,
        source,
        initial_shards,
        content: content(
            input.get("remote_content"),
            "input.remote_content",
            &mut names,
        )?,
        client_build_fails: hostnames(input.get("client_build_fails"), "input.client_build_fails")?,
        profile,
        system_namespace: system_namespace.clone(),
        // PILOT_REMOTE_CLUSTER_TIMEOUT: 0 disables the timeout (S33).
        sync_timeout_disabled: input
            .get("remote_cluster_timeout_s")
            .and_then(Value::as_f64)
            .is_some_and(|t| t == 0.0),
    };
    let mut files = Vec::new();
    for (i, f) in typed::<Vec<Value>>(input.get("initial_files"), "input.initial_files")?
        .iter()
        .enumerate()
    {
        let at = format!("input.initial_files[{i}]");
        if flag(f, "malformed", false, &at)? {
            continue;
        }
        files.push((
            text(f, "file", &at)?.to_owned(),
            names.id(text(f, "cluster", &at)?, &at)?,
            text(f, "kubeconfig", &at)?.to_owned(),
        ));
    }
    let mut mc = RemoteClusters::new(config).with_initial_files(files);
    let mut events = Vec::new();
    for (i, e) in typed::<Vec<Value>>(input.get("events"), "input.events")?
        .iter()
        .enumerate()
    {
        events.push(event(
            e,
            &format!("input.events[{i}]"),
            &system_namespace,
            &mut names,
        )?);
    }
    let initial = state(&mc, &names);
    let mut steps = Vec::new();
    for e in &events {
        mc.apply(e);
        steps.push(state(&mc, &names));
    }
    Ok(json!({ "initial": initial, "steps": steps }))
}

fn event(
    e: &Value,
    at: &str,
    system_namespace: &str,
    names: &mut Names,
) -> Result<LifecycleEvent, Unsupported> {
    let namespace = match text(e, "namespace", at)? {
        "" => system_namespace.to_owned(),
        ns => ns.to_owned(),
    };
    let name = text(e, "secret", at)?.to_owned();
    let cluster_of = |names: &mut Names| names.id(text(e, "cluster", at)?, at);
    Ok(match text(e, "type", at)? {
        "secret_added" | "secret_updated" => {
            let raw: BTreeMap<String, String> = typed(e.get("data"), &format!("{at}.data"))?;
            let mut data = BTreeMap::new();
            for (c, k) in raw {
                data.insert(names.id(&c, &format!("{at}.data"))?, k);
            }
            LifecycleEvent::SecretChanged {
                secret: RemoteSecret {
                    namespace,
                    name,
                    labeled: flag(e, "labeled", true, at)?,
                    data,
                },
                views: content(e.get("content"), &format!("{at}.content"), names)?,
            }
        }
        "secret_deleted" => LifecycleEvent::SecretDeleted { namespace, name },
        "cluster_synced" => LifecycleEvent::ClusterSynced(cluster_of(names)?),
        "sync_timeout" => LifecycleEvent::SyncTimeout(cluster_of(names)?),
        "config_cluster_synced" => LifecycleEvent::ConfigClusterSynced,
        "remote_content_changed" => LifecycleEvent::ContentChanged {
            cluster: cluster_of(names)?,
            services: hostnames(e.get("services"), &format!("{at}.services"))?,
        },
        "file_written" => LifecycleEvent::FileWritten {
            file: text(e, "file", at)?.to_owned(),
            content: if flag(e, "malformed", false, at)? {
                None
            } else {
                Some((cluster_of(names)?, text(e, "kubeconfig", at)?.to_owned()))
            },
        },
        "file_removed" => LifecycleEvent::FileRemoved {
            file: text(e, "file", at)?.to_owned(),
        },
        other => return Err(format!("{at}.type: unknown event type {other:?}")),
    })
}

fn state(mc: &RemoteClusters, names: &Names) -> Value {
    let map = |m: &BTreeMap<ClusterId, u32>| -> Value {
        Value::Object(m.iter().map(|(c, g)| (names.show(c), json!(g))).collect())
    };
    let mut shards: Vec<String> = mc
        .shards_present()
        .iter()
        .map(|(c, h)| format!("{}/{h}", names.show(c)))
        .collect();
    shards.sort();
    json!({
        "shards_present": shards,
        "ready": mc.ready(),
        "components": map(mc.components()),
        "registries": map(mc.registries()),
        "store": map(&mc.store()),
        "krt_clusters": map(mc.krt_clusters()),
        "cluster_status": Value::Object(
            mc.cluster_status().iter().map(|(c, s)| (names.show(c), json!(s.as_str()))).collect()
        ),
        "closed_components": mc.closed_components().iter().collect::<Vec<_>>(),
        "stopped_generations": mc.stopped_generations(),
    })
}

/// Compares one variant's result with its partial expectation `{steps: {index: {field: value}}}`
/// (the fields given; `shards_present` as a sorted set).
pub fn compare_variant(variant: &Value, actual: &Value) -> Result<(), String> {
    let Some(steps) = variant.get("steps").and_then(Value::as_object) else {
        return Err("a variant without steps".into());
    };
    let mut indices: Vec<(usize, &Value)> = steps
        .iter()
        .map(|(i, v)| {
            i.parse()
                .map(|i| (i, v))
                .map_err(|_| format!("step index {i:?}"))
        })
        .collect::<Result<_, _>>()?;
    indices.sort_by_key(|(i, _)| *i);
    for (i, fields) in indices {
        let got = actual
            .pointer(&format!("/steps/{i}"))
            .unwrap_or(&Value::Null);
        for (f, want) in fields.as_object().into_iter().flatten() {
            let norm = |v: &Value| -> Value {
                match v {
                    Value::Array(l) => {
                        let mut l = l.clone();
                        l.sort_by_key(Value::to_string);
                        Value::Array(l)
                    }
                    other => other.clone(),
                }
            };
            let (w, g) = (norm(want), norm(got.get(f).unwrap_or(&Value::Null)));
            if w != g {
                return Err(format!("steps[{i}].{f}: {w} expected, {g} got"));
            }
        }
    }
    Ok(())
}
