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

/// Runs the command: exit 0 when no service becomes unreachable from any client network, 1 when
/// one does, 2 when the file cannot be read or parsed or the failure names nothing in the mesh (a
/// malformed `--fail` is rejected by the argument parser, also with exit 2).
pub fn run(args: &Args) -> ExitCode {
    let loaded = match input::load_or_import(&args.mesh, &args.dumps, args.output) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let Some(fail) = &args.fail else {
        return run_event(args, &loaded);
    };
    let what = match simulate(&loaded.document, fail) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("meshspan: {}: {e}", loaded.origin);
            return ExitCode::from(2);
        }
    };
    match args.output {
        Output::Json => match serde_json::to_string_pretty(&what) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("meshspan: cannot encode the result: {e}");
                return ExitCode::from(2);
            }
        },
        Output::Text => out!("{what}"),
    }
    if what.any_unreachable() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--event`: the same exit codes, per phase and client cluster.
fn run_event(args: &Args, loaded: &input::Loaded) -> ExitCode {
    let Some(event) = &args.event else {
        eprintln!("meshspan: give --fail or --event");
        return ExitCode::from(2);
    };
    let what = match simulate_event(&loaded.document, event, args.semantics) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("meshspan: {}: {e}", loaded.origin);
            return ExitCode::from(2);
        }
    };
    match args.output {
        Output::Json => match serde_json::to_string_pretty(&what) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("meshspan: cannot encode the result: {e}");
                return ExitCode::from(2);
            }
        },
        Output::Text => out!("{what}"),
    }
    if what.any_unreachable() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
