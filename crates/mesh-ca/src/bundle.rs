//! A cluster's plug-in CA bundle in Istio's layout (`root-cert.pem`, `ca-cert.pem`, `ca-key.pem`,
//! `cert-chain.pem`), as bytes the caller read, and its parsing with typed errors that name the
//! cluster and the file.

use std::borrow::Cow;
use std::fmt;

use mesh_model::{CaCerts, ClusterId, MeshSpec, TrustDomain};
use rustls_pki_types::pem::SectionKind;

use crate::cert::{Certificate, CertificateError};
use crate::key::{CaKey, KeyError};
use crate::pem::{PemProblem, looks_like_pem, pem_sections};

/// One file of the plug-in bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BundleFile {
    /// `root-cert.pem`: the roots this cluster trusts.
    RootCert,
    /// `ca-cert.pem`: the cluster's intermediate.
    CaCert,
    /// `ca-key.pem`: the intermediate's private key.
    CaKey,
    /// `cert-chain.pem`: the intermediate and the certificates up to the root.
    CertChain,
}

impl BundleFile {
    /// All four, in Istio's documentation order.
    pub const ALL: [BundleFile; 4] = [
        BundleFile::RootCert,
        BundleFile::CaCert,
        BundleFile::CaKey,
        BundleFile::CertChain,
    ];

    /// The file name in the `cacerts` secret.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::RootCert => "root-cert.pem",
            Self::CaCert => "ca-cert.pem",
            Self::CaKey => "ca-key.pem",
            Self::CertChain => "cert-chain.pem",
        }
    }
}

impl fmt::Display for BundleFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// The contents of the four files, as read (PEM, or DER for single certificates). `None` = the
/// file is absent; an empty or blank file counts as absent too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginFiles {
    /// `root-cert.pem`.
    pub root_cert: Option<Vec<u8>>,
    /// `ca-cert.pem`.
    pub ca_cert: Option<Vec<u8>>,
    /// `ca-key.pem`.
    pub ca_key: Option<Vec<u8>>,
    /// `cert-chain.pem`.
    pub cert_chain: Option<Vec<u8>>,
}

impl PluginFiles {
    /// The contents of `file`, when present and not blank.
    pub fn get(&self, file: BundleFile) -> Option<&[u8]> {
        let bytes = match file {
            BundleFile::RootCert => &self.root_cert,
            BundleFile::CaCert => &self.ca_cert,
            BundleFile::CaKey => &self.ca_key,
            BundleFile::CertChain => &self.cert_chain,
        };
        bytes
            .as_deref()
            .filter(|b| b.iter().any(|c| !c.is_ascii_whitespace()))
    }

    /// Sets the contents of `file`.
    pub fn set(&mut self, file: BundleFile, contents: Option<Vec<u8>>) {
        *match file {
            BundleFile::RootCert => &mut self.root_cert,
            BundleFile::CaCert => &mut self.ca_cert,
            BundleFile::CaKey => &mut self.ca_key,
            BundleFile::CertChain => &mut self.cert_chain,
        } = contents;
    }

    /// `cert-chain.pem` as text (lossy), empty when absent.
    pub fn cert_chain_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.cert_chain.as_deref().unwrap_or_default())
    }

    /// The public files a mesh document carries (no key).
    pub fn from_ca_certs(certs: &CaCerts) -> Self {
        Self {
            root_cert: Some(certs.root_cert.clone().into_bytes()),
            ca_cert: Some(certs.ca_cert.clone().into_bytes()),
            ca_key: None,
            cert_chain: Some(certs.cert_chain.clone().into_bytes()),
        }
    }
}

/// One cluster's bundle and the trust domains its workloads use and accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterBundle {
    /// The cluster.
    pub cluster: ClusterId,
    /// The trust domain of its workloads' SPIFFE IDs.
    pub trust_domain: TrustDomain,
    /// Other trust domains its workloads accept as their own (`trustDomainAliases`).
    pub trust_domain_aliases: Vec<TrustDomain>,
    /// The plug-in files.
    pub files: PluginFiles,
}

