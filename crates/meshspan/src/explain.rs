//! `meshspan explain`: for one proxy class and one service, why each endpoint is sent directly,
//! replaced by which gateways with what weight, or dropped — naming the rule — and, where the
//! locality stage ran, why each group has its priority.

use std::process::ExitCode;

use mesh_eds::{DropReason, Explanation, LeftOutGateway, LeftOutReason, Outcome};
use serde_json::{Value, json};

use crate::eds::{Prepared, Selection, Target};
use crate::input::{self, Output};

/// Arguments of `meshspan explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub selection: Selection,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// Runs the command: 0 ok, 1 an assignment cannot be computed, 2 unreadable input or empty
/// selection.
pub fn run(args: &Args) -> ExitCode {
    let prepared = match Prepared::open(&args.mesh, &args.target, &args.selection) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut explanations = Vec::new();
    for (s, withheld) in prepared.selected().zip(prepared.withheld()) {
        match prepared.view.explain(&prepared.request(s)) {
            Ok((_, ex)) => explanations.push((ex, withheld)),
            Err(e) => {
                eprintln!("meshspan: {}: {e}", s.cluster.name());
                return ExitCode::from(1);
            }
        }
    }
    match args.output {
        Output::Text => {
            for (ex, withheld) in &explanations {
                out!("{ex}");
                for (e, why) in *withheld {
                    outln!(
                        "  withheld before split-horizon: {} (cluster {}): {why}",
                        e.address(),
                        e.cluster.as_ref().map_or("\"\"", |c| c.as_str())
                    );
                }
            }
        }
        Output::Json => {
            let list: Vec<Value> = explanations
                .iter()
                .map(|(ex, withheld)| {
                    let mut v = to_json(ex);
                    v["withheld"] = withheld
                        .iter()
                        .map(|(e, why)| {
                            json!({
                                "address": e.address(),
                                "port": e.port,
                                "cluster": e.cluster.as_ref().map_or("", |c| c.as_str()),
                                "rule": why.rule(),
                                "why": why.to_string(),
                            })
                        })
                        .collect();
                    v
                })
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
    }
    ExitCode::SUCCESS
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
