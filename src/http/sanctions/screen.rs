//! `POST /v1/screenings`: ad-hoc screening of a name by an officer.

use actix_web::web::{self, Json};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    EffectView, EntityTypeView, EvidenceFieldView, ListVersionView, NameKindView, PairMethodView,
};
use crate::auth::{RateAction, Role};
use crate::checks::sanctions::matcher::{Match, Query};
use crate::checks::sanctions::model::PartialDate;
use crate::domain::country::CountryCode;
use crate::domain::text;
use crate::http::applications::caller;
use crate::http::auth::{Authenticator, Principal};
use crate::http::errors::{ApiError, ErrorCode, FieldError};
use crate::startup::AppState;

/// Longest name accepted, in characters (list entries for organisations run long;
/// the bound keeps the cost of one screening small).
pub const MAX_NAME_CHARS: usize = 300;

/// Who may screen ad hoc.
const SCREENERS: &[Role] = &[Role::Officer, Role::SeniorOfficer];

/// A name to screen, with what is known about the party.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRequest {
    /// The name as written, in any script, 1 to 300 characters.
    #[schema(example = "Dmitry Khoroshev")]
    pub name: String,
    /// Date of birth: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`. Raises or lowers the score
    /// where the list entry has one.
    #[schema(example = "1992-04-17")]
    pub date_of_birth: Option<String>,
    /// Nationality, ISO 3166-1 alpha-2 (upper case). Raises or lowers the score
    /// where the list entry has one.
    #[schema(example = "RU")]
    pub nationality: Option<String>,
    /// What the party is; unset, a legal form in the name (LLC, GmbH…) makes it an
    /// entity. Persons never match companies on a name alone.
    pub entity_type: Option<EntityTypeView>,
}

/// One query token paired with one listed token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairView {
    /// Query token (normalized; two re-joined tokens are shown joined).
    pub query: String,
    /// Listed token.
    pub listed: String,
    /// Similarity, 0 to 1.
    pub score: f32,
    /// How it was computed.
    pub method: PairMethodView,
}

/// A field that corroborates or contradicts a match.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    /// The field.
    pub field: EvidenceFieldView,
    /// Its effect.
    pub effect: EffectView,
    /// The value screened.
    pub query_value: String,
    /// The listed values compared with it.
    pub listed_value: String,
    /// Added to the name score (negative when contradicting).
    pub adjustment: f32,
}

/// A potential match for review, with its full explanation. Never a rejection.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    /// The list version the entry is in.
    pub list: ListVersionView,
    /// The entry's id in that list (OFAC `ent_num`, UN reference number).
    pub entry_id: String,
    /// What the entry designates.
    pub entity_type: EntityTypeView,
    /// The entry's primary name.
    pub primary_name: String,
    /// The entry's name that matched best.
    pub matched_name: String,
    /// Which kind of name that is.
    pub matched_name_kind: NameKindView,
    /// Similarity of the names, 0 to 1, before evidence.
    pub name_score: f32,
    /// The token pairing behind `name_score`, best first.
    pub token_pairs: Vec<TokenPairView>,
    /// Query tokens left unpaired.
    pub unmatched_query_tokens: Vec<String>,
    /// Listed tokens left unpaired.
    pub unmatched_listed_tokens: Vec<String>,
    /// Corroborating and contradicting fields.
    pub evidence: Vec<EvidenceView>,
    /// Final score: `name_score` plus the evidence adjustments, 0 to 1.
    pub score: f32,
    /// The review threshold it reached.
    pub threshold: f32,
}

/// The screening's result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningView {
    /// Every list version screened against.
    pub lists: Vec<ListVersionView>,
    /// Potential matches at or above the threshold, best first; empty when none.
    pub matches: Vec<MatchView>,
    /// The review threshold in force.
    pub threshold: f32,
    /// The audit entry that records this screening.
    pub audit_event_id: String,
}

fn match_view(m: Match, lists: &[ListVersionView]) -> MatchView {
    // Every match comes from a list of the same snapshot, so it is always found.
    let list = lists
        .iter()
        .find(|l| l.name == m.list)
        .cloned()
        .unwrap_or_else(|| ListVersionView {
            name: m.list.clone(),
            published: None,
            entry_count: 0,
            sha256: String::new(),
        });
    MatchView {
        list,
        entry_id: m.entry_id,
        entity_type: m.entity_type.into(),
        primary_name: m.primary_name,
        matched_name: m.matched_name,
        matched_name_kind: m.matched_name_kind.into(),
        name_score: m.name.score,
        token_pairs: m
            .name
            .pairs
            .into_iter()
            .map(|p| TokenPairView {
                query: p.query,
                listed: p.listed,
                score: p.score,
                method: p.method.into(),
            })
            .collect(),
        unmatched_query_tokens: m.name.unmatched_query,
        unmatched_listed_tokens: m.name.unmatched_listed,
        evidence: m
            .evidence
            .into_iter()
            .map(|e| EvidenceView {
                field: e.field.into(),
                effect: e.effect.into(),
                query_value: e.query_value,
                listed_value: e.listed_value,
                adjustment: e.adjustment,
            })
            .collect(),
        score: m.score,
        threshold: m.threshold,
    }
}

