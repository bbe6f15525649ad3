//! The MRZ data elements that are shared by every format: document code,
//! state codes, document number, dates, sex and names (ICAO Doc 9303 Part 3
//! §4.6 names, §4.8 dates; Parts 4–7 for their positions).
//!
//! Each type is built only from the exact MRZ cells that hold it, so a value
//! that exists is well-formed. Problems in a field are returned as
//! [`FieldError`] and reported by [`mod@super::parse`] as findings instead of
//! stopping the parse, because a KYC reviewer needs every fault, not the first.

use chrono::{Datelike, NaiveDate};

/// A field whose content is not what ICAO 9303 allows in that position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The document code's first letter is not valid for the format.
    #[error("document code {code:?} is not valid for this format")]
    DocumentCode {
        /// The two printed characters.
        code: String,
    },
    /// A state code that is not 1–3 letters followed by fillers.
    #[error("state code {raw:?} is not 1-3 letters padded with '<'")]
    StateCode {
        /// The three printed characters.
        raw: String,
    },
    /// A document number that is empty or starts with a filler.
    #[error("document number is empty or starts with '<'")]
    DocumentNumber,
    /// A sex cell other than `M`, `F`, `X` or `<`.
    #[error("sex {printed:?} is not M, F, X or '<'")]
    Sex {
        /// The printed character.
        printed: char,
    },
    /// A name field with digits, or with no primary identifier.
    #[error("name field has digits or no primary identifier")]
    Name,
    /// A date that is not six digits or not a calendar day.
    #[error("date {raw:?}: {reason}")]
    Date {
        /// The six printed characters.
        raw: String,
        /// Why the date is invalid.
        reason: InvalidDateReason,
    },
}

/// Why an MRZ date could not be read as a calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDateReason {
    /// One of the six cells is not a digit (a letter or a filler).
    #[error("not six digits")]
    NotDigits,
    /// Six digits that name no day, such as 31 February (`740231`).
    #[error("not a calendar day")]
    NotACalendarDay,
}

/// What kind of document a document code announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `P…`: passport, ICAO 9303 Part 4 (TD3).
    Passport,
    /// `I…`: identity card, Parts 5 and 6 (TD1, TD2).
    IdentityCard,
    /// `A…` or `C…`: other official travel documents, Parts 5 and 6.
    OtherTravelDocument,
    /// `V…`: machine readable visa, Part 7 (MRV-A, MRV-B).
    Visa,
}

/// The two-character document code at the start of line 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCode {
    code: String,
    kind: DocumentKind,
}

impl DocumentCode {
    /// Reads the two document-code cells. `allowed` lists the first letters the
    /// format accepts: `P` for TD3 (Part 4 §4.2.2), `A`, `C`, `I` for TD1/TD2
    /// (Part 5 §4.2.2, Part 6 §4.2.2), `V` for visas (Part 7 §4.2.2). The
    /// second cell is a letter or `<`, at the issuer's discretion, except that
    /// TD1/TD2 codes never end in `V` (Parts 5 and 6, note on the document code).
    ///
    /// # Errors
    /// [`FieldError::DocumentCode`] when the code does not fit.
    pub fn parse(cells: &str, allowed: &[char]) -> Result<Self, FieldError> {
        let error = || FieldError::DocumentCode {
            code: cells.to_owned(),
        };
        let mut chars = cells.chars();
        let (Some(first), Some(second), None) = (chars.next(), chars.next(), chars.next()) else {
            return Err(error());
        };
        if !allowed.contains(&first) || !(second.is_ascii_uppercase() || second == '<') {
            return Err(error());
        }
        let kind = match first {
            'P' => DocumentKind::Passport,
            'I' => DocumentKind::IdentityCard,
            'A' | 'C' => DocumentKind::OtherTravelDocument,
            'V' => DocumentKind::Visa,
            _ => return Err(error()),
        };
        if kind != DocumentKind::Visa && kind != DocumentKind::Passport && second == 'V' {
            return Err(error());
        }
        Ok(Self {
            code: cells.trim_end_matches('<').to_owned(),
            kind,
        })
    }

    /// The code without fillers: `P`, `PT`, `ID`, `C`, `V`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The kind of document the code announces.
    #[must_use]
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }
}

/// An issuing state or nationality code (ICAO 9303 Part 3 §5): three letters,
/// or fewer letters padded with `<`, as Germany's `D<<`. Held without the
/// fillers (`D`, `UTO`, `GBR`). Whether the code is in the ICAO registry is
/// not decided here (specimens use `UTO`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateCode(String);

