//! The catalogue data: the 41 algorithms of spec §5.6 and their `config.common` key schemas.
//!
//! Laid out as tables (this module is skipped by rustfmt). Values the spec does not give are
//! Vigil's decisions, documented in `docs/algorithms.md`.

use crate::catalog::{AlgorithmSpec, Constraint};
use crate::catalog::event_type::{self as ev, EventSpec};
use crate::catalog::schema::shared::{self, BASE};
use crate::catalog::schema::{DefaultValue, ParamKind, ParamSpec, DAY_S};

/// An integer switch 0/1.
const fn sw(key: &'static str, default: i64, meaning: &'static str) -> ParamSpec {
    ParamSpec::switch(key, default, meaning)
}

/// Seconds in `min..=DAY_S`.
const fn secs(key: &'static str, min: i64, default: i64, meaning: &'static str) -> ParamSpec {
    ParamSpec::int(key, min, DAY_S, default, meaning)
}

/// A string holding an integer in `1..=max`.
const fn int_text(key: &'static str, max: i64, default: &'static str, m: &'static str) -> ParamSpec {
    ParamSpec::new(key, ParamKind::IntText { min: 1, max }, DefaultValue::Str(default), m)
}

/// A plate prefix part: 1–4 characters, no default.
const fn plate(key: &'static str, meaning: &'static str) -> ParamSpec {
    ParamSpec::new(key, ParamKind::Text { min_chars: 1, max_chars: 4 }, DefaultValue::None, meaning)
}

const fn one(code: u64, meaning: &'static str) -> [EventSpec; 1] {
    [EventSpec::spec(code, meaning)]
}

// --- implemented: intrusion and people flow -------------------------------------------------

const INTRUSION_KEYS: &[ParamSpec] = &[
    shared::PERSON_DETECTION_SW,
    shared::CAR_DETECTION_SW,
    shared::DETECTION_MIN_SIZE.with_default(DefaultValue::Int(60)),
    shared::DETECTION_MAX_SIZE.with_default(DefaultValue::Int(1080)),
    sw("line_detection_sw", 1, "1 = alarm when a target crosses an ROI line"),
    sw("region_detection_sw", 1, "1 = alarm when a target is inside an ROI polygon"),
    sw("loitering_detection_sw", 0, "1 = loitering alarms (196610) in ROI polygons"),
    ParamSpec::int("loitering_time_threshold", 1, 3600, 30, "seconds a target must stay in an ROI polygon before a loitering alarm (Vigil's key)"),
    sw("all_print_sw", 0, "1 = report every detected target, not only intruders"),
    shared::EVENT_DISAPPEAR_ALERT_SW,
    shared::OUTPUT_IMAGE_SW,
    shared::MOTION_GATING_SW,
];

const FLOW_KEYS: &[ParamSpec] = &[
    secs("line_count_interval", 1, 2, "seconds aggregated into one line-count message"),
    secs("region_count_interval", 1, 2, "seconds between region head-count messages"),
    sw("line_detection_sw", 1, "1 = count line crossings per ROI line (131073)"),
    sw("region_detection_sw", 1, "1 = count heads per ROI polygon (131074)"),
    sw("heatmap_detection_sw", 0, "1 = heat-map messages (131075)"),
    secs("heatmap_detection_interval", 10, 10, "seconds between heat-map messages"),
    ParamSpec::int("heatmap_point_interval", 1, 10_000, 4, "heat points are accumulated every N analysed frames"),
    shared::OUTPUT_IMAGE_SW.with_default(DefaultValue::Int(0)),
    shared::MOTION_GATING_SW,
];

// --- provisional schemas of the algorithms Vigil does not implement yet ---------------------

const STAFF_KEYS: &[ParamSpec] = &[
    sw("key_region_detection_sw", 1, "1 = key-post (off-duty) detection"),
    secs("key_region_detect_interval", 1, 2, "seconds per check period (a post is short in a period when even its best frame shows too few people)"),
    secs("key_region_detect_threshold", 1, 2, "seconds a post must stay short before the alarm (Vigil's reading of the key)"),
    ParamSpec::int("key_region_person_count", 1, 100, 2, "fewest people a key post must hold (console: minimum people on duty)"),
];

