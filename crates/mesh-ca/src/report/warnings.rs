//! The warnings of a report: its non-fatal problems, each once.

use std::collections::HashMap;

use mesh_model::ClusterId;

use super::problem::{TrustCell, TrustProblem};

/// The non-fatal problems of `cells`, each once, in the order they first appear, equality
/// decided by `same` (tests count the comparisons).
/// Equal problems name the same cluster, so a warning is compared only with the distinct
/// ones kept for its cluster: one per certificate of the peer's path and root it chains to,
/// a handful.
pub(super) fn distinct<'a>(
    cells: &'a [TrustCell],
    same: &mut impl FnMut(&TrustProblem, &TrustProblem) -> bool,
) -> Vec<&'a TrustProblem> {
    let mut kept: HashMap<Option<&ClusterId>, Vec<&TrustProblem>> = HashMap::new();
    let mut out = Vec::new();
    for problem in cells.iter().flat_map(|c| &c.problems) {
        if problem.is_fatal() {
            continue;
        }
        let bucket = kept.entry(problem.warning_cluster()).or_default();
        if !bucket.iter().any(|k| same(k, problem)) {
            bucket.push(problem);
            out.push(problem);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use mesh_model::TrustDomain;

    use super::*;

    /// The first `warnings()`, kept as the oracle: each non-fatal problem compared with every
    /// distinct one seen so far (n³ comparisons for n clusters with one warning each).
    fn naive_warnings<'a>(
        cells: &'a [TrustCell],
        same: &mut impl FnMut(&TrustProblem, &TrustProblem) -> bool,
    ) -> Vec<&'a TrustProblem> {
        let mut seen: Vec<&TrustProblem> = Vec::new();
        for problem in cells.iter().flat_map(|c| &c.problems) {
            if !problem.is_fatal() && !seen.iter().any(|s| same(s, problem)) {
                seen.push(problem);
            }
        }
        seen
    }

    /// The cells of a report over `n` clusters where every peer's intermediate outlives the shared root (and,
    /// for every third peer, a second certificate of its path too), and every third verifier
    /// does not accept the peer's trust domain (fatal, left out of the warnings).
    fn outliving_cells(n: usize) -> Vec<TrustCell> {
        let clusters: Vec<ClusterId> = (0..n)
            .map(|i| ClusterId::new(format!("c{i:03}")).unwrap())
            .collect();
        let td = TrustDomain::new("td").unwrap();
        let mut cells = Vec::with_capacity(n * n);
        for (v, verifier) in clusters.iter().enumerate() {
            for (p, peer) in clusters.iter().enumerate() {
                let outlives = |certificate: &str| TrustProblem::IntermediateOutlivesRoot {
                    cluster: peer.clone(),
                    certificate: certificate.to_owned(),
                    not_after: 2,
                    root_not_after: 1,
                };
                let mut problems = vec![outlives("CN=Intermediate CA")];
                if p % 3 == 0 {
                    problems.push(outlives("CN=Second CA"));
                }
                if v % 3 == 0 {
                    problems.insert(
                        0,
                        TrustProblem::TrustDomainNotAccepted {
                            verifier: verifier.clone(),
                            peer: peer.clone(),
                            trust_domain: td.clone(),
                            accepted: vec![td.clone()],
                        },
                    );
                }
                cells.push(TrustCell {
                    verifier: verifier.clone(),
                    peer: peer.clone(),
                    problems,
                });
            }
        }
        cells
    }

    #[test]
    fn warnings_are_the_naive_ones_with_quadratic_comparisons() {
        for n in [0, 1, 2, 5, 17] {
            let cells = outliving_cells(n);
            assert_eq!(
                distinct(&cells, &mut |a, b| a == b),
                naive_warnings(&cells, &mut |a, b| a == b),
                "{n}"
            );
        }
        // 200 clusters with the same problem: 200 + 67 warnings, one per (peer, certificate),
        // found with about one comparison per warning of the matrix (n² of them), where the
        // oracle makes one per warning and distinct warning seen before it (≈ n³/2).
        let n = 200;
        let cells = outliving_cells(n);
        let (mut fast, mut slow) = (0usize, 0usize);
        let warnings = distinct(&cells, &mut |a, b| {
            fast += 1;
            a == b
        });
        assert_eq!(warnings.len(), n + n.div_ceil(3));
        let naive = naive_warnings(&cells, &mut |a, b| {
            slow += 1;
            a == b
        });
        assert_eq!(warnings, naive);
        let in_matrix = n * (n + n.div_ceil(3));
        assert!(fast <= 2 * in_matrix, "{fast} comparisons");
        assert!(slow > 50 * in_matrix, "the oracle is cubic: {slow}");
    }
}
