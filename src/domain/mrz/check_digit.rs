//! MRZ check digits: ICAO Doc 9303 Part 3 §4.9 (weights 7-3-1, modulus 10).
//!
//! Every character of the MRZ alphabet has a numeric value: `0`–`9` are
//! themselves, `A`–`Z` are 10–35 and the filler `<` is 0. Each value is
//! multiplied by the repeating weights 7, 3, 1 and the check digit is the sum
//! modulo 10. This module only computes; deciding which data a digit protects
//! (and when a printed `<` is acceptable) belongs to [`mod@super::parse`].

/// The repeating weights of ICAO 9303-3 §4.9.
const WEIGHTS: [u32; 3] = [7, 3, 1];

/// Why a check digit could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckDigitError {
    /// A character outside the MRZ alphabet (`A`–`Z`, `0`–`9`, `<`).
    #[error("character {character:?} at position {position} is not in the MRZ alphabet")]
    InvalidCharacter {
        /// Zero-based position of the character in the input.
        position: usize,
        /// The offending character.
        character: char,
    },
}

/// The numeric value of one MRZ character (ICAO 9303-3 §4.9), or `None` for a
/// character outside the MRZ alphabet. Lower-case letters are not MRZ
/// characters and have no value.
#[must_use]
pub fn char_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        // 'A' is 10 … 'Z' is 35.
        'A'..='Z' => c.to_digit(36),
        '<' => Some(0),
        _ => None,
    }
}

/// Computes the check digit (0–9) over `data` with the 7-3-1 weights of
/// ICAO 9303-3 §4.9. Empty data has check digit 0.
///
/// # Errors
/// [`CheckDigitError::InvalidCharacter`] when `data` holds a character outside
/// the MRZ alphabet; such data has no check digit (it is never treated as 0).
pub fn compute(data: &str) -> Result<u8, CheckDigitError> {
    let mut sum: u32 = 0;
    for ((position, character), weight) in data.chars().enumerate().zip(WEIGHTS.iter().cycle()) {
        let value = char_value(character).ok_or(CheckDigitError::InvalidCharacter {
            position,
            character,
        })?;
        sum = (sum + value * weight) % 10;
    }
    // `sum` is reduced modulo 10 on every step, so it always fits in a u8.
    Ok(u8::try_from(sum).unwrap_or(0))
}

/// The check digit of `data` as the MRZ character that would be printed.
///
/// # Errors
/// As [`compute`].
pub fn compute_char(data: &str) -> Result<char, CheckDigitError> {
    let digit = compute(data)?;
    Ok(char::from(b'0' + digit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Section 5 of `vectors.md`: check-digit unit vectors.
    #[test]
    fn unit_vectors_from_the_shared_file() {
        let cases: &[(&str, u8)] = &[
            ("520727", 3),
            ("AB2134<<<", 5),
            ("HA672242<658022549601086<<<<<<<<<<<<<<0", 8),
            ("D231458907<<<<<<<<<<<<<<<34071279507122<<<<<<<<<<<", 2),
            ("HA672242<658022549601086<<<<<<<", 8),
            ("0", 0),
            ("0000000000", 0),
            ("00A0A<0A0<<0A0A0<0A", 0),
            ("111111111", 3),
            ("111<<<111111", 3),
            ("BBB<<<1B1<<<BB1", 3),
            ("1<<1<<1<<1", 8),
            ("BCDEFGHIJ", 7),
            ("123456789", 7),
            ("592166117<231", 8),
            ("592166111<773", 5),
            ("007666667<ZZ0", 0),
            ("007666667ZZ0", 0),
            ("007777779ZZ9", 2),
            ("600001795015", 2),
            ("600001795015<", 2),
            ("000590240<601", 3),
            ("000590240601", 1),
            ("D23145890734", 9),
            ("D23145890<734", 9),
            ("", 0),
        ];
        for (data, digit) in cases {
            assert_eq!(compute(data), Ok(*digit), "check digit of {data:?}");
        }
    }

    #[test]
    fn bad_characters_are_errors_not_zero() {
        assert_eq!(
            compute("12*456"),
            Err(CheckDigitError::InvalidCharacter {
                position: 2,
                character: '*'
            })
        );
        assert!(compute("HA672242<658022549601086?<<<<<<").is_err());
        assert!(compute("abc").is_err(), "lower case is not MRZ");
    }

    #[test]
    fn compute_char_prints_the_digit() {
        assert_eq!(compute_char("520727"), Ok('3'));
    }

    proptest! {
        #[test]
        fn digit_is_always_0_to_9(data in "[A-Z0-9<]{0,60}") {
            let digit = compute(&data).unwrap();
            prop_assert!(digit <= 9);
        }

        #[test]
        fn trailing_fillers_do_not_change_the_digit(data in "[A-Z0-9<]{0,40}", n in 0usize..10) {
            let padded = format!("{data}{}", "<".repeat(n));
            prop_assert_eq!(compute(&data).unwrap(), compute(&padded).unwrap());
        }
    }
}