impl ClusterBundle {
    /// A bundle with no trust-domain aliases.
    pub fn new(cluster: ClusterId, trust_domain: TrustDomain, files: PluginFiles) -> Self {
        Self {
            cluster,
            trust_domain,
            trust_domain_aliases: Vec::new(),
            files,
        }
    }

    /// The bundles of the clusters of a mesh document that carry `caCerts`, with the mesh's
    /// trust domain and aliases, in document order.
    pub fn from_mesh(spec: &MeshSpec) -> Vec<ClusterBundle> {
        spec.clusters
            .iter()
            .filter_map(|cluster| {
                let certs = cluster.ca_certs.as_ref()?;
                Some(ClusterBundle {
                    cluster: cluster.name.clone(),
                    trust_domain: spec.trust_domain.clone(),
                    trust_domain_aliases: spec.trust_domain_aliases.clone(),
                    files: PluginFiles::from_ca_certs(certs),
                })
            })
            .collect()
    }
}

/// Why a bundle file could not be read. Names the cluster and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The PEM text is malformed.
    #[error("cluster {cluster}: {file}: {problem}")]
    Pem {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
        /// What is wrong.
        problem: PemProblem,
    },
    /// The file has content but no certificate.
    #[error("cluster {cluster}: {file}: no CERTIFICATE block")]
    NoCertificate {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
    },
    /// A certificate does not parse.
    #[error("cluster {cluster}: {file}: certificate #{index}: {problem}")]
    Certificate {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
        /// Position of the certificate in the file, from 0.
        index: usize,
        /// What is wrong.
        problem: CertificateError,
    },
    /// Two bundles name the same cluster.
    #[error("cluster {cluster} appears twice")]
    DuplicateCluster {
        /// The cluster.
        cluster: ClusterId,
    },
    /// The private key does not parse or is not P-256.
    #[error("cluster {cluster}: {file}: {problem}")]
    Key {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
        /// What is wrong.
        problem: KeyError,
    },
}

/// A bundle whose present files all parsed.
#[derive(Debug, Clone)]
pub(crate) struct ParsedBundle {
    pub(crate) cluster: ClusterId,
    pub(crate) trust_domain: TrustDomain,
    pub(crate) trust_domain_aliases: Vec<TrustDomain>,
    pub(crate) roots: Option<Vec<Certificate>>,
    pub(crate) ca_cert: Option<Certificate>,
    pub(crate) ca_key: Option<CaKey>,
    pub(crate) chain: Option<Vec<Certificate>>,
}

impl ParsedBundle {
    pub(crate) fn parse(bundle: &ClusterBundle) -> Result<Self, BundleError> {
        let cluster = &bundle.cluster;
        let certs = |file| {
            bundle
                .files
                .get(file)
                .map(|bytes| parse_certificates(cluster, file, bytes))
                .transpose()
        };
        let roots = certs(BundleFile::RootCert)?;
        let ca_cert = certs(BundleFile::CaCert)?.and_then(|c| c.into_iter().next());
        let chain = certs(BundleFile::CertChain)?;
        let ca_key = bundle
            .files
            .get(BundleFile::CaKey)
            .map(|bytes| {
                CaKey::from_pem_bytes(bytes).map_err(|problem| BundleError::Key {
                    cluster: cluster.clone(),
                    file: BundleFile::CaKey,
                    problem,
                })
            })
            .transpose()?;
        Ok(Self {
            cluster: cluster.clone(),
            trust_domain: bundle.trust_domain.clone(),
            trust_domain_aliases: bundle.trust_domain_aliases.clone(),
            roots,
            ca_cert,
            ca_key,
            chain,
        })
    }

    /// Whether `trust_domain` is this cluster's own or one of its aliases.
    pub(crate) fn accepts(&self, trust_domain: &TrustDomain) -> bool {
        self.trust_domain == *trust_domain || self.trust_domain_aliases.contains(trust_domain)
    }
}

