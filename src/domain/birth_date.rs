//! Date of birth: a real calendar date (`YYYY-MM-DD`, ISO 8601), in the
//! past, not absurdly old, and at least the policy's minimum age.

use chrono::{Datelike, NaiveDate};

/// Why a date of birth was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BirthDateError {
    /// Not `YYYY-MM-DD` or not a real day (e.g. 2023-02-29).
    #[error("must be a real calendar date written YYYY-MM-DD")]
    Invalid,
    /// Today or later.
    #[error("must be in the past")]
    Future,
    /// More than 130 years ago.
    #[error("is implausibly far in the past")]
    TooOld,
    /// Younger than the minimum age.
    #[error("the applicant must be at least {0} years old")]
    TooYoung(u32),
}

impl BirthDateError {
    /// Stable code for problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid_date",
            Self::Future => "date_in_future",
            Self::TooOld => "date_too_old",
            Self::TooYoung(_) => "below_minimum_age",
        }
    }
}

/// A validated date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(NaiveDate);

/// Oldest plausible age.
const MAX_AGE_YEARS: i32 = 130;

impl BirthDate {
    /// Parses strictly (`YYYY-MM-DD`, four-digit year) and checks it against `today`.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, BirthDateError> {
        let b = raw.as_bytes();
        let shape = b.len() == 10
            && b.get(4) == Some(&b'-')
            && b.get(7) == Some(&b'-')
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(BirthDateError::Invalid);
        }
        let date =
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| BirthDateError::Invalid)?;
        if date >= today {
            return Err(BirthDateError::Future);
        }
        if today.year() - date.year() > MAX_AGE_YEARS {
            return Err(BirthDateError::TooOld);
        }
        Ok(Self(date))
    }

    /// Full years of age on `today`.
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        let mut years = today.year() - self.0.year();
        if (today.month(), today.day()) < (self.0.month(), self.0.day()) {
            years -= 1;
        }
        u32::try_from(years).unwrap_or(0)
    }

    /// Refuses applicants younger than `minimum` years on `today`.
    pub fn require_age(&self, minimum: u32, today: NaiveDate) -> Result<(), BirthDateError> {
        if self.age_on(today) < minimum {
            return Err(BirthDateError::TooYoung(minimum));
        }
        Ok(())
    }

    /// The date.
    pub fn date(&self) -> NaiveDate {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn only_real_past_dates() {
        assert!(BirthDate::parse("1990-02-28", today()).is_ok());
        assert!(BirthDate::parse("2000-02-29", today()).is_ok());
        assert_eq!(
            BirthDate::parse("2023-02-29", today()),
            Err(BirthDateError::Invalid)
        );
        assert_eq!(
            BirthDate::parse("1990-13-01", today()),
            Err(BirthDateError::Invalid)
        );
        assert_eq!(
            BirthDate::parse("90-01-01", today()),
            Err(BirthDateError::Invalid)
        );
        assert_eq!(
            BirthDate::parse("1990-1-01", today()),
            Err(BirthDateError::Invalid)
        );
        assert_eq!(
            BirthDate::parse("2030-01-01", today()),
            Err(BirthDateError::Future)
        );
        assert_eq!(
            BirthDate::parse("2026-12-03", today()),
            Err(BirthDateError::Future)
        );
        assert_eq!(
            BirthDate::parse("1850-01-01", today()),
            Err(BirthDateError::TooOld)
        );
    }

    #[test]
    fn age_counts_birthdays() {
        let d = BirthDate::parse("2008-12-04", today()).unwrap();
        assert_eq!(d.age_on(today()), 17);
        assert_eq!(
            d.require_age(18, today()),
            Err(BirthDateError::TooYoung(18))
        );
        let d =
            BirthDate::parse("2008-12-03", NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()).unwrap();
        assert_eq!(d.age_on(today()), 18);
    }
}
