//! Properties over generated meshes.

use mesh_model::strategies::{MeshSize, mesh_document};
use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A valid generated mesh (disjoint ranges, gateways everywhere, public API servers)
    /// produces no error.
    #[test]
    fn generated_valid_meshes_have_no_errors(doc in mesh_document(MeshSize::default())) {
        let r = check(&doc);
        prop_assert!(!r.has_errors(), "{}", r);
    }

    /// The same for larger meshes: more clusters than networks, several gateways.
    #[test]
    fn larger_generated_valid_meshes_have_no_errors(doc in mesh_document(MeshSize {
        clusters: 5..=16,
        networks: 2..=6,
        services: 0..=12,
        ..MeshSize::default()
    })) {
        let r = check(&doc);
        prop_assert!(!r.has_errors(), "{}", r);
    }

    /// Any mix of mistakes (duplicates, dangling references, chains of control planes,
    /// overlapping ranges, unresolvable gateways) is reported, never a panic; what-if and the
    /// picture work on it too, and the report is deterministic.
    #[test]
    fn messy_meshes_never_panic(
        clusters in proptest::collection::vec((0usize..6, proptest::option::of(0usize..7), proptest::option::of(0usize..5), 0u8..4, any::<bool>()), 0..8),
        links in proptest::collection::vec(proptest::collection::vec(0usize..5, 1..4), 0..4),
        gateways in proptest::collection::vec((0usize..5, 0u8..3), 0..5),
        endpoints in proptest::collection::vec((0usize..6, 0u8..4, any::<bool>()), 0..8),
    ) {
        let mut yaml = String::from(if clusters.is_empty() { "  clusters: []\n" } else { "  clusters:\n" });
        for (name, cp, net, cidr, public) in &clusters {
            yaml.push_str(&format!("  - {{name: c{name}, podCidrs: [10.{cidr}.0.0/16], serviceCidrs: [10.{}.0.0/17]", cidr + 1));
            if let Some(cp) = cp { yaml.push_str(&format!(", controlPlane: c{cp}")); }
            if let Some(net) = net { yaml.push_str(&format!(", network: n{net}")); }
            let exposure = if *public { "public" } else { "private" };
            yaml.push_str(&format!(", apiServer: {{address: 1.2.3.4:6443, exposure: {exposure}}}}}\n"));
        }
        yaml.push_str("  meshNetworks:\n    networks:\n");
        for n in 0..4 {
            yaml.push_str(&format!("      n{n}:\n        endpoints: [{{fromRegistry: c{n}}}, {{fromCidr: 10.{n}.0.0/{}}}]\n        gateways:\n", 8 + n));
            for (gn, kind) in gateways.iter().filter(|(g, _)| *g == n) {
                let gw = match kind {
                    0 => format!("{{address: 192.0.2.{gn}, port: 15443}}"),
                    1 => format!("{{address: gw{gn}.example.com, port: 15443}}"),
                    _ => "{registryServiceName: eastwest.istio-system.svc.cluster.local, port: 0}".to_owned(),
                };
                yaml.push_str(&format!("        - {gw}\n"));
            }
            yaml.push_str("        - {address: 192.0.2.99, port: 15443}\n");
        }
        if !links.is_empty() {
            yaml.push_str("  links:\n");
            for l in &links {
                let ns: Vec<String> = l.iter().map(|n| format!("n{n}")).collect();
                yaml.push_str(&format!("  - {{networks: [{}]}}\n", ns.join(", ")));
            }
        }
        yaml.push_str("  dns: {gw1.example.com: [192.0.2.50]}\n  services:\n  - name: foo\n    namespace: ns\n    endpoints:\n");
        for (c, host, sidecar) in &endpoints {
            let tls = if *sidecar { "istio" } else { "disabled" };
            yaml.push_str(&format!("    - {{cluster: c{c}, address: 10.{c}.0.{host}, tlsMode: {tls}}}\n"));
        }
        if endpoints.is_empty() {
            yaml = yaml.replace("    endpoints:\n", "");
        }
        let doc = mesh(&yaml);
        let r = check(&doc);
        prop_assert_eq!(&r, &check(&doc));
        let mut sorted = r.diagnostics.clone();
        sorted.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        prop_assert_eq!(
            r.diagnostics.iter().map(Diagnostic::sort_key).collect::<Vec<_>>(),
            sorted.iter().map(Diagnostic::sort_key).collect::<Vec<_>>()
        );
        let _ = to_dot(&doc, &r);
        for f in ["gateway:n0/192.0.2.99", "link:n0,n1", "partition:n0,n1", "cluster:c0", "api-server:c1"] {
            if let Ok(w) = simulate(&doc, &f.parse().unwrap()) {
                let _ = w.to_string();
            }
        }
    }

    /// Which API servers and control planes are unreachable agrees with a naive BFS over the
    /// links from every remote (the check itself computes flat spaces once).
    #[test]
    fn reachability_agrees_with_bfs_oracle(
        nets in 2usize..7,
        remotes in proptest::collection::vec((0usize..7, any::<bool>(), proptest::option::of(0usize..7)), 1..8),
        links in proptest::collection::vec((0usize..7, 0usize..7), 0..8),
        gateway_on_primary in any::<bool>(),
    ) {
        let net = |i: usize| format!("n{}", i % nets);
        let mut yaml = String::from("  clusters:\n  - {name: p, network: n0}\n");
        for (i, (n, public, from)) in remotes.iter().enumerate() {
            let exposure = if *public { "public" } else { "private" };
            let from = from.map(|f| format!("[{}]", net(f))).unwrap_or_else(|| "[]".into());
            yaml.push_str(&format!(
                "  - {{name: r{i}, network: {}, controlPlane: p, apiServer: {{address: '10.0.0.{i}:6443', exposure: {exposure}, reachableFrom: {from}}}}}\n",
                net(*n)
            ));
        }
        yaml.push_str("  meshNetworks:\n    networks:\n");
        for n in 0..nets {
            let gw = if n == 0 && gateway_on_primary { "gateways: [{address: 192.0.2.1, port: 15443}]" } else { "" };
            yaml.push_str(&format!("      n{n}: {{{gw}}}\n"));
        }
        let links: Vec<(usize, usize)> = links.into_iter().map(|(a, b)| (a % nets, b % nets)).filter(|(a, b)| a != b).collect();
        if !links.is_empty() {
            yaml.push_str("  links:\n");
            for (a, b) in &links {
                yaml.push_str(&format!("  - {{networks: [n{a}, n{b}]}}\n"));
            }
        }
        let r = check(&mesh(&yaml));
        // The oracle: BFS over the links from the primary's network n0.
        let mut seen = vec![false; nets];
        let mut queue = std::collections::VecDeque::from([0usize]);
        seen[0] = true;
        while let Some(x) = queue.pop_front() {
            for &(a, b) in &links {
                for (u, v) in [(a, b), (b, a)] {
                    if u == x && !seen[v] {
                        seen[v] = true;
                        queue.push_back(v);
                    }
                }
            }
        }
        for (i, (n, public, from)) in remotes.iter().enumerate() {
            let name = format!("r{i}");
            let linked = seen[n % nets];
            let api_ok = linked || *public || from.is_some_and(|f| f % nets == 0);
            let cp_ok = linked || gateway_on_primary;
            let flagged = |code| of(&r, code).iter().any(|d| d.subjects.contains(&cluster(&name)));
            prop_assert_eq!(flagged(Code::ApiServerUnreachable), !api_ok, "{} api\n{}", name, r);
            prop_assert_eq!(flagged(Code::ControlPlaneUnreachable), !cp_ok, "{} cp\n{}", name, r);
        }
    }

    /// Injected pod-CIDR overlaps between linked clusters are each found, and nothing else
    /// overlaps.
    #[test]
    fn injected_overlaps_are_found(
        doc in mesh_document(MeshSize { clusters: 2..=6, networks: 1..=1, ..MeshSize::default() }),
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..=8), 1..4),
    ) {
        let mut doc = doc;
        let n = doc.spec.clusters.len();
        let mut want = BTreeSet::new();
        for (a, b, extra) in picks {
            let (a, b) = (a.index(n), b.index(n));
            if a == b {
                continue;
            }
            let base = doc.spec.clusters[a].pod_cidrs[0];
            let inner = ipnet::IpNet::new(base.network(), base.prefix_len() + extra).unwrap();
            doc.spec.clusters[b].pod_cidrs.push(inner);
            want.insert((doc.spec.clusters[a].name.to_string(), doc.spec.clusters[b].name.to_string(), inner.to_string()));
        }
        let r = check(&doc);
        let got: Vec<&Diagnostic> = of(&r, Code::CidrOverlap);
        for (a, b, inner) in &want {
            prop_assert!(got.iter().any(|d| d.subjects.contains(&cluster(a)) && d.subjects.contains(&cluster(b)) && d.subjects.contains(&cidr(inner))), "{} {} {}\n{}", a, b, inner, r);
        }
        // Every report involves an injected range (two injected ranges may overlap each other).
        let injected: BTreeSet<&str> = want.iter().map(|w| w.2.as_str()).collect();
        for d in &got {
            prop_assert!(d.subjects.iter().any(|s| matches!(s, Subject::Cidr(c) if injected.contains(c.as_str()))), "{}", d);
        }
    }
}

