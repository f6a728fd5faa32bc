//! The stage's inputs in Istio's own terms (DestinationRule `localityLbSetting` /
//! `zoneAwareLbSetting`, outlier detection, the service's `trafficDistribution`, MeshConfig) and
//! which of them is in effect for one cluster (rules L3–L7).

/// The label keys Istio's `trafficDistribution` failover priorities name (L7).
pub const NETWORK_LABEL: &str = "topology.istio.io/network";
/// `topology.kubernetes.io/region`.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// `topology.kubernetes.io/zone`.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// `topology.istio.io/subzone`.
pub const SUBZONE_LABEL: &str = "topology.istio.io/subzone";
/// `kubernetes.io/hostname`.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// `topology.istio.io/cluster`.
pub const CLUSTER_LABEL: &str = "topology.istio.io/cluster";

/// One `distribute` entry: proxies whose locality matches `from` split traffic over the `to`
/// patterns by weight (L9, L10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Distribute {
    /// The proxy locality pattern (`region/zone/subzone`, `*` wildcards).
    pub from: String,
    /// Locality pattern → weight, in document order (the order this library claims groups in;
    /// Istio's is Go map order, L11).
    pub to: Vec<(String, u32)>,
}

/// One `failover` entry: from region → to region (L13, L21).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Failover {
    /// The proxy's region.
    pub from: String,
    /// The region to fail over to.
    pub to: String,
}

/// `LocalityLoadBalancerSetting`. Empty lists are absent fields (proto3, L8).
///
/// ```
/// use mesh_eds::LocalityLbSetting;
/// let on = LocalityLbSetting::default();
/// assert!(on.is_enabled()); // unset `enabled` means enabled (L6)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LocalityLbSetting {
    /// `enabled`; `None` = unset (enabled).
    pub enabled: Option<bool>,
    /// `distribute`.
    pub distribute: Vec<Distribute>,
    /// `failover`.
    pub failover: Vec<Failover>,
    /// `failoverPriority`: label keys, optionally `key=value`.
    pub failover_priority: Vec<String>,
}

impl LocalityLbSetting {
    /// Whether `enabled` is unset or true (L6).
    pub fn is_enabled(&self) -> bool {
        self.enabled != Some(false)
    }
}

/// `ZoneAwareLoadBalancerSetting` (the EDS-relevant fields; `minClusterSize` is CDS only, L21).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ZoneAwareLbSetting {
    /// `enabled`; `None` = unset (enabled).
    pub enabled: Option<bool>,
    /// `failover`.
    pub failover: Vec<Failover>,
    /// `failoverPriority`.
    pub failover_priority: Vec<String>,
}

/// The DestinationRule traffic policy of one cluster, already merged for its port and subset
/// (L3): a port-level policy replaces the top level wholesale; a subset's `loadBalancer`
/// replaces the whole `loadBalancer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TrafficPolicy {
    /// `loadBalancer.localityLbSetting`.
    pub locality_lb_setting: Option<LocalityLbSetting>,
    /// `loadBalancer.zoneAwareLbSetting`.
    pub zone_aware_lb_setting: Option<ZoneAwareLbSetting>,
    /// Whether `outlierDetection` is set: the failover gate (L3).
    pub outlier_detection: bool,
}

/// A service's `trafficDistribution`, resolved from its spec or annotations (L7).
///
/// ```
/// use mesh_eds::TrafficDistribution;
/// assert_eq!("PreferClose".parse(), Ok(TrafficDistribution::PreferSameZone));
/// assert_eq!("Whatever".parse(), Ok(TrafficDistribution::Any)); // unknown values mean Any
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TrafficDistribution {
    /// No preference.
    #[default]
    Any,
    /// `PreferSameZone` (and `PreferClose`).
    PreferSameZone,
    /// `PreferSameNode`.
    PreferSameNode,
}

impl std::str::FromStr for TrafficDistribution {
    type Err = std::convert::Infallible;
    /// Istio's reading: unknown values are `Any` (L7).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "PreferClose" | "PreferSameZone" => Self::PreferSameZone,
            "PreferSameNode" => Self::PreferSameNode,
            _ => Self::Any,
        })
    }
}

