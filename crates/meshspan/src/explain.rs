//! `meshspan explain`: for one proxy class and one service, why each endpoint is sent directly,
//! replaced by which gateways with what weight, or dropped — naming the rule — and, where the
//! locality stage ran, why each group has its priority.

use std::process::ExitCode;

use mesh_eds::{
    DropReason, EdsEndpoint, Explanation, LeftOutGateway, LeftOutReason, LifecycleProfile, Outcome,
};
use mesh_topology::{ClusterEvent, EventAbsences, PhaseAbsences, event_absences};
use serde_json::{Value, json};

use crate::eds::{Prepared, Selection, Target};
use crate::input::{self, Output};
use crate::what_if::{parse_event, parse_profile};

/// Arguments of `meshspan explain`.
#[derive(Debug, clap::Args)]
// A document, an example or `--cluster NAME=DUMP` dumps: `Target` checks which (one `--cluster`
// both picks proxies and names dumps, so no argument group can).
#[command(mut_group(input::MESH_SOURCE, |g| g.required(false)))]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub selection: Selection,
    /// Explain each phase of a remote-cluster lifecycle event as istiod pushes it:
    /// `secret-rotated:<cluster>`, `secret-deleted:<cluster>` or `sync-timeout:<cluster>` (rules
    /// S25–S37; needs --cluster).
    #[arg(long, value_parser = parse_event)]
    pub event: Option<ClusterEvent>,
    /// Which istiod `--event` simulates: istio-modern (default) or istio-pre-61044.
    #[arg(long, default_value = "istio-modern", value_parser = parse_profile)]
    pub semantics: LifecycleProfile,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// An endpoint withheld before split-horizon: by the scope stage, or (with `--event`) because
/// its cluster's shards are absent.
struct Withheld {
    endpoint: EdsEndpoint,
    rule: &'static str,
    why: String,
    lifecycle: bool,
}

/// The explanations of the selected service ports, each with what was withheld.
type Explained = Vec<(Explanation, Vec<Withheld>)>;

