//! Task states (spec §3.1) and the transitions the API allows.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    Pending,
    Recovering,
    Starting,
    Upgrading,
    CreateFailed,
    StartFailed,
    Running,
    Stopping,
    Stopped,
    Abnormal,
    Succeeded,
    Failed,
    Deleting,
    Freezing,
    Frozen,
}

impl TaskState {
    pub const ALL: [TaskState; 15] = [
        TaskState::Pending,
        TaskState::Recovering,
        TaskState::Starting,
        TaskState::Upgrading,
        TaskState::CreateFailed,
        TaskState::StartFailed,
        TaskState::Running,
        TaskState::Stopping,
        TaskState::Stopped,
        TaskState::Abnormal,
        TaskState::Succeeded,
        TaskState::Failed,
        TaskState::Deleting,
        TaskState::Freezing,
        TaskState::Frozen,
    ];

    pub fn as_str(self) -> &'static str {
        use TaskState::*;
        match self {
            Pending => "PENDING",
            Recovering => "RECOVERING",
            Starting => "STARTING",
            Upgrading => "UPGRADING",
            CreateFailed => "CREATE_FAILED",
            StartFailed => "START_FAILED",
            Running => "RUNNING",
            Stopping => "STOPPING",
            Stopped => "STOPPED",
            Abnormal => "ABNORMAL",
            Succeeded => "SUCCEEDED",
            Failed => "FAILED",
            Deleting => "DELETING",
            Freezing => "FREEZING",
            Frozen => "FROZEN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// `start` is allowed from a state where nothing runs.
    pub fn can_start(self) -> bool {
        use TaskState::*;
        matches!(
            self,
            Stopped | StartFailed | Abnormal | Succeeded | Failed | CreateFailed
        )
    }

    /// `stop` is allowed while the task is (about to be) running.
    pub fn can_stop(self) -> bool {
        use TaskState::*;
        matches!(self, Pending | Starting | Running | Abnormal | Recovering)
    }

    /// States in which a worker should be running the task's pipeline.
    pub fn wants_pipeline(self) -> bool {
        use TaskState::*;
        matches!(self, Pending | Starting | Running | Abnormal | Recovering)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_transitions() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
            assert_eq!(TaskState::parse(&s.as_str().to_lowercase()), Some(s));
        }
        assert!(TaskState::Stopped.can_start());
        assert!(!TaskState::Running.can_start());
        assert!(TaskState::Running.can_stop());
        assert!(!TaskState::Stopped.can_stop());
        assert_eq!(TaskState::parse("SCHEDULING"), None);
    }
}
