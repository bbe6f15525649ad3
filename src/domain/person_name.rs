//! A given or family name: any script, NFC, 1 to 100 characters, nothing
//! invisible. Names are not restricted to letters: real names carry
//! apostrophes, hyphens, spaces and digits (e.g. generational suffixes).

use super::text::{TextError, clean};

/// ASCII characters a name may hold besides letters and digits.
const ASCII_PUNCTUATION: &[char] = &[' ', '\'', '-', '.', ','];

/// Combining marks in a row beyond this are refused ("Zalgo" text hides or
/// garbles a name on an officer's screen; real names need at most a few).
const MAX_COMBINING_RUN: usize = 3;

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Symbols, pictographs and markup characters that are never part of a
/// person's name: ASCII symbols (`<`, `>`, `{`, `@` ...), the general
/// punctuation, symbol and dingbat blocks (except typographic apostrophes
/// and hyphens), emoji, and private-use code points.
fn is_symbol(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || ASCII_PUNCTUATION.contains(&c));
    }
    let u = c as u32;
    let allowed_typography = matches!(u, 0x2010 | 0x2011 | 0x2018 | 0x2019 | 0x02BC);
    !allowed_typography
        && matches!(u, 0x00A1..=0x00BF | 0x00D7 | 0x00F7 | 0x2000..=0x2BFF | 0x3000..=0x303F
            | 0xE000..=0xF8FF | 0xFFF0..=0xFFFF | 0x1F000..=0x1FAFF | 0xF0000..=0x10FFFF)
}

fn check_characters(name: &str) -> Result<(), TextError> {
    let mut run = 0;
    for c in name.chars() {
        if is_symbol(c) {
            return Err(TextError::Invisible);
        }
        run = if is_combining(c) { run + 1 } else { 0 };
        if run > MAX_COMBINING_RUN {
            return Err(TextError::Invisible);
        }
    }
    Ok(())
}

/// Longest accepted name part, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A validated name part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Validates and normalizes.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let name = clean(raw, MAX_NAME_CHARS)?;
        check_characters(&name)?;
        Ok(Self(name))
    }

    /// The normalized name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_pass_and_garbage_does_not() {
        for ok in [
            "O'Brien",
            "Jean-Luc",
            "María José",
            "Nguyễn",
            "محمد",
            "Ærøskøbing",
            "Henry VIII",
        ] {
            assert!(PersonName::parse(ok).is_ok(), "{ok}");
        }
        assert!(PersonName::parse("").is_err());
        for ok in ["D\u{2019}Angelo", "李小龍", "Мария", "St. John, Jr."] {
            assert!(PersonName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "😀",
            "<script>alert(1)</script>",
            "Anna@bank",
            "A\u{301}\u{302}\u{303}\u{304}\u{305}nna",
            "Ann\u{E000}a",
            "Ann★a",
        ] {
            assert!(PersonName::parse(bad).is_err(), "{bad}");
        }
        assert!(PersonName::parse("a\u{0000}b").is_err());
        assert!(PersonName::parse(&"x".repeat(10_000)).is_err());
        let json: Result<PersonName, _> = serde_json::from_str("\"Bob\\u0007\"");
        assert!(json.is_err());
    }
}
