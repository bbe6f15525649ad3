//! Parsing MRZ text into an [`Mrz`]: line layout, the MRZ alphabet, field
//! positions per format and every check digit.
//!
//! Formats and their sources (ICAO Doc 9303, 8th edition):
//! - TD3, 2×44, passports: Part 4 §4.2.2.
//! - TD1, 3×30, identity cards: Part 5 §4.2.2.
//! - TD2, 2×36: Part 6 §4.2.2.
//! - MRV-A, 2×44, and MRV-B, 2×36, visas: Part 7 §4.2.2 (no composite digit).
//!
//! Input that is not an MRZ at all (too large, wrong layout, characters outside
//! `A-Z0-9<`, a document code the format does not allow) is an [`MrzError`].
//! Anything wrong *inside* the fields (check digits, dates, codes) is collected
//! as [`MrzProblem`]s on the returned [`Mrz`], every one of them, so that a
//! reviewer sees all faults at once.

use chrono::NaiveDate;

use super::check_digit::{self, CheckDigitError};
use super::fields::{
    DateRole, DocumentCode, DocumentNumber, FieldError, MrzDate, MrzName, Sex, StateCode,
};

/// The largest input accepted, in bytes. A TD1 is 90 characters and a TD3 88;
/// this leaves room for line endings and surrounding whitespace and still
/// bounds the work done on hostile input.
pub const MAX_INPUT_BYTES: usize = 512;

/// The MRZ formats of ICAO Doc 9303.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzFormat {
    /// 3 lines of 30: identity cards (Part 5).
    Td1,
    /// 2 lines of 36 (Part 6).
    Td2,
    /// 2 lines of 44: passports (Part 4).
    Td3,
    /// Visa, 2 lines of 44 (Part 7).
    MrvA,
    /// Visa, 2 lines of 36 (Part 7).
    MrvB,
}

/// Input that cannot be read as an MRZ at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// More than [`MAX_INPUT_BYTES`] bytes.
    #[error("MRZ input is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// The size received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Nothing but whitespace.
    #[error("MRZ input is empty")]
    Empty,
    /// A character outside `A-Z`, `0-9` and `<` inside a line.
    #[error("line {line}, column {column}: {character:?} is not in the MRZ alphabet")]
    InvalidCharacter {
        /// One-based line number.
        line: usize,
        /// One-based column.
        column: usize,
        /// The character found.
        character: char,
    },
    /// The number and lengths of lines match no format (3×30, 2×36, 2×44).
    #[error("line lengths {lengths:?} match no MRZ format (3x30, 2x36, 2x44)")]
    UnknownLayout {
        /// The length of each line, in characters.
        lengths: Vec<usize>,
    },
    /// The document code does not belong to the format (e.g. `X<` on 2×44).
    #[error("document code {code:?} is not valid for {format:?}")]
    UnsupportedDocumentCode {
        /// The format chosen from the layout.
        format: MrzFormat,
        /// The two printed characters.
        code: String,
    },
    /// A check digit was asked of data outside the MRZ alphabet; the alphabet
    /// is checked first, so this signals a defect in the parser itself.
    #[error(transparent)]
    CheckDigit(#[from] CheckDigitError),
}

/// A data element of the MRZ, to say where a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzField {
    /// Issuing state or organization.
    IssuingState,
    /// Name field.
    Name,
    /// Document number (with its long-number continuation).
    DocumentNumber,
    /// Nationality.
    Nationality,
    /// Date of birth.
    DateOfBirth,
    /// Sex.
    Sex,
    /// Date of expiry.
    DateOfExpiry,
    /// Personal number (TD3) or optional data.
    PersonalNumber,
}

impl MrzField {
    /// A stable snake_case name for logs and findings.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IssuingState => "issuing_state",
            Self::Name => "name",
            Self::DocumentNumber => "document_number",
            Self::Nationality => "nationality",
            Self::DateOfBirth => "date_of_birth",
            Self::Sex => "sex",
            Self::DateOfExpiry => "date_of_expiry",
            Self::PersonalNumber => "personal_number",
        }
    }
}

impl std::fmt::Display for MrzField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fault inside an MRZ that was otherwise readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzProblem {
    /// A field's check digit does not match its data (ICAO 9303-3 §4.9).
    #[error("{field} check digit: expected {expected}, printed {printed:?}")]
    CheckDigit {
        /// The field the digit protects.
        field: MrzField,
        /// The digit computed from the data.
        expected: u8,
        /// The character printed in the check-digit cell.
        printed: char,
    },
    /// The composite check digit does not match (Parts 4–6; visas have none).
    #[error("composite check digit: expected {expected}, printed {printed:?}")]
    Composite {
        /// The digit computed over the protected ranges.
        expected: u8,
        /// The character printed.
        printed: char,
    },
    /// A field whose content is not allowed in its position.
    #[error("{field}: {error}")]
    InvalidField {
        /// Which field.
        field: MrzField,
        /// What is wrong with it.
        error: FieldError,
    },
    /// The document-number check-digit cell is `<` (a long number, Part 5
    /// §4.2.2 note j), but the optional data holds no continuation before the
    /// check digit.
    #[error("long document number has no continuation in the optional data")]
    LongDocumentNumber,
}

