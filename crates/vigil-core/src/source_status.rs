//! Video source status (spec §2.1): numeric level 1 online, 2 offline, 9 abnormal.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    Online,
    Offline,
    Abnormal,
}

impl SourceStatus {
    pub fn level(self) -> i64 {
        match self {
            SourceStatus::Online => 1,
            SourceStatus::Offline => 2,
            SourceStatus::Abnormal => 9,
        }
    }

    pub fn from_level(level: i64) -> Option<Self> {
        match level {
            1 => Some(SourceStatus::Online),
            2 => Some(SourceStatus::Offline),
            9 => Some(SourceStatus::Abnormal),
            _ => None,
        }
    }

    /// Machine state as it appears in `status.status`.
    pub fn state(self) -> &'static str {
        match self {
            SourceStatus::Online => "Online",
            SourceStatus::Offline => "Offline",
            SourceStatus::Abnormal => "Abnormal",
        }
    }

    /// Localised display name (`status.name`), as the Huawei console shows it.
    pub fn display_name(self) -> &'static str {
        match self {
            SourceStatus::Online => "在线",
            SourceStatus::Offline => "离线",
            SourceStatus::Abnormal => "异常",
        }
    }
}