/// The certificates of one file: every `CERTIFICATE` block of PEM text, or one DER certificate.
pub fn parse_certificates(
    cluster: &ClusterId,
    file: BundleFile,
    bytes: &[u8],
) -> Result<Vec<Certificate>, BundleError> {
    let ders: Vec<Vec<u8>> = if looks_like_pem(bytes) {
        pem_sections(bytes)
            .map_err(|problem| BundleError::Pem {
                cluster: cluster.clone(),
                file,
                problem,
            })?
            .into_iter()
            .filter(|(kind, _)| *kind == SectionKind::Certificate)
            .map(|(_, der)| der)
            .collect()
    } else {
        vec![bytes.to_vec()]
    };
    if ders.is_empty() {
        return Err(BundleError::NoCertificate {
            cluster: cluster.clone(),
            file,
        });
    }
    ders.iter()
        .enumerate()
        .map(|(index, der)| {
            Certificate::from_der(der).map_err(|problem| BundleError::Certificate {
                cluster: cluster.clone(),
                file,
                index,
                problem,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_files_count_as_absent() {
        let mut files = PluginFiles::default();
        files.set(BundleFile::RootCert, Some(b" \n\t".to_vec()));
        files.set(BundleFile::CaCert, Some(b"x".to_vec()));
        assert_eq!(files.get(BundleFile::RootCert), None);
        assert_eq!(files.get(BundleFile::CaCert), Some(&b"x"[..]));
        assert_eq!(files.get(BundleFile::CaKey), None);
        assert_eq!(
            BundleFile::ALL.map(BundleFile::file_name),
            [
                "root-cert.pem",
                "ca-cert.pem",
                "ca-key.pem",
                "cert-chain.pem"
            ]
        );
    }

    #[test]
    fn mesh_ca_certs_carry_no_key() {
        let certs = CaCerts {
            root_cert: "r".to_owned(),
            ca_cert: "c".to_owned(),
            cert_chain: "ch".to_owned(),
        };
        let files = PluginFiles::from_ca_certs(&certs);
        assert_eq!(files.ca_key, None);
        assert_eq!(files.cert_chain_text(), "ch");
        assert_eq!(files.get(BundleFile::RootCert), Some(&b"r"[..]));
    }

    #[test]
    fn a_huge_rsa_ca_key_is_a_typed_error_naming_cluster_file_size_and_limit() {
        let cluster = ClusterId::new("c9").unwrap();
        let mut files = PluginFiles::default();
        let der = crate::key::tests::rsa_private_key_der(1 << 20);
        files.set(
            BundleFile::CaKey,
            Some(crate::pem::encode("RSA PRIVATE KEY", &der).into_bytes()),
        );
        let bundle = ClusterBundle::new(cluster.clone(), TrustDomain::new("td").unwrap(), files);
        let err =
            crate::TrustReport::build(&[bundle], 0, &crate::ReportOptions::default()).unwrap_err();
        assert_eq!(
            err,
            BundleError::Key {
                cluster,
                file: BundleFile::CaKey,
                problem: KeyError::RsaKeyTooLarge {
                    bits: 1 << 20,
                    limit: 8192
                },
            }
        );
        assert_eq!(
            err.to_string(),
            "cluster c9: ca-key.pem: RSA key of 1048576 bits is larger than the limit of 8192 bits"
        );
    }

    #[test]
    fn parse_errors_name_the_file() {
        let cluster = ClusterId::new("c9").unwrap();
        assert_eq!(
            parse_certificates(
                &cluster,
                BundleFile::RootCert,
                b"-----BEGIN CERTIFICATE-----\n"
            ),
            Err(BundleError::Pem {
                cluster: cluster.clone(),
                file: BundleFile::RootCert,
                problem: PemProblem::MissingEnd {
                    label: "CERTIFICATE".to_owned()
                },
            })
        );
        let err = parse_certificates(&cluster, BundleFile::CertChain, b"\x30\x03\x02\x01\x00")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cluster c9: cert-chain.pem: certificate #0: not a DER X.509 certificate"
        );
    }
}
