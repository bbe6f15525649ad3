//! Declared names in Unicode → the MRZ characters an issuer would print, after
//! ICAO Doc 9303 Part 3 §6 ("Transliterations recommended for use by
//! States"): section 6.A for multinational Latin characters and 6.B for
//! Cyrillic; Part 3 §4.6 for spaces, hyphens and apostrophes.
//!
//! The tables allow more than one spelling where Doc 9303 does (`Ä` is `AE`
//! or `A`, `Ü` is `UE`, `UXX` or `U`), because issuers differ; matching
//! accepts any of them. A character with no entry, no canonical decomposition
//! to one ASCII letter and no rule here (Greek, Arabic, CJK…) cannot be
//! matched and makes the name a mismatch, which sends the case to a human.

use unicode_normalization::UnicodeNormalization;

/// The ways one declared character may appear in an MRZ.
type Alternatives = &'static [&'static str];

/// One name component (between spaces or hyphens), as alternatives per
/// declared character.
type Token = Vec<Alternatives>;

/// Declared names longer than this are not compared (they cannot come from a
/// 39-cell name field, and the bound keeps matching cheap).
pub const MAX_DECLARED_NAME_CHARS: usize = 256;

/// A declared name that cannot be written in MRZ characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransliterationError {
    /// A character with no transliteration rule.
    #[error("no MRZ transliteration for {character:?}")]
    Unsupported {
        /// The character.
        character: char,
    },
    /// More than [`MAX_DECLARED_NAME_CHARS`] characters.
    #[error("declared name is longer than {MAX_DECLARED_NAME_CHARS} characters")]
    TooLong,
}

const LETTERS: [Alternatives; 26] = [
    &["A"],
    &["B"],
    &["C"],
    &["D"],
    &["E"],
    &["F"],
    &["G"],
    &["H"],
    &["I"],
    &["J"],
    &["K"],
    &["L"],
    &["M"],
    &["N"],
    &["O"],
    &["P"],
    &["Q"],
    &["R"],
    &["S"],
    &["T"],
    &["U"],
    &["V"],
    &["W"],
    &["X"],
    &["Y"],
    &["Z"],
];

/// Nothing: apostrophes and other punctuation are omitted (Part 3 §4.6).
const OMITTED: Alternatives = &[""];

/// Doc 9303 Part 3 §6.A entries that canonical decomposition does not give
/// (ligatures, stroked letters, the German and Nordic two-letter forms).
/// Every other accented Latin letter is its base letter (`É` → `E`), which
/// is what the table says for them.
fn latin(c: char) -> Option<Alternatives> {
    Some(match c {
        'Ä' => &["AE", "A"],
        'Å' => &["AA", "A"],
        'Æ' => &["AE"],
        'Ö' => &["OE", "O"],
        'Ø' => &["OE", "O"],
        'Œ' => &["OE"],
        'Ü' => &["UE", "UXX", "U"],
        'Ñ' => &["N", "NXX"],
        'ß' | 'ẞ' => &["SS"],
        'Þ' => &["TH"],
        'Ð' | 'Đ' => &["D"],
        'Ħ' => &["H"],
        'Ĳ' => &["IJ"],
        'Ł' | 'Ŀ' => &["L"],
        'Ŋ' => &["N"],
        'Ŧ' => &["T"],
        'ı' => &["I"],
        _ => return None,
    })
}

/// Doc 9303 Part 3 §6.B, Cyrillic (upper case; lower case is folded first).
fn cyrillic(c: char) -> Option<Alternatives> {
    Some(match c {
        'А' => &["A"],
        'Б' => &["B"],
        'В' => &["V"],
        'Г' | 'Ґ' | 'Ѓ' => &["G"],
        'Д' | 'Ђ' => &["D"],
        'Е' | 'Ё' | 'Э' => &["E"],
        'Є' => &["IE"],
        'Ж' => &["ZH"],
        'З' => &["Z"],
        'Ѕ' | 'Џ' => &["DZ"],
        'И' | 'Й' | 'І' | 'Ї' => &["I"],
        'Ј' => &["J"],
        'К' | 'Ќ' => &["K"],
        'Л' => &["L"],
        'Љ' => &["LJ"],
        'М' => &["M"],
        'Н' => &["N"],
        'Њ' => &["NJ"],
        'О' => &["O"],
        'П' => &["P"],
        'Р' => &["R"],
        'С' => &["S"],
        'Т' => &["T"],
        'Ћ' => &["C"],
        'У' | 'Ў' => &["U"],
        'Ф' => &["F"],
        'Х' => &["KH"],
        'Ц' => &["TS"],
        'Ч' => &["CH"],
        'Ш' => &["SH"],
        'Щ' => &["SHCH"],
        'Ъ' => &["IE"],
        'Ы' => &["Y"],
        'Ь' => OMITTED,
        'Ю' => &["IU"],
        'Я' => &["IA"],
        _ => return None,
    })
}

