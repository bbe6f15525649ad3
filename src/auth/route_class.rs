//! Route classes: the groups of routes that share a token policy (bearer tokens
//! allowed or not, `acr`/`auth_time` requirements) and rate limits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which kind of caller a route serves. Each route declares its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteClass {
    /// The customer's own routes, called by the bank's apps.
    Applicant,
    /// Compliance staff: officers, senior officers, admins.
    Staff,
    /// Bank back-ends (machine clients).
    Service,
    /// Auditors: read-only access and audit export.
    Audit,
}

impl RouteClass {
    /// Every class, in a fixed order.
    pub const ALL: [RouteClass; 4] = [Self::Applicant, Self::Staff, Self::Service, Self::Audit];

    /// The name used in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Staff => "staff",
            Self::Service => "service",
            Self::Audit => "audit",
        }
    }

    /// Whether staff authentication rules (`acr`, `auth_time`) apply.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Staff | Self::Audit)
    }
}

/// Actions with their own, tighter limits on top of the route class's
/// (issue 4: creating applications, uploads, staff actions, audit export).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateAction {
    /// Opening an application.
    CreateApplication,
    /// Uploading a document.
    Upload,
    /// A staff decision or other staff change.
    StaffAction,
    /// Exporting the audit log.
    AuditExport,
}

impl RateAction {
    /// The name used in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateApplication => "create_application",
            Self::Upload => "upload",
            Self::StaffAction => "staff_action",
            Self::AuditExport => "audit_export",
        }
    }
}

impl fmt::Display for RouteClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
