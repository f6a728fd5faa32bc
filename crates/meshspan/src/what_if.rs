//! `meshspan what-if`: what breaks when one thing fails.

use std::process::ExitCode;

use mesh_topology::{Failure, simulate};

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
    #[arg(long, value_parser = parse_fail)]
    pub fail: Fail,
    /// Report where traffic goes under locality failover (per client locality and service: the
    /// first priority with a live endpoint) instead of per client network. Implied by
    /// `locality:` and `gateway:<address>[:<port>]`.
    #[arg(long)]
    pub failover: bool,
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

/// Runs the command: exit 0 when no service becomes unreachable from any client network, 1 when
/// one does, 2 when the file cannot be read or parsed or the failure names nothing in the mesh (a
/// malformed `--fail` is rejected by the argument parser, also with exit 2).
pub fn run(args: &Args) -> ExitCode {
    let loaded = match input::load_or_import(&args.mesh, &args.dumps, args.output) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let failure = match (&args.fail.topology, &args.fail.outage) {
        (Some(f), _) if !args.failover => f,
        (_, Some(outage)) => return crate::what_if_failover::run(&loaded, outage, args.output),
        (_, None) => {
            eprintln!(
                "meshspan: --failover takes --fail cluster:<name>, locality:<region>[/<zone>[/<subzone>]] or gateway:<address>[:<port>]"
            );
            return ExitCode::from(2);
        }
    };
    let what = match simulate(&loaded.document, failure) {
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
