//! Text forms of bytes: PEM splitting with typed problems (never a panic on malformed text), PEM
//! encoding, and hex for labels.

use rustls_pki_types::pem::{self, SectionKind, SliceIter};

/// What is wrong with a PEM text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemProblem {
    /// A `-----BEGIN …-----` block has no matching end line.
    #[error("missing line -----END {label}-----")]
    MissingEnd {
        /// The label of the block (`CERTIFICATE`).
        label: String,
    },
    /// A `-----BEGIN` line is malformed.
    #[error("malformed begin line {line:?}")]
    IllegalBegin {
        /// The offending line.
        line: String,
    },
    /// The base64 body does not decode.
    #[error("invalid base64 body: {detail}")]
    Base64 {
        /// The decoder's description.
        detail: String,
    },
    /// A block is larger than a PEM decoder accepts.
    #[error("a PEM block is too large")]
    TooLarge,
    /// Any other PEM decoding failure.
    #[error("unreadable PEM")]
    Unreadable,
}

impl From<pem::Error> for PemProblem {
    fn from(error: pem::Error) -> Self {
        match error {
            pem::Error::MissingSectionEnd { end_marker } => Self::MissingEnd {
                label: String::from_utf8_lossy(&end_marker).into_owned(),
            },
            pem::Error::IllegalSectionStart { line } => Self::IllegalBegin {
                line: String::from_utf8_lossy(&line).chars().take(80).collect(),
            },
            pem::Error::Base64Decode(detail) => Self::Base64 { detail },
            pem::Error::SectionTooLarge => Self::TooLarge,
            _ => Self::Unreadable,
        }
    }
}

/// Every PEM block of a known kind in `input`, in order.
pub(crate) fn pem_sections(input: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, PemProblem> {
    SliceIter::<(SectionKind, Vec<u8>)>::new(input)
        .map(|section| section.map_err(PemProblem::from))
        .collect()
}

/// Whether `input` looks like PEM text rather than DER.
pub(crate) fn looks_like_pem(input: &[u8]) -> bool {
    input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| input[start..].starts_with(b"-----BEGIN"))
}

/// Encodes DER as one PEM block with LF line endings and 64-column lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut body = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                body.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                body.push('=');
            }
        }
    }
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        // The body is ASCII base64, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// `bytes` as lowercase hex (fingerprints and key identifiers in labels).
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_trips_through_the_parser() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 200] {
            let der: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let text = encode("CERTIFICATE", &der);
            if len > 0 {
                let sections = pem_sections(text.as_bytes()).unwrap();
                assert_eq!(sections, vec![(SectionKind::Certificate, der)], "{len}");
            }
            assert!(
                text.lines()
                    .all(|l| l.len() <= 64 || l.starts_with("-----"))
            );
        }
    }

    #[test]
    fn malformed_pem_is_typed() {
        assert!(matches!(
            pem_sections(b"-----BEGIN CERTIFICATE-----\nAAAA\n"),
            Err(PemProblem::MissingEnd { .. })
        ));
        assert!(matches!(
            pem_sections(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            Err(PemProblem::Base64 { .. })
        ));
        assert_eq!(pem_sections(b"just text").unwrap(), vec![]);
        assert!(looks_like_pem(b"\n  -----BEGIN X-----"));
        assert!(!looks_like_pem(b"\x30\x82"));
    }
}
