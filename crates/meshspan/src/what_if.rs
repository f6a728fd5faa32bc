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
    /// `cluster:<name>` or `api-server:<cluster>`.
    #[arg(long, value_parser = parse_failure, required_unless_present = "event", conflicts_with = "event")]
    pub fail: Option<Failure>,
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

fn parse_event(s: &str) -> Result<ClusterEvent, String> {
    s.parse()
        .map_err(|e: mesh_topology::ClusterEventParseError| e.to_string())
}

fn parse_profile(s: &str) -> Result<LifecycleProfile, String> {
    s.parse()
        .map_err(|e: mesh_eds::LifecycleProfileError| e.to_string())
}

fn parse_failure(s: &str) -> Result<Failure, String> {
    s.parse()
        .map_err(|e: mesh_topology::FailureParseError| e.to_string())
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
        (Some(fail), _) => simulate(doc, fail)
            .map(|w| (w.any_unreachable(), print(&w, args.output)))
            .map_err(|e| e.to_string()),
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
