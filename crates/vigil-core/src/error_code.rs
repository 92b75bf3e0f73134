//! The VIAS / IVA error codes of spec §7, with their HTTP status and exact English message.

/// One documented error code. The API layer turns it into the wire body exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParams,
    ObjectNotFound,
    ObjectExists,
    ObjectOrParamInvalid,
    AuthorizationFailed,
    Internal,
    TaskNotFound,
    IdNotFound,
    ServiceAccessFailed,
    DuplicateSourceName,
    DuplicateTaskName,
    OperationNotAllowed,
    AccountRestricted,
    ObsObjectNotFound,
    IvmNotEnabled,
    SourceQuotaReached,
    TaskQuotaReached,
    PoolQuotaReached,
    UniqueConstraint,
    /// Legacy `IVA.0012`, used for quotas that VIAS documents no code for (video groups).
    ExceedMaxQuota,
    /// Legacy `IVA.0009` "This operation is forbidden." — a credential not scoped to the project.
    Forbidden,
    /// Huawei API gateway throttling (`APIG.0308`), answered with 429.
    Throttled,
    /// Request body larger than the configured limit.
    BodyTooLarge,
}

impl ErrorCode {
    pub fn code(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidParams => "VIAS.00010001",
            ObjectNotFound => "VIAS.00010002",
            ObjectExists => "VIAS.00010003",
            ObjectOrParamInvalid => "VIAS.00010004",
            AuthorizationFailed => "VIAS.00010005",
            Internal => "VIAS.00010006",
            TaskNotFound => "VIAS.00010007",
            IdNotFound => "VIAS.00010008",
            ServiceAccessFailed => "VIAS.00010009",
            DuplicateSourceName => "VIAS.00010010",
            DuplicateTaskName => "VIAS.00010011",
            OperationNotAllowed => "VIAS.00010012",
            AccountRestricted => "VIAS.00010021",
            ObsObjectNotFound => "VIAS.0010045",
            IvmNotEnabled => "VIAS.0010046",
            SourceQuotaReached => "VIAS.0010047",
            TaskQuotaReached => "VIAS.0010048",
            PoolQuotaReached => "VIAS.00010050",
            UniqueConstraint => "VIAS.00010051",
            ExceedMaxQuota => "IVA.0012",
            Forbidden => "IVA.0009",
            Throttled => "APIG.0308",
            BodyTooLarge => "VIAS.00010001",
        }
    }

    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            AuthorizationFailed | AccountRestricted => 401,
            Forbidden => 403,
            BodyTooLarge => 413,
            Throttled => 429,
            Internal | ServiceAccessFailed | OperationNotAllowed => 500,
            _ => 400,
        }
    }

    /// The legacy VAS (`IVA.`) code, HTTP status and message used on legacy routes (shape C).
    pub fn legacy(self) -> (&'static str, u16, &'static str) {
        use ErrorCode::*;
        match self {
            AuthorizationFailed | AccountRestricted => ("IVA.0001", 401, "The authentication token is abnormal."),
            ObjectNotFound | TaskNotFound | IdNotFound | ObsObjectNotFound => {
                ("IVA.0005", 404, "The requested resource is NOT found.")
            }
            Forbidden | OperationNotAllowed | IvmNotEnabled => ("IVA.0009", 403, "This operation is forbidden."),
            SourceQuotaReached | TaskQuotaReached | PoolQuotaReached | ExceedMaxQuota => {
                ("IVA.0012", 400, "Exceed max quota.")
            }
            Internal | ServiceAccessFailed => ("IVA.0006", 500, "Internal server error."),
            Throttled => ("APIG.0308", 429, "The throttling threshold has been reached."),
            _ => ("IVA.0004", 400, "The request param is invalid."),
        }
    }

    pub fn message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidParams | BodyTooLarge => "The parameters are invalid.",
            ObjectNotFound => "The object does not exist.",
            ObjectExists => "The object already exists.",
            ObjectOrParamInvalid => "The object or parameter is invalid.",
            AuthorizationFailed => "Authorization failed.",
            Internal => "An internal error occurs.",
            TaskNotFound => "No task is found based on the task ID.",
            IdNotFound => "No task is found based on the ID.",
            ServiceAccessFailed => "The serviced failed to be accessed.",
            DuplicateSourceName => "There is a video source with the same name.",
            DuplicateTaskName => "There is a job with the same name.",
            OperationNotAllowed => "This operation is not allowed.",
            AccountRestricted => "The account is restricted, frozen, or in arrears.",
            ObsObjectNotFound => "The OBS object does not exist.",
            IvmNotEnabled => "IVM has not been enabled.",
            SourceQuotaReached => "The maximum number of video sources has been reached.",
            TaskQuotaReached => "The maximum number of tasks has been reached.",
            PoolQuotaReached => "Pool quota exceeds the upper limit.",
            UniqueConstraint => "do not match unique constraint.",
            ExceedMaxQuota => "Exceed max quota.",
            Forbidden => "This operation is forbidden.",
            Throttled => "The throttling threshold has been reached.",
        }
    }
}
