//! Rules shared by free-text identity fields: NFC normalization, length in
//! characters, and no control or invisible (format) characters that could
//! hide content from an officer or spoof a name.

use unicode_normalization::UnicodeNormalization;

/// Why a text value was refused; `code` values are stable for field errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty after trimming.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// Holds a control, format or otherwise invisible character.
    #[error("must not contain control, invisible or symbol characters")]
    Invisible,
}

impl TextError {
    /// Stable code for problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong(_) => "too_long",
            Self::Invisible => "invalid_characters",
        }
    }
}

/// Format characters (Unicode category Cf) and other invisible code points
/// that render as nothing: zero-width spaces and joiners, bidi controls,
/// soft hyphen, word joiners, BOM, tag characters, interlinear annotations.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
            | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x08E2
            | 0x110BD | 0x110CD | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
        || (0xD800..=0xDFFF).contains(&(c as u32))
}

/// Trims, normalizes to NFC and checks length and characters.
pub fn clean(raw: &str, max_chars: usize) -> Result<String, TextError> {
    // Bound work before normalizing: NFC cannot shrink text by more than a
    // small factor, so anything far over the limit is refused outright.
    if raw.len() > max_chars.saturating_mul(16) {
        return Err(TextError::TooLong(max_chars));
    }
    let normalized: String = raw.trim().nfc().collect();
    if normalized.is_empty() {
        return Err(TextError::Empty);
    }
    if normalized.chars().any(is_invisible) {
        return Err(TextError::Invisible);
    }
    if normalized.chars().count() > max_chars {
        return Err(TextError::TooLong(max_chars));
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes_and_refuses_hidden_content() {
        // "é" as e + combining acute becomes one code point.
        assert_eq!(clean("  Jose\u{301} ", 10).unwrap(), "José");
        assert_eq!(clean("A\u{200B}nna", 10), Err(TextError::Invisible));
        assert_eq!(clean("Anna\u{202E}", 10), Err(TextError::Invisible));
        assert_eq!(clean("An\nna", 10), Err(TextError::Invisible));
        assert_eq!(clean("   ", 10), Err(TextError::Empty));
        assert_eq!(
            clean(&"a".repeat(10_000), 100),
            Err(TextError::TooLong(100))
        );
        assert_eq!(clean("Żółć 李小龍 Мария", 50).unwrap(), "Żółć 李小龍 Мария");
    }

    proptest! {
        #[test]
        fn accepted_values_are_stable(s in "\\PC{0,60}") {
            if let Ok(once) = clean(&s, 100) {
                prop_assert_eq!(clean(&once, 100).unwrap(), once.clone());
            }
        }
    }
}
