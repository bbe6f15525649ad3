//! Findings about an MRZ: its own faults, and its consistency with the
//! identity the applicant declared (name with MRZ transliteration, date of
//! birth, nationality) and with today's date (expiry).
//!
//! Findings carry stable reason codes for the decision policy and details
//! that name fields and digits but never the holder's data, so they can be
//! logged and shown without exposing PII.

use chrono::{Datelike, NaiveDate};

use super::fields::FieldError;
use super::parse::{Mrz, MrzField, MrzProblem};
use super::transliterate::name_matches;

/// The identity the applicant declared, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredIdentity {
    /// Family name(s), in any script with an ICAO 9303-3 §6 transliteration.
    pub family_name: String,
    /// Given name(s), space separated; empty for a single-name holder.
    pub given_names: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Nationality as an ISO 3166-1 alpha-3 code (`DEU`, `GBR`).
    pub nationality: String,
}

/// Stable reason codes. The strings from [`ReasonCode::as_str`] are part of
/// the API: policies and clients key on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    /// `mrz_check_digit`: a field's check digit does not match.
    MrzCheckDigit,
    /// `mrz_composite`: the composite check digit does not match.
    MrzComposite,
    /// `mrz_invalid_date`: a date is not six digits or not a calendar day.
    MrzInvalidDate,
    /// `mrz_invalid_field`: a code, sex, name or document number that is not
    /// allowed in its position, or a malformed long document number.
    MrzInvalidField,
    /// `mrz_specimen`: the document is an ICAO specimen (`UTO`).
    MrzSpecimen,
    /// `mrz_name_mismatch`: the MRZ name is not the declared name.
    MrzNameMismatch,
    /// `mrz_dob_mismatch`: the MRZ date of birth is not the declared one.
    MrzDobMismatch,
    /// `mrz_nationality_mismatch`: the MRZ nationality is not the declared one.
    MrzNationalityMismatch,
    /// `document_expired`: the expiry date is before today.
    DocumentExpired,
    /// `mrz_truncated_name` (informational): the name field is full, so the
    /// name may be truncated and was compared as a prefix.
    MrzTruncatedName,
}

impl ReasonCode {
    /// The stable snake_case code.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MrzCheckDigit => "mrz_check_digit",
            Self::MrzComposite => "mrz_composite",
            Self::MrzInvalidDate => "mrz_invalid_date",
            Self::MrzInvalidField => "mrz_invalid_field",
            Self::MrzSpecimen => "mrz_specimen",
            Self::MrzNameMismatch => "mrz_name_mismatch",
            Self::MrzDobMismatch => "mrz_dob_mismatch",
            Self::MrzNationalityMismatch => "mrz_nationality_mismatch",
            Self::DocumentExpired => "document_expired",
            Self::MrzTruncatedName => "mrz_truncated_name",
        }
    }

    /// How much the finding weighs: everything fails except the truncation note.
    #[must_use]
    pub fn severity(self) -> Severity {
        match self {
            Self::MrzTruncatedName => Severity::Informational,
            _ => Severity::Failure,
        }
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a finding counts against the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth showing a reviewer; never a reason to reject on its own.
    Informational,
    /// The MRZ is faulty or does not match the declared identity.
    Failure,
}

/// One finding: a reason code and a detail without personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    code: ReasonCode,
    field: Option<MrzField>,
    detail: String,
}

impl Finding {
    fn new(code: ReasonCode, field: Option<MrzField>, detail: impl Into<String>) -> Self {
        Self {
            code,
            field,
            detail: detail.into(),
        }
    }

    /// The stable reason code.
    #[must_use]
    pub fn code(&self) -> ReasonCode {
        self.code
    }

    /// The severity of the reason code.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// The MRZ field concerned, when there is one.
    #[must_use]
    pub fn field(&self) -> Option<MrzField> {
        self.field
    }

