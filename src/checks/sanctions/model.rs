//! List entries and list versions: the data every loader produces and the matcher reads.
//!
//! These types are format-neutral: OFAC CSV and UN XML (and later EU/UK) all load into
//! [`ListEntry`]. Nothing here parses files or scores names.

use serde::Serialize;

/// What kind of party a list entry (or a query) designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// A natural person.
    Individual,
    /// A company, organisation, group or other legal/non-natural party.
    Entity,
    /// A ship (OFAC `SDN_Type` "vessel").
    Vessel,
    /// An aircraft (OFAC `SDN_Type` "aircraft").
    Aircraft,
}

impl EntityType {
    /// True for the non-natural kinds (entity, vessel, aircraft).
    pub fn is_organisation_like(self) -> bool {
        !matches!(self, EntityType::Individual)
    }
}

/// Where a name of an entry comes from, and how much it can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    /// The primary (listed) name.
    Primary,
    /// A strong alias (OFAC `alt.csv` "aka", UN quality "Good" or "a.k.a.").
    Alias,
    /// A weak alias: OFAC aliases found only in the remarks, UN quality "Low".
    WeakAlias,
    /// A former name (OFAC "fka", UN quality "f.k.a.").
    FormerName,
    /// The name in its original script (UN `NAME_ORIGINAL_SCRIPT`).
    OriginalScript,
}

/// One name of a list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryName {
    /// The name as published.
    pub text: String,
    /// Its kind.
    pub kind: NameKind,
}

/// A calendar date where month and day may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PartialDate {
    /// Year (four digits).
    pub year: u16,
    /// Month 1-12, if known.
    pub month: Option<u8>,
    /// Day 1-31, if known.
    pub day: Option<u8>,
}

impl PartialDate {
    /// Builds a date, refusing impossible months and days.
    pub fn new(year: u16, month: Option<u8>, day: Option<u8>) -> Option<Self> {
        if !(1000..=2999).contains(&year) {
            return None;
        }
        if month.is_some_and(|m| !(1..=12).contains(&m))
            || day.is_some_and(|d| !(1..=31).contains(&d))
        {
            return None;
        }
        if day.is_some() && month.is_none() {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Self> {
        let mut parts = s.trim().split('-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next().map(str::parse).transpose().ok()?;
        let day = parts.next().map(str::parse).transpose().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Self::new(year, month, day)
    }
}

impl std::fmt::Display for PartialDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// A listed date of birth: exact (possibly partial), approximate year, or a year range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BirthDate {
    /// A date known to the precision given.
    Exact {
        /// The date.
        date: PartialDate,
    },
    /// "circa" / UN `APPROXIMATELY`: the year is approximate.
    Approximate {
        /// The approximate year.
        year: u16,
    },
    /// UN `BETWEEN` / OFAC "DOB 1955 to 1957".
    Range {
        /// First possible year.
        from: u16,
        /// Last possible year.
        to: u16,
    },
}

impl std::fmt::Display for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BirthDate::Exact { date } => write!(f, "{date}"),
            BirthDate::Approximate { year } => write!(f, "circa {year}"),
            BirthDate::Range { from, to } => write!(f, "{from} to {to}"),
        }
    }
}

/// Kind of an identity document listed for an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A passport.
    Passport,
    /// A national identity number or card (incl. "Cedula No.", "NIT #").
    NationalId,
    /// Anything else, with the label the list uses.
    Other(String),
}

/// An identity document listed for an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Its kind.
    pub kind: DocumentKind,
    /// The number as published.
    pub number: String,
    /// Issuing country as published, if any.
    pub country: Option<String>,
}

/// One record of a sanctions or PEP list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    /// The list's own identifier (OFAC `ent_num`, UN `REFERENCE_NUMBER`).
    pub id: String,
    /// What the entry designates.
    pub entity_type: EntityType,
    /// All names; the first is the primary name.
    pub names: Vec<EntryName>,
    /// Dates of birth (or of establishment for OFAC entities, not used).
    pub birth_dates: Vec<BirthDate>,
    /// Places of birth as published.
    pub birth_places: Vec<String>,
    /// Nationalities and citizenships as published.
    pub nationalities: Vec<String>,
    /// Identity documents.
    pub documents: Vec<Document>,
    /// Addresses as published (one line each).
    pub addresses: Vec<String>,
    /// Sanctions programmes (OFAC programs, UN list type).
    pub programs: Vec<String>,
}

impl ListEntry {
    /// The primary name (the first name; loaders always put it first).
    pub fn primary_name(&self) -> &str {
        self.names.first().map_or("", |n| n.text.as_str())
    }
}

/// Why a record could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The record is damaged (wrong field count, bad id, broken quoting or XML):
    /// counts against validation.
    Malformed,
    /// A well-formed record refers to an entry that does not exist (e.g. an alias for an
    /// unknown `ent_num`): reported, but does not by itself fail validation.
    Orphan,
}

/// A record that could not be loaded, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadIssue {
    /// File name (without directory).
    pub file: String,
    /// 1-based line number where the bad record starts.
    pub line: u64,
    /// Damaged or merely orphaned.
    pub kind: IssueKind,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// SHA-256 of one source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDigest {
    /// File name (without directory).
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Computes the [`FileDigest`] of bytes read from `file`.
pub fn digest(file: &str, bytes: &[u8]) -> FileDigest {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let sha256 = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    FileDigest {
        file: file.to_owned(),
        bytes: bytes.len() as u64,
        sha256,
    }
}

/// One loaded version of one configured list: its entries, provenance and load problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListVersion {
    /// The configured list name (e.g. `ofac_sdn`, `un`).
    pub name: String,
    /// Publication date if the source states one (UN `dateGenerated`); OFAC CSV has none.
    pub published: Option<String>,
    /// The entries that loaded.
    pub entries: Vec<ListEntry>,
    /// SHA-256 of every file read, in a stable order.
    pub files: Vec<FileDigest>,
    /// Records that could not be loaded.
    pub issues: Vec<LoadIssue>,
}

impl ListVersion {
    /// The stamp recorded with every screening result.
    pub fn stamp(&self) -> VersionStamp {
        VersionStamp {
            name: self.name.clone(),
            published: self.published.clone(),
            entry_count: self.entries.len(),
            sha256: self.combined_sha256(),
        }
    }

    /// One SHA-256 over the per-file digests (file name and digest, in order), so a
    /// version is identified by a single value even when it spans several files.
    pub fn combined_sha256(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for f in &self.files {
            ctx.update(f.file.as_bytes());
            ctx.update(b"\0");
            ctx.update(f.sha256.as_bytes());
            ctx.update(b"\n");
        }
        ctx.finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Identifies the list version a screening used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct VersionStamp {
    /// List name.
    pub name: String,
    /// Publication date, if known.
    pub published: Option<String>,
    /// Number of entries.
    pub entry_count: usize,
    /// Combined SHA-256 of the files (see [`ListVersion::combined_sha256`]).
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_parse_and_reject_nonsense() {
        assert_eq!(
            PartialDate::parse_iso("1958-02-22")
                .map(|d| d.to_string())
                .as_deref(),
            Some("1958-02-22")
        );
        assert_eq!(PartialDate::parse_iso("1971").map(|d| d.month), Some(None));
        assert!(PartialDate::parse_iso("1971-13-01").is_none());
        assert!(PartialDate::parse_iso("abc").is_none());
    }

    #[test]
    fn digest_is_sha256() {
        let d = digest("x", b"abc");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
