//! Reading the mesh document: a file, standard input (`-`), or the built-in example.

use std::path::Path;

use mesh_model::MeshDocument;

/// The built-in example mesh used when no file is given.
pub const DEFAULT_MESH: &str = include_str!("../../../examples/split-horizon.yaml");
/// How the default mesh is named in messages.
pub const DEFAULT_MESH_NAME: &str = "<built-in example: examples/split-horizon.yaml>";

/// A mesh document and where it came from.
pub struct Loaded {
    /// The file name, or the built-in example's name.
    pub origin: String,
    /// The parsed document.
    pub document: MeshDocument,
}

/// Reads and parses `file` (or the built-in example). The error is the message to print.
pub fn load(file: Option<&Path>) -> Result<Loaded, String> {
    let (origin, text) = match file {
        None => (DEFAULT_MESH_NAME.to_owned(), DEFAULT_MESH.to_owned()),
        Some(p) => (p.display().to_string(), read(p)?),
    };
    let document = MeshDocument::parse(&text).map_err(|e| format!("{origin}: {e}"))?;
    Ok(Loaded { origin, document })
}

/// [`load`], printing the error and giving exit code 2 (cannot read or parse) when it fails.
pub fn load_or_exit(file: Option<&Path>) -> Result<Loaded, std::process::ExitCode> {
    load(file).map_err(|e| {
        eprintln!("meshspan: {e}");
        std::process::ExitCode::from(2)
    })
}

/// Reads a file (or standard input for `-`) as text.
pub fn read(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("<stdin>: cannot read: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Output formats shared by the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Readable text.
    Text,
    /// JSON.
    Json,
}