/// A parsed machine readable zone. Fields that could not be read are `None`
/// (or carry no date) and have a matching entry in [`Mrz::problems`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mrz {
    format: MrzFormat,
    document_code: DocumentCode,
    issuing_state: Option<StateCode>,
    name: MrzName,
    document_number: Option<DocumentNumber>,
    nationality: Option<StateCode>,
    date_of_birth: MrzDate,
    sex: Option<Sex>,
    date_of_expiry: MrzDate,
    optional_data: String,
    optional_data_2: String,
    problems: Vec<MrzProblem>,
}

impl Mrz {
    /// The format, chosen from the layout and the document code.
    #[must_use]
    pub fn format(&self) -> MrzFormat {
        self.format
    }
    /// The document code (`P`, `ID`, `V`…).
    #[must_use]
    pub fn document_code(&self) -> &DocumentCode {
        &self.document_code
    }
    /// The issuing state or organization, if well-formed.
    #[must_use]
    pub fn issuing_state(&self) -> Option<&StateCode> {
        self.issuing_state.as_ref()
    }
    /// The holder's name.
    #[must_use]
    pub fn name(&self) -> &MrzName {
        &self.name
    }
    /// The document number, if well-formed.
    #[must_use]
    pub fn document_number(&self) -> Option<&DocumentNumber> {
        self.document_number.as_ref()
    }
    /// The nationality, if well-formed.
    #[must_use]
    pub fn nationality(&self) -> Option<&StateCode> {
        self.nationality.as_ref()
    }
    /// The date of birth as printed, with its calendar day when valid.
    #[must_use]
    pub fn date_of_birth(&self) -> &MrzDate {
        &self.date_of_birth
    }
    /// The sex, if the cell holds `M`, `F`, `X` or `<`.
    #[must_use]
    pub fn sex(&self) -> Option<Sex> {
        self.sex
    }
    /// The date of expiry as printed, with its calendar day when valid.
    #[must_use]
    pub fn date_of_expiry(&self) -> &MrzDate {
        &self.date_of_expiry
    }
    /// The optional data without trailing fillers: the personal number on a
    /// TD3, the line-1 optional data on a TD1 (after any long-number
    /// continuation), the optional data on a TD2 or visa. Interior fillers are
    /// kept (`010195<112X`).
    #[must_use]
    pub fn optional_data(&self) -> &str {
        &self.optional_data
    }
    /// The line-2 optional data of a TD1; empty for other formats.
    #[must_use]
    pub fn optional_data_2(&self) -> &str {
        &self.optional_data_2
    }
    /// The personal number of a TD3, if one is printed.
    #[must_use]
    pub fn personal_number(&self) -> Option<&str> {
        (self.format == MrzFormat::Td3 && !self.optional_data.is_empty())
            .then_some(self.optional_data.as_str())
    }
    /// Every fault found, in MRZ order; empty for a fully valid MRZ.
    #[must_use]
    pub fn problems(&self) -> &[MrzProblem] {
        &self.problems
    }
    /// True when no problem was found.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A run of cells: (line index, start, end), end exclusive.
type Span = (usize, usize, usize);
/// One cell: (line index, column).
type Cell = (usize, usize);

/// Where each data element sits in one format.
struct Layout {
    format: MrzFormat,
    /// First letters allowed in the document code.
    codes: &'static [char],
    issuing_state: Cell,
    name: Span,
    /// Nine number cells; the check digit follows.
    document_number: Cell,
    nationality: Cell,
    /// Six date cells; the check digit follows.
    date_of_birth: Cell,
    sex: Cell,
    /// Six date cells; the check digit follows.
    date_of_expiry: Cell,
    optional_data: Span,
    /// TD3 only: the personal number's check digit (Part 4 §4.2.2).
    personal_number_check: Option<Cell>,
    /// TD1 only: the line-2 optional data.
    optional_data_2: Option<Span>,
    /// The composite check digit and the ranges it protects.
    composite: Option<(Cell, &'static [Span])>,
    /// TD1 and TD2: a `<` in the number's check-digit cell means the number
    /// continues in the optional data (Part 5 and Part 6 §4.2.2, note j).
    long_numbers: bool,
}

/// Part 5 §4.2.2: TD1.
const TD1: Layout = Layout {
    format: MrzFormat::Td1,
    codes: &['A', 'C', 'I'],
    issuing_state: (0, 2),
    document_number: (0, 5),
    optional_data: (0, 15, 30),
    date_of_birth: (1, 0),
    sex: (1, 7),
    date_of_expiry: (1, 8),
    nationality: (1, 15),
    optional_data_2: Some((1, 18, 29)),
    composite: Some(((1, 29), &[(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)])),
    name: (2, 0, 30),
    personal_number_check: None,
    long_numbers: true,
};

/// Part 6 §4.2.2: TD2.
const TD2: Layout = Layout {
    format: MrzFormat::Td2,
    codes: &['A', 'C', 'I'],
    issuing_state: (0, 2),
    name: (0, 5, 36),
    document_number: (1, 0),
    nationality: (1, 10),
    date_of_birth: (1, 13),
    sex: (1, 20),
    date_of_expiry: (1, 21),
    optional_data: (1, 28, 35),
    personal_number_check: None,
    optional_data_2: None,
    composite: Some(((1, 35), &[(1, 0, 10), (1, 13, 20), (1, 21, 35)])),
    long_numbers: true,
};

/// Part 4 §4.2.2: TD3.
const TD3: Layout = Layout {
    format: MrzFormat::Td3,
    codes: &['P'],
    optional_data: (1, 28, 42),
    personal_number_check: Some((1, 42)),
    composite: Some(((1, 43), &[(1, 0, 10), (1, 13, 20), (1, 21, 43)])),
    name: (0, 5, 44),
    long_numbers: false,
    ..TD2
};

/// Part 7 §4.2.2: MRV-A; line 2 as TD3 up to the expiry check digit.
const MRV_A: Layout = Layout {
    format: MrzFormat::MrvA,
    codes: &['V'],
    optional_data: (1, 28, 44),
    personal_number_check: None,
    composite: None,
    ..TD3
};

/// Part 7 §4.2.2: MRV-B; line 2 as TD2 up to the expiry check digit.
const MRV_B: Layout = Layout {
    format: MrzFormat::MrvB,
    codes: &['V'],
    optional_data: (1, 28, 36),
    composite: None,
    long_numbers: false,
    ..TD2
};

/// Parses the MRZ text an app read off a document. Lines are separated by
/// `\n` (a `\r` before it and whitespace around lines and around the whole
/// text are ignored). `today` resolves the century of the two-digit years.
///
/// # Errors
/// [`MrzError`] when the text is not an MRZ of a known format; faults inside
/// the fields are not errors but [`Mrz::problems`].
pub fn parse(text: &str, today: NaiveDate) -> Result<Mrz, MrzError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(MrzError::TooLarge {
            len: text.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(MrzError::Empty);
    }
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (line_index, line) in lines.iter().enumerate() {
        if let Some((column, character)) = line
            .chars()
            .enumerate()
            .find(|(_, c)| check_digit::char_value(*c).is_none())
        {
            return Err(MrzError::InvalidCharacter {
                line: line_index + 1,
                column: column + 1,
                character,
            });
        }
    }
    let layout = choose_layout(&lines)?;
    let zone = Zone { lines: &lines };
    let code_cells = zone.span((0, 0, 2));
    let document_code = DocumentCode::parse(code_cells, layout.codes).map_err(|_| {
        MrzError::UnsupportedDocumentCode {
            format: layout.format,
            code: code_cells.to_owned(),
        }
    })?;
    read_fields(&zone, layout, document_code, today)
}

/// Picks the format from the number and lengths of the lines, then (for the
/// two lengths that visas share) from the first letter.
fn choose_layout(lines: &[&str]) -> Result<&'static Layout, MrzError> {
    let lengths: Vec<usize> = lines.iter().map(|l| l.len()).collect();
    let is_visa = lines.first().is_some_and(|l| l.starts_with('V'));
    let uniform = |n: usize, len: usize| lengths.len() == n && lengths.iter().all(|&l| l == len);
    if uniform(3, 30) {
        Ok(&TD1)
    } else if uniform(2, 36) {
        Ok(if is_visa { &MRV_B } else { &TD2 })
    } else if uniform(2, 44) {
        Ok(if is_visa { &MRV_A } else { &TD3 })
    } else {
        Err(MrzError::UnknownLayout { lengths })
    }
}

/// The validated lines: every line has the layout's length and holds only MRZ
/// characters, so the fallbacks below are never taken.
struct Zone<'a> {
    lines: &'a [&'a str],
}

