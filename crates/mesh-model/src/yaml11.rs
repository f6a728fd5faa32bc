//! Where Istio's YAML reader and a YAML 1.2 reader disagree on a number: a plain scalar with a
//! leading zero (`port: 0443`) is an octal integer in YAML 1.1, which Istio reads through
//! `sigs.k8s.io/yaml` (go-yaml v2) before its protobuf-JSON decoder (`pkg/util/protomarshal`
//! `ApplyYAML`), so `0443` is 291 there; YAML 1.2 reads 443. The parse follows Istio
//! (serde-saphyr's `legacy_octal_numbers`); this module finds the scalars so that the reading is
//! said rather than silent. It walks the YAML events itself because no YAML crate reports the
//! style a number was written in after deserialising it.

use granit_parser::{Event, Parser, ScalarStyle};

/// A plain scalar a YAML 1.1 reader takes for an octal integer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OctalNumber {
    /// Where it is, as the document's paths are written (`spec.meshNetworks.networks.n1.gateways[0].port`).
    pub path: String,
    /// As written (`0443`).
    pub written: String,
    /// What it is read as (291).
    pub value: u64,
    /// Its line (1-based).
    pub line: usize,
}

/// One open collection while walking the events.
enum Open {
    /// A mapping: the key whose value comes next, if a key was read.
    Map(Option<String>),
    /// A sequence: the index of the next item.
    Seq(usize),
}

/// Every plain scalar of `text` that YAML 1.1 reads as an octal integer, in text order. Stops
/// quietly at a syntax error (the parse reports it).
pub(crate) fn octal_numbers(text: &str) -> Vec<OctalNumber> {
    let mut found = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let open = if matches!(event, Event::MappingStart(..)) {
                    Open::Map(None)
                } else {
                    Open::Seq(0)
                };
                stack.push(open);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                value_done(&mut stack);
            }
            Event::Scalar(value, style, _, tag) => {
                if let Some(Open::Map(key @ None)) = stack.last_mut() {
                    *key = Some(value.into_owned());
                    continue;
                }
                if style == ScalarStyle::Plain
                    && tag.is_none()
                    && let Some(n) = octal(&value)
                {
                    found.push(OctalNumber {
                        path: path(&stack),
                        written: value.into_owned(),
                        value: n,
                        line: span.start.line(),
                    });
                }
                value_done(&mut stack);
            }
            Event::Alias(_) => value_done(&mut stack),
            _ => {}
        }
    }
    found
}

/// A value of the innermost collection was read.
fn value_done(stack: &mut [Open]) {
    match stack.last_mut() {
        Some(Open::Map(key)) => *key = None,
        Some(Open::Seq(i)) => *i += 1,
        None => {}
    }
}

fn path(stack: &[Open]) -> String {
    let mut path = String::new();
    for open in stack {
        match open {
            Open::Map(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Open::Map(None) => {}
            Open::Seq(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

/// YAML 1.1's octal integer, `[-+]?0[0-7_]+` (the sign left out: no number Istio reads is
/// negative).
fn octal(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s).strip_prefix('0')?;
    if digits.is_empty() || !digits.bytes().all(|b| matches!(b, b'0'..=b'7' | b'_')) {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    u64::from_str_radix(&digits, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plain_octal_scalars_with_their_paths() {
        let text =
            "a:\n  port: 0443\n  q: \"0443\"\n  d: 0\n  n: [1, 010, {port: 0089}]\nb: 0o17\n";
        let found = octal_numbers(text);
        assert_eq!(
            found
                .iter()
                .map(|o| (o.path.as_str(), o.written.as_str(), o.value, o.line))
                .collect::<Vec<_>>(),
            [("a.port", "0443", 291, 2), ("a.n[1]", "010", 8, 5)]
        );
    }

    #[test]
    fn keys_are_not_numbers_and_paths_survive_nesting() {
        let text = "0100: x\nm:\n  - {a: [0, 07]}\n  - k: 012\n";
        let found = octal_numbers(text);
        let paths: Vec<&str> = found.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["m[0].a[1]", "m[1].k"]);
    }
}
