//! Table-driven tests over every non-OCR vector in
//! `shared/data/mrz/vectors.md` (ids as in that file). Valid vectors must
//! give the listed fields and no problem; invalid ones must give exactly the
//! listed problems (each failing check digit with expected vs printed) or the
//! listed structural error.

use chrono::NaiveDate;

use super::fields::{FieldError, InvalidDateReason, Sex};
use super::parse::{MrzError, MrzField, MrzFormat, MrzProblem, parse};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
}

/// Expected fields of a valid vector.
struct Fields {
    format: MrzFormat,
    code: &'static str,
    issuer: &'static str,
    primary: &'static str,
    secondary: &'static str,
    number: &'static str,
    nationality: &'static str,
    /// YYMMDD as printed, and the resolved ISO date.
    dob: (&'static str, &'static str),
    sex: Sex,
    expiry: (&'static str, &'static str),
    optional: &'static str,
}

struct Valid {
    id: &'static str,
    lines: &'static [&'static str],
    fields: Fields,
}

use MrzFormat::{MrvA, MrvB, Td1, Td2, Td3};
use Sex::{Female as F, Male as M};

const ICAO_TD3_L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";

#[rustfmt::skip]
const VALID: &[Valid] = &[
    Valid { id: "T3-01", lines: &[ICAO_TD3_L1, "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
        fields: Fields { format: Td3, code: "P", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "L898902C3", nationality: "UTO", dob: ("740812", "1974-08-12"), sex: F, expiry: ("120415", "2012-04-15"), optional: "ZE184226B" } },
    Valid { id: "T3-02", lines: &["P<POLKOWALSKA<KWIATKOWSKA<<JOANNA<<<<<<<<<<<", "AA00000000POL6002084F1412314<<<<<<<<<<<<<<<4"],
        fields: Fields { format: Td3, code: "P", issuer: "POL", primary: "KOWALSKA KWIATKOWSKA", secondary: "JOANNA", number: "AA0000000", nationality: "POL", dob: ("600208", "1960-02-08"), sex: F, expiry: ("141231", "2014-12-31"), optional: "" } },
    Valid { id: "T3-03", lines: &["P<CANMARTIN<<SARAH<<<<<<<<<<<<<<<<<<<<<<<<<<", "ZE000509<9CAN8501019F2301147<<<<<<<<<<<<<<<8"],
        fields: Fields { format: Td3, code: "P", issuer: "CAN", primary: "MARTIN", secondary: "SARAH", number: "ZE000509", nationality: "CAN", dob: ("850101", "1985-01-01"), sex: F, expiry: ("230114", "2023-01-14"), optional: "" } },
    Valid { id: "T3-04", lines: &["P<CANMARTIN<<SARAH<<<<<<<<<<<<<<<<<<<<<<<<<<", "ZE000509<9CAN8501019F2301147<<<<<<<<<<<<<<08"],
        fields: Fields { format: Td3, code: "P", issuer: "CAN", primary: "MARTIN", secondary: "SARAH", number: "ZE000509", nationality: "CAN", dob: ("850101", "1985-01-01"), sex: F, expiry: ("230114", "2023-01-14"), optional: "" } },
    Valid { id: "T3-12", lines: &["PTCHNCESHI<<YANGBEN<<<<<<<<<<<<<<<<<<<<<<<<<", "G622925996CHN8310291F1904220LCOCMKNENBPJB984"],
        fields: Fields { format: Td3, code: "PT", issuer: "CHN", primary: "CESHI", secondary: "YANGBEN", number: "G62292599", nationality: "CHN", dob: ("831029", "1983-10-29"), sex: F, expiry: ("190422", "2019-04-22"), optional: "LCOCMKNENBPJB9" } },
    Valid { id: "T2-01", lines: &["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"],
        fields: Fields { format: Td2, code: "I", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "D23145890", nationality: "UTO", dob: ("740812", "1974-08-12"), sex: F, expiry: ("120415", "2012-04-15"), optional: "" } },
    Valid { id: "T2-02", lines: &["I<UTOSTEVENSON<<PETER<JOHN<<<<<<<<<<", "D23145890<UTO3407127M95071227349<<<8"],
        fields: Fields { format: Td2, code: "I", issuer: "UTO", primary: "STEVENSON", secondary: "PETER JOHN", number: "D23145890734", nationality: "UTO", dob: ("340712", "1934-07-12"), sex: M, expiry: ("950712", "1995-07-12"), optional: "" } },
    Valid { id: "T1-01", lines: &["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "I", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "D23145890", nationality: "UTO", dob: ("740812", "1974-08-12"), sex: F, expiry: ("120415", "2012-04-15"), optional: "" } },
    Valid { id: "T1-02", lines: &["I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"],
        fields: Fields { format: Td1, code: "I", issuer: "UTO", primary: "STEVENSON", secondary: "PETER JOHN", number: "D23145890734", nationality: "UTO", dob: ("340712", "1934-07-12"), sex: M, expiry: ("950712", "1995-07-12"), optional: "" } },
    Valid { id: "T1-03", lines: &["IDAUT10000999<6<<<<<<<<<<<<<<<", "7109094F1112315AUT<<<<<<<<<<<4", "MUSTERFRAU<<ISOLDE<<<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "ID", issuer: "AUT", primary: "MUSTERFRAU", secondary: "ISOLDE", number: "10000999", nationality: "AUT", dob: ("710909", "1971-09-09"), sex: F, expiry: ("111231", "2011-12-31"), optional: "" } },
    Valid { id: "T1-05", lines: &["IDCHEA1234567<6<<<<<<<<<<<<<<<", "7510256M2009018CHE<<<<<<<<<<<8", "SMITH<<JOHN<ALBERT<<<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "ID", issuer: "CHE", primary: "SMITH", secondary: "JOHN ALBERT", number: "A1234567", nationality: "CHE", dob: ("751025", "1975-10-25"), sex: M, expiry: ("200901", "2020-09-01"), optional: "" } },
    Valid { id: "T1-11", lines: &["I<FINXA10000585010195<112X<<<<", "9501016F2803135FIN<<<<<<<<<<<7", "SPECIMEN<TRAVEL<<VILMA<SOFIA<<"],
        fields: Fields { format: Td1, code: "I", issuer: "FIN", primary: "SPECIMEN TRAVEL", secondary: "VILMA SOFIA", number: "XA1000058", nationality: "FIN", dob: ("950101", "1995-01-01"), sex: F, expiry: ("280313", "2028-03-13"), optional: "010195<112X" } },
    Valid { id: "T1-12", lines: &["IDESPBAA000589599999999R<<<<<<", "8001014F2501017ESP<<<<<<<<<<<7", "ESPANOLA<ESPANOLA<<CARMEN<<<<<"],
        fields: Fields { format: Td1, code: "ID", issuer: "ESP", primary: "ESPANOLA ESPANOLA", secondary: "CARMEN", number: "BAA000589", nationality: "ESP", dob: ("800101", "1980-01-01"), sex: F, expiry: ("250101", "2025-01-01"), optional: "99999999R" } },
    Valid { id: "T1-13", lines: &["IDLIEID98754015<<<<<<<<<<<<<<<", "8205122M1906224LIE<<<<<<<<<<<6", "OSPELT<BECK<<MARISA<<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "ID", issuer: "LIE", primary: "OSPELT BECK", secondary: "MARISA", number: "ID9875401", nationality: "LIE", dob: ("820512", "1982-05-12"), sex: M, expiry: ("190622", "2019-06-22"), optional: "" } },
    Valid { id: "T1-15", lines: &["I<MCO029067<<<0<<<<<<<<<<<<<<<", "9901018F0903248MCO<<<<<<<<<<<0", "SPECIMEN<<SPECIMEN<<<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "I", issuer: "MCO", primary: "SPECIMEN", secondary: "SPECIMEN", number: "029067", nationality: "MCO", dob: ("990101", "1999-01-01"), sex: F, expiry: ("090324", "2009-03-24"), optional: "" } },
    Valid { id: "T1-16", lines: &["I<SWE59000002<8198703142391<<<", "8703145M1701027SWE<<<<<<<<<<<8", "SPECIMEN<<SVEN<<<<<<<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "I", issuer: "SWE", primary: "SPECIMEN", secondary: "SVEN", number: "59000002", nationality: "SWE", dob: ("870314", "1987-03-14"), sex: M, expiry: ("170102", "2017-01-02"), optional: "198703142391" } },
    Valid { id: "T1-17", lines: &["C<ITACA00000AA4<<<<<<<<<<<<<<<", "6412308F2212304ITA<<<<<<<<<<<0", "ROSSI<<BIANCA<<<<<<<<<<<<<<<<<"],
        fields: Fields { format: Td1, code: "C", issuer: "ITA", primary: "ROSSI", secondary: "BIANCA", number: "CA00000AA", nationality: "ITA", dob: ("641230", "1964-12-30"), sex: F, expiry: ("221230", "2022-12-30"), optional: "" } },
    Valid { id: "T1-18", lines: &["I<NLDSPECI20212<<<<<<<<<<<<<<<", "6503101F3108022NLD<<<<<<<<<<<8", "DE<BRUIJN<<WILLEKE<LISELOTTE<<"],
        fields: Fields { format: Td1, code: "I", issuer: "NLD", primary: "DE BRUIJN", secondary: "WILLEKE LISELOTTE", number: "SPECI2021", nationality: "NLD", dob: ("650310", "1965-03-10"), sex: F, expiry: ("310802", "2031-08-02"), optional: "" } },
    Valid { id: "MA-01", lines: &["VIUSATRAVELER<<HAPPYPERSON<<<<<<<<<<<<<<<<<<", "555123ABC6GBR6502056F04122361FLNDDDAM5803085"],
        fields: Fields { format: MrvA, code: "VI", issuer: "USA", primary: "TRAVELER", secondary: "HAPPYPERSON", number: "555123ABC", nationality: "GBR", dob: ("650205", "1965-02-05"), sex: F, expiry: ("041223", "2004-12-23"), optional: "1FLNDDDAM5803085" } },
    Valid { id: "MA-02", lines: &["VIUSATRAVELER<<HAPPYPERSON<<<<<<<<<<<<<<<<<<", "555123ABC6GBR6502056F0412236IFLND00AMS803085"],
        fields: Fields { format: MrvA, code: "VI", issuer: "USA", primary: "TRAVELER", secondary: "HAPPYPERSON", number: "555123ABC", nationality: "GBR", dob: ("650205", "1965-02-05"), sex: F, expiry: ("041223", "2004-12-23"), optional: "IFLND00AMS803085" } },
    Valid { id: "MA-03", lines: &["VNUSATRAVELER<<HAPPY<<<<<<<<<<<<<<<<<<<<<<<<", "1234567897CAN6612120M1407282B3XLC000FD142955"],
        fields: Fields { format: MrvA, code: "VN", issuer: "USA", primary: "TRAVELER", secondary: "HAPPY", number: "123456789", nationality: "CAN", dob: ("661212", "1966-12-12"), sex: M, expiry: ("140728", "2014-07-28"), optional: "B3XLC000FD142955" } },
    Valid { id: "MA-04", lines: &["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"],
        fields: Fields { format: MrvA, code: "V", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "L8988901C", nationality: "XXX", dob: ("400907", "1940-09-07"), sex: F, expiry: ("961210", "1996-12-10"), optional: "6ZE184226B" } },
    Valid { id: "MA-05", lines: &["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C<3UTO6908061F9406236ZE184226B<<<<<<<"],
        fields: Fields { format: MrvA, code: "V", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "L898902C", nationality: "UTO", dob: ("690806", "1969-08-06"), sex: F, expiry: ("940623", "1994-06-23"), optional: "ZE184226B" } },
    Valid { id: "MB-01", lines: &["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"],
        fields: Fields { format: MrvB, code: "V", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "L8988901C", nationality: "XXX", dob: ("400907", "1940-09-07"), sex: F, expiry: ("961210", "1996-12-10"), optional: "" } },
    Valid { id: "MB-02", lines: &["VBD<<DEDIC<<SIDNAN<<<<<<<<<<<<<<<<<<", "D091740530BOS8201135M9708011<2020711"],
        fields: Fields { format: MrvB, code: "VB", issuer: "D", primary: "DEDIC", secondary: "SIDNAN", number: "D09174053", nationality: "BOS", dob: ("820113", "1982-01-13"), sex: M, expiry: ("970801", "1997-08-01"), optional: "<2020711" } },
    Valid { id: "MB-03", lines: &["VCFRASPECIMEN<<SPECIMEN<<<<<<<<<<<<<", "F000000005UTO0311063M1401143<M300703"],
        fields: Fields { format: MrvB, code: "VC", issuer: "FRA", primary: "SPECIMEN", secondary: "SPECIMEN", number: "F00000000", nationality: "UTO", dob: ("031106", "2003-11-06"), sex: M, expiry: ("140114", "2014-01-14"), optional: "<M300703" } },
    Valid { id: "MB-04", lines: &["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L898902C<3UTO6908061F9406236ZE184226"],
        fields: Fields { format: MrvB, code: "V", issuer: "UTO", primary: "ERIKSSON", secondary: "ANNA MARIA", number: "L898902C", nationality: "UTO", dob: ("690806", "1969-08-06"), sex: F, expiry: ("940623", "1994-06-23"), optional: "ZE184226" } },
];

#[test]
fn valid_vectors_give_their_fields_and_no_problem() {
    for v in VALID {
        let mrz = parse(&v.lines.join("\n"), today()).unwrap_or_else(|e| panic!("{}: {e}", v.id));
        let f = &v.fields;
        assert_eq!(mrz.problems(), &[], "{}", v.id);
        assert!(mrz.is_valid(), "{}", v.id);
        assert_eq!(mrz.format(), f.format, "{}", v.id);
        assert_eq!(mrz.document_code().as_str(), f.code, "{}", v.id);
        assert_eq!(mrz.issuing_state().unwrap().as_str(), f.issuer, "{}", v.id);
        assert_eq!(mrz.name().primary(), f.primary, "{}", v.id);
        assert_eq!(mrz.name().secondary(), f.secondary, "{}", v.id);
        assert_eq!(
            mrz.document_number().unwrap().as_str(),
            f.number,
            "{}",
            v.id
        );
        assert_eq!(
            mrz.nationality().unwrap().as_str(),
            f.nationality,
            "{}",
            v.id
        );
        assert_eq!(mrz.date_of_birth().raw(), f.dob.0, "{}", v.id);
        assert_eq!(
            mrz.date_of_birth().date().unwrap().to_string(),
            f.dob.1,
            "{}",
            v.id
        );
        assert_eq!(mrz.sex(), Some(f.sex), "{}", v.id);
        assert_eq!(mrz.date_of_expiry().raw(), f.expiry.0, "{}", v.id);
        assert_eq!(
            mrz.date_of_expiry().date().unwrap().to_string(),
            f.expiry.1,
            "{}",
            v.id
        );
        assert_eq!(mrz.optional_data(), f.optional, "{}", v.id);
    }
}

#[test]
fn long_document_numbers_are_flagged_extended() {
    for id in ["T2-02", "T1-02"] {
        let v = VALID.iter().find(|v| v.id == id).unwrap();
        let mrz = parse(&v.lines.join("\n"), today()).unwrap();
        assert!(mrz.document_number().unwrap().is_extended(), "{id}");
    }
    let t1_01 = VALID.iter().find(|v| v.id == "T1-01").unwrap();
    let mrz = parse(&t1_01.lines.join("\n"), today()).unwrap();
    assert!(!mrz.document_number().unwrap().is_extended());
}

#[test]
fn td3_personal_numbers() {
    let personal = |id: &str| {
        let v = VALID.iter().find(|v| v.id == id).unwrap();
        parse(&v.lines.join("\n"), today())
            .unwrap()
            .personal_number()
            .map(str::to_owned)
    };
    assert_eq!(personal("T3-01").as_deref(), Some("ZE184226B"));
    assert_eq!(personal("T3-03"), None, "empty, check digit <");
    assert_eq!(personal("T3-04"), None, "empty, check digit 0");
    assert_eq!(personal("T1-16"), None, "not a TD3");
}

fn cd(field: MrzField, expected: u8, printed: char) -> MrzProblem {
    MrzProblem::CheckDigit {
        field,
        expected,
        printed,
    }
}

fn composite(expected: u8, printed: char) -> MrzProblem {
    MrzProblem::Composite { expected, printed }
}

fn bad_date(field: MrzField, raw: &str, reason: InvalidDateReason) -> MrzProblem {
    MrzProblem::InvalidField {
        field,
        error: FieldError::Date {
            raw: raw.to_owned(),
            reason,
        },
    }
}

#[test]
fn invalid_vectors_report_every_failing_check() {
    use InvalidDateReason::{NotACalendarDay, NotDigits};
    use MrzField::{DateOfBirth, DateOfExpiry, DocumentNumber, Name, PersonalNumber};
    let cases: Vec<(&str, Vec<&str>, Vec<MrzProblem>)> = vec![
        (
            "T3-06",
            vec![
                "P<INPSPECIMEN<<SAMPLE<<<<<<<<<<<<<<<<<<<<<<<",
                "XX000000<0FRA1901012F16073021234567890<<<<70",
            ],
            vec![cd(DateOfExpiry, 3, '2'), composite(5, '0')],
        ),
        (
            "T3-17",
            vec![ICAO_TD3_L1, "K9876543<8UTO8708243F2206219<<<<<<<<<<<<<<<6"],
            vec![cd(DocumentNumber, 4, '8'), composite(2, '6')],
        ),
        (
            "T3-18",
            vec![ICAO_TD3_L1, "L898902C36UTO7408122F1204159ZE184226B<<<<<20"],
            vec![cd(PersonalNumber, 1, '2'), composite(1, '0')],
        ),
        (
            "T3-19",
            vec![ICAO_TD3_L1, "L898902C36UTO7408122F1204159ZE184226B<<<<<11"],
            vec![composite(0, '1')],
        ),
        (
            "T3-20",
            vec![ICAO_TD3_L1, "L898902C34UTO7408122F1204159ZE184226B<<<<<10"],
            vec![cd(DocumentNumber, 6, '4'), composite(6, '0')],
        ),
        (
            "T3-21",
            vec![ICAO_TD3_L1, "L898902C36UTO7408126F1204159ZE184226B<<<<<10"],
            vec![cd(DateOfBirth, 2, '6'), composite(2, '0')],
        ),
        (
            "T3-22",
            vec![ICAO_TD3_L1, "L898902C36UTO7408122F1204151ZE184226B<<<<<10"],
            vec![cd(DateOfExpiry, 9, '1'), composite(2, '0')],
        ),
        (
            "T3-23",
            vec![ICAO_TD3_L1, "L898902C36UTO7A08122F1204159ZE184226B<<<<<10"],
            vec![
                cd(DateOfBirth, 0, '2'),
                bad_date(DateOfBirth, "7A0812", NotDigits),
                composite(6, '0'),
            ],
        ),
        (
            "T3-24",
            vec![ICAO_TD3_L1, "L898902C36UTO7408122F1<0A159ZE184226B<<<<<10"],
            vec![
                cd(DateOfExpiry, 5, '9'),
                bad_date(DateOfExpiry, "1<0A15", NotDigits),
                composite(2, '0'),
            ],
        ),
        (
            "T2-03",
            vec![
                "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
                "D231458907UTO7408122F1204159<<<<<<<8",
            ],
            vec![composite(6, '8')],
        ),
        (
            "T2-03/DM",
            vec![
                "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
                "D231458907UTO7408122F1204159<<<<<<<7",
            ],
            vec![composite(6, '7')],
        ),
        (
            "T1-04",
            vec![
                "IDAUT10000999<6<<<<<<<<<<<<<<<",
                "7109094F1112315AUT<<<<<<<<<<<6",
                "MUSTERFRAU<<ISOLDE<<<<<<<<<<<<",
            ],
            vec![composite(4, '6')],
        ),
        (
            "T1-27",
            vec![
                "I<BAD<BAD<<<<<0<<<<<<BAD<<<<<<",
                "0105998<0512868BAD<<<<BAD<<<<0",
                "<SPECIMEN1<<SPECIMEN2<<BAD<<<<",
            ],
            vec![
                MrzProblem::InvalidField {
                    field: Name,
                    error: FieldError::Name,
                },
                cd(DocumentNumber, 4, '0'),
                MrzProblem::InvalidField {
                    field: DocumentNumber,
                    error: FieldError::DocumentNumber,
                },
                cd(DateOfBirth, 4, '8'),
                bad_date(DateOfBirth, "010599", NotACalendarDay),
                cd(DateOfExpiry, 0, '8'),
                bad_date(DateOfExpiry, "051286", NotACalendarDay),
                composite(6, '0'),
            ],
        ),
        (
            "T1-30",
            vec![
                "I<UTOD23145890<7<<<<<<<<<<<<<<",
                "3407127M9507122UTO<<<<<<<<<<<2",
                "STEVENSON<<PETER<JOHN<<<<<<<<<",
            ],
            vec![MrzProblem::LongDocumentNumber, composite(4, '2')],
        ),
    ];
    for (id, lines, expected) in cases {
        let mrz = parse(&lines.join("\n"), today()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(mrz.problems(), expected.as_slice(), "{id}");
        assert!(!mrz.is_valid(), "{id}");
    }
}

#[test]
fn t3_06_still_reads_its_fields() {
    let mrz = parse(
        "P<INPSPECIMEN<<SAMPLE<<<<<<<<<<<<<<<<<<<<<<<\nXX000000<0FRA1901012F16073021234567890<<<<70",
        today(),
    )
    .unwrap();
    assert_eq!(mrz.issuing_state().unwrap().as_str(), "INP");
    assert_eq!(mrz.nationality().unwrap().as_str(), "FRA");
}

#[test]
fn structurally_invalid_vectors_are_errors() {
    let code = parse(
        &format!(
            "X<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n{}",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        ),
        today(),
    );
    assert_eq!(
        code.unwrap_err(),
        MrzError::UnsupportedDocumentCode {
            format: Td3,
            code: "X<".into()
        },
        "T3-25"
    );
    let short_td3 = parse(
        &format!("{ICAO_TD3_L1}\nL898902C36UTO7408122F1204159ZE184226B<<<<<1"),
        today(),
    );
    assert_eq!(
        short_td3.unwrap_err(),
        MrzError::UnknownLayout {
            lengths: vec![44, 43]
        },
        "T3-27"
    );
    let short_td2 = parse(
        "I<UTOSTEVENSON<<PETER<JOHN<<<<<<<<<<\nD23145890<UTO3407127M95071227349<<<",
        today(),
    );
    assert_eq!(
        short_td2.unwrap_err(),
        MrzError::UnknownLayout {
            lengths: vec![36, 35]
        },
        "T2-06"
    );
}