fn field_error(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Checks every field; all problems are reported at once.
fn parse_query(request: ScreeningRequest) -> Result<Query, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = text::clean(&request.name, MAX_NAME_CHARS)
        .map_err(|e| errors.push(field_error("name", e.code(), e.to_string())))
        .ok();
    let birth_date = match request.date_of_birth.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            let parsed = PartialDate::parse_iso(raw).filter(|d| match (d.month, d.day) {
                (Some(m), Some(day)) => {
                    chrono::NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(m), u32::from(day))
                        .is_some()
                }
                _ => true,
            });
            if parsed.is_none() {
                errors.push(field_error(
                    "date_of_birth",
                    "invalid_date",
                    "must be a date as YYYY-MM-DD, YYYY-MM or YYYY",
                ));
            }
            parsed
        }
    };
    let nationality = match request.nationality.as_deref() {
        None => None,
        Some(raw) => match CountryCode::parse(raw) {
            Ok(code) => Some(code.as_str().to_owned()),
            Err(e) => {
                errors.push(field_error("nationality", "invalid_country", e.to_string()));
                None
            }
        },
    };
    match name {
        Some(name) if errors.is_empty() => Ok(Query {
            name,
            entity_type: request.entity_type.map(Into::into),
            birth_date,
            nationality,
        }),
        _ => Err(errors),
    }
}

/// Screens a name against every active sanctions list, for an officer or senior
/// officer. Returns every potential match at or above the review threshold with
/// its explanation: the list version, which of the entry's names matched, the
/// token pairing, corroborating and contradicting evidence, score and threshold.
/// A match is for review, never a rejection. Every screening is recorded in the
/// audit log (a keyed pseudonym of the query, never the name) before the result
/// is returned. 503 `screening_unavailable` while no list is active.
#[utoipa::path(
    post,
    path = "/v1/screenings",
    tag = "screening",
    request_body = ScreeningRequest,
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The screening, with every potential match explained", body = ScreeningView),
        (status = 403, description = "Not an officer", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many staff actions", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No sanctions list is active", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_screening(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    body: Json<ScreeningRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(SCREENERS)?;
    if let Some(auth) = req.app_data::<web::Data<Authenticator>>() {
        auth.limit_action(&req, &principal, RateAction::StaffAction)?;
    }
    let query = parse_query(body.into_inner()).map_err(|errors| {
        ApiError::new(
            ErrorCode::ValidationFailed,
            "Some fields are invalid; nothing was screened.",
        )
        .with_errors(errors)
    })?;
    let caller = caller(&req, &principal);
    let result = state.sanctions.screen_adhoc(&caller, &query).await?;
    let lists: Vec<ListVersionView> = result.screening.lists.iter().map(Into::into).collect();
    let matches = result
        .screening
        .matches
        .into_iter()
        .map(|m| match_view(m, &lists))
        .collect();
    Ok(HttpResponse::Ok().json(ScreeningView {
        lists,
        matches,
        threshold: state.settings.sanctions.review_threshold,
        audit_event_id: result.audit_event_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> ScreeningRequest {
        ScreeningRequest {
            name: name.to_owned(),
            date_of_birth: None,
            nationality: None,
            entity_type: None,
        }
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = parse_query(ScreeningRequest {
            date_of_birth: Some("1970-02-30".into()),
            nationality: Some("Russia".into()),
            ..request(" ")
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "date_of_birth", "nationality"]);
    }

    #[test]
    fn years_and_dates_are_accepted_and_names_bounded() {
        let q = parse_query(ScreeningRequest {
            date_of_birth: Some("1963".into()),
            nationality: Some("BZ".into()),
            entity_type: Some(EntityTypeView::Individual),
            ..request("  Elvis Angus Logan Morey ")
        })
        .unwrap();
        assert_eq!(q.name, "Elvis Angus Logan Morey");
        assert_eq!(q.birth_date.map(|d| d.year), Some(1963));
        assert_eq!(q.nationality.as_deref(), Some("BZ"));
        assert!(parse_query(request(&"a".repeat(MAX_NAME_CHARS + 1))).is_err());
        assert!(parse_query(request(&"a".repeat(MAX_NAME_CHARS))).is_ok());
    }
}
