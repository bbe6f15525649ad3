//! The application state machine (DESIGN.md "The flow"):
//! `draft → submitted → checking → {approved | in_review | rejected}`,
//! `in_review → {approved | rejected | info_requested}`,
//! `info_requested → submitted`, and from any non-final state `withdrawn`
//! (by the applicant) or `expired` (by policy). Anything else is refused.

use std::fmt;
use std::str::FromStr;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    /// Being filled in by the applicant.
    Draft,
    /// Handed in; checks not yet started.
    Submitted,
    /// KYC checks running.
    Checking,
    /// Waiting for a compliance officer.
    InReview,
    /// Sent back to the applicant for more information.
    InfoRequested,
    /// Approved (final).
    Approved,
    /// Rejected (final).
    Rejected,
    /// Withdrawn by the applicant (final).
    Withdrawn,
    /// Expired by policy (final).
    Expired,
}

/// What moves an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The applicant submits (from draft or after info was requested).
    Submit,
    /// Checks start.
    StartChecks,
    /// The policy approves automatically, or an officer approves.
    Approve,
    /// The policy or an officer rejects.
    Reject,
    /// The policy sends the case to the exceptions queue.
    Refer,
    /// An officer asks the applicant for more.
    RequestInfo,
    /// The applicant withdraws.
    Withdraw,
    /// The policy expires a stale application.
    Expire,
}

impl Transition {
    /// For messages: "cannot be submitted".
    pub fn past_participle(self) -> &'static str {
        match self {
            Self::Submit => "submitted",
            Self::StartChecks => "checked",
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Refer => "referred to review",
            Self::RequestInfo => "sent back for information",
            Self::Withdraw => "withdrawn",
            Self::Expire => "expired",
        }
    }
}

/// A transition that the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an application that is {from} cannot be {}", transition.past_participle())]
pub struct IllegalTransition {
    /// The current state.
    pub from: ApplicationState,
    /// What was attempted.
    pub transition: Transition,
}

impl ApplicationState {
    /// Approved, rejected, withdrawn and expired never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Rejected | Self::Withdrawn | Self::Expired
        )
    }

    /// The state after `transition`, or why it is not allowed.
    pub fn apply(self, transition: Transition) -> Result<Self, IllegalTransition> {
        use ApplicationState as S;
        use Transition as T;
        let next = match (self, transition) {
            (S::Draft | S::InfoRequested, T::Submit) => S::Submitted,
            (S::Submitted, T::StartChecks) => S::Checking,
            (S::Checking | S::InReview, T::Approve) => S::Approved,
            (S::Checking | S::InReview, T::Reject) => S::Rejected,
            (S::Checking, T::Refer) => S::InReview,
            (S::InReview, T::RequestInfo) => S::InfoRequested,
            (s, T::Withdraw) if !s.is_final() => S::Withdrawn,
            (s, T::Expire) if !s.is_final() => S::Expired,
            (from, transition) => return Err(IllegalTransition { from, transition }),
        };
        Ok(next)
    }

    /// The applicant may add documents: while filling in, or when asked for more.
    pub fn accepts_documents(self) -> bool {
        matches!(self, Self::Draft | Self::InfoRequested)
    }

    /// The name used in the API, the database and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Checking => "checking",
            Self::InReview => "in_review",
            Self::InfoRequested => "info_requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for ApplicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApplicationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown application state `{s}`"))
    }
}

/// Every state, for exhaustive tests and parsing.
pub const ALL: [ApplicationState; 9] = [
    ApplicationState::Draft,
    ApplicationState::Submitted,
    ApplicationState::Checking,
    ApplicationState::InReview,
    ApplicationState::InfoRequested,
    ApplicationState::Approved,
    ApplicationState::Rejected,
    ApplicationState::Withdrawn,
    ApplicationState::Expired,
];

#[cfg(test)]
mod tests {
    use super::ApplicationState as S;
    use super::Transition as T;
    use super::*;

    const TRANSITIONS: [Transition; 8] = [
        T::Submit,
        T::StartChecks,
        T::Approve,
        T::Reject,
        T::Refer,
        T::RequestInfo,
        T::Withdraw,
        T::Expire,
    ];

    #[test]
    fn exactly_the_designed_edges_exist() {
        let allowed = [
            (S::Draft, T::Submit, S::Submitted),
            (S::InfoRequested, T::Submit, S::Submitted),
            (S::Submitted, T::StartChecks, S::Checking),
            (S::Checking, T::Approve, S::Approved),
            (S::Checking, T::Reject, S::Rejected),
            (S::Checking, T::Refer, S::InReview),
            (S::InReview, T::Approve, S::Approved),
            (S::InReview, T::Reject, S::Rejected),
            (S::InReview, T::RequestInfo, S::InfoRequested),
        ];
        for from in ALL {
            for t in TRANSITIONS {
                let expected = allowed
                    .iter()
                    .find(|(f, tr, _)| *f == from && *tr == t)
                    .map(|(_, _, to)| *to)
                    .or(match t {
                        T::Withdraw if !from.is_final() => Some(S::Withdrawn),
                        T::Expire if !from.is_final() => Some(S::Expired),
                        _ => None,
                    });
                assert_eq!(from.apply(t).ok(), expected, "{from} {t:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), s);
        }
        assert!("approvedd".parse::<S>().is_err());
    }
}
