//! Optional contact data: an email address (RFC 5321 length limits, a
//! deliberately plain syntax) and a phone number in E.164 form.

/// Why a contact value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// Not a plausible email address.
    #[error("must be an email address like name@example.com")]
    Email,
    /// Not E.164.
    #[error("must be an E.164 phone number like +4915112345678")]
    Phone,
}

/// An email address: `local@domain`, local part ≤ 64 and total ≤ 254 octets
/// (RFC 5321 §4.5.3.1), a dotted domain of letters, digits and hyphens.
/// Internationalized domains must be sent in their ASCII (punycode) form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates; the domain is lower-cased.
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let raw = raw.trim();
        let (local, domain) = raw.rsplit_once('@').ok_or(ContactError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !local_ok || !domain_ok || raw.len() > 254 {
            return Err(ContactError::Email);
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

/// A phone number in ITU-T E.164 form: `+`, then 8 to 15 digits, no leading zero.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Validates.
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let digits = raw.strip_prefix('+').ok_or(ContactError::Phone)?;
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(ContactError::Phone);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse("Anna.Maria+kyc@Example.COM")
                .unwrap()
                .as_str(),
            "Anna.Maria+kyc@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a@.com",
            "a..b@example.com",
            "a@exa mple.com",
            "a@-x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn phones() {
        assert!(PhoneNumber::parse("+4915112345678").is_ok());
        for bad in [
            "015112345678",
            "+0151123456",
            "+49 151 1234",
            "+1234567",
            "+1234567890123456",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
