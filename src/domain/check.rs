//! KYC checks as the domain sees them: which kinds exist and how one ends.
//! A check's outcome never approves on its own: `consider`, `fail` and
//! `error` all go to review (DESIGN.md "KYC checks and providers"); only the
//! decision step, by policy, turns results into approve, review or reject.

use std::fmt;

/// The kinds of check a policy can require for a product.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The identity document's machine readable zone (ICAO 9303): check
    /// digits, and the declared identity against it. Built in.
    Mrz,
    /// Sanctions and PEP screening of the declared name. Built in.
    Sanctions,
    /// Authenticity of the identity document (security features, tampering,
    /// data consistency), by a document vendor.
    Document,
    /// Selfie liveness and face match against the document photo, by a
    /// vendor.
    Liveness,
}

impl CheckKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 4] = [Self::Mrz, Self::Sanctions, Self::Document, Self::Liveness];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mrz => "mrz",
            Self::Sanctions => "sanctions",
            Self::Document => "document",
            Self::Liveness => "liveness",
        }
    }

    /// Parses a stable name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Whether a vendor does the check (document images and faces leave
    /// the gateway), rather than the gateway itself.
    pub fn by_vendor(self) -> bool {
        matches!(self, Self::Document | Self::Liveness)
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a check stands; every state but `pending` is final.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Queued or running.
    Pending,
    /// Nothing found.
    Clear,
    /// Something a person must look at (a potential match, a mismatch).
    Consider,
    /// The check failed on the evidence (for example a forged document).
    Fail,
    /// The check could not be done (provider error, timeout, no input).
    Error,
}

impl CheckState {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Clear => "clear",
            Self::Consider => "consider",
            Self::Fail => "fail",
            Self::Error => "error",
        }
    }

    /// Parses a stable name.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Clear,
            Self::Consider,
            Self::Fail,
            Self::Error,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Whether the check has ended.
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in CheckKind::ALL {
            assert_eq!(CheckKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(CheckKind::parse("liveness"), Some(CheckKind::Liveness));
        assert_eq!(CheckKind::parse("selfie"), None);
        assert!(CheckKind::Document.by_vendor() && CheckKind::Liveness.by_vendor());
        assert!(!CheckKind::Mrz.by_vendor() && !CheckKind::Sanctions.by_vendor());
        for s in ["pending", "clear", "consider", "fail", "error"] {
            assert_eq!(CheckState::parse(s).map(CheckState::as_str), Some(s));
        }
        assert!(!CheckState::Pending.is_final() && CheckState::Error.is_final());
    }
}