    /// A human-readable detail (field names and check digits, no PII).
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// The findings an MRZ yields on its own: one per [`MrzProblem`], plus the
/// specimen and truncated-name notes.
#[must_use]
pub fn findings(mrz: &Mrz) -> Vec<Finding> {
    let mut out: Vec<Finding> = mrz.problems().iter().map(problem_finding).collect();
    let specimen = [mrz.issuing_state(), mrz.nationality()]
        .into_iter()
        .flatten()
        .any(|s| s.is_specimen());
    if specimen {
        out.push(Finding::new(
            ReasonCode::MrzSpecimen,
            None,
            "issuing state or nationality is UTO, the ICAO specimen state",
        ));
    }
    if mrz.name().is_possibly_truncated() {
        out.push(Finding::new(
            ReasonCode::MrzTruncatedName,
            Some(MrzField::Name),
            "name field is full; the name may be truncated",
        ));
    }
    out
}

fn problem_finding(problem: &MrzProblem) -> Finding {
    let detail = problem.to_string();
    match problem {
        MrzProblem::CheckDigit { field, .. } => {
            Finding::new(ReasonCode::MrzCheckDigit, Some(*field), detail)
        }
        MrzProblem::Composite { .. } => Finding::new(ReasonCode::MrzComposite, None, detail),
        MrzProblem::InvalidField {
            field,
            error: FieldError::Date { reason, .. },
        } => Finding::new(
            ReasonCode::MrzInvalidDate,
            Some(*field),
            // The printed date is the holder's data: say why, not what.
            format!("{field}: {reason}"),
        ),
        MrzProblem::InvalidField { field, .. } => Finding::new(
            ReasonCode::MrzInvalidField,
            Some(*field),
            format!("{field} is not valid in its position"),
        ),
        MrzProblem::LongDocumentNumber => Finding::new(
            ReasonCode::MrzInvalidField,
            Some(MrzField::DocumentNumber),
            detail,
        ),
    }
}

/// Checks a parsed MRZ against the declared identity and today's date. The
/// result holds every [`findings`] of the MRZ itself, then one finding per
/// inconsistency; an empty list means the MRZ is valid and consistent.
///
/// - Names: family name against the primary identifier, given names against
///   the secondary, after ICAO 9303-3 §6 transliteration (either spelling of
///   `Ä`, `Ö`, `Ü`, `Å`, `Ø`…); as prefixes when the name field is full.
/// - Date of birth: the declared date's YYMMDD against the printed cells, so
///   the comparison does not depend on the century guess.
/// - Nationality: ISO 3166-1 alpha-3 against the MRZ code, with ICAO's own
///   codes mapped (`D` → `DEU`, the British `GBD`/`GBN`/`GBO`/`GBP`/`GBS` →
///   `GBR`, `RKS` → `XKX`); stateless, refugee, organization and specimen
///   codes match no country.
/// - Expiry: a document whose expiry day is before `today` is expired; it is
///   valid through its expiry day.
#[must_use]
pub fn compare(parsed: &Mrz, declared: &DeclaredIdentity, today: NaiveDate) -> Vec<Finding> {
    let mut out = findings(parsed);
    let name = parsed.name();
    let truncated = name.is_possibly_truncated();
    if !name_matches(&declared.family_name, name.primary(), truncated) {
        out.push(Finding::new(
            ReasonCode::MrzNameMismatch,
            Some(MrzField::Name),
            "primary identifier does not match the declared family name",
        ));
    }
    if !name_matches(&declared.given_names, name.secondary(), truncated) {
        out.push(Finding::new(
            ReasonCode::MrzNameMismatch,
            Some(MrzField::Name),
            "secondary identifier does not match the declared given names",
        ));
    }

    // An unreadable date is already an `mrz_invalid_date` finding.
    if parsed.date_of_birth().date().is_some()
        && parsed.date_of_birth().raw() != yymmdd(declared.date_of_birth)
    {
        out.push(Finding::new(
            ReasonCode::MrzDobMismatch,
            Some(MrzField::DateOfBirth),
            "date of birth does not match the declared date",
        ));
    }

    let nationality_ok = parsed
        .nationality()
        .and_then(|code| iso_alpha3(code.as_str()))
        .is_some_and(|iso| iso.eq_ignore_ascii_case(declared.nationality.trim()));
    if !nationality_ok {
        out.push(Finding::new(
            ReasonCode::MrzNationalityMismatch,
            Some(MrzField::Nationality),
            "nationality does not match the declared nationality",
        ));
    }

    if parsed.date_of_expiry().date().is_some_and(|d| d < today) {
        out.push(Finding::new(
            ReasonCode::DocumentExpired,
            Some(MrzField::DateOfExpiry),
            "document expired before today",
        ));
    }
    out
}

fn yymmdd(date: NaiveDate) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year().rem_euclid(100),
        date.month(),
        date.day()
    )
}