impl Zone<'_> {
    fn span(&self, (line, start, end): Span) -> &str {
        self.lines
            .get(line)
            .and_then(|l| l.get(start..end))
            .unwrap_or("")
    }

    fn cell(&self, (line, column): Cell) -> char {
        self.lines
            .get(line)
            .and_then(|l| l.as_bytes().get(column))
            .map_or('?', |b| char::from(*b))
    }

    fn cells(&self, (line, start): Cell, len: usize) -> &str {
        self.span((line, start, start + len))
    }
}

fn read_fields(
    zone: &Zone<'_>,
    layout: &Layout,
    document_code: DocumentCode,
    today: NaiveDate,
) -> Result<Mrz, MrzError> {
    let mut problems = Vec::new();
    let invalid = |field, error| MrzProblem::InvalidField { field, error };

    let issuing_state = StateCode::parse(zone.cells(layout.issuing_state, 3))
        .map_err(|e| problems.push(invalid(MrzField::IssuingState, e)))
        .ok();
    let name = MrzName::parse(zone.span(layout.name)).unwrap_or_else(|(name, e)| {
        problems.push(invalid(MrzField::Name, e));
        name
    });

    // Document number and its check digit, with the long-number rule.
    let (number_line, number_start) = layout.document_number;
    let number_cells = zone.cells(layout.document_number, 9);
    let mut printed = zone.cell((number_line, number_start + 9));
    let mut optional = zone.span(layout.optional_data);
    let mut continuation = "";
    if layout.long_numbers && printed == '<' {
        // Part 5 §4.2.2 note j: the number continues in the optional data up
        // to the first filler; the character before that filler is the check
        // digit over the whole number.
        let (head, rest) = optional.split_once('<').unwrap_or((optional, ""));
        optional = rest;
        let digit_at = head.len().saturating_sub(1);
        continuation = head.get(..digit_at).unwrap_or("");
        printed = head.chars().last().unwrap_or('<');
        if continuation.is_empty() {
            problems.push(MrzProblem::LongDocumentNumber);
        }
    }
    let number_data = if continuation.is_empty() {
        number_cells.to_owned()
    } else {
        format!("{}{continuation}", number_cells.trim_end_matches('<'))
    };
    check(
        &mut problems,
        MrzField::DocumentNumber,
        &number_data,
        printed,
        false,
    )?;
    let document_number = DocumentNumber::new(number_cells, continuation)
        .map_err(|e| problems.push(invalid(MrzField::DocumentNumber, e)))
        .ok();

    let nationality = StateCode::parse(zone.cells(layout.nationality, 3))
        .map_err(|e| problems.push(invalid(MrzField::Nationality, e)))
        .ok();

    let date_of_birth = read_date(
        zone,
        layout.date_of_birth,
        MrzField::DateOfBirth,
        DateRole::Birth,
        today,
        &mut problems,
    )?;
    let sex = Sex::parse(zone.cell(layout.sex))
        .map_err(|e| problems.push(invalid(MrzField::Sex, e)))
        .ok();
    let date_of_expiry = read_date(
        zone,
        layout.date_of_expiry,
        MrzField::DateOfExpiry,
        DateRole::Expiry,
        today,
        &mut problems,
    )?;

    if let Some(cell) = layout.personal_number_check {
        // Part 4 §4.2.2: an empty personal number may carry `<` instead of 0
        // as its check digit; issuers print both.
        let data = zone.span(layout.optional_data);
        check(
            &mut problems,
            MrzField::PersonalNumber,
            data,
            zone.cell(cell),
            true,
        )?;
    }

    if let Some((cell, spans)) = layout.composite {
        let data: String = spans.iter().map(|s| zone.span(*s)).collect();
        let expected = check_digit::compute(&data)?;
        let printed = zone.cell(cell);
        if !digit_matches(expected, printed) {
            problems.push(MrzProblem::Composite { expected, printed });
        }
    }

    Ok(Mrz {
        format: layout.format,
        document_code,
        issuing_state,
        name,
        document_number,
        nationality,
        date_of_birth,
        sex,
        date_of_expiry,
        optional_data: optional.trim_end_matches('<').to_owned(),
        optional_data_2: layout
            .optional_data_2
            .map(|s| zone.span(s).trim_end_matches('<').to_owned())
            .unwrap_or_default(),
        problems,
    })
}

