//! mesh-kube at scale: a 250-cluster, 1,000,000-endpoint mesh as kubectl JSON dumps (per cluster:
//! its network-labelled istio-system namespace, istiod, an east-west gateway Service, a remote
//! secret, 20 nodes, 40 Services with one EndpointSlice of 100 endpoints each, and the 4,000 pods),
//! generated in memory, then imported one dump at a time (each text dropped once read) and joined.
//!
//! `cargo bench -p meshspan-benches --bench import` prints the import's wall time (generation
//! excluded) and the live heap between dumps (counting allocator `cap`: one dump's text plus
//! everything kept); `/usr/bin/time -v` on the bench binary gives the peak resident size.
//! Goal: ≤ 2 s and ≤ 1 GB. `-- --test` runs 4 clusters, `IMPORT_CLUSTERS=N` N clusters.
use std::alloc::System;
use std::fmt::Write;
use std::time::{Duration, Instant};

use cap::Cap;
use mesh_kube::{ClusterInput, ImportOptions, Importer};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const SERVICES: usize = 40;
const PER_SLICE: usize = 100;
const NODES: usize = 20;

fn dump(c: usize, clusters: usize) -> String {
    let (a, b) = (10 + c / 200, c % 200);
    let mut s = String::with_capacity(3 << 20);
    s.push_str(r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":["#);
    let _ = write!(
        s,
        r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"istio-system","labels":{{"topology.istio.io/network":"network{c}"}}}}}},"#
    );
    let _ = write!(
        s,
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"istiod-0","namespace":"istio-system","labels":{{"app":"istiod"}}}},"spec":{{"containers":[{{"name":"discovery","env":[{{"name":"CLUSTER_ID","value":"cluster{c}"}}]}}]}},"status":{{"podIP":"{a}.{b}.255.3"}}}},"#
    );
    let _ = write!(
        s,
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"istio-eastwestgateway","namespace":"istio-system","labels":{{"topology.istio.io/network":"network{c}"}}}},"spec":{{"type":"LoadBalancer","ports":[{{"name":"tls","port":15443,"targetPort":15443}}]}},"status":{{"loadBalancer":{{"ingress":[{{"ip":"198.18.{}.{}"}}]}}}}}},"#,
        c / 250,
        c % 250
    );
    let next = (c + 1) % clusters;
    let _ = write!(
        s,
        r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"istio-remote-secret-cluster{next}","namespace":"istio-system","labels":{{"istio/multiCluster":"true"}}}},"data":{{"cluster{next}":"Y2x1c3RlcnM6Ci0gbmFtZTogYwogIGNsdXN0ZXI6IHtzZXJ2ZXI6ICdodHRwczovLzIwMy4wLjExMy4xOjY0NDMnfQo="}}}},"#
    );
    for n in 0..NODES {
        let _ = write!(
            s,
            r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"node-{n}","labels":{{"topology.kubernetes.io/region":"r{}","topology.kubernetes.io/zone":"z{n}"}}}},"spec":{{"podCIDR":"{a}.{b}.{n}.0/24","podCIDRs":["{a}.{b}.{n}.0/24"]}}}},"#,
            c % 5
        );
    }
    for svc in 0..SERVICES {
        let _ = write!(
            s,
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc{svc}","namespace":"ns{}"}},"spec":{{"type":"ClusterIP","ports":[{{"name":"http","port":8080,"targetPort":8080}}]}}}},"#,
            svc % 10
        );
        let mut eps = String::new();
        for e in 0..PER_SLICE {
            let i = svc * PER_SLICE + e;
            let ip = format!("{a}.{b}.{}.{}", i / 200, i % 200 + 2);
            let node = i % NODES;
            let _ = write!(
                s,
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"svc{svc}-{e}","namespace":"ns{}","labels":{{"app":"svc{svc}","version":"v{}","security.istio.io/tlsMode":"istio"}}}},"spec":{{"nodeName":"node-{node}","serviceAccountName":"svc{svc}"}},"status":{{"podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}]}}}},"#,
                svc % 10,
                e % 3
            );
            if e > 0 {
                eps.push(',');
            }
            let _ = write!(
                eps,
                r#"{{"addresses":["{ip}"],"conditions":{{"ready":true,"serving":true,"terminating":false}},"nodeName":"node-{node}","targetRef":{{"kind":"Pod","namespace":"ns{}","name":"svc{svc}-{e}"}}}}"#,
                svc % 10
            );
        }
        let _ = write!(
            s,
            r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{{"name":"svc{svc}-x","namespace":"ns{}","labels":{{"kubernetes.io/service-name":"svc{svc}"}}}},"addressType":"IPv4","endpoints":[{eps}],"ports":[{{"name":"http","port":8080,"protocol":"TCP"}}]}}"#,
            svc % 10
        );
        s.push(if svc + 1 < SERVICES { ',' } else { ']' });
    }
    s.push('}');
    s
}

fn main() {
    // `IMPORT_CLUSTERS=N` picks another size (a profile of 10 clusters under callgrind).
    let clusters = match std::env::var("IMPORT_CLUSTERS") {
        Ok(n) => n.parse().expect("IMPORT_CLUSTERS is a number of clusters"),
        Err(_) if std::env::args().any(|a| a == "--test") => 4,
        Err(_) => 250,
    };
    let mut importer = Importer::new(ImportOptions::default());
    let mut spent = Duration::ZERO;
    let mut bytes = 0;
    let mut peak = 0;
    for c in 0..clusters {
        let text = dump(c, clusters);
        bytes += text.len();
        let name = format!("cluster{c}");
        let start = Instant::now();
        importer
            .add(ClusterInput::new(&name, &text))
            .expect("valid dump");
        spent += start.elapsed();
        peak = peak.max(ALLOCATOR.allocated());
    }
    let start = Instant::now();
    let import = importer.finish().expect("joins");
    spent += start.elapsed();
    peak = peak.max(ALLOCATOR.allocated());
    let endpoints: usize = import
        .document
        .spec
        .services
        .iter()
        .map(|s| s.endpoints.len())
        .sum();
    assert_eq!(endpoints, clusters * SERVICES * PER_SLICE);
    println!(
        "import: {clusters} clusters, {endpoints} endpoints, {:.0} MB of JSON: {:.2} s, live heap at most {:.0} MB between dumps",
        bytes as f64 / 1e6,
        spent.as_secs_f64(),
        peak as f64 / 1e6
    );
}
