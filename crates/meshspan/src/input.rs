//! Reading the mesh document: a file, standard input (`-`), or a built-in example asked for with
//! `--example`.

use std::path::{Path, PathBuf};

use mesh_model::MeshDocument;

/// The built-in example meshes (`examples/*.yaml`), asked for with `--example [NAME]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Example {
    /// One control plane, two networks joined by gateways (split-horizon EDS).
    SplitHorizon,
    /// Replicated control planes with `.global` names.
    ReplicatedControlPlanes,
    /// One control plane over a VPN.
    Vpn,
    /// A mix of the three.
    Mixed,
    /// A mesh with one of every problem `check` finds.
    Broken,
}

impl Example {
    /// The example's file name under `examples/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::SplitHorizon => "split-horizon.yaml",
            Self::ReplicatedControlPlanes => "replicated-control-planes.yaml",
            Self::Vpn => "vpn.yaml",
            Self::Mixed => "mixed.yaml",
            Self::Broken => "broken.yaml",
        }
    }

    /// The example's text.
    pub fn text(self) -> &'static str {
        match self {
            Self::SplitHorizon => include_str!("../../../examples/split-horizon.yaml"),
            Self::ReplicatedControlPlanes => {
                include_str!("../../../examples/replicated-control-planes.yaml")
            }
            Self::Vpn => include_str!("../../../examples/vpn.yaml"),
            Self::Mixed => include_str!("../../../examples/mixed.yaml"),
            Self::Broken => include_str!("../../../examples/broken.yaml"),
        }
    }
}

/// Where the mesh document comes from: a file, or a built-in example. Exactly one is required, so
/// an empty shell variable (`meshspan check $UNSET`) is a usage error, not a silent example.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct MeshSource {
    /// The mesh document (YAML or JSON; `-` for standard input).
    pub file: Option<PathBuf>,
    /// Use a built-in example mesh instead of a file (default: split-horizon).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "split-horizon")]
    pub example: Option<Example>,
}

impl MeshSource {
    /// A source reading `file`.
    pub fn file(file: PathBuf) -> Self {
        Self {
            file: Some(file),
            example: None,
        }
    }
}

/// A mesh document and where it came from.
pub struct Loaded {
    /// The file name, or the built-in example's name.
    pub origin: String,
    /// The parsed document.
    pub document: MeshDocument,
}

/// Reads and parses the document of `source`. The error is the message to print.
pub fn load(source: &MeshSource) -> Result<Loaded, String> {
    let (origin, text) = match (&source.file, source.example) {
        (Some(p), _) => (p.display().to_string(), read(p)?),
        (None, Some(e)) => (
            format!("<built-in example: examples/{}>", e.file_name()),
            e.text().to_owned(),
        ),
        (None, None) => return Err("no mesh document: give FILE, `-` or --example".into()),
    };
    let document = MeshDocument::parse(&text).map_err(|e| format!("{origin}: {e}"))?;
    Ok(Loaded { origin, document })
}

/// [`load`], printing the error and giving exit code 2 (cannot read or parse) when it fails.
pub fn load_or_exit(source: &MeshSource) -> Result<Loaded, std::process::ExitCode> {
    load_or_exit_as(source, Output::Text)
}

/// [`load_or_exit`] for a command printing `output`: with JSON, the error is also a JSON object
/// on standard output (`{"error": {"message": "..."}}`), so a script reading it gets JSON.
pub fn load_or_exit_as(
    source: &MeshSource,
    output: Output,
) -> Result<Loaded, std::process::ExitCode> {
    load(source).map_err(|e| {
        eprintln!("meshspan: {e}");
        if output == Output::Json {
            outln!("{}", serde_json::json!({ "error": { "message": e } }));
        }
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