/// Reads six date cells and the check digit after them; both faults are
/// reported when both occur (a letter in a date usually breaks its digit too).
fn read_date(
    zone: &Zone<'_>,
    (line, start): Cell,
    field: MrzField,
    role: DateRole,
    today: NaiveDate,
    problems: &mut Vec<MrzProblem>,
) -> Result<MrzDate, MrzError> {
    let cells = zone.cells((line, start), 6);
    check(problems, field, cells, zone.cell((line, start + 6)), false)?;
    Ok(MrzDate::parse(cells, role, today).unwrap_or_else(|error| {
        problems.push(MrzProblem::InvalidField { field, error });
        MrzDate::unreadable(cells)
    }))
}

/// Compares one printed check digit with the one computed over `data`
/// (ICAO 9303-3 §4.9) and records a mismatch.
fn check(
    problems: &mut Vec<MrzProblem>,
    field: MrzField,
    data: &str,
    printed: char,
    filler_allowed_when_empty: bool,
) -> Result<(), MrzError> {
    let expected = check_digit::compute(data)?;
    let empty = data.bytes().all(|b| b == b'<');
    let filler_ok = filler_allowed_when_empty && empty && printed == '<';
    if !filler_ok && !digit_matches(expected, printed) {
        problems.push(MrzProblem::CheckDigit {
            field,
            expected,
            printed,
        });
    }
    Ok(())
}

fn digit_matches(expected: u8, printed: char) -> bool {
    printed.to_digit(10) == Some(u32::from(expected))
}

#[cfg(test)]
mod tests {
    use super::super::fields::{InvalidDateReason, Sex};
    use super::super::test_support::{self, Spec, pad};
    use super::*;
    use proptest::prelude::*;

