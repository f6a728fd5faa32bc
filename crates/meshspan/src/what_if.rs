//! `meshspan what-if`: what breaks when one thing fails.

use std::process::ExitCode;

use mesh_eds::LifecycleProfile;
use mesh_topology::{ClusterEvent, Failure, simulate, simulate_event};

use crate::input::{self, Output};

/// Arguments of `meshspan what-if`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    /// Import the mesh from kubectl dumps instead of a document.
    #[command(flatten)]
    pub dumps: input::Dumps,
    /// What fails: `gateway:<network>/<address>`, `link:<a>,<b>`, `partition:<a>,<b>`,
    /// `cluster:<name>` or `api-server:<cluster>`; for locality failover (per client locality:
    /// which priority serves now) `locality:<region>[/<zone>[/<subzone>]]`,
    /// `gateway:<address>[:<port>]`, or `cluster:<name>` with --failover.
    #[arg(long, value_parser = parse_fail, required_unless_present = "event", conflicts_with = "event")]
    pub fail: Option<Fail>,
    /// Report where traffic goes under locality failover (per client locality and service: the
    /// first priority with a live endpoint) instead of per client network. Implied by
    /// `locality:` and `gateway:<address>[:<port>]`.
    #[arg(long)]
    pub failover: bool,
    /// A remote-cluster lifecycle event instead: `secret-rotated:<cluster>`,
    /// `secret-deleted:<cluster>` or `sync-timeout:<cluster>` (rules S25–S37).
    #[arg(long, value_parser = parse_event)]
    pub event: Option<ClusterEvent>,
    /// Which istiod `--event` simulates: istio-modern (default: rotation is make-before-break)
    /// or istio-pre-61044 (a rotation wipes the cluster's endpoints until istiod restarts).
    #[arg(long, default_value = "istio-modern", value_parser = parse_profile)]
    pub semantics: LifecycleProfile,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// `--fail` as the network analysis reads it, as locality failover reads it, or both
/// (`cluster:<name>`).
#[derive(Debug, Clone)]
pub struct Fail {
    topology: Option<Failure>,
    outage: Option<mesh_eds::Outage>,
}

fn parse_fail(s: &str) -> Result<Fail, String> {
    let topology = s.parse::<Failure>();
    let outage = s.parse::<mesh_eds::Outage>();
    match (topology, outage) {
        (Err(t), Err(o)) => Err(format!("{t}; or, for locality failover, {o}")),
        (t, o) => Ok(Fail {
            topology: t.ok(),
            outage: o.ok(),
        }),
    }
}

pub(crate) fn parse_event(s: &str) -> Result<ClusterEvent, String> {
    s.parse()
        .map_err(|e: mesh_topology::ClusterEventParseError| e.to_string())
}

pub(crate) fn parse_profile(s: &str) -> Result<LifecycleProfile, String> {
    s.parse()
        .map_err(|e: mesh_eds::LifecycleProfileError| e.to_string())
}

/// Runs the command: exit 0 when no service becomes unreachable from any client network (or
/// client cluster, for `--event`), 1 when one does, 2 when the file cannot be read or parsed or
/// the failure or event names nothing in the mesh (a malformed `--fail` or `--event` is rejected
/// by the argument parser, also with exit 2).
pub fn run(args: &Args) -> ExitCode {
    let loaded = match input::load_or_import(&args.mesh, &args.dumps, args.output) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let doc = &loaded.document;
    let answer = match (&args.fail, &args.event) {
        (Some(fail), _) => {
            let failure = match (&fail.topology, &fail.outage) {
                (Some(f), _) if !args.failover => f,
                (_, Some(outage)) => {
                    return crate::what_if_failover::run(&loaded, outage, args.output);
                }
                (_, None) => {
                    eprintln!(
                        "meshspan: --failover takes --fail cluster:<name>, locality:<region>[/<zone>[/<subzone>]] or gateway:<address>[:<port>]"
                    );
                    return ExitCode::from(2);
                }
            };
            simulate(doc, failure)
                .map(|w| (w.any_unreachable(), print(&w, args.output)))
                .map_err(|e| e.to_string())
        }
        (None, Some(event)) => simulate_event(doc, event, args.semantics)
            .map(|w| (w.any_unreachable(), print(&w, args.output)))
            .map_err(|e| e.to_string()),
        (None, None) => Err("give --fail or --event".to_owned()),
    };
    match answer {
        Err(e) => {
            eprintln!("meshspan: {}: {e}", loaded.origin);
            ExitCode::from(2)
        }
        Ok((_, Err(code))) => code,
        Ok((true, Ok(()))) => ExitCode::from(1),
        Ok((false, Ok(()))) => ExitCode::SUCCESS,
    }
}

/// Prints an answer as text or JSON; exit 2 when it cannot be encoded.
fn print<T: serde::Serialize + std::fmt::Display>(
    what: &T,
    output: Output,
) -> Result<(), ExitCode> {
    match output {
        Output::Json => match serde_json::to_string_pretty(what) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("meshspan: cannot encode the result: {e}");
                return Err(ExitCode::from(2));
            }
        },
        Output::Text => out!("{what}"),
    }
    Ok(())
}
