//! `meshspan graph`: the mesh as Graphviz DOT (`meshspan graph mesh.yaml | dot -Tsvg > mesh.svg`).

use std::process::ExitCode;

use crate::input;

/// Arguments of `meshspan graph`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    /// Import the mesh from kubectl dumps instead of a document.
    #[command(flatten)]
    pub dumps: input::Dumps,
}

/// Runs the command: prints DOT and exits 0; 2 when the file cannot be read or parsed.
pub fn run(args: &Args) -> ExitCode {
    let loaded = match input::load_or_import(&args.mesh, &args.dumps, input::Output::Text) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let report = mesh_topology::check(&loaded.document);
    out!("{}", mesh_topology::to_dot(&loaded.document, &report));
    ExitCode::SUCCESS
}