/// MeshConfig's `localityLbSetting` and `zoneAwareLbSetting`. The default is Istio's default
/// mesh config: `localityLbSetting: {enabled: true}`, no zone-aware setting (L4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeshLocality {
    /// `localityLbSetting`; `None` = absent.
    pub locality_lb_setting: Option<LocalityLbSetting>,
    /// `zoneAwareLbSetting`; `None` = absent.
    pub zone_aware_lb_setting: Option<ZoneAwareLbSetting>,
}

impl Default for MeshLocality {
    fn default() -> Self {
        Self {
            locality_lb_setting: Some(LocalityLbSetting {
                enabled: Some(true),
                ..LocalityLbSetting::default()
            }),
            zone_aware_lb_setting: None,
        }
    }
}

/// Everything the stage reads about one cluster besides its groups and the proxy: the merged
/// DestinationRule policy, the service's traffic distribution and the mesh settings. The default
/// (no DestinationRule, `Any`, Istio's default mesh) leaves every assignment as split-horizon
/// made it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LocalityPolicy {
    /// The merged DestinationRule policy; `None` = no DestinationRule applies.
    pub destination_rule: Option<TrafficPolicy>,
    /// The service's traffic distribution.
    pub traffic_distribution: TrafficDistribution,
    /// The mesh-wide settings.
    pub mesh: MeshLocality,
}

/// No DestinationRule, `Any`, Istio's default mesh: what [`LocalityPolicy::istio_default`] lends.
static ISTIO_DEFAULT: LocalityPolicy = LocalityPolicy {
    destination_rule: None,
    traffic_distribution: TrafficDistribution::Any,
    mesh: MeshLocality {
        locality_lb_setting: Some(LocalityLbSetting {
            enabled: Some(true),
            distribute: Vec::new(),
            failover: Vec::new(),
            failover_priority: Vec::new(),
        }),
        zone_aware_lb_setting: None,
    },
};

impl LocalityPolicy {
    /// The policy of a service no DestinationRule or `trafficDistribution` touches, under Istio's
    /// default mesh config: the stage leaves its assignments as split-horizon made them.
    ///
    /// ```
    /// use mesh_eds::{LocalityPolicy, Setting};
    /// assert_eq!(LocalityPolicy::istio_default(), &LocalityPolicy::default());
    /// assert!(matches!(LocalityPolicy::istio_default().effective().setting, Setting::Locality { .. }));
    /// ```
    pub fn istio_default() -> &'static LocalityPolicy {
        &ISTIO_DEFAULT
    }

    /// Whether the stage can change an assignment under this policy for some proxy (a quick test
    /// that avoids resolving: no DestinationRule with outlier detection or load-balancer
    /// settings, no `trafficDistribution` and no mesh zone-aware setting or `distribute` means
    /// no change, L8).
    pub fn is_inert(&self) -> bool {
        let dr_inert = self.destination_rule.as_ref().is_none_or(|d| {
            !d.outlier_detection
                && d.locality_lb_setting.is_none()
                && d.zone_aware_lb_setting.is_none()
        });
        dr_inert
            && self.traffic_distribution == TrafficDistribution::Any
            && self.mesh.zone_aware_lb_setting.is_none()
            && self
                .mesh
                .locality_lb_setting
                .as_ref()
                .is_none_or(|l| l.distribute.is_empty())
    }
}

/// Which level of configuration the effective setting came from (L5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SettingSource {
    /// The DestinationRule.
    DestinationRule,
    /// The service's `trafficDistribution`.
    ServiceTrafficDistribution,
    /// MeshConfig.
    Mesh,
}

impl SettingSource {
    /// The name the conformance cases use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DestinationRule => "destination_rule",
            Self::ServiceTrafficDistribution => "service_traffic_distribution",
            Self::Mesh => "mesh",
        }
    }
}