impl StateCode {
    /// Reads the three cells of a state code.
    ///
    /// # Errors
    /// [`FieldError::StateCode`] unless the cells are 1–3 letters then fillers.
    pub fn parse(cells: &str) -> Result<Self, FieldError> {
        let code = cells.trim_end_matches('<');
        let well_formed = cells.len() == 3
            && (1..=3).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_uppercase());
        if well_formed {
            Ok(Self(code.to_owned()))
        } else {
            Err(FieldError::StateCode {
                raw: cells.to_owned(),
            })
        }
    }

    /// The code without fillers.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `UTO`, the fictitious state of ICAO specimens (Part 3 §5).
    #[must_use]
    pub fn is_specimen(&self) -> bool {
        self.0 == "UTO"
    }
}

/// A document number, without trailing fillers, including the continuation
/// in the optional data when the number is longer than nine characters
/// (ICAO 9303 Part 5 §4.2.2 note j and Part 6 §4.2.2 note j).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentNumber {
    number: String,
    extended: bool,
}

impl DocumentNumber {
    /// Builds a number from the nine document-number cells and, for a long
    /// number, the characters continued in the optional data (without the
    /// check digit). Interior fillers are kept as printed.
    ///
    /// # Errors
    /// [`FieldError::DocumentNumber`] when the number is empty or starts with `<`.
    pub fn new(cells: &str, continuation: &str) -> Result<Self, FieldError> {
        let base = cells.trim_end_matches('<');
        if base.is_empty() || base.starts_with('<') {
            return Err(FieldError::DocumentNumber);
        }
        Ok(Self {
            number: format!("{base}{continuation}"),
            extended: !continuation.is_empty(),
        })
    }

    /// The number, such as `L898902C3` or `D23145890734`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// True when the number continued into the optional data field.
    #[must_use]
    pub fn is_extended(&self) -> bool {
        self.extended
    }
}

/// How a two-digit year is given its century (ICAO 9303 Part 3 §4.8 prints
/// YYMMDD only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRole {
    /// Date of birth: the latest date that is not after today.
    Birth,
    /// Date of expiry: the date within [`EXPIRY_WINDOW_YEARS`] years either
    /// side of today.
    Expiry,
}

/// An expiry year is placed in `today.year - 49 ..= today.year + 50`: documents
/// are not issued for more than a few decades, and documents that expired
/// half a century ago are not presented for onboarding.
pub const EXPIRY_WINDOW_YEARS: i32 = 50;

/// A YYMMDD date as printed, with the calendar day it names when it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrzDate {
    raw: String,
    date: Option<NaiveDate>,
}

impl MrzDate {
    /// Reads six date cells. `today` resolves the century as `role` says; the
    /// century is chosen from the digits alone, before asking the calendar,
    /// so `000229` resolves to 2000 (a leap year) and `740231` is reported as
    /// no calendar day rather than shifted.
    ///
    /// # Errors
    /// [`FieldError::Date`] when the cells are not six digits or name no day.
    /// The caller keeps the printed cells through [`MrzDate::unreadable`].
    pub fn parse(cells: &str, role: DateRole, today: NaiveDate) -> Result<Self, FieldError> {
        let invalid = |reason| FieldError::Date {
            raw: cells.to_owned(),
            reason,
        };
        let digits: Vec<u32> = cells.chars().filter_map(|c| c.to_digit(10)).collect();
        let [y1, y2, m1, m2, d1, d2] = digits.as_slice() else {
            return Err(invalid(InvalidDateReason::NotDigits));
        };
        if cells.len() != 6 {
            return Err(invalid(InvalidDateReason::NotDigits));
        }
        let (yy, month, day) = (y1 * 10 + y2, m1 * 10 + m2, d1 * 10 + d2);
        let year = resolve_century(yy, month, day, role, today);
        match NaiveDate::from_ymd_opt(year, month, day) {
            Some(date) => Ok(Self {
                raw: cells.to_owned(),
                date: Some(date),
            }),
            None => Err(invalid(InvalidDateReason::NotACalendarDay)),
        }
    }

    /// A date whose cells could not be read, kept as printed.
    #[must_use]
    pub fn unreadable(cells: &str) -> Self {
        Self {
            raw: cells.to_owned(),
            date: None,
        }
    }

    /// The six printed cells (YYMMDD).
    #[must_use]
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The calendar day, if the printed cells name one.
    #[must_use]
    pub fn date(&self) -> Option<NaiveDate> {
        self.date
    }
}

