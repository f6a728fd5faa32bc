//! `--cluster NAME=DUMP` and `--istiod KIND=FILE` on every command that reads a mesh: the same
//! answer as on the document `meshspan import` writes from the same inputs, clear errors for bad
//! `--cluster` and `--istiod` values, EDS of istiod's debug outputs, and no Secret value in any
//! output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn meshspan(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .output()
        .expect("run meshspan")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

fn data(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mesh-kube/tests/data")
        .join(file)
        .display()
        .to_string()
}

/// Where a mesh is imported from.
enum Source {
    /// kubectl dumps: `(cluster, dump file)` each.
    Dumps([(&'static str, &'static str); 2]),
    /// cluster1's istiod's debug outputs (`crates/mesh-kube/tests/data/istiod`).
    Istiod,
}

/// A mesh to import, its two clusters and a service of it.
struct Mesh {
    name: &'static str,
    source: Source,
    clusters: [&'static str; 2],
    service: &'static str,
}

const MESHES: [Mesh; 4] = [
    Mesh {
        name: "multi-primary",
        source: Source::Dumps([
            ("cluster1", "multi-primary-cluster1.json"),
            ("cluster2", "multi-primary-cluster2.yaml"),
        ]),
        clusters: ["cluster1", "cluster2"],
        service: "reviews.bookinfo",
    },
    Mesh {
        name: "primary-remote",
        source: Source::Dumps([
            ("cluster1", "primary-remote-cluster1.yaml"),
            ("cluster2", "primary-remote-cluster2.json"),
        ]),
        clusters: ["cluster1", "cluster2"],
        service: "reviews.bookinfo",
    },
    Mesh {
        name: "vpn",
        source: Source::Dumps([
            ("cluster1", "vpn-cluster1.yaml"),
            ("cluster3", "vpn-cluster3.yaml"),
        ]),
        clusters: ["cluster1", "cluster3"],
        service: "reviews.bookinfo",
    },
    Mesh {
        name: "istiod",
        source: Source::Istiod,
        clusters: ["cluster1", "cluster2"],
        service: "reviews.bookinfo",
    },
];

/// The four `--istiod KIND=FILE` of the committed debug outputs.
fn istiod_args() -> Vec<String> {
    ["endpointShardz", "networkz", "clusterz", "mesh"]
        .iter()
        .flat_map(|k| {
            [
                "--istiod".to_owned(),
                format!("{k}={}", data(&format!("istiod/{k}.json"))),
            ]
        })
        .collect()
}

impl Mesh {
    /// `--cluster NAME=DUMP` for each dump, or `--istiod KIND=FILE` for each debug output.
    fn cluster_args(&self) -> Vec<String> {
        match &self.source {
            Source::Dumps(dumps) => dumps
                .iter()
                .flat_map(|(n, f)| ["--cluster".to_owned(), format!("{n}={}", data(f))])
                .collect(),
            Source::Istiod => istiod_args(),
        }
    }

    /// The origin `check` prints for the import.
    fn origin(&self) -> String {
        match &self.source {
            Source::Dumps(_) => format!("imported from {}", self.clusters.join(", ")),
            Source::Istiod => "imported from istiod /debug/endpointShardz, /debug/networkz, /debug/clusterz, /debug/mesh".into(),
        }
    }

    /// The first line of the import report on standard error.
    fn report_start(&self) -> String {
        match &self.source {
            Source::Dumps(_) => format!("read {}: ", self.clusters[0]),
            Source::Istiod => "read /debug/clusterz: ".into(),
        }
    }

    /// The texts imported.
    fn texts(&self) -> Vec<String> {
        let files: Vec<String> = match &self.source {
            Source::Dumps(dumps) => dumps.iter().map(|(_, f)| data(f)).collect(),
            Source::Istiod => ["endpointShardz", "networkz", "clusterz", "mesh"]
                .iter()
                .map(|k| data(&format!("istiod/{k}.json")))
                .collect(),
        };
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("input"))
            .collect()
    }

