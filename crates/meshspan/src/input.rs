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

/// Kubernetes dumps to import instead of reading a mesh document (mesh-kube does the work).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Dumps {
    /// A cluster's `kubectl get namespaces,nodes,pods,services,endpointslices,configmaps,secrets
    /// -A -o json|yaml` output: `NAME=FILE` (repeat for each cluster).
    #[arg(long = "cluster", value_name = "NAME=DUMP")]
    pub clusters: Vec<String>,
    /// Helm values or an IstioOperator: `NAME=FILE` for one cluster, `FILE` for all.
    #[arg(long, value_name = "[NAME=]FILE")]
    pub values: Vec<String>,
    /// Pod CIDR of a cluster whose nodes carry none: `NAME=CIDR` (repeatable).
    #[arg(long = "pod-cidr", value_name = "NAME=CIDR")]
    pub pod_cidrs: Vec<String>,
    /// Service CIDR of a cluster without ServiceCIDR objects: `NAME=CIDR` (repeatable).
    #[arg(long = "service-cidr", value_name = "NAME=CIDR")]
    pub service_cidrs: Vec<String>,
    /// The mesh ID (default: the values' global.meshID, else the trust domain).
    #[arg(long = "mesh-id")]
    pub mesh_id: Option<String>,
}

fn pair<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str), String> {
    s.split_once('=')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("{flag} {s:?}: expected NAME=VALUE"))
}

fn cidrs_for(flag: &str, list: &[String], name: &str) -> Result<Vec<ipnet::IpNet>, String> {
    let mut out = Vec::new();
    for s in list {
        let (n, v) = pair(flag, s)?;
        if n == name {
            out.push(
                v.parse()
                    .map_err(|_| format!("{flag} {s:?}: {v:?} is not a CIDR"))?,
            );
        }
    }
    Ok(out)
}

/// Imports the dumps into a mesh document, with the import's report.
pub fn import(dumps: &Dumps) -> Result<(Loaded, mesh_kube::ImportReport), String> {
    let mut files = Vec::new();
    for c in &dumps.clusters {
        let (name, path) = pair("--cluster", c)?;
        files.push((name.to_owned(), read(Path::new(path))?));
    }
    let mut values_all = None;
    let mut values_for = std::collections::BTreeMap::new();
    for v in &dumps.values {
        match v.split_once('=') {
            Some((n, p)) => {
                values_for.insert(n.to_owned(), read(Path::new(p))?);
            }
            None => values_all = Some(read(Path::new(v))?),
        }
    }
    let mut options = mesh_kube::ImportOptions::default();
    options.mesh_id.clone_from(&dumps.mesh_id);
    let mut importer = mesh_kube::Importer::new(options);
    let mut names = Vec::new();
    for (name, text) in &files {
        let mut input = mesh_kube::ClusterInput::new(name, text);
        if let Some(v) = values_for.get(name).or(values_all.as_ref()) {
            input.values = mesh_kube::ClusterValues::parse(name, v).map_err(|e| e.to_string())?;
        }
        input.pod_cidrs = cidrs_for("--pod-cidr", &dumps.pod_cidrs, name)?;
        input.service_cidrs = cidrs_for("--service-cidr", &dumps.service_cidrs, name)?;
        importer.add(input).map_err(|e| e.to_string())?;
        names.push(name.as_str());
    }
    let import = importer.finish().map_err(|e| e.to_string())?;
    Ok((
        Loaded {
            origin: format!("imported from {}", names.join(", ")),
            document: import.document,
        },
        import.report,
    ))
}

/// A mesh document from `file`, or imported from `dumps` when any are given (the import's report
/// goes to standard error); exit code 2 on failure.
pub fn load_or_import(
    file: Option<&Path>,
    dumps: &Dumps,
) -> Result<Loaded, std::process::ExitCode> {
    if dumps.clusters.is_empty() {
        return load_or_exit(file);
    }
    let result = match file {
        Some(f) => Err(format!(
            "give a mesh document ({}) or --cluster dumps, not both",
            f.display()
        )),
        None => import(dumps),
    };
    match result {
        Ok((loaded, report)) => {
            eprint!("{report}");
            Ok(loaded)
        }
        Err(e) => {
            eprintln!("meshspan: {e}");
            Err(std::process::ExitCode::from(2))
        }
    }
}
