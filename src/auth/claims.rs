//! Access-token claims (RFC 7519 §4.1, RFC 9068 §2.2), roles, and `cnf` (RFC 7800 §3.1,
//! RFC 8705 §3.1, RFC 9449 §6.1), checked against an injected clock.
//!
//! The payload is inspected as raw `serde_json` so that claim *types* are enforced:
//! `exp`/`nbf`/`iat`/`auth_time` must be JSON numbers (RFC 7519 §2 NumericDate), never
//! strings, even where a lenient decoder would coerce them.

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::error::AuthError;

/// Business roles of the KYC service. Unknown role strings in a token are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A customer undergoing KYC.
    Applicant,
    /// A KYC officer.
    Officer,
    /// A senior officer (four-eyes approvals).
    SeniorOfficer,
    /// Read-only auditor.
    Auditor,
    /// Administrator.
    Admin,
    /// A machine client (service-to-service).
    Service,
}

impl Role {
    /// Maps a role string from a token (`applicant`, `officer`, `senior_officer`,
    /// `auditor`, `admin`, `service`; `-` accepted for `_`) to a role.
    pub fn from_claim(s: &str) -> Option<Self> {
        match s {
            "applicant" => Some(Self::Applicant),
            "officer" => Some(Self::Officer),
            "senior_officer" | "senior-officer" => Some(Self::SeniorOfficer),
            "auditor" => Some(Self::Auditor),
            "admin" => Some(Self::Admin),
            "service" => Some(Self::Service),
            _ => None,
        }
    }

    /// The canonical claim string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Officer => "officer",
            Self::SeniorOfficer => "senior_officer",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }

    /// Every role, in a fixed order.
    pub const ALL: [Role; 6] = [
        Self::Applicant,
        Self::Officer,
        Self::SeniorOfficer,
        Self::Auditor,
        Self::Admin,
        Self::Service,
    ];

    /// The compliance staff roles (the auditor is staff too, but read-only).
    pub const STAFF: [Role; 4] = [
        Self::Officer,
        Self::SeniorOfficer,
        Self::Auditor,
        Self::Admin,
    ];
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    /// Parses a canonical role name (used by the `dev token` CLI).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_claim(s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role `{s}`; one of {}", names.join(", "))
        })
    }
}

/// The `cnf` (confirmation) claim: what the token is bound to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// `x5t#S256`: base64url SHA-256 of the client certificate DER (RFC 8705 §3.1).
    pub x5t_s256: Option<String>,
    /// `jkt`: RFC 7638 thumbprint of the DPoP public key (RFC 9449 §6.1).
    pub jkt: Option<String>,
}

/// How the accepted token was sender-constrained (FAPI 2.0 Security Profile §5.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderBinding {
    /// Not bound: a plain bearer token (only where the route allows it).
    Unbound,
    /// Bound to the mTLS client certificate (RFC 8705 §3).
    Mtls,
    /// Bound to a DPoP key (RFC 9449 §6).
    Dpop,
    /// Bound to both.
    MtlsAndDpop,
}

impl SenderBinding {
    /// The name shown to clients (`GET /v1/me`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unbound => "bearer",
            Self::Mtls => "mtls",
            Self::Dpop => "dpop",
            Self::MtlsAndDpop => "mtls+dpop",
        }
    }
}

