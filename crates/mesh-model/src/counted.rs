//! Counts in words for messages every crate prints: `1 error`, `2 errors`, never `2 error(s)`.

/// `n` and `noun`, singular for one, with an `s` otherwise (every noun our messages count takes
/// a regular plural).
///
/// ```
/// assert_eq!(mesh_model::counted(1, "error"), "1 error");
/// assert_eq!(mesh_model::counted(0, "cluster"), "0 clusters");
/// assert_eq!(mesh_model::counted(2, "gateway"), "2 gateways");
/// ```
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
