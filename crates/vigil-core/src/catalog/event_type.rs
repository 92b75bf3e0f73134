//! Alarm `event_type` codes (spec §6.3) and the two Vigil chose where the spec has none.
//!
//! The constants are the wire values. Which algorithm emits which code, with its meaning, is in
//! the catalogue: [`crate::catalog::Catalog::event_type`] looks a code up.

/// Where an event type's code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Documented by Huawei (spec §6.3).
    Spec,
    /// Chosen by Vigil for a message whose code the spec lacks (docs/algorithms.md).
    Vigil,
}

/// One alarm `event_type` an algorithm emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// Wire value of `event_type`.
    pub code: u64,
    /// Meaning, in English.
    pub meaning: &'static str,
    pub provenance: Provenance,
}

impl EventSpec {
    /// A code documented in the spec.
    pub const fn spec(code: u64, meaning: &'static str) -> Self {
        Self {
            code,
            meaning,
            provenance: Provenance::Spec,
        }
    }

    /// A code chosen by Vigil.
    pub const fn vigil(code: u64, meaning: &'static str) -> Self {
        Self {
            code,
            meaning,
            provenance: Provenance::Vigil,
        }
    }
}

/// People flow: line-crossing counts (0x20001).
pub const FLOW_LINE_COUNT: u64 = 131_073;
/// People flow: region head counts (0x20002) – **Vigil's choice**, not in the spec.
pub const FLOW_REGION_COUNT: u64 = 131_074;
/// People flow: heat map (0x20003) – **Vigil's choice**, not in the spec.
pub const FLOW_HEATMAP: u64 = 131_075;
/// Intrusion (0x30001).
pub const INTRUSION: u64 = 196_609;
/// Loitering, emitted by the intrusion service (0x30002).
pub const LOITERING: u64 = 196_610;
pub const ABANDONED_OBJECT: u64 = 327_680;
pub const SMOKE_AND_FIRE: u64 = 393_216;
pub const OFF_DUTY: u64 = 458_752;
pub const CROWD_DENSITY: u64 = 524_288;
pub const WORK_CLOTHES_HELMET: u64 = 589_824;
pub const SHARED_BICYCLE_PARKING: u64 = 655_360;
pub const SMOKING: u64 = 720_896;
pub const PHONING: u64 = 786_432;
pub const CLIMBING: u64 = 851_968;
pub const FALLING: u64 = 851_969;
/// Waving, emitted by individual action (0xD0002) – **Vigil's choice**, not in the spec.
pub const WAVING: u64 = 851_970;
/// Bending, emitted by individual action (0xD0003) – **Vigil's choice**, not in the spec.
pub const BENDING: u64 = 851_971;
pub const FIGHT: u64 = 917_504;
pub const NO_MASK: u64 = 1_048_576;
pub const ROADSIDE_STALL: u64 = 1_114_112;
pub const FIRE_PASSAGE_OBJECTS: u64 = 1_179_648;
pub const FIRE_PASSAGE_VEHICLE: u64 = 1_179_649;
pub const EBIKE_NO_HELMET: u64 = 1_179_664;
pub const OUT_OF_STORE_STALL: u64 = 1_245_184;
pub const URBAN_TRASH: u64 = 1_310_720;
pub const NON_MOTOR_PARKING: u64 = 1_376_256;
pub const NON_MOTOR_INTRUSION: u64 = 1_376_257;
pub const TRASH_CAN_ANOMALY: u64 = 1_507_328;
pub const ILLEGAL_SIGN: u64 = 1_638_400;
pub const TRASH_CAN_OVERFLOW: u64 = 1_703_936;
pub const HIGHPOINT_CROWD: u64 = 1_769_472;
pub const WATERLOGGING: u64 = 1_900_544;
pub const MOBILE_TRASH: u64 = 2_031_616;
pub const TARGET_ATTRIBUTES: u64 = 2_162_688;
pub const MESSY_PILES: u64 = 2_228_224;
pub const UMBRELLA: u64 = 2_293_760;
pub const CLOTHES_AIRING: u64 = 2_359_296;
pub const MANHOLE_COVER_MISSING: u64 = 2_424_832;
pub const CONSTRUCTION_WASTE: u64 = 2_490_368;
pub const BARE_SOIL: u64 = 2_555_904;
pub const MOBILE_MANHOLE_COVER_MISSING: u64 = 2_621_440;
pub const ABNORMAL_PARKING: u64 = 74_240;
pub const VEHICLE_DETECTION: u64 = 75_008;
pub const WRONG_WAY: u64 = 75_009;
pub const HIGHPOINT_VEHICLE_COUNT: u64 = 75_010;
pub const HIGHPOINT_SPEEDING: u64 = 75_012;
pub const FLOATING_DEBRIS: u64 = 33_685_505;
pub const WATER_GAUGE: u64 = 33_816_579;
pub const VESSEL_INTRUSION: u64 = 33_882_113;
pub const DRAINAGE: u64 = 34_013_185;
pub const CYANOBACTERIA: u64 = 34_078_721;

/// Vigil system events: raised by Vigil itself rather than by an algorithm, delivered through
/// the outputs of every live task on the source concerned. Outside the partner range
/// 90000000–90999999 and every spec code.
pub const VIGIL_SYSTEM_EVENT_TYPES: std::ops::RangeInclusive<u64> = 91_000_000..=91_999_999;
/// A video source's `video_source_quality` labels changed (**Vigil's choice**): `stream_id` is
/// the source id, `alarm_type` 0 when labels were added, 1 when labels were only removed, `data`
/// `{"video_source_id", "video_source_quality", "added", "removed"}`.
pub const VIDEO_QUALITY_CHANGED: u64 = 91_000_001;
