//! A structured postal address: one to three street lines, city, postal
//! code, optional region, and the country (ISO 3166-1 alpha-2).

use super::country::CountryCode;
use super::text::{TextError, clean};

/// Longest address line, in characters.
const MAX_LINE: usize = 100;

/// Which part of an address is wrong, for field-level errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {error}")]
pub struct AddressError {
    /// The field, relative to the address (`lines[1]`, `postal_code`).
    pub field: String,
    /// What is wrong with it.
    pub error: TextError,
}

/// A validated postal address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PostalAddress {
    /// Street lines, 1 to 3.
    pub lines: Vec<String>,
    /// City or locality.
    pub city: String,
    /// Postal code: letters, digits, spaces and hyphens, up to 12.
    pub postal_code: String,
    /// Region, state or province, if the country uses one.
    pub region: Option<String>,
    /// Country.
    pub country: CountryCode,
}

impl PostalAddress {
    /// Validates every part; the first bad field is named.
    pub fn parse(
        lines: &[String],
        city: &str,
        postal_code: &str,
        region: Option<&str>,
        country: CountryCode,
    ) -> Result<Self, AddressError> {
        if lines.is_empty() || lines.len() > 3 {
            return Err(AddressError {
                field: "lines".to_owned(),
                error: if lines.is_empty() {
                    TextError::Empty
                } else {
                    TextError::TooLong(3)
                },
            });
        }
        let lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                clean(l, MAX_LINE).map_err(|error| AddressError {
                    field: format!("lines[{i}]"),
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let city = clean(city, MAX_LINE).map_err(|error| AddressError {
            field: "city".to_owned(),
            error,
        })?;
        let postal_code = clean(postal_code, 12).map_err(|error| AddressError {
            field: "postal_code".to_owned(),
            error,
        })?;
        if !postal_code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            return Err(AddressError {
                field: "postal_code".to_owned(),
                error: TextError::Invisible,
            });
        }
        let region = region
            .map(|r| {
                clean(r, MAX_LINE).map_err(|error| AddressError {
                    field: "region".to_owned(),
                    error,
                })
            })
            .transpose()?;
        Ok(Self {
            lines,
            city,
            postal_code,
            region,
            country,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_the_bad_part() {
        let de = CountryCode::parse("DE").unwrap();
        let ok =
            PostalAddress::parse(&["Hauptstraße 5".into()], "Berlin", "10115", None, de).unwrap();
        assert_eq!(ok.city, "Berlin");
        let err = PostalAddress::parse(&["a".into(), "b\u{0}".into()], "Berlin", "10115", None, de)
            .unwrap_err();
        assert_eq!(err.field, "lines[1]");
        let err =
            PostalAddress::parse(&["a".into()], "Berlin", "10115<script>", None, de).unwrap_err();
        assert_eq!(err.field, "postal_code");
        assert!(PostalAddress::parse(&[], "Berlin", "1", None, de).is_err());
    }
}
