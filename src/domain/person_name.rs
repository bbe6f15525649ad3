//! A given or family name: any script, NFC, 1 to 100 characters, nothing
//! invisible. Names are not restricted to letters: real names carry
//! apostrophes, hyphens, spaces and digits (e.g. generational suffixes).

use super::text::{TextError, clean};

/// Longest accepted name part, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A validated name part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Validates and normalizes.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        clean(raw, MAX_NAME_CHARS).map(Self)
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
        assert!(PersonName::parse("a\u{0000}b").is_err());
        assert!(PersonName::parse(&"x".repeat(10_000)).is_err());
        let json: Result<PersonName, _> = serde_json::from_str("\"Bob\\u0007\"");
        assert!(json.is_err());
    }
}