    const ICAO_TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    const ICAO_L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
    }

    fn ok(text: &str) -> Mrz {
        parse(text, today()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    // --- input handling ---

    #[test]
    fn crlf_and_surrounding_whitespace_are_tolerated() {
        let plain = ok(ICAO_TD3);
        for text in [
            ICAO_TD3.replace('\n', "\r\n"),
            format!("\n\n  {ICAO_TD3}  \r\n\t"),
            ICAO_TD3.replace('\n', "  \n  "),
            format!("{}\r\n", ICAO_TD3.replace('\n', "\r\n")),
        ] {
            assert_eq!(ok(&text), plain, "{text:?}");
        }
    }

    #[test]
    fn anything_else_is_rejected() {
        let lower = ICAO_TD3.replace("ERIKSSON", "Eriksson");
        assert_eq!(
            parse(&lower, today()),
            Err(MrzError::InvalidCharacter {
                line: 1,
                column: 7,
                character: 'r'
            })
        );
        let inner_space = ICAO_TD3.replace("ANNA<MARIA", "ANNA MARIA");
        assert!(matches!(
            parse(&inner_space, today()),
            Err(MrzError::InvalidCharacter { character: ' ', .. })
        ));
        let blank_line_between = ICAO_TD3.replace('\n', "\n\n");
        assert_eq!(
            parse(&blank_line_between, today()),
            Err(MrzError::UnknownLayout {
                lengths: vec![44, 0, 44]
            })
        );
        let three_td3_lines = format!("{ICAO_TD3}\n{ICAO_L2}");
        assert!(matches!(
            parse(&three_td3_lines, today()),
            Err(MrzError::UnknownLayout { .. })
        ));
        let one_line = ICAO_TD3.replace('\n', "");
        assert!(matches!(
            parse(&one_line, today()),
            Err(MrzError::UnknownLayout { .. })
        ));
        assert_eq!(parse(" \r\n ", today()), Err(MrzError::Empty));
        let huge = "<".repeat(MAX_INPUT_BYTES + 1);
        assert_eq!(
            parse(&huge, today()),
            Err(MrzError::TooLarge {
                len: MAX_INPUT_BYTES + 1,
                max: MAX_INPUT_BYTES
            })
        );
        let unicode = ICAO_TD3.replace("ERIKSSON", "ERIKSSÖN");
        assert!(matches!(
            parse(&unicode, today()),
            Err(MrzError::InvalidCharacter {
                character: 'Ö', ..
            })
        ));
    }

    #[test]
    fn document_code_must_fit_the_format() {
        // A passport code on a TD1 layout, an ID code on a TD3 layout.
        let td1_as_passport = test_support::td1(&Spec {
            code: "P<".into(),
            ..Spec::id_card()
        });
        assert!(matches!(
            parse(&td1_as_passport, today()),
            Err(MrzError::UnsupportedDocumentCode {
                format: MrzFormat::Td1,
                ..
            })
        ));
        let td3_as_id = test_support::td3(&Spec {
            code: "ID".into(),
            ..Spec::td3()
        });
        assert!(matches!(
            parse(&td3_as_id, today()),
            Err(MrzError::UnsupportedDocumentCode {
                format: MrzFormat::Td3,
                ..
            })
        ));
    }

    // --- real-document quirks ---

    #[test]
    fn single_letter_state_code_d() {
        for (text, format) in [
            (test_support::td3(&Spec::td3()), MrzFormat::Td3),
            (test_support::td1(&Spec::id_card()), MrzFormat::Td1),
            (test_support::td2(&Spec::id_card()), MrzFormat::Td2),
        ] {
            let mrz = ok(&text);
            assert_eq!(mrz.problems(), &[], "{text}");
            assert_eq!(mrz.format(), format);
            assert_eq!(mrz.issuing_state().unwrap().as_str(), "D");
            assert_eq!(mrz.nationality().unwrap().as_str(), "D");
        }
        // `D<<` must not shift the name: the name starts at column 6.
        let mrz = ok(&test_support::td3(&Spec::td3()));
        assert_eq!(mrz.name().primary(), "MUSTERMANN");
        assert_eq!(mrz.name().secondary(), "ERIKA");
    }

    #[test]
    fn long_document_number_continues_into_optional_data() {
        let spec = Spec {
            number: "D23145890734AB".into(),
            optional: "XY<12".into(),
            ..Spec::id_card()
        };
        let mrz = ok(&test_support::td1(&spec));
        assert_eq!(mrz.problems(), &[]);
        let number = mrz.document_number().unwrap();
        assert_eq!(number.as_str(), "D23145890734AB");
        assert!(number.is_extended());
        assert_eq!(
            mrz.optional_data(),
            "XY<12",
            "optional data after the number"
        );

        let td2 = ok(&test_support::td2(&Spec {
            number: "X1234567890".into(),
            ..Spec::id_card()
        }));
        assert_eq!(td2.problems(), &[]);
        assert_eq!(td2.document_number().unwrap().as_str(), "X1234567890");
    }

    #[test]
    fn long_document_number_check_digit_is_verified() {
        // T1-02 with the continuation's check digit 9 changed to 8.
        let text = "I<UTOD23145890<7348<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<";
        let mrz = ok(text);
        assert!(mrz.problems().contains(&MrzProblem::CheckDigit {
            field: MrzField::DocumentNumber,
            expected: 9,
            printed: '8'
        }));
        // A `<` in the check-digit cell of a TD3 is not the long-number rule
        // (Part 4 has none): it is a wrong check digit.
        let td3 = ICAO_TD3.replace("L898902C36", "L898902C3<");
        let problems = ok(&td3).problems().to_vec();
        assert!(problems.contains(&MrzProblem::CheckDigit {
            field: MrzField::DocumentNumber,
            expected: 6,
            printed: '<'
        }));
        // Cell `<` and nothing in the optional data at all.
        let empty = test_support::td1(&Spec::id_card()).replacen("C01X00T47", "C01X00T47<", 1);
        let empty: String = empty
            .lines()
            .map(|l| pad(l, 30))
            .collect::<Vec<_>>()
            .join("\n");
        let mrz = ok(&empty);
        assert!(mrz.problems().contains(&MrzProblem::LongDocumentNumber));
    }

    #[test]
    fn empty_personal_number_accepts_filler_or_zero_check_digit() {
        for filler in [true, false] {
            let text = test_support::td3(&Spec {
                filler_personal_check: filler,
                ..Spec::td3()
            });
            let expected_cell = if filler { '<' } else { '0' };
            assert_eq!(
                text.lines().nth(1).unwrap().chars().nth(42),
                Some(expected_cell)
            );
            let mrz = ok(&text);
            assert_eq!(mrz.problems(), &[], "{text}");
            assert_eq!(mrz.personal_number(), None);
        }
        // A filler check digit is not accepted for a personal number that is
        // printed, and a non-zero digit is not accepted for an empty one.
        let printed = test_support::td3(&Spec {
            optional: "ZE184226B".into(),
            ..Spec::td3()
        });
        let with_filler = format!("{}<{}", &printed[..87], &printed[88..]);
        assert!(ok(&with_filler).problems().iter().any(|p| matches!(
            p,
            MrzProblem::CheckDigit {
                field: MrzField::PersonalNumber,
                printed: '<',
                ..
            }
        )));
        let empty = test_support::td3(&Spec::td3());
        let with_five = format!("{}5{}", &empty[..87], &empty[88..]);
        assert!(ok(&with_five).problems().contains(&MrzProblem::CheckDigit {
            field: MrzField::PersonalNumber,
            expected: 0,
            printed: '5'
        }));
    }

    #[test]
    fn filler_as_sex() {
        let builders: [(test_support::Builder, &str); 3] = [
            (test_support::td3, "P<"),
            (test_support::td1, "ID"),
            (test_support::td2, "ID"),
        ];
        for (builder, code) in builders {
            let spec = Spec {
                sex: '<',
                code: code.into(),
                ..Spec::td3()
            };
            let mrz = ok(&builder(&spec));
            assert_eq!(mrz.problems(), &[]);
            assert_eq!(mrz.sex(), Some(Sex::NotGiven));
        }
        let bad = ok(&test_support::td3(&Spec {
            sex: 'Q',
            ..Spec::td3()
        }));
        assert_eq!(bad.sex(), None);
        assert!(matches!(
            bad.problems(),
            [MrzProblem::InvalidField {
                field: MrzField::Sex,
                ..
            }]
        ));
    }

    #[test]
    fn names_truncated_to_fit_are_flagged() {
        let td3 = ok(&test_support::td3(&Spec {
            name: "NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<KRASUANG".into(),
            ..Spec::td3()
        }));
        assert_eq!(td3.problems(), &[]);
        assert_eq!(td3.name().secondary(), "CHAYAPA DEJTHAMRONG K");
        assert!(td3.name().is_possibly_truncated());
        let td1 = ok(&test_support::td1(&Spec {
            name: "PAPANDROPOULOUS<<JONATHON<ALEC".into(),
            ..Spec::id_card()
        }));
        assert!(td1.name().is_possibly_truncated());
        let short = ok(&test_support::td1(&Spec::id_card()));
        assert!(!short.name().is_possibly_truncated());
    }

    /// Section 6 of `vectors.md`: ICAO name-field encodings on TD3 line 1.
    #[test]
    fn icao_name_field_encodings() {
        let cases = [
            (
                "PPUTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "ERIKSSON",
                "ANNA MARIA",
                false,
            ),
            (
                "PPUTOHENG<<DEBORAH<MING<LO<<<<<<<<<<<<<<<<<<",
                "HENG",
                "DEBORAH MING LO",
                false,
            ),
            (
                "PPUTOSMITH<JONES<<SUSIE<MARGARET<<<<<<<<<<<<",
                "SMITH JONES",
                "SUSIE MARGARET",
                false,
            ),
            (
                "PPUTOOCONNOR<<ENYA<SIOBHAN<<<<<<<<<<<<<<<<<<",
                "OCONNOR",
                "ENYA SIOBHAN",
                false,
            ),
            (
                "PPUTOVAN<DER<MUELLEN<<MARTIN<<<<<<<<<<<<<<<<",
                "VAN DER MUELLEN",
                "MARTIN",
                false,
            ),
            (
                "PPUTOAL<BASRI<<HUDA<MUHAMMAD<JAWAD<<<<<<<<<<",
                "AL BASRI",
                "HUDA MUHAMMAD JAWAD",
                false,
            ),
            (
                "PPUTOVILARCHAO<FERNANDEZ<<JOSE<RAMON<<<<<<<<",
                "VILARCHAO FERNANDEZ",
                "JOSE RAMON",
                false,
            ),
            (
                "PPUTOARKFREITH<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
                "ARKFREITH",
                "",
                false,
            ),
            (
                "PPUTOSATRIYA<SUDARPA<<<<<<<<<<<<<<<<<<<<<<<<",
                "SATRIYA SUDARPA",
                "",
                false,
            ),
            (
                "PPUTOPAPANDROPOULOUS<<JONATHON<WARREN<TREVOR",
                "PAPANDROPOULOUS",
                "JONATHON WARREN TREVOR",
                true,
            ),
            (
                "PPUTONILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<K",
                "NILAVADHANANANDA",
                "CHAYAPA DEJTHAMRONG K",
                true,
            ),
            (
                "PPUTONILAVADHANANANDA<<ARNPOL<PETCH<CHARONGU",
                "NILAVADHANANANDA",
                "ARNPOL PETCH CHARONGU",
                true,
            ),
            (
                "PPUTOBENNELONG<WOOLOOM<WARRAND<WARNAM<<DINGO",
                "BENNELONG WOOLOOM WARRAND WARNAM",
                "DINGO",
                true,
            ),
        ];
        for (line1, primary, secondary, full) in cases {
            let mrz = ok(&format!("{line1}\n{ICAO_L2}"));
            assert_eq!(mrz.problems(), &[], "{line1}");
            assert_eq!(mrz.document_code().as_str(), "PP");
            assert_eq!(mrz.name().primary(), primary, "{line1}");
            assert_eq!(mrz.name().secondary(), secondary, "{line1}");
            assert_eq!(mrz.name().is_possibly_truncated(), full, "{line1}");
        }
        for (line3, primary, secondary) in [
            (
                "PAPANDROPOULOUS<<JONATHON<ALEC",
                "PAPANDROPOULOUS",
                "JONATHON ALEC",
            ),
            (
                "VAN<DER<MUELLEN<<MARTIN<<<<<<<",
                "VAN DER MUELLEN",
                "MARTIN",
            ),
            (
                "AL<BASRI<<HUDA<MUHAMMAD<JAWAD<",
                "AL BASRI",
                "HUDA MUHAMMAD JAWAD",
            ),
        ] {
            let text = test_support::td1(&Spec {
                name: line3.into(),
                ..Spec::id_card()
            });
            let mrz = ok(&text);
            assert_eq!(mrz.name().primary(), primary);
            assert_eq!(mrz.name().secondary(), secondary);
        }
    }

    #[test]
    fn calendar_invalid_dates_with_valid_check_digits_are_reported() {
        for (dob, expiry) in [
            ("740231", "310131"),
            ("741301", "310131"),
            ("740812", "310229"),
            ("010229", "300000"),
        ] {
            for text in [
                test_support::td3(&Spec {
                    dob: dob.into(),
                    expiry: expiry.into(),
                    ..Spec::td3()
                }),
                test_support::td1(&Spec {
                    dob: dob.into(),
                    expiry: expiry.into(),
                    ..Spec::id_card()
                }),
            ] {
                let mrz = ok(&text);
                let invalid: Vec<MrzField> = mrz
                    .problems()
                    .iter()
                    .map(|p| match p {
                        MrzProblem::InvalidField {
                            field,
                            error:
                                FieldError::Date {
                                    reason: InvalidDateReason::NotACalendarDay,
                                    ..
                                },
                        } => *field,
                        other => panic!("only calendar problems expected, got {other}"),
                    })
                    .collect();
                let mut expected = Vec::new();
                if dob != "740812" {
                    expected.push(MrzField::DateOfBirth);
                }
                if expiry != "310131" {
                    expected.push(MrzField::DateOfExpiry);
                }
                assert_eq!(invalid, expected, "{dob} {expiry}");
                if dob == "740231" {
                    assert_eq!(mrz.date_of_birth().raw(), "740231");
                    assert_eq!(mrz.date_of_birth().date(), None);
                }
            }
        }
    }

    #[test]
    fn every_failure_is_reported_not_only_the_first() {
        // ICAO specimen with the number, birth and expiry digits all wrong.
        let text = ICAO_TD3.replace(
            "L898902C36UTO7408122F1204159",
            "L898902C35UTO7408121F1204158",
        );
        let fields: Vec<Option<MrzField>> = ok(&text)
            .problems()
            .iter()
            .map(|p| match p {
                MrzProblem::CheckDigit { field, .. } => Some(*field),
                _ => None,
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                Some(MrzField::DocumentNumber),
                Some(MrzField::DateOfBirth),
                Some(MrzField::DateOfExpiry),
                None, // composite
            ]
        );
    }

    #[test]
    fn visas_have_no_composite_and_any_optional_data() {
        let a = ok(&test_support::mrv_a(&Spec {
            code: "V<".into(),
            optional: "ANYTHING<12345".into(),
            ..Spec::td3()
        }));
        assert_eq!(a.format(), MrzFormat::MrvA);
        assert_eq!(a.problems(), &[]);
        assert_eq!(a.optional_data(), "ANYTHING<12345");
        let b = ok(&test_support::mrv_b(&Spec {
            code: "V<".into(),
            ..Spec::td3()
        }));
        assert_eq!(b.format(), MrzFormat::MrvB);
        assert_eq!(b.problems(), &[]);
    }

    // --- properties ---

    fn any_layout_text() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec("[A-Z0-9<]{30}", 3),
            proptest::collection::vec("[A-Z0-9<]{36}", 2),
            proptest::collection::vec("[A-Z0-9<]{44}", 2),
            proptest::collection::vec("[PIACV][A-Z<][A-Z<]{3}[A-Z0-9<]{39}", 2),
        ]
        .prop_map(|lines| lines.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_arbitrary_text(text in "(?s).{0,600}") {
            let _ = parse(&text, today());
        }

        #[test]
        fn never_panics_on_mrz_shaped_text(text in any_layout_text()) {
            let _ = parse(&text, today());
        }

        #[test]
        fn never_panics_on_a_mutated_valid_mrz(position in 0usize..89, c in "[A-Z0-9<a \n\r]") {
            let mut text = ICAO_TD3.to_owned();
            if text.is_char_boundary(position) && position < text.len() {
                text.replace_range(position..=position, &c);
            }
            let _ = parse(&text, today());
        }
    }

    fn component() -> impl Strategy<Value = String> {
        "[A-Z]{1,6}"
    }

    fn name_parts() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
        (
            proptest::collection::vec(component(), 1..=2),
            proptest::collection::vec(component(), 0..=2),
        )
    }

    fn date() -> impl Strategy<Value = String> {
        (0u32..100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
    }

    fn state() -> impl Strategy<Value = String> {
        "[A-Z]{1,3}".prop_map(|s| pad(&s, 3))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A generated valid MRZ (random fields, computed check digits) parses
        /// back to the same fields with no problem, in every format.
        #[test]
        fn generated_valid_mrz_round_trips(
            format in 0usize..5,
            (primary, secondary) in name_parts(),
            number in "[A-Z0-9]{1,9}",
            long_tail in "[0-9A-Z]{0,5}",
            issuer in state(),
            nationality in state(),
            dob in date(),
            expiry in date(),
            sex in prop::sample::select(vec!['M', 'F', 'X', '<']),
            optional in "([A-Z0-9][A-Z0-9<]{0,4}[A-Z0-9])?",
            second in "[A-Z<]",
            filler_personal_check in any::<bool>(),
        ) {
            let name = if secondary.is_empty() {
                primary.join("<")
            } else {
                format!("{}<<{}", primary.join("<"), secondary.join("<"))
            };
            // Long numbers exist on TD1 and TD2 only, and need all nine cells.
            let long = matches!(format, 0 | 1) && number.len() == 9 && !long_tail.is_empty();
            let number = if long { format!("{number}{long_tail}") } else { number };
            let (builder, first, expected): (test_support::Builder, &str, MrzFormat) = match format {
                0 => (test_support::td1, "I", MrzFormat::Td1),
                1 => (test_support::td2, "A", MrzFormat::Td2),
                2 => (test_support::td3, "P", MrzFormat::Td3),
                3 => (test_support::mrv_a, "V", MrzFormat::MrvA),
                _ => (test_support::mrv_b, "V", MrzFormat::MrvB),
            };
            // TD2 leaves 7 optional cells, shared with a long number's tail.
            let optional = if format == 1 && long { String::new() } else { optional };
            let second = if second == "V" { "<".to_owned() } else { second };
            let spec = Spec {
                code: format!("{first}{second}"),
                issuer: issuer.clone(),
                name,
                number: number.clone(),
                nationality: nationality.clone(),
                dob: dob.clone(),
                sex,
                expiry: expiry.clone(),
                optional: optional.clone(),
                filler_personal_check,
            };
            let text = builder(&spec);
            let mrz = parse(&text, today()).unwrap();
            prop_assert_eq!(mrz.problems(), &[] as &[MrzProblem], "{}", text);
            prop_assert_eq!(mrz.format(), expected);
            prop_assert_eq!(mrz.issuing_state().unwrap().as_str(), issuer.trim_end_matches('<'));
            prop_assert_eq!(mrz.nationality().unwrap().as_str(), nationality.trim_end_matches('<'));
            prop_assert_eq!(mrz.name().primary(), primary.join(" "));
            prop_assert_eq!(mrz.name().secondary(), secondary.join(" "));
            prop_assert_eq!(mrz.document_number().unwrap().as_str(), number.as_str());
            prop_assert_eq!(mrz.document_number().unwrap().is_extended(), long);
            prop_assert_eq!(mrz.date_of_birth().raw(), dob.as_str());
            prop_assert_eq!(mrz.date_of_expiry().raw(), expiry.as_str());
            let birth = mrz.date_of_birth().date().unwrap();
            prop_assert!(birth <= today());
            prop_assert_eq!(birth.format("%y%m%d").to_string(), dob);
            let exp = mrz.date_of_expiry().date().unwrap();
            prop_assert_eq!(exp.format("%y%m%d").to_string(), expiry);
            prop_assert_eq!(mrz.sex().unwrap().as_char(), sex);
            prop_assert_eq!(mrz.optional_data(), optional.as_str());
        }
    }
}