/// Runs the command: 0 ok, 1 an assignment cannot be computed, 2 unreadable input, empty
/// selection or an event naming nothing a control plane reads.
pub fn run(args: &Args) -> ExitCode {
    let prepared = match Prepared::open(&args.mesh, &args.target, &args.selection) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(event) = &args.event else {
        return match explain(&prepared, None) {
            Ok(list) => print(&list, args.output),
            Err(code) => code,
        };
    };
    if args.target.proxies_cluster().is_none() {
        eprintln!(
            "meshspan: --event {event} explains one cluster's proxies: give --cluster, not --network"
        );
        return ExitCode::from(2);
    }
    let absences = match event_absences(&prepared.loaded.document, event, args.semantics) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("meshspan: {}: {e}", prepared.loaded.origin);
            return ExitCode::from(2);
        }
    };
    let mut phases = Vec::new();
    for phase in &absences.phases {
        match explain(&prepared, Some((&absences, phase))) {
            Ok(list) => phases.push((phase, list)),
            Err(code) => return code,
        }
    }
    match args.output {
        Output::Text => {
            for (k, (phase, list)) in phases.iter().enumerate() {
                let ready = if phase.ready { "ready" } else { "not ready" };
                outln!(
                    "{event} ({}), phase {} of {}: {} (istiod {ready}; what is absent stays absent {}):",
                    absences.profile,
                    k + 1,
                    phases.len(),
                    phase.when,
                    phase.until
                );
                print(list, Output::Text);
            }
            ExitCode::SUCCESS
        }
        Output::Json => {
            let phases: Vec<Value> = phases
                .iter()
                .map(|(phase, list)| {
                    json!({
                        "when": phase.when,
                        "until": phase.until,
                        "ready": phase.ready,
                        "explanations": list.iter().map(explained_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let v = json!({
                "event": event,
                "profile": absences.profile.as_str(),
                "phases": phases,
            });
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
    }
}

/// Explains every selected service port; with an event phase, as istiod pushes it then: the
/// endpoints of a cluster whose shards are absent are withheld, with why.
fn explain(
    prepared: &Prepared,
    phase: Option<(&EventAbsences, &PhaseAbsences)>,
) -> Result<Explained, ExitCode> {
    let client = prepared.view.class().cluster.clone();
    let mut explanations = Vec::new();
    for (s, scoped) in prepared.selected().zip(prepared.withheld()) {
        let mut withheld: Vec<Withheld> = scoped
            .iter()
            .map(|(e, why)| Withheld {
                endpoint: e.clone(),
                rule: why.rule(),
                why: why.to_string(),
                lifecycle: false,
            })
            .collect();
        // Without an event: the service port as prepared, not a copy.
        let pushed = match (phase, &client) {
            (Some((absences, phase)), Some(client)) => {
                let mut pushed = s.clone();
                let (kept, absent) = absences.withhold(phase, client, pushed.endpoints);
                pushed.endpoints = kept;
                withheld.extend(absent.into_iter().map(|(e, why)| Withheld {
                    endpoint: e,
                    rule: why.rules(),
                    why: why.describe(&absences.cluster),
                    lifecycle: true,
                }));
                Some(pushed)
            }
            _ => None,
        };
        match prepared
            .view
            .explain(&prepared.request(pushed.as_ref().unwrap_or(s)))
        {
            Ok((_, ex)) => explanations.push((ex, withheld)),
            Err(e) => {
                eprintln!("meshspan: {}: {e}", s.cluster.name());
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok(explanations)
}

/// Prints explanations as text or as a JSON list.
fn print(list: &Explained, output: Output) -> ExitCode {
    match output {
        Output::Text => {
            for (ex, withheld) in list {
                out!("{ex}");
                for w in withheld {
                    let e = &w.endpoint;
                    if w.lifecycle {
                        outln!("  {} withheld: {}", e.address(), w.why);
                    } else {
                        outln!(
                            "  withheld before split-horizon: {} (cluster {}): {}",
                            e.address(),
                            e.cluster.as_ref().map_or("\"\"", |c| c.as_str()),
                            w.why
                        );
                    }
                }
            }
        }
        Output::Json => {
            let list: Vec<Value> = list.iter().map(explained_json).collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
    }
    ExitCode::SUCCESS
}

/// One explanation as JSON, with what was withheld.
fn explained_json((ex, withheld): &(Explanation, Vec<Withheld>)) -> Value {
    let mut v = to_json(ex);
    v["withheld"] = withheld
        .iter()
        .map(|w| {
            let e = &w.endpoint;
            json!({
                "address": e.address(),
                "port": e.port,
                "cluster": e.cluster.as_ref().map_or("", |c| c.as_str()),
                "rule": w.rule,
                "why": w.why,
            })
        })
        .collect();
    v
}

fn to_json(ex: &Explanation) -> Value {
    let endpoints: Vec<Value> = ex
        .endpoints
        .iter()
        .map(|e| {
            let (outcome, weight, gateways) = match &e.outcome {
                Outcome::Direct { weight, .. } => ("direct", Some(*weight), vec![]),
                Outcome::ViaGateways {
                    weight,
                    contributions,
                    ..
                } => (
                    "gateways",
                    Some(*weight),
                    contributions
                        .iter()
                        .map(|c| {
                            json!({
                                "address": c.gateway.address,
                                "port": c.gateway.port,
                                "network": c.gateway.network.as_str(),
                                "cluster": c.gateway.cluster.as_ref().map_or("", |c| c.as_str()),
                                "weight": c.weight,
                            })
                        })
                        .collect(),
                ),
                Outcome::Dropped(_) => ("dropped", None, vec![]),
                _ => ("other", None, vec![]),
            };
            // Legacy profiles: the gateways left out of the split, and why (H1.5).
            let left_out: &[LeftOutGateway] = match &e.outcome {
                Outcome::ViaGateways { left_out, .. }
                | Outcome::Dropped(DropReason::LegacyNoIpGateway { left_out, .. }) => left_out,
                _ => &[],
            };
            let left_out: Vec<Value> = left_out
                .iter()
                .map(|g| {
                    let (why, hostname) = match &g.why {
                        LeftOutReason::Hostname => ("hostname", None),
                        LeftOutReason::RegistryServiceName => ("registryServiceName", None),
                        LeftOutReason::NotFirstAnswer { hostname } => {
                            ("notFirstAnswer", Some(hostname.as_str()))
                        }
                        _ => ("other", None),
                    };
                    json!({"address": g.address, "port": g.port, "why": why, "hostname": hostname})
                })
                .collect();
            json!({
                "index": e.index,
                "address": e.address,
                "port": e.port,
                "network": e.network.as_ref().map_or("", |n| n.as_str()),
                "cluster": e.cluster.as_ref().map_or("", |c| c.as_str()),
                "locality": e.locality,
                "outcome": outcome,
                "rule": e.outcome.rule(),
                "weight": weight,
                "gateways": gateways,
                "leftOut": left_out,
                "why": e.outcome.to_string(),
            })
        })
        .collect();
    let groups: Vec<Value> = ex
        .locality
        .iter()
        .enumerate()
        .map(|(i, g)| {
            json!({
                "group": i,
                "locality": ex.group_localities.get(i).map_or("", String::as_str),
                "fromGroup": g.source,
                "priority": g.priority,
                "weight": g.weight,
                "rule": g.decision.rule(),
                "meaning": ex.group_meaning(i),
                "why": g.decision.to_string(),
            })
        })
        .collect();
    json!({
        "cluster": ex.cluster_name,
        "proxy": {
            "network": ex.class.network.as_ref().map_or("", |n| n.as_str()),
            "cluster": ex.class.cluster.as_ref().map_or("", |c| c.as_str()),
            "ipFamily": ex.class.ip_family.as_str(),
            "profile": ex.class.profile.as_str(),
            "locality": ex.class.locality,
            "labels": ex.class.labels,
        },
        "scaleFactor": ex.scale_factor,
        "notes": ex.selection.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "endpoints": endpoints,
        "localityStage": groups,
    })
}
