//! "Did you mean": the known name closest to a mistyped one, shared by the document parser
//! (unknown fields are errors) and the MeshNetworks reader (unknown fields are ignored, as Istio
//! does, and reported as warnings).

/// The candidate closest to `field` (Damerau-Levenshtein, at most 2 edits or a third of the
/// candidate's length), else one equal to it ignoring case.
pub(crate) fn closest<'a>(field: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|cand| (strsim::damerau_levenshtein(field, cand), *cand))
        .filter(|(d, cand)| *d <= 2.max(cand.len() / 3))
        .min()
        .map(|(_, c)| c)
        .or_else(|| {
            candidates
                .iter()
                .find(|c| c.eq_ignore_ascii_case(field))
                .copied()
        })
}
