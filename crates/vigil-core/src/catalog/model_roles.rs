//! The 13 built-in algorithms that run on an operator's detector (no shipped model sees helmets,
//! piles, manholes, …): the roles each counts, which a package's `class_map` binds its classes
//! to (docs/algorithm-center.md), and the synthetic catalogue entry of generic rule packages.

use crate::catalog::event_type::EventSpec;
use crate::catalog::schema::shared::{self, BASE};
use crate::catalog::schema::ParamSpec;
use crate::catalog::AlgorithmSpec;

/// One thing a model-bound algorithm counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSpec {
    /// The value of a package's `class_map` (`"suitcase": "pile"`).
    pub role: &'static str,
    pub meaning: &'static str,
}

const fn r(role: &'static str, meaning: &'static str) -> RoleSpec {
    RoleSpec { role, meaning }
}

const HELMET: RoleSpec = r("helmet", "a head wearing a helmet");
const HEAD: RoleSpec = r("head", "a bare head (no helmet)");
const OPEN_MANHOLE: RoleSpec = r("open_manhole", "an open manhole (cover missing)");
const TRASH: RoleSpec = r("trash", "litter or trash on the ground");

/// Algorithm id → roles, spec §5.6 order.
const ROLES: &[(&str, &[RoleSpec])] = &[
    (
        "c-safetysuitedetection",
        &[
            r("person", "a worker (whole person)"),
            HELMET,
            HEAD,
            r("workwear", "work clothes on the upper body"),
            r("no_workwear", "an upper body without work clothes"),
        ],
    ),
    (
        "c-trash-abnormal-detect",
        &[r(
            "abnormal_bin",
            "a trash can in an abnormal state (tipped over, lid open, damaged)",
        )],
    ),
    ("c-urban-trash-overflow", &[r("overflow", "an overflowing garbage can")]),
    (
        "c-helmet-elec-recog",
        &[r("rider", "a person riding an e-bike"), HELMET, HEAD],
    ),
    (
        "c-urban-sign-detect",
        &[r("sign", "an illegal advertisement board or sign")],
    ),
    ("c-urban-stacking", &[r("pile", "piled goods/materials")]),
    ("c-urban-drying", &[r("clothes", "clothes or bedding hung out to dry")]),
    (
        "c-urban-dregs",
        &[r("dregs", "spilled construction waste (muck, soil, rubble)")],
    ),
    ("c-urban-manholecover-miss", &[OPEN_MANHOLE]),
    ("c-mobile-manholecover", &[OPEN_MANHOLE]),
    (
        "c-urban-trash-detect",
        &[
            TRASH,
            r(
                "person",
                "optional: a person, reported as `person_box` when next to the trash",
            ),
        ],
    ),
    ("c-mobile-trash-detect", &[TRASH]),
    (
        "c-urban-roadside-stall",
        &[
            r("stall", "a roadside stall occupying the road"),
            r("outstore_stall", "goods displayed outside a shop"),
        ],
    ),
];

/// The roles of a model-bound algorithm (`None`: the algorithm needs no operator model).
pub fn roles(alg_id: &str) -> Option<&'static [RoleSpec]> {
    ROLES.iter().find(|(id, _)| *id == alg_id).map(|(_, roles)| *roles)
}

/// The ids of the model-bound algorithms.
pub fn model_bound_ids() -> impl Iterator<Item = &'static str> {
    ROLES.iter().map(|(id, _)| *id)
}

/// `pile (piled goods/materials), …`: the roles as error messages and docs name them.
pub fn describe(roles: &[RoleSpec]) -> String {
    roles
        .iter()
        .map(|r| format!("{} ({})", r.role, r.meaning))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message of a task refused or an analyzer not built because no package is bound.
pub fn missing_model_message(alg_id: &str) -> String {
    let roles = roles(alg_id).map(describe).unwrap_or_default();
    format!(
        "{alg_id} needs a detector model package bound to it with classes mapped to: {roles}; see docs/algorithm-center.md"
    )
}

const PARTNER_KEYS: &[ParamSpec] = &[
    ParamSpec::int(
        "alert_time_threshold",
        0,
        3600,
        10,
        "dwell rule: seconds an object must stay in an ROI polygon before it alarms (Vigil's key)",
    ),
    ParamSpec::int(
        "alert_detection_interval",
        1,
        86_400,
        5,
        "objects_in_region rule: seconds between messages while objects are in a region (Vigil's key)",
    ),
    shared::OUTPUT_IMAGE_SW,
];

/// The `config.common` schema of every generic rule package's service (`alg_class` `partner`,
/// served under the package's name): validated like a built-in with `validate_common`.
/// Its events are the package's own (`binding.event_type`), not listed here.
pub static PARTNER_RULE: AlgorithmSpec = AlgorithmSpec::new(0, "partner-rule", "合作伙伴规则", "Partner rule package")
    .config("PartnerRuleServiceConfig", &[] as &[EventSpec])
    .with_keys(&[BASE, PARTNER_KEYS])
    .implemented();