#[test]
fn global_vip_range_must_not_overlap_and_must_fit() {
    let base = "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n";
    let two_primaries = "  clusters:\n  - {name: a, network: n1, podCidrs: [10.0.0.0/16], serviceCidrs: [10.100.0.0/16]}\n  - {name: b, network: n2, podCidrs: [10.1.0.0/16]}\n";
    // Replicated control planes with the default 240.0.0.0/4: nothing to report.
    let ok = MeshDocument::parse(&format!("{base}{two_primaries}")).unwrap();
    assert!(of(&check(&ok), Code::GlobalVipOverlap).is_empty());
    // A range that overlaps a pod CIDR and a service CIDR: one diagnostic each.
    let bad = MeshDocument::parse(&format!(
        "{base}  globalVipRange: 10.0.0.0/8\n{two_primaries}"
    ))
    .unwrap();
    let r = check(&bad);
    let found = of(&r, Code::GlobalVipOverlap);
    assert_eq!(found.len(), 3, "{r}");
    assert!(
        found
            .iter()
            .any(|d| d.subjects.contains(&Subject::Cidr("10.100.0.0/16".into())))
    );
    assert!(
        found[0].explanation.contains("They share"),
        "{}",
        found[0].explanation
    );
    // A range too small for the services.
    let services = "  services:\n  - {name: s1, namespace: ns}\n  - {name: s2, namespace: ns}\n  - {name: s3, namespace: ns}\n";
    let small = MeshDocument::parse(&format!(
        "{base}  globalVipRange: 240.0.0.0/30\n{two_primaries}{services}"
    ))
    .unwrap();
    let r = check(&small);
    let found = of(&r, Code::GlobalVipOverlap);
    assert_eq!(found.len(), 1, "{r}");
    assert!(
        found[0]
            .explanation
            .contains("has 2 usable addresses but 3 services need one"),
        "{}",
        found[0].explanation
    );
    // One control plane and no explicit range: not a replicated mesh, not checked.
    let single = "  clusters:\n  - {name: a, network: n1, podCidrs: [240.0.0.0/16]}\n";
    let r = check(&MeshDocument::parse(&format!("{base}{single}")).unwrap());
    assert!(of(&r, Code::GlobalVipOverlap).is_empty());
}
