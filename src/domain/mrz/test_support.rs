//! Test-only builders: MRZ text from chosen fields, with every check digit
//! computed, so tests can make real-document quirks and proptest can make
//! random valid MRZs.

use super::check_digit::compute_char;

/// The fields of an MRZ to build. Codes and names are given as MRZ cells
/// (`"P<"`, `"D<<"`, `"MUELLER<<JUERGEN"`); they are padded with `<`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub code: String,
    pub issuer: String,
    pub name: String,
    pub number: String,
    pub nationality: String,
    pub dob: String,
    pub sex: char,
    pub expiry: String,
    pub optional: String,
    /// TD3 only: print `<` instead of `0` as the check digit of an empty
    /// personal number.
    pub filler_personal_check: bool,
}

impl Spec {
    /// A valid German-looking passport, expiring in 2031.
    pub fn td3() -> Self {
        Self {
            code: "P<".into(),
            issuer: "D<<".into(),
            name: "MUSTERMANN<<ERIKA".into(),
            number: "C01X00T47".into(),
            nationality: "D<<".into(),
            dob: "640812".into(),
            sex: 'F',
            expiry: "310131".into(),
            optional: String::new(),
            filler_personal_check: false,
        }
    }

    /// A valid identity card (TD1 or TD2), expiring in 2031.
    pub fn id_card() -> Self {
        Self {
            code: "ID".into(),
            ..Self::td3()
        }
    }
}

/// Builds MRZ text of one format from a [`Spec`].
pub type Builder = fn(&Spec) -> String;

pub fn pad(s: &str, width: usize) -> String {
    let mut out: String = s.chars().take(width).collect();
    while out.len() < width {
        out.push('<');
    }
    out
}

pub fn cd(data: &str) -> char {
    compute_char(data).unwrap()
}

/// Document number cells, check digit cell and what spills into the optional
/// data (Part 5/6 note j), for a number of any length.
fn number_cells(number: &str, long_allowed: bool) -> (String, char, String) {
    if number.len() > 9 && long_allowed {
        let (head, tail) = number.split_at(9);
        (head.to_owned(), '<', format!("{tail}{}<", cd(number)))
    } else {
        let cells = pad(number, 9);
        let digit = cd(&cells);
        (cells, digit, String::new())
    }
}

fn dates(spec: &Spec) -> (String, String) {
    (
        format!("{}{}", spec.dob, cd(&spec.dob)),
        format!("{}{}", spec.expiry, cd(&spec.expiry)),
    )
}

pub fn td3(spec: &Spec) -> String {
    let l1 = format!("{}{}{}", spec.code, spec.issuer, pad(&spec.name, 39));
    let (number, number_cd, _) = number_cells(&spec.number, false);
    let (dob, exp) = dates(spec);
    let personal = pad(&spec.optional, 14);
    let personal_cd = if spec.filler_personal_check && spec.optional.is_empty() {
        '<'
    } else {
        cd(&personal)
    };
    let body = format!(
        "{number}{number_cd}{}{dob}{}{exp}{personal}{personal_cd}",
        spec.nationality, spec.sex
    );
    let composite: String = [body.get(0..10), body.get(13..20), body.get(21..43)]
        .into_iter()
        .flatten()
        .collect();
    format!("{l1}\n{body}{}", cd(&composite))
}

pub fn td1(spec: &Spec) -> String {
    let (number, number_cd, spill) = number_cells(&spec.number, true);
    let l1 = format!(
        "{}{}{number}{number_cd}{}",
        spec.code,
        spec.issuer,
        pad(&format!("{spill}{}", spec.optional), 15)
    );
    let (dob, exp) = dates(spec);
    let l2_body = format!("{dob}{}{exp}{}{}", spec.sex, spec.nationality, pad("", 11));
    let composite: String = [
        l1.get(5..30),
        l2_body.get(0..7),
        l2_body.get(8..15),
        l2_body.get(18..29),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!("{l1}\n{l2_body}{}\n{}", cd(&composite), pad(&spec.name, 30))
}

pub fn td2(spec: &Spec) -> String {
    let l1 = format!("{}{}{}", spec.code, spec.issuer, pad(&spec.name, 31));
    let (number, number_cd, spill) = number_cells(&spec.number, true);
    let (dob, exp) = dates(spec);
    let body = format!(
        "{number}{number_cd}{}{dob}{}{exp}{}",
        spec.nationality,
        spec.sex,
        pad(&format!("{spill}{}", spec.optional), 7)
    );
    let composite: String = [body.get(0..10), body.get(13..20), body.get(21..35)]
        .into_iter()
        .flatten()
        .collect();
    format!("{l1}\n{body}{}", cd(&composite))
}

fn visa(spec: &Spec, name_width: usize, optional_width: usize) -> String {
    let l1 = format!(
        "{}{}{}",
        spec.code,
        spec.issuer,
        pad(&spec.name, name_width)
    );
    let (number, number_cd, _) = number_cells(&spec.number, false);
    let (dob, exp) = dates(spec);
    format!(
        "{l1}\n{number}{number_cd}{}{dob}{}{exp}{}",
        spec.nationality,
        spec.sex,
        pad(&spec.optional, optional_width)
    )
}

pub fn mrv_a(spec: &Spec) -> String {
    visa(spec, 39, 16)
}

pub fn mrv_b(spec: &Spec) -> String {
    visa(spec, 31, 8)
}
