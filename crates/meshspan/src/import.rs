//! `meshspan import`: Kubernetes dumps, or istiod's debug JSON, → a mesh document (mesh-kube), printed as YAML or JSON; the
//! import's report (what was inferred and from what, what was skipped or not recognised) goes to
//! standard error, and into the YAML as comments.

use std::process::ExitCode;

use crate::input::{self, Dumps};

/// Output formats of `meshspan import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML, the report as leading comments.
    Yaml,
    /// JSON.
    Json,
}

/// Arguments of `meshspan import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub dumps: Dumps,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "yaml")]
    pub output: Format,
}

/// Runs the command: exit 0 with the document printed, 2 when a dump cannot be read or imported.
pub fn run(args: &Args) -> ExitCode {
    if args.dumps.clusters.is_empty() && args.dumps.flags.istiod.is_empty() {
        eprintln!("meshspan: import needs at least one --cluster NAME=DUMP or --istiod KIND=FILE");
        return ExitCode::from(2);
    }
    let (loaded, report) = match input::import(&args.dumps) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("meshspan: {e}");
            return ExitCode::from(2);
        }
    };
    eprint!("{report}");
    match args.output {
        Format::Yaml => {
            outln!("# meshspan import: {}", loaded.origin);
            for line in report.to_string().lines() {
                outln!("# {line}");
            }
            out!("{}", loaded.document.to_yaml());
        }
        Format::Json => outln!("{}", loaded.document.to_json()),
    }
    ExitCode::SUCCESS
}