const ABANDON_KEYS: &[ParamSpec] = &[
    ParamSpec::int("detection_min_size", 50, 400, 50, "minimum object size (px, 1080p)"),
    ParamSpec::int("alert_time_threshold", 10, 300, 10, "seconds an object must stay"),
    ParamSpec::int("alert_detection_interval", 1, 150, 5, "seconds within which alarms merge"),
];

const CROWD_KEYS: &[ParamSpec] = &[
    sw("banner_detection_sw", 1, "1 = banner detection"),
    int_text("banner_threshold", 10_000, "2", "banners that raise a level-2 alarm"),
    int_text("alarm_threshold", 100_000, "5", "people per ROI that raise an alarm"),
    secs("sampling_time_interval", 1, 8, "seconds between analyses"),
    sw("density_sw", 1, "1 = density map"),
    sw("visualization_output_sw", 1, "1 = rendered output picture"),
    shared::MOTION_GATING_SW,
];

const SAFETY_SUIT_KEYS: &[ParamSpec] = &[
    sw("hat_detection_sw", 0, "1 = work-helmet detection"),
    sw("cloth_detection_sw", 1, "1 = work-clothes detection"),
];

const SMOKE_FIRE_KEYS: &[ParamSpec] = &[
    sw("fire_detection_sw", 1, "1 = fire detection"),
    sw("smoke_detection_sw", 1, "1 = smoke detection"),
    secs("video_sampling_interval", 1, 1, "seconds between decisions (pixels are analysed at 4 fps for flicker; each decision judges the last 2 s)"),
    secs("alarm_resend_interval", 1, 60, "seconds before fire (or smoke) still present is reported again (Vigil's key)"),
];

const DRAINAGE_KEYS: &[ParamSpec] = &[
    ParamSpec::int("drainage_state_duration", 0, 3600, 3, "seconds a new outlet state (discharging or not) must hold before it is sent (Vigil's key)"),
    ParamSpec::int("drainage_report_interval", 0, DAY_S, 0, "seconds between repeats of the current state; 0 = only changes are sent (Vigil's key)"),
];

// Waterlogging and cyanobacteria: `alert_mode` single/periodic from the spec, the rest Vigil's.
const SURFACE_COVER_KEYS: &[ParamSpec] = &[
    shared::ALERT_MODE,
    shared::ALERT_DETECTION_INTERVAL.with_default(DefaultValue::Int(60)),
    ParamSpec::int("alert_time_threshold", 0, 3600, 10, "seconds a region must persist before it counts (Vigil's key)"),
    ParamSpec::int("min_area_ratio", 1, 100, 1, "smallest region, percent of the ROI area (Vigil's key)"),
];

const SOIL_KEYS: &[ParamSpec] = &[
    ParamSpec::int("alert_time_threshold", 0, 3600, 10, "seconds a bare-soil region must persist before it alarms (Vigil's key)"),
    ParamSpec::int("min_area_ratio", 1, 100, 2, "smallest region, percent of its ROI polygon (whole frame without ROI) (Vigil's key)"),
];

const FLOATING_KEYS: &[ParamSpec] = &[
    ParamSpec::int("alert_time_threshold", 1, 600, 4, "seconds an object must be seen drifting before it alarms (Vigil's key)"),
];

const BICYCLE_KEYS: &[ParamSpec] = &[
    shared::ALERT_MODE,
    // Huawei's SharedBicycle page: detection period [1, 3600] s.
    ParamSpec::int("alert_detection_interval", 1, 3600, 60, "seconds between reports of a bicycle still parked (periodic mode)"),
    secs("illegal_park_alert_threshold", 1, 30, "seconds in an `illegal…` polygon"),
];

const UMBRELLA_KEYS: &[ParamSpec] = &[
    ParamSpec::int("alert_time_threshold", 0, 3600, 3, "seconds an umbrella must stay in an ROI polygon before it alarms; 0 = at once (Vigil's key)"),
];

const WEAR_MASK_KEYS: &[ParamSpec] = &[
    ParamSpec::int("face_min_size", 8, 1080, 24, "smallest face read, longer side of the face box in frame pixels; smaller faces are skipped and counted (Vigil's key)"),
    ParamSpec::int("mask_alert_interval", 0, DAY_S, 60, "seconds before a face still without a mask alarms again; 0 = once per face track (Vigil's key)"),
];