fn ascii_letter(c: char) -> Option<Alternatives> {
    let upper = c.to_ascii_uppercase();
    if !upper.is_ascii_uppercase() {
        return None;
    }
    LETTERS.get(usize::from(upper as u8 - b'A')).copied()
}

/// What a character becomes: a token boundary, or alternatives.
enum Mapped {
    Separator,
    Letters(Alternatives),
}

fn map_char(c: char) -> Result<Mapped, TransliterationError> {
    // Part 3 §4.6: spaces and hyphens become fillers; apostrophes and other
    // punctuation are left out.
    if c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–' | ',' | '<') {
        return Ok(Mapped::Separator);
    }
    if matches!(c, '\'' | '’' | 'ʼ' | '`' | '´' | '.') {
        return Ok(Mapped::Letters(OMITTED));
    }
    if c == 'ß' {
        return Ok(Mapped::Letters(&["SS"]));
    }
    let mut upper = c.to_uppercase();
    let folded = match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    };
    if let Some(alts) = ascii_letter(folded)
        .or_else(|| latin(folded))
        .or_else(|| cyrillic(folded))
    {
        return Ok(Mapped::Letters(alts));
    }
    // Accented Latin letters: the base letter, as §6.A lists for them.
    let mut bases = std::iter::once(folded)
        .nfd()
        .filter(|d| !unicode_normalization::char::is_combining_mark(*d));
    match (bases.next().and_then(ascii_letter), bases.next()) {
        (Some(alts), None) => Ok(Mapped::Letters(alts)),
        _ => Err(TransliterationError::Unsupported { character: c }),
    }
}