/// The setting in effect for a cluster after resolution (L5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// No setting: the assignment is left as it is.
    None,
    /// A locality setting; `force` = apply failover without outlier detection (L7).
    Locality {
        /// The setting.
        setting: LocalityLbSetting,
        /// Set for `trafficDistribution`'s synthetic settings.
        force: bool,
        /// Where it came from.
        source: SettingSource,
    },
    /// A zone-aware setting (whatever its `enabled`, L5/L6).
    ZoneAware {
        /// The setting.
        setting: ZoneAwareLbSetting,
        /// Where it came from.
        source: SettingSource,
    },
}

/// The resolved setting and the outlier-detection gate of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EffectiveSetting {
    /// The setting (L5).
    pub setting: Setting,
    /// Whether the merged DestinationRule policy has outlier detection (L3).
    pub outlier_detection: bool,
}

impl EffectiveSetting {
    /// The failoverPriority entries the stage will rank by for this setting, if any: what the
    /// proxy classes must carry label values for.
    pub fn failover_priority(&self) -> &[String] {
        match &self.setting {
            Setting::Locality { setting, .. } if setting.distribute.is_empty() => {
                &setting.failover_priority
            }
            Setting::ZoneAware { setting, .. } => &setting.failover_priority,
            _ => &[],
        }
    }
}

impl LocalityPolicy {
    /// The setting in effect (L5): DestinationRule zone-aware, DestinationRule locality
    /// (`enabled: false` stops resolution), `trafficDistribution`, mesh zone-aware, mesh locality.
    ///
    /// ```
    /// use mesh_eds::{LocalityPolicy, Setting, TrafficDistribution};
    /// let policy = LocalityPolicy {
    ///     traffic_distribution: TrafficDistribution::PreferSameZone,
    ///     ..Default::default()
    /// };
    /// let Setting::Locality { setting, force, .. } = policy.effective().setting else { panic!() };
    /// assert!(force);
    /// assert_eq!(setting.failover_priority.len(), 3);
    /// ```
    pub fn effective(&self) -> EffectiveSetting {
        let outlier_detection = self
            .destination_rule
            .as_ref()
            .is_some_and(|p| p.outlier_detection);
        EffectiveSetting {
            setting: self.resolve(),
            outlier_detection,
        }
    }

    fn resolve(&self) -> Setting {
        if let Some(dr) = &self.destination_rule {
            if let Some(z) = &dr.zone_aware_lb_setting {
                return Setting::ZoneAware {
                    setting: z.clone(),
                    source: SettingSource::DestinationRule,
                };
            }
            if let Some(l) = &dr.locality_lb_setting {
                return locality(l, SettingSource::DestinationRule);
            }
        }
        let keys: &[&str] = match self.traffic_distribution {
            TrafficDistribution::Any => &[],
            TrafficDistribution::PreferSameZone => &[NETWORK_LABEL, REGION_LABEL, ZONE_LABEL],
            TrafficDistribution::PreferSameNode => &[
                NETWORK_LABEL,
                REGION_LABEL,
                ZONE_LABEL,
                SUBZONE_LABEL,
                HOSTNAME_LABEL,
            ],
        };
        if !keys.is_empty() {
            return Setting::Locality {
                setting: LocalityLbSetting {
                    enabled: Some(true),
                    failover_priority: keys.iter().map(|&k| k.to_owned()).collect(),
                    ..LocalityLbSetting::default()
                },
                force: true,
                source: SettingSource::ServiceTrafficDistribution,
            };
        }
        if let Some(z) = &self.mesh.zone_aware_lb_setting {
            return Setting::ZoneAware {
                setting: z.clone(),
                source: SettingSource::Mesh,
            };
        }
        match &self.mesh.locality_lb_setting {
            Some(l) => locality(l, SettingSource::Mesh),
            None => Setting::None,
        }
    }
}

fn locality(setting: &LocalityLbSetting, source: SettingSource) -> Setting {
    if setting.is_enabled() {
        Setting::Locality {
            setting: setting.clone(),
            force: false,
            source,
        }
    } else {
        Setting::None
    }
}