const ATTRIBUTE_KEYS: &[ParamSpec] = &[
    shared::PERSON_DETECTION_SW,
    shared::CAR_DETECTION_SW.with_default(DefaultValue::Int(1)),
    sw("mask_attribute_sw", 1, "1 = detect faces for the people's `mask` attribute (Vigil's key)"),
];

const EVENT_ACTION_KEYS: &[ParamSpec] = &[
    sw("smoking_detection_sw", 1, "1 = smoking alarms"),
    sw("phoning_detection_sw", 0, "1 = phoning alarms"),
];

const POSE_KEYS: &[ParamSpec] = &[
    sw("climb_detection_sw", 1, "1 = climbing alarms"),
    sw("fall_detection_sw", 0, "1 = falling alarms"),
    sw("wave_detection_sw", 0, "1 = waving alarms"),
    sw("bend_detection_sw", 0, "1 = bending alarms"),
];

const LICENSE_PLATE_KEYS: &[ParamSpec] = &[
    plate("local_city", "local city letter of plates, e.g. B"),
    plate("local_province", "local province abbreviation of plates, e.g. 津"),
];

const VEHICLE_KEYS: &[ParamSpec] = &[
    shared::TARGET_ROI,
    shared::IMAGE_COMPRESSION_RATIO.with_default(DefaultValue::Int(100)),
    shared::RENDER_RESULT_SW,
    shared::RENDER_ROI_SW,
    ParamSpec::new("license_plate", ParamKind::Object(LICENSE_PLATE_KEYS), DefaultValue::None, "local plate prefix that helps recognition"),
    shared::OUTPUT_IMAGE_SW,
    ParamSpec::new("output_vehicle_type", ParamKind::IntList { min: 0, max: 9 }, DefaultValue::None, "vehicle-type codes to report; absent = all"),
];

const FIRE_EXIT_KEYS: &[ParamSpec] = &[
    shared::EVENT_DISAPPEAR_ALERT_SW,
    sw("stacking_occupation_sw", 1, "1 = objects blocking the passage"),
    sw("vehicle_occupation_sw", 1, "1 = vehicles blocking the passage"),
    secs("stacking_residence_time", 1, 40, "seconds objects must stay"),
    secs("vehicle_residence_time", 1, 50, "seconds a vehicle must stay"),
    shared::OUTPUT_IMAGE_SW,
];

const ABNORMAL_PARK_KEYS: &[ParamSpec] = &[
    shared::EVENT_DISAPPEAR_ALERT_SW,
    secs("illegal_park_alert_threshold", 1, 60, "seconds a vehicle must stand still in a no-parking polygon (Vigil's key)"),
    shared::OUTPUT_IMAGE_SW,
];

const NON_MOTOR_KEYS: &[ParamSpec] = &[
    shared::EVENT_DISAPPEAR_ALERT_SW,
    sw("illegal_park_detection_sw", 1, "1 = illegal parking alarms"),
    secs("illegal_park_alert_threshold", 1, 30, "seconds parked outside `legal_area`"),
    sw("intrusion_detection_sw", 0, "1 = `prohibit_entering_area` intrusion alarms"),
    sw("electromobile_detect_sw", 1, "1 = detect e-bikes"),
    sw("bicycle_detect_sw", 1, "1 = detect bicycles"),
];

const OVERFLOW_KEYS: &[ParamSpec] = &[secs("alert_time_threshold", 1, 30, "seconds the overflow must last")];

// --- model-bound algorithms: an operator's detector (catalog::model_roles) -------------------

/// `alert_time_threshold` of the model-bound object algorithms (Vigil's key where the spec
/// captured none).
const fn stay_time(default: i64) -> ParamSpec {
    ParamSpec::int("alert_time_threshold", 0, 3600, default, "seconds an object must stay in an ROI polygon (whole frame without ROI) before it alarms; 0 = on first sight (Vigil's key)")
}

const MODEL_STAY_KEYS: &[ParamSpec] = &[stay_time(5)];
/// Dynamic perspective (a moving camera): an object is seen briefly, 1 s confirms it.
const MOBILE_STAY_KEYS: &[ParamSpec] = &[stay_time(1)];
const ROADSIDE_STAY_KEYS: &[ParamSpec] = &[stay_time(10)];