/// Picks the four-digit year for `yy` by comparing (year, month, day) as plain
/// numbers, so it works even for a day that does not exist.
fn resolve_century(yy: u32, month: u32, day: u32, role: DateRole, today: NaiveDate) -> i32 {
    let yy = i32::try_from(yy).unwrap_or(0);
    let century = today.year() - today.year().rem_euclid(100);
    let candidate = century + yy;
    match role {
        DateRole::Birth => {
            if (candidate, month, day) > (today.year(), today.month(), today.day()) {
                candidate - 100
            } else {
                candidate
            }
        }
        DateRole::Expiry => {
            if candidate > today.year() + EXPIRY_WINDOW_YEARS {
                candidate - 100
            } else if candidate <= today.year() - EXPIRY_WINDOW_YEARS {
                candidate + 100
            } else {
                candidate
            }
        }
    }
}

/// The sex cell (ICAO 9303 Part 4 §4.2.2 and Parts 5–7): `M`, `F`, `X` or `<`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `X`: unspecified.
    Unspecified,
    /// `<`: not given (some issuers print a filler instead of `X`).
    NotGiven,
}

impl Sex {
    /// Reads the sex cell.
    ///
    /// # Errors
    /// [`FieldError::Sex`] for any other character.
    pub fn parse(cell: char) -> Result<Self, FieldError> {
        match cell {
            'M' => Ok(Self::Male),
            'F' => Ok(Self::Female),
            'X' => Ok(Self::Unspecified),
            '<' => Ok(Self::NotGiven),
            printed => Err(FieldError::Sex { printed }),
        }
    }

    /// The character printed in the MRZ.
    #[must_use]
    pub fn as_char(self) -> char {
        match self {
            Self::Male => 'M',
            Self::Female => 'F',
            Self::Unspecified => 'X',
            Self::NotGiven => '<',
        }
    }
}

/// The name field (ICAO 9303 Part 3 §4.6): the primary identifier, `<<`, then
/// the secondary identifier; `<` between name components stands for a space
/// (or a hyphen or other punctuation, which the MRZ cannot show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrzName {
    primary: String,
    secondary: String,
    field_full: bool,
}

impl MrzName {
    /// Reads a whole name field. The name may contain digits or start with a
    /// filler on defective documents; the parts are still returned with the
    /// error so the rest of the document can be reported.
    ///
    /// # Errors
    /// `(name, FieldError::Name)` when the field holds digits or has no
    /// primary identifier.
    pub fn parse(field: &str) -> Result<Self, (Self, FieldError)> {
        // Part 3 §4.6.4: when the name does not fit, it is truncated and the
        // last cell holds a letter; a field with no trailing filler may
        // therefore be a truncated name (or one that fits exactly).
        let field_full = !field.ends_with('<');
        let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
        let name = Self {
            primary: components(primary),
            secondary: components(secondary),
            field_full,
        };
        let bad = field.bytes().any(|b| b.is_ascii_digit()) || primary.is_empty();
        if bad {
            Err((name, FieldError::Name))
        } else {
            Ok(name)
        }
    }

    /// The primary identifier (usually the surname), components separated by
    /// one space: `KOWALSKA KWIATKOWSKA`.
    #[must_use]
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The secondary identifier (given names), components separated by one
    /// space; empty for a single-name holder.
    #[must_use]
    pub fn secondary(&self) -> &str {
        &self.secondary
    }

    /// True when the name field has no trailing filler, so the name may have
    /// been truncated to fit (Part 3 §4.6.4). A name that fits exactly is also
    /// reported: the MRZ cannot tell the two apart.
    #[must_use]
    pub fn is_possibly_truncated(&self) -> bool {
        self.field_full
    }
}

