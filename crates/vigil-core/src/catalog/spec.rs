//! The catalogue of the 41 built-in VIAS algorithms (spec §5.6) as data.
//!
//! One [`AlgorithmSpec`] per algorithm: titles, edge and cloud `service_name`, config object
//! name, alarm event types and the `config.common` key schema. The data itself is in
//! `table.rs`; where the spec is silent its values are Vigil's decisions, listed in
//! `docs/algorithms.md`.

use crate::catalog::event_type::EventSpec;
use crate::catalog::schema::shared::BASE;
use crate::catalog::schema::ParamSpec;
use crate::catalog::table::ALGORITHMS;

/// Where a task's analysis runs, taken from the `-edge` / `-cloud` suffix of its service name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    Edge,
    Cloud,
}

impl Placement {
    /// `Edge` for `…-edge`, `Cloud` for `…-cloud`, otherwise `None`.
    pub fn from_service_name(service_name: &str) -> Option<Self> {
        if service_name.ends_with("-edge") {
            Some(Placement::Edge)
        } else if service_name.ends_with("-cloud") {
            Some(Placement::Cloud)
        } else {
            None
        }
    }

    /// `"edge"` or `"cloud"` (ShowTaskInfo `type`, video source `access_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Edge => "edge",
            Placement::Cloud => "cloud",
        }
    }

    /// ListTasks `TaskInfo.type`: `"0"` cloud task, `"1"` edge task.
    pub fn task_type_code(self) -> &'static str {
        match self {
            Placement::Edge => "1",
            Placement::Cloud => "0",
        }
    }
}

/// A cross-key rule checked after defaults are filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// The integer `lower` must not exceed the integer `upper` (when both are set).
    NotGreater { lower: &'static str, upper: &'static str },
}

/// One built-in algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmSpec {
    /// Row number in spec §5.6 (1–41).
    pub number: u8,
    /// Service-name stem without `-edge`/`-cloud`, e.g. `c-flowcount`; stable key for analyzers.
    pub id: &'static str,
    /// Chinese display title (`title` in task listings and the ListTasks filter).
    pub title: &'static str,
    pub title_en: &'static str,
    pub edge_service_name: Option<&'static str>,
    pub cloud_service_name: Option<&'static str>,
    /// Documented `XxxServiceConfig` object name.
    pub config_object: Option<&'static str>,
    /// Alarm event types this algorithm emits.
    pub events: &'static [EventSpec],
    /// `config.common` keys, in groups (shared keys first); see [`AlgorithmSpec::keys`].
    pub key_groups: &'static [&'static [ParamSpec]],
    pub constraints: &'static [Constraint],
    /// Vigil has an analyzer for it.
    pub implemented: bool,
}

impl AlgorithmSpec {
    pub(crate) const fn new(number: u8, id: &'static str, title: &'static str, en: &'static str) -> Self {
        Self {
            number,
            id,
            title,
            title_en: en,
            edge_service_name: None,
            cloud_service_name: None,
            config_object: None,
            events: &[],
            key_groups: &[BASE],
            constraints: &[],
            implemented: false,
        }
    }

    pub(crate) const fn names(mut self, edge: &'static str, cloud: &'static str) -> Self {
        self.edge_service_name = Some(edge);
        self.cloud_service_name = Some(cloud);
        self
    }

    pub(crate) const fn edge_only(mut self, edge: &'static str) -> Self {
        self.edge_service_name = Some(edge);
        self
    }

    pub(crate) const fn config(mut self, object: &'static str, events: &'static [EventSpec]) -> Self {
        self.config_object = Some(object);
        self.events = events;
        self
    }

    pub(crate) const fn with_keys(mut self, groups: &'static [&'static [ParamSpec]]) -> Self {
        self.key_groups = groups;
        self
    }

    pub(crate) const fn with_constraints(mut self, constraints: &'static [Constraint]) -> Self {
        self.constraints = constraints;
        self
    }

    pub(crate) const fn implemented(mut self) -> Self {
        self.implemented = true;
        self
    }

    /// The algorithm's stable `alg_id` (also the tasks' `algorithm_publish_id`).
    pub fn alg_id(&self) -> String {
        crate::ids::stable_uuid(&format!("vigil-algorithm:{}", self.id))
    }

    /// The stable `service_id` of the algorithm's service in the Algorithm Center.
    pub fn service_id(&self) -> String {
        crate::ids::stable_uuid(&format!("vigil-service:{}", self.id))
    }

    /// Every `config.common` key this algorithm accepts, shared keys first.
    pub fn keys(&self) -> impl Iterator<Item = &'static ParamSpec> {
        self.key_groups.iter().flat_map(|group| group.iter())
    }

    /// The schema of one key.
    pub fn param(&self, key: &str) -> Option<&'static ParamSpec> {
        self.keys().find(|p| p.key == key)
    }

    /// Unknown `config.common` keys are refused for algorithms whose schema Vigil owns (the
    /// implemented ones). For the others the spec's key list is incomplete, so unknown keys are
    /// kept and echoed rather than refusing configurations Huawei would accept.
    pub fn refuses_unknown_keys(&self) -> bool {
        self.implemented
    }

    /// Service name for a placement, if the algorithm has that variant.
    pub fn service_name(&self, placement: Placement) -> Option<&'static str> {
        match placement {
            Placement::Edge => self.edge_service_name,
            Placement::Cloud => self.cloud_service_name,
        }
    }

    /// The event type with this code, if the algorithm emits it.
    pub fn event(&self, code: u64) -> Option<&'static EventSpec> {
        self.events.iter().find(|e| e.code == code)
    }
}

/// The built-in algorithm catalogue. All lookups are associated functions over static data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalog;

impl Catalog {
    /// All 41 algorithms in spec order.
    pub fn all() -> &'static [AlgorithmSpec] {
        ALGORITHMS
    }

    /// Iterates over all algorithms in spec order.
    pub fn iter() -> std::slice::Iter<'static, AlgorithmSpec> {
        ALGORITHMS.iter()
    }

    /// The algorithms Vigil has an analyzer for.
    pub fn implemented() -> impl Iterator<Item = &'static AlgorithmSpec> {
        ALGORITHMS.iter().filter(|a| a.implemented)
    }

    /// The algorithm and placement of an exact service name, e.g. `c-flowcount-edge`.
    pub fn by_service_name(service_name: &str) -> Option<(&'static AlgorithmSpec, Placement)> {
        let placement = Placement::from_service_name(service_name)?;
        ALGORITHMS
            .iter()
            .find(|a| a.service_name(placement) == Some(service_name))
            .map(|a| (a, placement))
    }

    /// The algorithm with this Chinese display title (exact) or English title (ASCII
    /// case-insensitive).
    pub fn by_title(title: &str) -> Option<&'static AlgorithmSpec> {
        ALGORITHMS
            .iter()
            .find(|a| a.title == title || a.title_en.eq_ignore_ascii_case(title))
    }

    /// The algorithm with this service-name stem, e.g. `c-intrusiondetection`.
    pub fn by_id(id: &str) -> Option<&'static AlgorithmSpec> {
        ALGORITHMS.iter().find(|a| a.id == id)
    }

    /// The algorithm with this spec §5.6 row number.
    pub fn by_number(number: u8) -> Option<&'static AlgorithmSpec> {
        ALGORITHMS.iter().find(|a| a.number == number)
    }

    /// The algorithm that emits an alarm `event_type`, and the event's description.
    pub fn event_type(code: u64) -> Option<(&'static AlgorithmSpec, &'static EventSpec)> {
        ALGORITHMS.iter().find_map(|a| a.event(code).map(|e| (a, e)))
    }
}