/// A verified access token.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// `sub` (RFC 7519 §4.1.2).
    pub subject: String,
    /// `iss` (RFC 7519 §4.1.1).
    pub issuer: String,
    /// `aud`, normalised to a list (RFC 7519 §4.1.3).
    pub audience: Vec<String>,
    /// `exp` (RFC 7519 §4.1.4).
    pub expires_at: i64,
    /// `iat` (RFC 7519 §4.1.6).
    pub issued_at: Option<i64>,
    /// `nbf` (RFC 7519 §4.1.5).
    pub not_before: Option<i64>,
    /// `jti` (RFC 7519 §4.1.7).
    pub jti: Option<String>,
    /// `client_id` (RFC 9068 §2.2).
    pub client_id: Option<String>,
    /// `azp` (OpenID Connect Core §2).
    pub azp: Option<String>,
    /// `acr` (RFC 9068 §2.2.1).
    pub acr: Option<String>,
    /// `auth_time` (RFC 9068 §2.2.1).
    pub auth_time: Option<i64>,
    /// `scope`, split on spaces (RFC 9068 §2.2.3).
    pub scopes: Vec<String>,
    /// Recognised roles from the configured roles claim.
    pub roles: Vec<Role>,
    /// `cnf`, if present.
    pub cnf: Option<Confirmation>,
    /// How the token was sender-constrained on this request.
    pub binding: SenderBinding,
    /// The JWS algorithm that verified it.
    pub algorithm: Algorithm,
    /// The `kid` of the verifying key.
    pub kid: String,
    /// All claims, for application-specific use.
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// Whether the token carries `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Fails with [`AuthError::Insufficient`] unless the token carries one of `roles`.
    pub fn require_any_role(&self, roles: &[Role]) -> Result<(), AuthError> {
        if roles.iter().any(|r| self.has_role(*r)) {
            Ok(())
        } else {
            Err(AuthError::Insufficient("required role missing"))
        }
    }

    /// Fails with [`AuthError::Insufficient`] unless `acr` is one of `accepted`.
    pub fn require_acr(&self, accepted: &[&str]) -> Result<(), AuthError> {
        match &self.acr {
            Some(a) if accepted.contains(&a.as_str()) => Ok(()),
            _ => Err(AuthError::Insufficient("authentication context too weak")),
        }
    }

    /// The OAuth client: `client_id`, else `azp`.
    pub fn client(&self) -> Option<&str> {
        self.client_id.as_deref().or(self.azp.as_deref())
    }
}

/// Claim-check parameters (taken from the verifier configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimRules<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub leeway: i64,
    pub max_future_skew: i64,
    pub roles_claim: &'a str,
}

/// RFC 7519 §2 NumericDate: a JSON number (integer or not). `Err` on any other type.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    bad_type: &'static str,
) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() => Ok(Some(f.floor() as i64)),
                    _ => Err(AuthError::InvalidToken(bad_type)),
                }
            }
        }
        Some(_) => Err(AuthError::InvalidToken(bad_type)),
    }
}

/// An optional string claim; `Err` if present with another type.
pub(crate) fn opt_string(
    claims: &Map<String, Value>,
    name: &str,
    bad_type: &'static str,
) -> Result<Option<String>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AuthError::InvalidToken(bad_type)),
    }
}

fn parse_cnf(claims: &Map<String, Value>) -> Result<Option<Confirmation>, AuthError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let obj = cnf
        .as_object()
        .ok_or(AuthError::InvalidToken("cnf is not an object"))?;
    let x5t_s256 = opt_string(obj, "x5t#S256", "cnf x5t#S256 is not a string")?;
    let jkt = opt_string(obj, "jkt", "cnf jkt is not a string")?;
    if x5t_s256.is_none() && jkt.is_none() {
        // A confirmation method we cannot enforce must not degrade to bearer (RFC 7800 §3).
        return Err(AuthError::InvalidToken(
            "unsupported cnf confirmation method",
        ));
    }
    if x5t_s256.as_deref() == Some("") || jkt.as_deref() == Some("") {
        return Err(AuthError::InvalidToken("empty cnf member"));
    }
    Ok(Some(Confirmation { x5t_s256, jkt }))
}

fn parse_roles(claims: &Map<String, Value>, name: &str) -> Result<Vec<Role>, AuthError> {
    let mut roles: Vec<Role> = match claims.get(name) {
        None => Vec::new(),
        Some(Value::String(s)) => Role::from_claim(s).into_iter().collect(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let s = item
                    .as_str()
                    .ok_or(AuthError::InvalidToken("roles claim malformed"))?;
                out.extend(Role::from_claim(s));
            }
            out
        }
        Some(_) => return Err(AuthError::InvalidToken("roles claim malformed")),
    };
    roles.sort();
    roles.dedup();
    Ok(roles)
}