/// `VAN<DER<MUELLEN<<<` → `VAN DER MUELLEN`.
fn components(part: &str) -> String {
    part.split('<')
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    #[test]
    fn single_letter_state_codes_drop_their_fillers() {
        assert_eq!(StateCode::parse("D<<").unwrap().as_str(), "D");
        assert_eq!(StateCode::parse("UTO").unwrap().as_str(), "UTO");
        assert!(StateCode::parse("UTO").unwrap().is_specimen());
        for bad in ["<<<", "D<E", "<DE", "D1<", "DE"] {
            assert!(StateCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn birth_dates_are_in_the_past_relative_to_today() {
        let d = |s| MrzDate::parse(s, DateRole::Birth, today()).unwrap().date();
        assert_eq!(d("740812"), NaiveDate::from_ymd_opt(1974, 8, 12));
        assert_eq!(d("260301"), NaiveDate::from_ymd_opt(2026, 3, 1), "today");
        assert_eq!(d("260302"), NaiveDate::from_ymd_opt(1926, 3, 2), "tomorrow");
        assert_eq!(
            d("000229"),
            NaiveDate::from_ymd_opt(2000, 2, 29),
            "leap day"
        );
    }

    #[test]
    fn expiry_dates_sit_in_a_window_around_today() {
        let d = |s| MrzDate::parse(s, DateRole::Expiry, today()).unwrap().date();
        assert_eq!(d("120415"), NaiveDate::from_ymd_opt(2012, 4, 15));
        assert_eq!(d("360101"), NaiveDate::from_ymd_opt(2036, 1, 1));
        assert_eq!(d("760101"), NaiveDate::from_ymd_opt(2076, 1, 1));
        assert_eq!(d("770101"), NaiveDate::from_ymd_opt(1977, 1, 1));
        assert_eq!(d("950712"), NaiveDate::from_ymd_opt(1995, 7, 12));
    }

    #[test]
    fn calendar_invalid_and_non_numeric_dates_are_errors() {
        let err = |s| MrzDate::parse(s, DateRole::Birth, today()).unwrap_err();
        assert!(matches!(
            err("740231"),
            FieldError::Date {
                reason: InvalidDateReason::NotACalendarDay,
                ..
            }
        ));
        assert!(matches!(
            err("741301"),
            FieldError::Date {
                reason: InvalidDateReason::NotACalendarDay,
                ..
            }
        ));
        assert!(matches!(
            err("010229"),
            FieldError::Date {
                reason: InvalidDateReason::NotACalendarDay,
                ..
            }
        ));
        assert!(matches!(
            err("7A0812"),
            FieldError::Date {
                reason: InvalidDateReason::NotDigits,
                ..
            }
        ));
        assert!(matches!(
            err("74<<<<"),
            FieldError::Date {
                reason: InvalidDateReason::NotDigits,
                ..
            }
        ));
    }

    #[test]
    fn sex_accepts_filler() {
        assert_eq!(Sex::parse('<'), Ok(Sex::NotGiven));
        assert_eq!(Sex::parse('X'), Ok(Sex::Unspecified));
        assert_eq!(Sex::parse('Q'), Err(FieldError::Sex { printed: 'Q' }));
    }

    #[test]
    fn names_split_on_the_double_filler() {
        let n = MrzName::parse("KOWALSKA<KWIATKOWSKA<<JOANNA<<<<<<<<<<<").unwrap();
        assert_eq!(n.primary(), "KOWALSKA KWIATKOWSKA");
        assert_eq!(n.secondary(), "JOANNA");
        assert!(!n.is_possibly_truncated());
        let single = MrzName::parse("ARKFREITH<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<").unwrap();
        assert_eq!((single.primary(), single.secondary()), ("ARKFREITH", ""));
        let two_part = MrzName::parse("SATRIYA<SUDARPA<<<<<<<<<<<<<<<<<<<<<<<<").unwrap();
        assert_eq!(two_part.primary(), "SATRIYA SUDARPA");
    }

    #[test]
    fn full_name_fields_are_flagged_as_possibly_truncated() {
        let n = MrzName::parse("NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<K").unwrap();
        assert_eq!(n.secondary(), "CHAYAPA DEJTHAMRONG K");
        assert!(n.is_possibly_truncated());
        let p = MrzName::parse("BENNELONG<WOOLOOM<WARRAND<WARNAM<<DINGO").unwrap();
        assert_eq!(p.primary(), "BENNELONG WOOLOOM WARRAND WARNAM");
        assert!(p.is_possibly_truncated());
    }

    #[test]
    fn names_with_digits_or_no_primary_are_reported_with_their_parts() {
        let (name, error) = MrzName::parse("<SPECIMEN1<<SPECIMEN2<<BAD<<<<").unwrap_err();
        assert_eq!(error, FieldError::Name);
        assert_eq!(name.secondary(), "SPECIMEN2 BAD");
    }

    #[test]
    fn document_codes_fit_their_format() {
        assert_eq!(DocumentCode::parse("P<", &['P']).unwrap().as_str(), "P");
        assert_eq!(
            DocumentCode::parse("PT", &['P']).unwrap().kind(),
            DocumentKind::Passport
        );
        assert!(DocumentCode::parse("X<", &['P']).is_err());
        assert!(DocumentCode::parse("IV", &['A', 'C', 'I']).is_err());
        assert!(DocumentCode::parse("I1", &['A', 'C', 'I']).is_err());
    }
}