/// Splits a declared name into MRZ name components with their alternatives.
fn tokens(name: &str) -> Result<Vec<Token>, TransliterationError> {
    if name.chars().count() > MAX_DECLARED_NAME_CHARS {
        return Err(TransliterationError::TooLong);
    }
    let mut out: Vec<Token> = Vec::new();
    let mut current: Token = Vec::new();
    // NFC first, so that `Й` or `Ё` typed as base + combining mark is one
    // character with its own table entry.
    for c in name.nfc() {
        match map_char(c)? {
            Mapped::Separator => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            Mapped::Letters(alts) => current.push(alts),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    // A component of omitted characters only (`'`) prints nothing.
    out.retain(|t| t.iter().any(|alts| alts.iter().any(|a| !a.is_empty())));
    Ok(out)
}

/// The recommended MRZ spelling of a declared name (the first alternative of
/// every character), components joined by `<`: `Müller-Lüdenscheidt` →
/// `MUELLER<LUEDENSCHEIDT`, `Иванов` → `IVANOV`.
///
/// # Errors
/// [`TransliterationError`] for a character with no rule or an overlong name.
pub fn to_mrz(name: &str) -> Result<String, TransliterationError> {
    let parts: Vec<String> = tokens(name)?
        .iter()
        .map(|t| t.iter().filter_map(|alts| alts.first().copied()).collect())
        .collect();
    Ok(parts.join("<"))
}

/// Whether a declared name (any script with a rule here) can be the MRZ name
/// part `mrz_part` (components separated by spaces, as [`super::MrzName`]
/// returns them).
///
/// When `possibly_truncated` is true (the name field was full), the MRZ may
/// hold fewer components than declared and each may be cut short, as the
/// truncation rules of Part 3 §4.6.4 allow; otherwise every component must
/// match in full.
#[must_use]
pub fn name_matches(declared: &str, mrz_part: &str, possibly_truncated: bool) -> bool {
    let Ok(declared) = tokens(declared) else {
        return false;
    };
    let printed: Vec<&str> = mrz_part.split(' ').filter(|p| !p.is_empty()).collect();
    let count_ok = if possibly_truncated {
        printed.len() <= declared.len()
    } else {
        printed.len() == declared.len()
    };
    count_ok
        && printed
            .iter()
            .zip(&declared)
            .all(|(p, d)| token_matches(d, p, possibly_truncated))
}

/// Dynamic programming over (declared characters used, MRZ bytes matched), so
/// that characters with several spellings cost no more than a table lookup
/// each (no enumeration of every spelling).
fn token_matches(units: &[Alternatives], printed: &str, allow_prefix: bool) -> bool {
    let (n, m) = (units.len(), printed.len());
    let width = m + 1;
    let mut reach = vec![false; (n + 1) * width];
    if let Some(start) = reach.get_mut(0) {
        *start = true;
    }
    for (i, alts) in units.iter().enumerate() {
        for j in 0..=m {
            if !reach.get(i * width + j).copied().unwrap_or(false) {
                continue;
            }
            let rest = printed.get(j..).unwrap_or("");
            for alt in *alts {
                if rest.starts_with(alt) {
                    if let Some(next) = reach.get_mut((i + 1) * width + j + alt.len()) {
                        *next = true;
                    }
                } else if allow_prefix && !rest.is_empty() && alt.starts_with(rest) {
                    // The MRZ component ends inside this character's spelling.
                    return true;
                }
            }
        }
    }
    let full = reach.get(n * width + m).copied().unwrap_or(false);
    let cut = allow_prefix
        && m > 0
        && (0..=n).any(|i| reach.get(i * width + m).copied().unwrap_or(false));
    full || cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommended_spellings() {
        let cases = [
            ("Müller", "MUELLER"),
            ("Иванов", "IVANOV"),
            ("Ærøskøbing", "AEROESKOEBING"),
            ("Åsa", "AASA"),
            ("Straße", "STRASSE"),
            ("O'Connor", "OCONNOR"),
            ("Smith-Jones", "SMITH<JONES"),
            ("van der Muellen", "VAN<DER<MUELLEN"),
            ("José Ramón", "JOSE<RAMON"),
            ("Łukasz Wałęsa", "LUKASZ<WALESA"),
            ("Щукин Юрий", "SHCHUKIN<IURII"),
            ("Цой Жанна", "TSOI<ZHANNA"),
            ("Хрущёв", "KHRUSHCHEV"),
            ("Подъячев", "PODIEIACHEV"),
            ("Гоголь", "GOGOL"),
            ("Þórunn", "THORUNN"),
        ];
        for (declared, mrz) in cases {
            assert_eq!(to_mrz(declared).as_deref(), Ok(mrz), "{declared}");
        }
    }

    #[test]
    fn decomposed_input_is_composed_first() {
        // "Й" as И + U+0306 combining breve.
        assert_eq!(to_mrz("Андреи\u{306}").as_deref(), Ok("ANDREI"));
        // "é" as e + U+0301.
        assert_eq!(to_mrz("Rene\u{301}e").as_deref(), Ok("RENEE"));
    }

    #[test]
    fn unsupported_scripts_are_errors() {
        assert_eq!(
            to_mrz("Αθήνα"),
            Err(TransliterationError::Unsupported { character: 'Α' })
        );
        assert!(to_mrz(&"a".repeat(MAX_DECLARED_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn either_spelling_of_a_diacritic_matches() {
        assert!(name_matches("Müller", "MUELLER", false));
        assert!(name_matches("Müller", "MULLER", false));
        assert!(name_matches("Müller", "MUXXLLER", false));
        assert!(name_matches("Jørgensen", "JOERGENSEN", false));
        assert!(name_matches("Jørgensen", "JORGENSEN", false));
        assert!(name_matches("Ångström", "AANGSTROEM", false));
        assert!(name_matches("Ångström", "ANGSTROM", false));
        assert!(name_matches("Groß", "GROSS", false));
        assert!(!name_matches("Müller", "MILLER", false));
        assert!(!name_matches("Müller", "MUELLERS", false));
        assert!(!name_matches("Anna Maria", "ANNA", false));
        assert!(!name_matches("Anna", "ANNA MARIA", true));
    }

    #[test]
    fn truncated_names_match_as_prefixes() {
        assert!(name_matches(
            "Chayapa Dejthamrong Krasuang",
            "CHAYAPA DEJTHAMRONG K",
            true
        ));
        assert!(name_matches(
            "Bennelong Wooloomooloo Warrandyte Warnambool",
            "BENNELONG WOOLOOM WARRAND WARNAM",
            true
        ));
        assert!(name_matches("Dingo Potoroo", "DINGO", true));
        assert!(!name_matches("Dingo Potoroo", "DINGO", false));
        // Cut inside a two-letter spelling: "MÜ" may be printed "MU" of "MUE".
        assert!(name_matches("Müller", "MU", true));
        assert!(!name_matches("Müller", "MX", true));
    }
}