/// Re-alarms of an object still there, and the picture switch.
const REPEAT_KEYS: &[ParamSpec] = &[
    shared::ALERT_MODE,
    shared::ALERT_DETECTION_INTERVAL.with_default(DefaultValue::Int(60)),
    shared::OUTPUT_IMAGE_SW,
];

const GEAR_KEYS: &[ParamSpec] = &[
    ParamSpec::int("alert_time_threshold", 0, 60, 1, "seconds a person must be seen without the gear before the alarm (Vigil's key)"),
    shared::OUTPUT_IMAGE_SW,
];

const HIGHPOINT_CROWD_KEYS: &[ParamSpec] = &[
    ParamSpec::int("grid_x_number", 0, 500, 0, "grid columns, each ⌊W/N⌋ px (the last takes the rest; at most ⌊W/10⌋, checked on the first frame); 0 = polygon-ROI mode"),
    ParamSpec::int("grid_y_number", 0, 500, 0, "grid rows, each ⌊H/N⌋ px (the last takes the rest; at most ⌊H/10⌋); 0 = polygon-ROI mode"),
    ParamSpec::new("alarm_threshold", ParamKind::IntList { min: 1, max: 100_000 }, DefaultValue::Str("50"), "people that raise an alarm, one per ROI polygon in order (missing ones 50); grid mode uses the first for every cell"),
    secs("sampling_time_interval", 1, 5, "seconds between analysed frames, one message each (Vigil's key)"),
    ParamSpec::int("detector_tiles", 0, 4, 3, "detector tiles per side for small people: 0/1 = whole frame only, N = also N×N overlapping tiles (N²+1 inferences) (Vigil's key)"),
];

const ROADSIDE_KEYS: &[ParamSpec] = &[
    shared::EVENT_DISAPPEAR_ALERT_SW,
    sw("roadside_stall_detect_sw", 1, "1 = stalls occupying the road"),
    sw("outstore_stall_detect_sw", 0, "1 = goods displayed outside shops"),
];

const VEHICLE_COUNT_KEYS: &[ParamSpec] = &[
    secs("count_interval", 1, 10, "seconds per count message"),
    shared::OUTPUT_IMAGE_SW,
];

const RETROGRADE_KEYS: &[ParamSpec] = &[
    ParamSpec::int("retrograde_min_distance", 10, 1920, 150, "pixels (1080p reference) a vehicle must move against its lane's ROI line direction before it alarms (Vigil's key)"),
    shared::OUTPUT_IMAGE_SW,
];

const CALIBRATION_KEYS: &[ParamSpec] = &[
    ParamSpec::new("image_points", ParamKind::Points { count: 4 }, DefaultValue::None, "4 points [x, y] on the road in the picture (pixels of the analysed stream), no 3 on one line").required(),
    ParamSpec::new("ground_points_m", ParamKind::Points { count: 4 }, DefaultValue::None, "the same 4 points on the road plane, [X, Y] in metres").required(),
];

const OVERSPEED_KEYS: &[ParamSpec] = &[
    ParamSpec::new("calibration", ParamKind::Object(CALIBRATION_KEYS), DefaultValue::None, "picture-to-road calibration (Vigil's key)").required(),
    ParamSpec::int("speed_limit", 1, 300, 60, "km/h above which a vehicle alarms (Vigil's key)"),
    shared::OUTPUT_IMAGE_SW,
];

// The spec captured no keys for the water gauge: all are Vigil's.
const WATER_RULER_KEYS: &[ParamSpec] = &[
    secs("sampling_time_interval", 1, 10, "seconds between gauge readings (Vigil's key)"),
    ParamSpec::int("number_unit_cm", 1, 10_000, 10, "centimetres of water per unit of the gauge's painted numbers: 10 when the numbers count decimetres (the common E gauge), 100 for metres; the level is reported in metres (Vigil's key)"),
    ParamSpec::int("ocr_min_confidence", 1, 100, 80, "least recognition confidence (percent) of a gauge number (Vigil's key)"),
    ParamSpec::int("max_level_jump_cm", 1, 100_000, 30, "a reading further than this (cm) from the last reported one waits for the next reading to confirm it (Vigil's key)"),
];

