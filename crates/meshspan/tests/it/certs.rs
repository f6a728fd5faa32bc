//! `meshspan certs init|check`: written bundles, reproducibility, the trust matrix over a
//! directory and over a mesh document, exit codes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn meshspan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .output()
        .expect("run meshspan")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshspan-it-certs-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const NOW: &str = "1767225600";

fn init(dir: &Path, clusters: &str, seed: &str) -> Output {
    meshspan(&[
        "certs",
        "init",
        "--clusters",
        clusters,
        "--out",
        path(dir),
        "--seed",
        seed,
        "--now",
        NOW,
    ])
}

fn read(p: PathBuf) -> String {
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn init_writes_istio_layout_reproducibly_and_never_overwrites() {
    let a = temp_dir("init-a");
    let b = temp_dir("init-b");
    assert_eq!(init(&a, "east,west", "7").status.code(), Some(0));
    assert_eq!(init(&b, "east,west", "7").status.code(), Some(0));
    for file in ["root-cert.pem", "root-key.pem"] {
        assert_eq!(read(a.join(file)), read(b.join(file)), "{file}");
    }
    for cluster in ["east", "west"] {
        for file in [
            "root-cert.pem",
            "ca-cert.pem",
            "ca-key.pem",
            "cert-chain.pem",
        ] {
            let text = read(a.join(cluster).join(file));
            assert_eq!(text, read(b.join(cluster).join(file)), "{cluster}/{file}");
            assert!(text.starts_with("-----BEGIN "), "{cluster}/{file}");
        }
        let chain = read(a.join(cluster).join("cert-chain.pem"));
        let ca = read(a.join(cluster).join("ca-cert.pem"));
        assert_eq!(chain, format!("{ca}{}", read(a.join("root-cert.pem"))));
    }
    let again = init(&a, "east", "7");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = meshspan(&[
        "certs",
        "init",
        "--clusters",
        "Bad_Name",
        "--out",
        path(&temp_dir("bad")),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn check_a_directory() {
    let dir = temp_dir("check");
    assert_eq!(init(&dir, "c1,c2", "1").status.code(), Some(0));
    let ok = meshspan(&["certs", "check", path(&dir), "--now", NOW]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // c3 from another root: the pairs with c3 fail, with the reason.
    let other = temp_dir("check-other");
    assert_eq!(init(&other, "c3", "2").status.code(), Some(0));
    fs::rename(other.join("c3"), dir.join("c3")).expect("move c3");
    let out = meshspan(&["certs", "check", path(&dir), "--now", NOW, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["allTrusted"], json!(false));
    assert_eq!(report["clusters"], json!(["c1", "c2", "c3"]));
    let failing: Vec<String> = report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["trusted"] == json!(false))
        .map(|c| {
            format!(
                "{}->{} {}",
                c["verifier"].as_str().unwrap_or(""),
                c["peer"].as_str().unwrap_or(""),
                c["problems"][0]["code"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        failing,
        [
            "c1->c3 different-roots",
            "c2->c3 different-roots",
            "c3->c1 different-roots",
            "c3->c2 different-roots"
        ]
    );
    let text = meshspan(&["certs", "check", path(&dir), "--now", NOW]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("c1 -> c3: [different-roots]"), "{stdout}");

    // A malformed file: exit 2, naming cluster and file.
    fs::write(dir.join("c2").join("ca-cert.pem"), "garbage").expect("write");
    let broken = meshspan(&["certs", "check", path(&dir), "--now", NOW]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("cluster c2: ca-cert.pem"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
}

#[test]
fn check_a_mesh_document_with_ca_certs() {
    let dir = temp_dir("doc");
    assert_eq!(init(&dir, "c1,c2", "3").status.code(), Some(0));
    let ca_certs = |cluster: &str| {
        json!({
            "rootCert": read(dir.join(cluster).join("root-cert.pem")),
            "caCert": read(dir.join(cluster).join("ca-cert.pem")),
            "certChain": read(dir.join(cluster).join("cert-chain.pem")),
        })
    };
    let doc = |c2_certs: Value| {
        json!({
            "apiVersion": "meshspan/v1alpha1",
            "kind": "Mesh",
            "metadata": {"name": "m"},
            "spec": {"clusters": [
                {"name": "c1", "caCerts": ca_certs("c1")},
                {"name": "c2", "caCerts": c2_certs},
            ]},
        })
    };
    let file = dir.join("mesh.json");
    fs::write(&file, doc(ca_certs("c2")).to_string()).expect("write");
    let ok = meshspan(&["certs", "check", path(&file), "--now", NOW]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // c2 plugged c1's intermediate but is given another root: mismatch both ways.
    let other = temp_dir("doc-other");
    assert_eq!(init(&other, "c2", "4").status.code(), Some(0));
    let mut swapped = ca_certs("c2");
    swapped["rootCert"] = json!(read(other.join("root-cert.pem")));
    fs::write(&file, doc(swapped).to_string()).expect("write");
    let out = meshspan(&["certs", "check", path(&file), "--now", NOW]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("c2 -> c1: [different-roots]"), "{stdout}");
    assert!(stdout.contains("c2 -> c2: [different-roots]"), "{stdout}");
    assert!(!stdout.contains("c1 -> c2"), "{stdout}");
}

#[test]
fn check_of_a_directory_without_bundles_is_an_error() {
    let dir = temp_dir("empty");
    fs::create_dir_all(dir.join("not-a-cluster")).expect("mkdir");
    let out = meshspan(&["certs", "check", path(&dir), "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no cluster bundle found"), "{stderr}");
}

#[test]
fn init_validates_cluster_names_before_writing_anything() {
    let dir = temp_dir("twice");
    let out = init(&dir, "a,a", "1");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cluster a is named twice"));
    assert!(!dir.exists(), "nothing written");
}

#[test]
fn add_issues_a_new_cluster_under_the_existing_root() {
    let dir = temp_dir("add");
    assert_eq!(init(&dir, "c1,c2", "5").status.code(), Some(0));
    let add = |cluster: &str| {
        meshspan(&[
            "certs",
            "add",
            "--root",
            path(&dir),
            "--cluster",
            cluster,
            "--seed",
            "6",
            "--now",
            NOW,
        ])
    };
    let out = add("c3");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read(dir.join("c3/root-cert.pem")),
        read(dir.join("root-cert.pem"))
    );
    // The three clusters trust each other.
    let out = meshspan(&["certs", "check", path(&dir), "--now", NOW, "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Never overwrites an existing cluster's bundle.
    assert_eq!(add("c1").status.code(), Some(2));
}

#[test]
fn counts_of_clusters_are_singular_or_plural_words() {
    let one = temp_dir("count-one");
    let out = init(&one, "c1", "7");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 cluster bundle to "), "{stdout}");
    let out = meshspan(&["certs", "check", path(&one), "--now", NOW]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": 1 cluster, checked at "), "{stdout}");
    let two = temp_dir("count-two");
    let out = init(&two, "c1,c2", "7");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 cluster bundles to "));
    let out = meshspan(&["certs", "check", path(&two), "--now", NOW]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": 2 clusters, checked at "), "{stdout}");
    assert!(!stdout.contains("(s)"), "{stdout}");
}