/// The ISO 3166-1 alpha-3 country an MRZ nationality code stands for, or
/// `None` for codes that name no country. ICAO 9303 Part 3 §5 uses ISO 3166-1
/// alpha-3 codes with these exceptions.
fn iso_alpha3(code: &str) -> Option<&str> {
    match code {
        // Germany prints `D<<` (Part 3 §5, "D" for Germany).
        "D" => Some("DEU"),
        // British citizen (GBR) and the other British nationality categories:
        // overseas territories citizen, national (overseas), overseas citizen,
        // protected person, subject. All are the United Kingdom in ISO 3166.
        "GBD" | "GBN" | "GBO" | "GBP" | "GBS" => Some("GBR"),
        // Kosovo: RKS on its documents, XKX as the user-assigned ISO code.
        "RKS" => Some("XKX"),
        // Utopia (specimens); the United Nations and its agencies; EU; the
        // Order of Malta; Interpol; stateless persons and refugees; and XXX
        // for an unspecified nationality.
        "UTO" | "UNO" | "UNA" | "UNK" | "EUE" | "XOM" | "XPO" | "XXA" | "XXB" | "XXC" | "XXX" => {
            None
        }
        iso if iso.len() == 3 => Some(iso),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::super::test_support::{self, Spec};
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn declared(family: &str, given: &str, dob: NaiveDate, nationality: &str) -> DeclaredIdentity {
        DeclaredIdentity {
            family_name: family.into(),
            given_names: given.into(),
            date_of_birth: dob,
            nationality: nationality.into(),
        }
    }

    fn codes(text: &str, who: &DeclaredIdentity) -> Vec<ReasonCode> {
        let mrz = parse(text, today()).unwrap();
        compare(&mrz, who, today())
            .iter()
            .map(Finding::code)
            .collect()
    }

    fn german(name: &str) -> String {
        test_support::td3(&Spec {
            name: name.into(),
            ..Spec::td3()
        })
    }

    #[test]
    fn consistent_german_passport_has_no_finding() {
        let who = declared("Müller", "Jürgen Hans", date(1964, 8, 12), "DEU");
        for name in [
            "MUELLER<<JUERGEN<HANS",
            "MULLER<<JURGEN<HANS",
            "MUELLER<<JURGEN<HANS",
        ] {
            assert_eq!(codes(&german(name), &who), vec![], "{name}");
        }
        // TD1 identity card with `D<<` too.
        let card = test_support::td1(&Spec {
            name: "MUELLER<<JUERGEN<HANS".into(),
            ..Spec::id_card()
        });
        assert_eq!(codes(&card, &who), vec![]);
    }

    #[test]
    fn transliterated_names_match() {
        let cases = [
            ("Strauß", "Anna-Lena", "STRAUSS<<ANNA<LENA"),
            ("Jørgensen", "Åse", "JOERGENSEN<<AASE"),
            ("Ærø", "Søren", "AEROE<<SOEREN"),
            ("Иванов", "Сергей", "IVANOV<<SERGEI"),
            ("Щербакова", "Юлия", "SHCHERBAKOVA<<IULIIA"),
            ("O'Connor", "Enya Siobhán", "OCONNOR<<ENYA<SIOBHAN"),
            ("García Márquez", "José", "GARCIA<MARQUEZ<<JOSE"),
            ("Arkfreith", "", "ARKFREITH"),
        ];
        for (family, given, mrz_name) in cases {
            let who = declared(family, given, date(1964, 8, 12), "DEU");
            assert_eq!(codes(&german(mrz_name), &who), vec![], "{family} {given}");
        }
    }

    #[test]
    fn truncated_names_match_with_an_informational_finding() {
        let who = declared(
            "Nilavadhanananda",
            "Chayapa Dejthamrong Krasuang",
            date(1964, 8, 12),
            "DEU",
        );
        let text = german("NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<KRASUANG");
        let mrz = parse(&text, today()).unwrap();
        let found = compare(&mrz, &who, today());
        assert_eq!(
            found.iter().map(Finding::code).collect::<Vec<_>>(),
            vec![ReasonCode::MrzTruncatedName]
        );
        assert!(
            found
                .iter()
                .all(|f| f.severity() == Severity::Informational)
        );
        // The truncation does not excuse a different name.
        let other = declared("Nilavadhanananda", "Somchai", date(1964, 8, 12), "DEU");
        assert_eq!(
            codes(&text, &other),
            vec![ReasonCode::MrzTruncatedName, ReasonCode::MrzNameMismatch]
        );
    }

    #[test]
    fn each_inconsistency_is_its_own_finding() {
        let text = german("MUELLER<<JUERGEN");
        let base = declared("Müller", "Jürgen", date(1964, 8, 12), "DEU");
        let name = DeclaredIdentity {
            family_name: "Miller".into(),
            ..base.clone()
        };
        assert_eq!(codes(&text, &name), vec![ReasonCode::MrzNameMismatch]);
        let given = DeclaredIdentity {
            given_names: "Jürgen Hans".into(),
            ..base.clone()
        };
        assert_eq!(codes(&text, &given), vec![ReasonCode::MrzNameMismatch]);
        let dob = DeclaredIdentity {
            date_of_birth: date(1964, 8, 13),
            ..base.clone()
        };
        assert_eq!(codes(&text, &dob), vec![ReasonCode::MrzDobMismatch]);
        let nationality = DeclaredIdentity {
            nationality: "AUT".into(),
            ..base.clone()
        };
        assert_eq!(
            codes(&text, &nationality),
            vec![ReasonCode::MrzNationalityMismatch]
        );
        let unsupported = DeclaredIdentity {
            family_name: "Μüller".into(), // Greek capital Mu
            ..base
        };
        assert_eq!(
            codes(&text, &unsupported),
            vec![ReasonCode::MrzNameMismatch]
        );
    }

    #[test]
    fn dob_compares_the_printed_digits_not_the_century_guess() {
        // Born 1925-01-02, printed 250102: resolved to 1925 on 2026-01-15
        // anyway, but a holder over 100 would be resolved a century late.
        let text = test_support::td3(&Spec {
            name: "MUELLER<<JUERGEN".into(),
            dob: "250102".into(),
            ..Spec::td3()
        });
        let who = declared("Müller", "Jürgen", date(1925, 1, 2), "DEU");
        assert_eq!(codes(&text, &who), vec![]);
    }

    #[test]
    fn expiry_is_checked_against_today() {
        let who = declared("Müller", "Jürgen", date(1964, 8, 12), "DEU");
        let on = |expiry: &str| {
            test_support::td3(&Spec {
                name: "MUELLER<<JUERGEN".into(),
                expiry: expiry.into(),
                ..Spec::td3()
            })
        };
        assert_eq!(
            codes(&on("260114"), &who),
            vec![ReasonCode::DocumentExpired]
        );
        assert_eq!(
            codes(&on("260115"), &who),
            vec![],
            "valid through its expiry day"
        );
        assert_eq!(codes(&on("260116"), &who), vec![]);
    }

    #[test]
    fn british_nationality_categories_match_gbr() {
        let who = declared("Smith", "John", date(1964, 8, 12), "GBR");
        for code in ["GBR", "GBD", "GBN", "GBO"] {
            let text = test_support::td3(&Spec {
                issuer: "GBR".into(),
                nationality: code.into(),
                name: "SMITH<<JOHN".into(),
                ..Spec::td3()
            });
            assert_eq!(codes(&text, &who), vec![], "{code}");
        }
        let stateless = test_support::td3(&Spec {
            issuer: "GBR".into(),
            nationality: "XXA".into(),
            name: "SMITH<<JOHN".into(),
            ..Spec::td3()
        });
        assert_eq!(
            codes(&stateless, &who),
            vec![ReasonCode::MrzNationalityMismatch]
        );
    }

    #[test]
    fn icao_specimen_is_flagged_and_faults_become_findings() {
        let who = declared("Eriksson", "Anna Maria", date(1974, 8, 12), "UTO");
        // T3-01: valid digits, but a specimen, an unknown nationality, expired.
        let t3_01 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
        assert_eq!(
            codes(t3_01, &who),
            vec![
                ReasonCode::MrzSpecimen,
                ReasonCode::MrzNationalityMismatch,
                ReasonCode::DocumentExpired
            ]
        );
        // T3-23: a letter in the date of birth.
        let t3_23 = t3_01.replace("7408122", "7A08122");
        let mrz = parse(&t3_23, today()).unwrap();
        let found = compare(&mrz, &who, today());
        let got: Vec<(ReasonCode, Option<MrzField>)> =
            found.iter().map(|f| (f.code(), f.field())).collect();
        assert_eq!(
            got,
            vec![
                (ReasonCode::MrzCheckDigit, Some(MrzField::DateOfBirth)),
                (ReasonCode::MrzInvalidDate, Some(MrzField::DateOfBirth)),
                (ReasonCode::MrzComposite, None),
                (ReasonCode::MrzSpecimen, None),
                (
                    ReasonCode::MrzNationalityMismatch,
                    Some(MrzField::Nationality)
                ),
                (ReasonCode::DocumentExpired, Some(MrzField::DateOfExpiry)),
            ]
        );
        assert_eq!(
            found.first().map(Finding::detail),
            Some("date_of_birth check digit: expected 0, printed '2'")
        );
        // The detail of an invalid date names the reason, never the date.
        assert!(found.iter().all(|f| !f.detail().contains("7A0812")));
    }

    #[test]
    fn findings_without_a_declared_identity() {
        let mrz = parse(&german("MUELLER<<JUERGEN"), today()).unwrap();
        assert_eq!(findings(&mrz), vec![]);
    }

    #[test]
    fn special_nationality_codes() {
        assert_eq!(iso_alpha3("D"), Some("DEU"));
        assert_eq!(iso_alpha3("GBD"), Some("GBR"));
        assert_eq!(iso_alpha3("GBR"), Some("GBR"));
        assert_eq!(iso_alpha3("FRA"), Some("FRA"));
        assert_eq!(iso_alpha3("UTO"), None);
        assert_eq!(iso_alpha3("XXA"), None);
        assert_eq!(iso_alpha3("DE"), None);
    }

    #[test]
    fn reason_codes_are_stable() {
        let all = [
            (ReasonCode::MrzCheckDigit, "mrz_check_digit"),
            (ReasonCode::MrzComposite, "mrz_composite"),
            (ReasonCode::MrzInvalidDate, "mrz_invalid_date"),
            (ReasonCode::MrzInvalidField, "mrz_invalid_field"),
            (ReasonCode::MrzSpecimen, "mrz_specimen"),
            (ReasonCode::MrzNameMismatch, "mrz_name_mismatch"),
            (ReasonCode::MrzDobMismatch, "mrz_dob_mismatch"),
            (
                ReasonCode::MrzNationalityMismatch,
                "mrz_nationality_mismatch",
            ),
            (ReasonCode::DocumentExpired, "document_expired"),
            (ReasonCode::MrzTruncatedName, "mrz_truncated_name"),
        ];
        for (code, text) in all {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
        }
        assert_eq!(
            ReasonCode::MrzTruncatedName.severity(),
            Severity::Informational
        );
        assert_eq!(ReasonCode::DocumentExpired.severity(), Severity::Failure);
    }

    #[test]
    fn yymmdd_ignores_the_century() {
        let d = NaiveDate::from_ymd_opt(1925, 1, 2).unwrap();
        assert_eq!(yymmdd(d), "250102");
    }
}