    /// The document `meshspan import` writes from the dumps, in a file.
    fn imported(&self) -> PathBuf {
        let mut args = strings(&["import"]);
        args.extend(self.cluster_args());
        let out = meshspan(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dumps-{}.yaml", self.name));
        std::fs::write(&file, &out.stdout).expect("write the imported document");
        file
    }

    /// Every command reading a mesh, in its mesh-independent arguments: what each runs on the
    /// dumps and on the imported document.
    fn commands(&self) -> Vec<Vec<String>> {
        let [c1, c2] = self.clusters;
        let s = self.service;
        let mut list = vec![
            strings(&["check"]),
            strings(&["check", "-o", "json"]),
            strings(&["graph"]),
            strings(&["what-if", "--fail", &format!("cluster:{c2}")]),
            strings(&[
                "what-if",
                "--fail",
                &format!("api-server:{c2}"),
                "-o",
                "json",
            ]),
            strings(&["what-if", "--event", &format!("secret-deleted:{c2}")]),
        ];
        for c in [c1, c2] {
            list.push(strings(&["eds", "--cluster", c]));
            list.push(strings(&["eds", "--cluster", c, "-o", "istioctl"]));
            list.push(strings(&["explain", "--cluster", c, "--service", s]));
            list.push(strings(&["explain", "--cluster", c, "-o", "json"]));
        }
        list.push(strings(&[
            "explain",
            "--cluster",
            c1,
            "--service",
            s,
            "--event",
            &format!("secret-rotated:{c2}"),
        ]));
        list
    }
}

/// The stdout and exit code of a run (the import report on stderr is the only addition dumps
/// make).
fn answer(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_command_on_an_import_answers_as_on_the_imported_document() {
    for mesh in &MESHES {
        let file = mesh.imported();
        let file = file.display().to_string();
        let mut compared = 0;
        for command in mesh.commands() {
            // On the document: the command, then its file.
            let mut on_doc = vec![command[0].clone(), file.clone()];
            on_doc.extend(command[1..].iter().cloned());
            // On the dumps: the dumps' `--cluster NAME=DUMP` in place of the file.
            let mut on_dumps = vec![command[0].clone()];
            on_dumps.extend(mesh.cluster_args());
            on_dumps.extend(command[1..].iter().cloned());
            let (doc, dumps) = (meshspan(&on_doc), meshspan(&on_dumps));
            let doc_answer = answer(&doc);
            assert!(
                matches!(doc_answer.0, Some(0 | 1)) && !doc_answer.1.is_empty(),
                "{} on the document: {doc_answer:?}\n{}",
                mesh.name,
                String::from_utf8_lossy(&doc.stderr)
            );
            // `check`'s first line names the origin: the file, or the dumps.
            let strip_origin = |(code, text): (Option<i32>, String)| {
                let text = text
                    .replace(&file, "ORIGIN")
                    .replace(&mesh.origin(), "ORIGIN");
                (code, text)
            };
            assert_eq!(
                strip_origin(answer(&dumps)),
                strip_origin(doc_answer),
                "{}: meshspan {}",
                mesh.name,
                on_dumps.join(" ")
            );
            // The import's report goes to standard error, as with `check --cluster`.
            let stderr = String::from_utf8_lossy(&dumps.stderr);
            assert!(
                stderr.contains(&mesh.report_start()),
                "{}: meshspan {}: no import report on stderr:\n{stderr}",
                mesh.name,
                on_dumps.join(" ")
            );
            compared += 1;
        }
        assert!(compared >= 10, "{compared}");
    }
}

#[test]
fn bad_cluster_values_are_usage_errors_naming_the_value() {
    let mesh = &MESHES[0];
    let dumps = mesh.cluster_args();
    let with_dumps = |rest: &[&str]| {
        let mut a = vec![rest[0].to_owned()];
        a.extend(dumps.iter().cloned());
        a.extend(strings(&rest[1..]));
        a
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        // Two bare names: which proxies?
        (
            with_dumps(&["eds", "--cluster", "cluster1", "--cluster", "cluster2"]),
            "--cluster cluster1, --cluster cluster2: one bare NAME picks the proxies' cluster",
        ),
        // A bare name no dump imports.
        (
            with_dumps(&["explain", "--cluster", "cluster9"]),
            "imported from cluster1, cluster2: no cluster named cluster9; its clusters: cluster1, cluster2",
        ),
        // Both a bare name and --network.
        (
            with_dumps(&["eds", "--cluster", "cluster1", "--network", "network1"]),
            "--cluster cluster1 and --network network1: give one of them",
        ),
        // Dumps but no proxies.
        (with_dumps(&["eds"]), "give --network or --cluster"),
        // Dumps and a document.
        (
            {
                let mut a = with_dumps(&["eds", "--cluster", "cluster1"]);
                a.push("--example".into());
                a
            },
            "give --example or --cluster NAME=DUMP dumps, not both",
        ),
        // An empty name or dump.
        (
            strings(&["eds", "--cluster", "=x.yaml", "--cluster", "c"]),
            "--cluster \"=x.yaml\": expected NAME=VALUE",
        ),
        (
            strings(&["explain", "--cluster", "c=", "--cluster", "c"]),
            "--cluster \"c=\": expected NAME=VALUE",
        ),
        // A dump that is not there.
        (
            strings(&[
                "eds",
                "--cluster",
                "c=/nonexistent/dump.yaml",
                "--cluster",
                "c",
            ]),
            "/nonexistent/dump.yaml: cannot read",
        ),
        // No mesh at all.
        (
            strings(&["eds", "--cluster", "c"]),
            "no mesh document: give FILE, `-`, --example, --cluster NAME=DUMP or --istiod KIND=FILE",
        ),
    ];
    for (args, message) in cases {
        let out = meshspan(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "meshspan {}: {stderr}",
            args.join(" ")
        );
        assert!(
            stderr.contains(message),
            "meshspan {}: expected {message:?} in:\n{stderr}",
            args.join(" ")
        );
        assert!(out.stdout.is_empty(), "meshspan {}", args.join(" "));
    }
}

#[test]
fn no_secret_value_in_any_command_output_on_imports() {
    let texts: Vec<String> = MESHES.iter().flat_map(Mesh::texts).collect();
    let canaries =
        test_support::secret_canaries(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        canaries.len() > 10,
        "the dumps hold secrets: {}",
        canaries.len()
    );
    let mut runs = 0;
    for mesh in &MESHES {
        let mut commands = mesh.commands();
        commands.push(strings(&["import"]));
        commands.push(strings(&["import", "-o", "json"]));
        for command in commands {
            let mut args = vec![command[0].clone()];
            args.extend(mesh.cluster_args());
            args.extend(command[1..].iter().cloned());
            let out = meshspan(&args);
            assert!(!out.stdout.is_empty(), "meshspan {}", args.join(" "));
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            for c in &canaries {
                assert!(
                    !text.contains(c.as_str()),
                    "meshspan {}: secret value {c} in:\n{text}",
                    args.join(" ")
                );
            }
            runs += 1;
        }
    }
    assert!(runs > 30, "{runs}");
}

/// The Envoy endpoints (address, weight, locality region) of one proxy cluster's assignment.
fn lb_endpoints(v: &serde_json::Value) -> Vec<(String, u64, String)> {
    let mut out = Vec::new();
    for group in v[0]["endpoints"].as_array().expect("endpoints") {
        for e in group["lbEndpoints"].as_array().expect("lbEndpoints") {
            out.push((
                e["endpoint"]["address"]["socketAddress"]["address"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["loadBalancingWeight"].as_u64().unwrap_or(0),
                group["locality"]["region"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn eds_of_istiods_debug_outputs_has_the_endpoints_and_gateways_istiod_holds() {
    let eds = |cluster: &str| {
        let mut args = strings(&["eds"]);
        args.extend(istiod_args());
        args.extend(strings(&[
            "--cluster",
            cluster,
            "--service",
            "reviews.bookinfo",
        ]));
        let out = meshspan(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            v[0]["clusterName"],
            "outbound|9080||reviews.bookinfo.svc.cluster.local"
        );
        lb_endpoints(&v)
    };
    // cluster1 (network1): its healthy pod directly (the UnHealthy 10.10.0.6 is not sent);
    // cluster2's pod through network2's gateway from networkz.
    assert_eq!(
        eds("cluster1"),
        [
            ("10.10.0.5".into(), 1, "us-east1".into()),
            ("198.51.100.20".into(), 1, "us-west1".into())
        ]
    );
    // cluster2 (network2): its pod directly; network1's healthy pod through 198.51.100.10.
    assert_eq!(
        eds("cluster2"),
        [
            ("10.20.0.5".into(), 1, "us-west1".into()),
            ("198.51.100.10".into(), 1, "us-east1".into())
        ]
    );
}

#[test]
fn bad_istiod_values_are_usage_errors_naming_the_value() {
    let bad = Path::new(env!("CARGO_TARGET_TMPDIR")).join("istiod-bad-networkz.json");
    std::fs::write(
        &bad,
        "[{\"Network\": \"network1\", \"Addr\": \"198.51.100.10\", \"Port\": \"15443\"}]",
    )
    .unwrap();
    let mut with_dumps = strings(&["check"]);
    with_dumps.extend(MESHES[0].cluster_args());
    with_dumps.extend(strings(&["--istiod", "mesh=x.json"]));
    let mut with_values = strings(&["import"]);
    with_values.extend(istiod_args());
    with_values.extend(strings(&["--values", "v.yaml"]));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            strings(&["import", "--istiod", "configz=x.json"]),
            "\"configz\" is not an istiod debug endpoint meshspan reads",
        ),
        (
            strings(&["import", "--istiod", "mesh"]),
            "--istiod \"mesh\": expected NAME=VALUE",
        ),
        (
            strings(&["check", "--istiod", &format!("networkz={}", bad.display())]),
            "/debug/networkz: $[0].Port: expected a number, found a string",
        ),
        (
            strings(&[
                "eds",
                "--istiod",
                "mesh=/nonexistent/mesh.json",
                "--cluster",
                "c",
            ]),
            "/nonexistent/mesh.json: cannot read",
        ),
        (
            {
                let mut a = istiod_args();
                a.insert(0, "graph".into());
                a.push(data("istiod/mesh.json"));
                a
            },
            "cannot be used with",
        ),
        (with_dumps, "cannot be used with"),
        (
            with_values,
            "--values applies to --cluster NAME=DUMP dumps, not to --istiod",
        ),
        (
            {
                let mut a = strings(&["explain"]);
                a.extend(istiod_args());
                a.extend(strings(&[
                    "--istiod",
                    &format!("mesh={}", data("istiod/mesh.json")),
                    "--cluster",
                    "cluster1",
                ]));
                a
            },
            "/debug/mesh was given twice",
        ),
    ];
    for (args, message) in cases {
        let out = meshspan(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "meshspan {}: {stderr}",
            args.join(" ")
        );
        assert!(
            stderr.contains(message),
            "meshspan {}: expected {message:?} in:\n{stderr}",
            args.join(" ")
        );
    }
}