/// Spec §5.6, in order.
pub(crate) static ALGORITHMS: &[AlgorithmSpec] = &[
    AlgorithmSpec::new(1, "c-flowcount", "人流量统计", "People flow counting")
        .names("c-flowcount-edge", "c-flowcount-cloud")
        .config("FlowCountServiceConfig", &[
            EventSpec::spec(ev::FLOW_LINE_COUNT, "line-crossing counts"),
            EventSpec::vigil(ev::FLOW_REGION_COUNT, "region head counts"),
            EventSpec::vigil(ev::FLOW_HEATMAP, "heat map"),
        ])
        .with_keys(&[BASE, FLOW_KEYS])
        .implemented(),
    AlgorithmSpec::new(2, "c-intrusiondetection", "入侵检测", "Intrusion detection")
        .names("c-intrusiondetection-edge", "c-intrusiondetection-cloud")
        .config("IntrusionServiceConfig", &[
            EventSpec::spec(ev::INTRUSION, "intrusion (line crossing or area)"),
            EventSpec::spec(ev::LOITERING, "loitering"),
        ])
        .with_keys(&[BASE, INTRUSION_KEYS])
        .with_constraints(&[Constraint::NotGreater { lower: "detection_min_size", upper: "detection_max_size" }])
        .implemented(),
    AlgorithmSpec::new(3, "c-staffonduty", "关键岗位离岗检测", "On-duty inspection for key positions")
        .names("c-staffonduty-edge", "c-staffonduty-cloud")
        .config("StaffOnDutyServiceConfig", &one(ev::OFF_DUTY, "key position off duty"))
        .with_keys(&[BASE, STAFF_KEYS])
        .implemented(),
    AlgorithmSpec::new(4, "c-abandon-detection", "遗留物检测", "Abandoned object detection")
        .names("c-abandon-detection-edge", "c-abandon-detection-cloud")
        .config("AbandonServiceConfig", &one(ev::ABANDONED_OBJECT, "abandoned object"))
        .with_keys(&[BASE, ABANDON_KEYS])
        .implemented(),
    AlgorithmSpec::new(5, "c-crowdcount", "高密度人群统计", "Crowd density")
        .names("c-crowdcount-edge", "c-crowdcount-cloud")
        .config("CrowdCountServiceConfig", &one(ev::CROWD_DENSITY, "crowd density over threshold"))
        .with_keys(&[BASE, CROWD_KEYS])
        .implemented(),
    AlgorithmSpec::new(6, "c-safetysuitedetection", "工服工帽检测", "Work gear and helmet detection")
        .names("c-safetysuitedetection-edge", "c-safetysuitedetection-cloud")
        .config("SafetySuitServiceConfig", &one(ev::WORK_CLOTHES_HELMET, "work clothes / helmet violation"))
        .with_keys(&[BASE, SAFETY_SUIT_KEYS, GEAR_KEYS])
        .implemented(),
    AlgorithmSpec::new(7, "c-smoke-and-fire", "烟火检测", "Smoke and fire detection")
        .names("c-smoke-and-fire-edge", "c-smoke-and-fire-cloud")
        .config("SmokeAndFireServiceConfig", &one(ev::SMOKE_AND_FIRE, "smoke or fire"))
        .with_keys(&[BASE, SMOKE_FIRE_KEYS])
        .implemented(),
    AlgorithmSpec::new(8, "c-fightdetect", "打架检测", "Fight detection")
        .names("c-fightdetect-edge", "c-fightdetect-cloud")
        .config("FightDetectServiceConfig", &one(ev::FIGHT, "fight"))
        .with_keys(&[BASE])
        .implemented(),
    AlgorithmSpec::new(9, "c-sharedbicycledetection", "共享单车违停", "Shared bicycle illegal parking")
        .names("c-sharedbicycledetection-edge", "c-sharedbicycledetection-cloud")
        .config("SharedBicycleServiceConfig", &one(ev::SHARED_BICYCLE_PARKING, "shared bicycle parked illegally"))
        .with_keys(&[BASE, BICYCLE_KEYS])
        .implemented(),
    AlgorithmSpec::new(10, "c-event-action-recog", "个体事件行为", "Individual behaviour (smoking, phoning)")
        .names("c-event-action-recog-edge", "c-event-action-recog-cloud")
        .config("EventActionServiceConfig", &[
            EventSpec::spec(ev::SMOKING, "smoking"),
            EventSpec::spec(ev::PHONING, "phoning"),
        ])
        .with_keys(&[BASE, EVENT_ACTION_KEYS])
        .implemented(),
    AlgorithmSpec::new(11, "c-pose-action-recog", "个体动作", "Individual action (climb, fall, wave, bend)")
        .names("c-pose-action-recog-edge", "c-pose-action-recog-cloud")
        .config("PoseActionServiceConfig", &[
            EventSpec::spec(ev::CLIMBING, "climbing"),
            EventSpec::spec(ev::FALLING, "falling"),
            EventSpec::vigil(ev::WAVING, "waving"),
            EventSpec::vigil(ev::BENDING, "bending"),
        ])
        .with_keys(&[BASE, POSE_KEYS])
        .implemented(),
    AlgorithmSpec::new(12, "c-wear-mask-recog", "戴口罩检测", "Mask wearing detection")
        .names("c-wear-mask-recog-edge", "c-wear-mask-recog-cloud")
        .config("WearMaskServiceConfig", &one(ev::NO_MASK, "person without mask"))
        .with_keys(&[BASE, WEAR_MASK_KEYS])
        .implemented(),
    AlgorithmSpec::new(13, "c-traffic-abnormal-park", "异常停车", "Abnormal parking")
        .names("c-traffic-abnormal-park-edge", "c-traffic-abnormal-park-cloud")
        .config("AbnormalParkServiceConfig", &one(ev::ABNORMAL_PARKING, "vehicle parked abnormally"))
        .with_keys(&[BASE, ABNORMAL_PARK_KEYS])
        .implemented(),
    AlgorithmSpec::new(14, "c-vehicle-detection", "视频车辆", "Vehicle detection")
        .names("c-vehicle-detection-edge", "c-vehicle-detection-cloud")
        .config("VehicleServiceConfig", &one(ev::VEHICLE_DETECTION, "vehicle passing an ROI line"))
        .with_keys(&[VEHICLE_KEYS])
        .implemented(),
    AlgorithmSpec::new(15, "c-fire-exit-occupation", "消防通道占用", "Fire passage obstruction")
        .names("c-fire-exit-occupation-edge", "c-fire-exit-occupation-cloud")
        .config("FireExitServiceConfig", &[
            EventSpec::spec(ev::FIRE_PASSAGE_OBJECTS, "passage blocked by objects"),
            EventSpec::spec(ev::FIRE_PASSAGE_VEHICLE, "passage blocked by a vehicle"),
        ])
        .with_keys(&[BASE, FIRE_EXIT_KEYS])
        .implemented(),
    AlgorithmSpec::new(16, "c-non-motor-detection", "非机动车检测", "Non-motorized vehicle detection")
        .names("c-non-motor-detection-edge", "c-non-motor-detection-cloud")
        .config("NonMotorServiceConfig", &[
            EventSpec::spec(ev::NON_MOTOR_PARKING, "non-motor vehicle parked illegally"),
            EventSpec::spec(ev::NON_MOTOR_INTRUSION, "non-motor vehicle in a prohibited area"),
        ])
        .with_keys(&[BASE, NON_MOTOR_KEYS])
        .implemented(),
    AlgorithmSpec::new(17, "c-trash-abnormal-detect", "垃圾桶异常", "Trash-can anomaly")
        .names("c-trash-abnormal-detect-edge", "c-trash-abnormal-detect-cloud")
        .config("TrashAbnormalServiceConfig", &one(ev::TRASH_CAN_ANOMALY, "trash-can anomaly"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(18, "c-urban-trash-overflow", "城市垃圾桶满溢", "Overflowing garbage can")
        .names("c-urban-trash-overflow-edge", "c-urban-trash-overflow-cloud")
        .config("UrbanTrashOverflowServiceConfig", &one(ev::TRASH_CAN_OVERFLOW, "garbage can overflowing"))
        .with_keys(&[BASE, OVERFLOW_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(19, "c-highpoint-crowdcount", "高点人群统计", "Crowd counting at high altitude")
        .names("c-highpoint-crowdcount-edge", "c-highpoint-crowdcount-cloud")
        .config("HighpointCrowdcountServiceConfig", &one(ev::HIGHPOINT_CROWD, "crowd count (high altitude)"))
        .with_keys(&[BASE, HIGHPOINT_CROWD_KEYS])
        .implemented(),
    AlgorithmSpec::new(20, "c-object-attri-recog", "视频目标属性识别", "Target attribute recognition")
        .names("c-object-attri-recog-edge", "c-object-attri-recog-cloud")
        .config("ObjectAttriRecogServiceConfig", &one(ev::TARGET_ATTRIBUTES, "target attributes"))
        .with_keys(&[BASE, ATTRIBUTE_KEYS])
        .implemented(),
    AlgorithmSpec::new(21, "c-helmet-elec-recog", "骑电动车未戴头盔", "E-bike rider without helmet")
        .names("c-helmet-elec-recog-edge", "c-helmet-elec-recog-cloud")
        .config("HelmetElecRecogServiceConfig", &one(ev::EBIKE_NO_HELMET, "e-bike rider without helmet"))
        .with_keys(&[BASE, GEAR_KEYS])
        .implemented(),
    AlgorithmSpec::new(22, "c-urban-umbrella", "城管-违规撑伞", "Umbrella violation")
        .names("c-urban-umbrella-edge", "c-urban-umbrella-cloud")
        .config("UmbrellaServiceConfig", &one(ev::UMBRELLA, "umbrella violation"))
        .with_keys(&[BASE, UMBRELLA_KEYS])
        .implemented(),
    AlgorithmSpec::new(23, "c-urban-sign-detect", "城管-违规广告牌", "Advertisement or sign violation")
        .names("c-urban-sign-detect-edge", "c-urban-sign-detect-cloud")
        .config("SignDetectServiceConfig", &one(ev::ILLEGAL_SIGN, "illegal advertisement or sign"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(24, "c-urban-stacking", "城管-乱堆物料", "Messy piles")
        .names("c-urban-stacking-edge", "c-urban-stacking-cloud")
        .config("StackingServiceConfig", &one(ev::MESSY_PILES, "messy piles"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(25, "c-urban-drying", "城管-违规晾晒", "Clothes airing")
        .names("c-urban-drying-edge", "c-urban-drying-cloud")
        .config("DryingServiceConfig", &one(ev::CLOTHES_AIRING, "clothes airing"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(26, "c-urban-dregs", "城管-渣土遗撒", "Littering construction waste")
        .names("c-urban-dregs-edge", "c-urban-dregs-cloud")
        .config("DregsServiceConfig", &one(ev::CONSTRUCTION_WASTE, "construction-waste littering"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(27, "c-urban-manholecover-miss", "城管-井盖缺失", "Missing manhole cover")
        .names("c-urban-manholecover-miss-edge", "c-urban-manholecover-miss-cloud")
        .config("ManholecoverMissServiceConfig", &one(ev::MANHOLE_COVER_MISSING, "missing manhole cover"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(28, "c-mobile-manholecover", "动态视角井盖缺失", "Missing manhole cover, dynamic perspective")
        .names("c-mobile-manholecover-edge", "c-mobile-manholecover-cloud")
        .config("MobileManholecoverMissServiceConfig",
            &one(ev::MOBILE_MANHOLE_COVER_MISSING, "missing manhole cover (dynamic perspective)"))
        .with_keys(&[BASE, MOBILE_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(29, "c-urban-trash-detect", "城管-垃圾检测", "Urban trash")
        .names("c-urban-trash-detect-edge", "c-urban-trash-detect-cloud")
        .config("TrashDetectServiceConfig", &one(ev::URBAN_TRASH, "urban trash"))
        .with_keys(&[BASE, MODEL_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(30, "c-mobile-trash-detect", "动态视角垃圾", "Urban mobile trash, dynamic perspective")
        .names("c-mobile-trash-detect-edge", "c-mobile-trash-detect-cloud")
        .config("MobileTrashServiceConfig", &one(ev::MOBILE_TRASH, "trash (dynamic perspective)"))
        .with_keys(&[BASE, MOBILE_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(31, "c-urban-roadside-stall", "城管-占道经营", "Roadside stall")
        .edge_only("c-urban-roadside-stall-edge")
        .config("RoadsideServiceConfig", &[
            EventSpec::spec(ev::ROADSIDE_STALL, "roadside stall"),
            EventSpec::spec(ev::OUT_OF_STORE_STALL, "out-of-store business"),
        ])
        .with_keys(&[BASE, ROADSIDE_KEYS, ROADSIDE_STAY_KEYS, REPEAT_KEYS])
        .implemented(),
    AlgorithmSpec::new(32, "c-urban-soil-exposure", "城管-裸土暴露", "Exposed bare soil")
        .names("c-urban-soil-exposure-edge", "c-urban-soil-exposure-cloud")
        .config("SoilExposureServiceConfig", &one(ev::BARE_SOIL, "exposed bare soil"))
        .with_keys(&[BASE, SOIL_KEYS])
        .implemented(),
    AlgorithmSpec::new(33, "c-retrograde-detection", "逆行检测", "Wrong-way driving")
        .edge_only("c-retrograde-detection-edge")
        .config("RetrogradeServiceConfig", &one(ev::WRONG_WAY, "wrong-way driving"))
        .with_keys(&[BASE, RETROGRADE_KEYS])
        .implemented(),
    AlgorithmSpec::new(34, "c-highpoint-overspeed", "高点超速", "Speeding at high altitude")
        .edge_only("c-highpoint-overspeed-edge")
        .config("HighpointOverspeedServiceConfig", &one(ev::HIGHPOINT_SPEEDING, "speeding (high altitude)"))
        .with_keys(&[BASE, OVERSPEED_KEYS])
        .implemented(),
    AlgorithmSpec::new(35, "c-vehicle-statistics", "高点车辆统计", "Vehicle counting at high altitude")
        .edge_only("c-vehicle-statistics-edge")
        .config("VehicleStatisticsServiceConfig", &one(ev::HIGHPOINT_VEHICLE_COUNT, "vehicle count (high altitude)"))
        .with_keys(&[BASE, VEHICLE_COUNT_KEYS])
        .implemented(),
    AlgorithmSpec::new(36, "ship-intrusion", "船只入侵", "Vessel intrusion")
        .names("ship-intrusion-edge", "ship-intrusion-cloud")
        .config("ShipIntrusionServiceConfig", &one(ev::VESSEL_INTRUSION, "vessel intrusion"))
        .with_keys(&[BASE])
        .implemented(),
    AlgorithmSpec::new(37, "floating", "漂浮物检测", "Floating debris")
        .names("floating-edge", "floating-cloud")
        .config("FloatingServiceConfig", &one(ev::FLOATING_DEBRIS, "floating debris"))
        .with_keys(&[BASE, FLOATING_KEYS])
        .implemented(),
    AlgorithmSpec::new(38, "drainage-recognition", "排口排水识别", "Drainage outlet monitoring")
        .names("drainage-recognition-edge", "drainage-recognition-cloud")
        .config("DrainageServiceConfig", &one(ev::DRAINAGE, "drainage outlet state"))
        .with_keys(&[BASE, DRAINAGE_KEYS])
        .implemented(),
    AlgorithmSpec::new(39, "cali-water-ruler-river", "河道标定水尺识别", "River water-level gauge reading")
        .names("cali-water-ruler-river-edge", "cali-water-ruler-river-cloud")
        .config("WaterRulerServiceConfig", &one(ev::WATER_GAUGE, "water-level gauge reading"))
        .with_keys(&[BASE, WATER_RULER_KEYS])
        .implemented(),
    AlgorithmSpec::new(40, "w-ponding-detection", "积水检测", "Waterlogging")
        .names("w-ponding-detection-edge", "w-ponding-detection-cloud")
        .config("PondingServiceConfig", &one(ev::WATERLOGGING, "waterlogging"))
        .with_keys(&[BASE, SURFACE_COVER_KEYS])
        .implemented(),
    // No creation API was found (spec §8 gap 2): the id, service names and config object name
    // are Vigil's extension (urban-management style `c-` prefix).
    AlgorithmSpec::new(41, "c-cyanobacteria", "蓝藻识别", "Cyanobacteria identification")
        .names("c-cyanobacteria-edge", "c-cyanobacteria-cloud")
        .config("CyanobacteriaServiceConfig", &one(ev::CYANOBACTERIA, "cyanobacteria"))
        .with_keys(&[BASE, SURFACE_COVER_KEYS])
        .implemented(),
];