/// Validates the registered claims and builds a [`VerifiedToken`] (binding still
/// [`SenderBinding::Unbound`]; the verifier sets it after the sender-constraint checks).
pub(crate) fn validate(
    claims: Map<String, Value>,
    rules: &ClaimRules<'_>,
    now: i64,
    algorithm: Algorithm,
    kid: String,
) -> Result<VerifiedToken, AuthError> {
    // Types first (RFC 7519 §2, §4.1.4-6): numbers only.
    let exp = numeric_date(&claims, "exp", "exp is not a number")?;
    let nbf = numeric_date(&claims, "nbf", "nbf is not a number")?;
    let iat = numeric_date(&claims, "iat", "iat is not a number")?;
    let auth_time = numeric_date(&claims, "auth_time", "auth_time is not a number")?;

    // RFC 7519 §4.1.1 / RFC 9068 §4: iss must exactly match the configured issuer.
    let iss = match claims.get("iss") {
        None => return Err(AuthError::InvalidToken("iss missing")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(AuthError::InvalidToken("iss is not a string")),
    };
    if iss != rules.issuer {
        return Err(AuthError::InvalidToken("issuer mismatch"));
    }

    // RFC 7519 §4.1.3 / RFC 9068 §4: aud (string or array) must contain our audience.
    let audience: Vec<String> = match claims.get("aud") {
        None => return Err(AuthError::InvalidToken("aud missing")),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(
                    i.as_str()
                        .ok_or(AuthError::InvalidToken("aud malformed"))?
                        .to_owned(),
                );
            }
            out
        }
        Some(_) => return Err(AuthError::InvalidToken("aud malformed")),
    };
    if !audience.iter().any(|a| a == rules.audience) {
        return Err(AuthError::InvalidToken("audience mismatch"));
    }

    // RFC 7519 §4.1.2 / RFC 9068 §2.2: sub required.
    let subject = match claims.get("sub") {
        None => return Err(AuthError::InvalidToken("sub missing")),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(AuthError::InvalidToken("sub malformed")),
    };

    // RFC 7519 §4.1.4: exp required; reject at or after exp (+ leeway).
    let expires_at = exp.ok_or(AuthError::InvalidToken("exp missing"))?;
    if now >= expires_at.saturating_add(rules.leeway) {
        return Err(AuthError::InvalidToken("token expired"));
    }
    // RFC 7519 §4.1.5: not before nbf (+ leeway); far-future nbf also exceeds the skew.
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(rules.leeway)
    {
        return Err(AuthError::InvalidToken("token not yet valid"));
    }
    // RFC 7519 §4.1.6 / RFC 8725 §3.10: an iat beyond the allowed clock skew is bogus.
    if let Some(iat) = iat
        && iat > now.saturating_add(rules.max_future_skew)
    {
        return Err(AuthError::InvalidToken("iat in the future"));
    }

    let jti = opt_string(&claims, "jti", "jti is not a string")?;
    let client_id = opt_string(&claims, "client_id", "client_id is not a string")?;
    let azp = opt_string(&claims, "azp", "azp is not a string")?;
    let acr = opt_string(&claims, "acr", "acr is not a string")?;
    let scopes = opt_string(&claims, "scope", "scope is not a string")?
        .map(|s| {
            s.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let roles = parse_roles(&claims, rules.roles_claim)?;
    let cnf = parse_cnf(&claims)?;

    Ok(VerifiedToken {
        subject,
        issuer: iss,
        audience,
        expires_at,
        issued_at: iat,
        not_before: nbf,
        jti,
        client_id,
        azp,
        acr,
        auth_time,
        scopes,
        roles,
        cnf,
        binding: SenderBinding::Unbound,
        algorithm,
        kid,
        claims,
    })
}
