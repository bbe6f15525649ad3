//! OFAC legacy CSV loader: `sdn.csv`/`alt.csv`/`add.csv`/`sdn_comments.csv` and the
//! non-SDN `cons_prim.csv`/`cons_alt.csv`/`cons_add.csv`/`cons_comments.csv`.
//!
//! Format (OFAC, "SDN List Data Formats", legacy `dat_spec.txt`): no header row, comma
//! separated, text fields in double quotes, the null value is `-0-` (often followed by a
//! space), records end with CRLF and files may end with a DOS EOF byte (0x1A).
//! - primary (`sdn.csv`, `cons_prim.csv`): `ent_num, SDN_Name, SDN_Type, Program, Title,
//!   Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks`
//! - `alt.csv`: `ent_num, alt_num, alt_type, alt_name, alt_remarks`
//! - `add.csv`: `ent_num, add_num, address, city/state/zip, country, add_remarks`
//! - `sdn_comments.csv`: `ent_num, remarks_extended`: the continuation of a `Remarks`
//!   value that was cut at the field's maximum length, appended without a separator.
//!
//! Pure: works on bytes already read. A bad record becomes a [`LoadIssue`] with its line;
//! everything else still loads.

use std::collections::HashMap;

use super::model::{
    BirthDate, Document, DocumentKind, EntityType, EntryName, IssueKind, ListEntry, LoadIssue,
    NameKind, PartialDate,
};
use super::normalize::fold;

/// The bytes of one OFAC file set (`sdn` or `cons` flavour): file name and contents.
#[derive(Debug, Clone, Copy)]
pub struct OfacFiles<'a> {
    /// `sdn.csv` or `cons_prim.csv` (required).
    pub primary: (&'a str, &'a [u8]),
    /// `alt.csv` / `cons_alt.csv`.
    pub alt: Option<(&'a str, &'a [u8])>,
    /// `add.csv` / `cons_add.csv`.
    pub add: Option<(&'a str, &'a [u8])>,
    /// `sdn_comments.csv` / `cons_comments.csv`.
    pub comments: Option<(&'a str, &'a [u8])>,
}

/// Parses an OFAC file set into entries, plus one issue per bad or orphan record.
pub fn parse(files: &OfacFiles<'_>) -> (Vec<ListEntry>, Vec<LoadIssue>) {
    let mut issues = Vec::new();
    let mut entries: Vec<ListEntry> = Vec::new();
    let mut remarks: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();

    let (pname, pbytes) = files.primary;
    let mut records = Records::new(pname, pbytes, &issues);
    while let Some(rec) = records.next(&mut issues) {
        let Some(id) = rec.id(&mut issues, 12) else {
            continue;
        };
        let name = rec.field(1);
        if name.is_empty() {
            issues.push(rec.issue(IssueKind::Malformed, "empty SDN_Name"));
            continue;
        }
        if by_id.contains_key(&id) {
            issues.push(rec.issue(IssueKind::Malformed, &format!("duplicate ent_num {id}")));
            continue;
        }
        let entity_type = match rec.field(2).to_ascii_lowercase().as_str() {
            "individual" => EntityType::Individual,
            "vessel" => EntityType::Vessel,
            "aircraft" => EntityType::Aircraft,
            // `-0-` (null) is how OFAC marks entities.
            _ => EntityType::Entity,
        };
        let programs = rec
            .field(3)
            .split("] [")
            .map(|p| {
                p.trim_matches(|c| c == '[' || c == ']' || c == ' ')
                    .to_owned()
            })
            .filter(|p| !p.is_empty())
            .collect();
        by_id.insert(id.clone(), entries.len());
        remarks.push(rec.field(11));
        entries.push(ListEntry {
            id,
            entity_type,
            names: vec![EntryName {
                text: name,
                kind: NameKind::Primary,
            }],
            birth_dates: Vec::new(),
            birth_places: Vec::new(),
            nationalities: Vec::new(),
            documents: Vec::new(),
            addresses: Vec::new(),
            programs,
        });
    }

    if let Some((cname, cbytes)) = files.comments {
        let mut records = Records::new(cname, cbytes, &issues);
        while let Some(rec) = records.next(&mut issues) {
            let Some(id) = rec.id(&mut issues, 2) else {
                continue;
            };
            match by_id.get(&id).and_then(|i| remarks.get_mut(*i)) {
                Some(r) => r.push_str(&rec.field(1)),
                None => issues.push(rec.issue(
                    IssueKind::Orphan,
                    &format!("comment for unknown ent_num {id}"),
                )),
            }
        }
    }

    if let Some((aname, abytes)) = files.alt {
        let mut records = Records::new(aname, abytes, &issues);
        while let Some(rec) = records.next(&mut issues) {
            let Some(id) = rec.id(&mut issues, 5) else {
                continue;
            };
            let name = rec.field(3);
            if name.is_empty() {
                issues.push(rec.issue(IssueKind::Malformed, "empty alt_name"));
                continue;
            }
            let kind = match rec.field(2).to_ascii_lowercase().as_str() {
                "fka" => NameKind::FormerName,
                "nka" | "aka" => NameKind::Alias,
                _ => NameKind::WeakAlias,
            };
            match by_id.get(&id).and_then(|i| entries.get_mut(*i)) {
                Some(e) => e.names.push(EntryName { text: name, kind }),
                None => issues.push(rec.issue(
                    IssueKind::Orphan,
                    &format!("alias for unknown ent_num {id}"),
                )),
            }
        }
    }

    if let Some((dname, dbytes)) = files.add {
        let mut records = Records::new(dname, dbytes, &issues);
        while let Some(rec) = records.next(&mut issues) {
            let Some(id) = rec.id(&mut issues, 6) else {
                continue;
            };
            let parts: Vec<String> = [2, 3, 4]
                .iter()
                .map(|i| rec.field(*i))
                .filter(|s| !s.is_empty())
                .collect();
            match by_id.get(&id).and_then(|i| entries.get_mut(*i)) {
                Some(e) if !parts.is_empty() => e.addresses.push(parts.join(", ")),
                Some(_) => {}
                None => issues.push(rec.issue(
                    IssueKind::Orphan,
                    &format!("address for unknown ent_num {id}"),
                )),
            }
        }
    }

    for (entry, remark) in entries.iter_mut().zip(remarks.iter()) {
        apply_remarks(entry, remark);
    }
    (entries, issues)
}

/// One CSV record with its file and starting line.
struct Rec<'a> {
    file: &'a str,
    line: u64,
    fields: csv::ByteRecord,
}

impl Rec<'_> {
    /// Field `i` decoded (UTF-8, else Latin-1), trimmed, with the null `-0-` as "".
    fn field(&self, i: usize) -> String {
        let raw = self.fields.get(i).unwrap_or_default();
        let s = match std::str::from_utf8(raw) {
            Ok(s) => s.to_owned(),
            Err(_) => raw.iter().map(|b| char::from(*b)).collect(),
        };
        let t = s.trim();
        if t == "-0-" {
            String::new()
        } else {
            t.to_owned()
        }
    }

    fn issue(&self, kind: IssueKind, message: &str) -> LoadIssue {
        LoadIssue {
            file: self.file.to_owned(),
            line: self.line,
            kind,
            message: message.to_owned(),
        }
    }

    /// Checks the field count and returns `ent_num`, or records an issue.
    fn id(&self, issues: &mut Vec<LoadIssue>, expected_fields: usize) -> Option<String> {
        if self.fields.len() != expected_fields {
            issues.push(self.issue(
                IssueKind::Malformed,
                &format!(
                    "expected {expected_fields} fields, found {}",
                    self.fields.len()
                ),
            ));
            return None;
        }
        let id = self.field(0);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            issues.push(self.issue(
                IssueKind::Malformed,
                &format!("ent_num is not a number: {id:?}"),
            ));
            return None;
        }
        Some(id)
    }
}

/// The records of a file, read one at a time: holding a whole file's parsed
/// records at once would be most of the memory a list load needs. CSV-level
/// errors (e.g. an unterminated quote) become issues and reading continues
/// where the reader can. They are reported ahead of the issues found in the
/// file's records, the first of them being what a refused version shows.
struct Records<'a> {
    file: &'a str,
    /// Where this file's CSV-level issues go in the caller's list.
    issues_at: usize,
    csv_issues: Vec<LoadIssue>,
    rdr: csv::Reader<&'a [u8]>,
    lines: LineCounter<'a>,
    buf: csv::ByteRecord,
    /// One record read ahead: the last one is dropped if the file is cut short.
    ahead: Option<Rec<'a>>,
    cut_short: bool,
    done: bool,
}

impl<'a> Records<'a> {
    fn new(file: &'a str, bytes: &'a [u8], issues: &[LoadIssue]) -> Self {
        // Drop the DOS end-of-file marker (0x1A) OFAC appends, and anything after it.
        let end = bytes.iter().position(|b| *b == 0x1a).unwrap_or(bytes.len());
        let bytes = bytes.get(..end).unwrap_or_default();
        Self {
            file,
            issues_at: issues.len(),
            csv_issues: Vec::new(),
            rdr: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes),
            lines: LineCounter {
                bytes,
                pos: 0,
                line: 1,
            },
            buf: csv::ByteRecord::new(),
            ahead: None,
            // Quotes pair up in well-formed CSV (RFC 4180 §2: a quoted field
            // opens and closes, an inner quote is doubled). An odd count means
            // the file ends inside a quoted field: a download cut short. The
            // reader accepts that last record as it stands, so it is dropped
            // and reported, and the version fails validation.
            cut_short: memchr::memchr_iter(b'"', bytes).count() % 2 == 1,
            done: false,
        }
    }

    /// The next record, or `None` at the end of the file.
    fn next(&mut self, issues: &mut Vec<LoadIssue>) -> Option<Rec<'a>> {
        while !self.done {
            match self.read() {
                Some(rec) => {
                    if let Some(previous) = self.ahead.replace(rec) {
                        return Some(previous);
                    }
                }
                None => {
                    self.done = true;
                    if self.cut_short {
                        let line = self.ahead.take().map_or(self.lines.line, |r| r.line);
                        self.csv_issues.push(LoadIssue {
                            file: self.file.to_owned(),
                            line,
                            kind: IssueKind::Malformed,
                            message: "the file ends inside a quoted field (cut short?)".to_owned(),
                        });
                    }
                    let at = self.issues_at.min(issues.len());
                    issues.splice(at..at, self.csv_issues.drain(..));
                }
            }
        }
        self.ahead.take()
    }

    /// Reads the next record that is not blank.
    fn read(&mut self) -> Option<Rec<'a>> {
        loop {
            let start = self.rdr.position().byte();
            match self.rdr.read_byte_record(&mut self.buf) {
                Ok(false) => return None,
                Ok(true) => {
                    let line = self
                        .lines
                        .line_of(self.buf.position().map_or(start, csv::Position::byte));
                    // A blank line (only the null) is not a record.
                    let blank = self.buf.len() == 1
                        && self
                            .buf
                            .get(0)
                            .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace));
                    if !blank {
                        return Some(Rec {
                            file: self.file,
                            line,
                            fields: self.buf.clone(),
                        });
                    }
                }
                Err(e) => {
                    let line = self
                        .lines
                        .line_of(e.position().map_or(start, csv::Position::byte));
                    self.csv_issues.push(LoadIssue {
                        file: self.file.to_owned(),
                        line,
                        kind: IssueKind::Malformed,
                        message: format!("unreadable CSV record: {e}"),
                    });
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return None;
                    }
                }
            }
        }
    }
}

/// Maps byte offsets (non-decreasing) to 1-based line numbers. The csv reader reports a
/// record's start before the previous line terminator's `\n`, so line breaks at the
/// offset are skipped first.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn line_of(&mut self, offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while matches!(self.bytes.get(target), Some(b'\r' | b'\n')) {
            target += 1;
        }
        if target < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let seen = self.bytes.get(self.pos..target).unwrap_or_default();
        self.line += seen.iter().filter(|b| **b == b'\n').count() as u64;
        self.pos = target;
        self.line
    }
}

/// Extracts what OFAC puts in `Remarks`: `DOB`, `POB`, `nationality`, `citizen`,
/// passports and national ids, and the `a.k.a.`/`f.k.a.`/`n.k.a.` aliases that exist
/// only there (added as weak aliases unless `alt.csv` already has the same name).
/// Items are separated by `;`; a leading `alt.` marks an alternative value.
pub fn apply_remarks(entry: &mut ListEntry, remarks: &str) {
    for seg in remarks.split(';') {
        let seg = seg.trim();
        let seg = seg.strip_prefix("alt. ").unwrap_or(seg).trim();
        if let Some(rest) = seg.strip_prefix("DOB ") {
            if let Some(d) = parse_dob(rest) {
                entry.birth_dates.push(d);
            }
        } else if let Some(rest) = seg.strip_prefix("POB ") {
            entry
                .birth_places
                .push(rest.trim_end_matches('.').trim().to_owned());
        } else if let Some(rest) = seg
            .strip_prefix("nationality ")
            .or_else(|| seg.strip_prefix("citizen "))
        {
            let n = rest.trim_end_matches('.').trim().to_owned();
            if !n.is_empty() && !entry.nationalities.contains(&n) {
                entry.nationalities.push(n);
            }
        } else if let Some(rest) = seg.strip_prefix("Passport ") {
            push_document(
                entry,
                DocumentKind::Passport,
                rest.strip_prefix("No. ").unwrap_or(rest),
            );
        } else if let Some(rest) = [
            "National ID No. ",
            "Cedula No. ",
            "D.N.I. ",
            "C.U.R.P. ",
            "SSN ",
            "Identification Number ",
        ]
        .iter()
        .find_map(|p| seg.strip_prefix(p))
        {
            push_document(entry, DocumentKind::NationalId, rest);
        } else if let Some(rest) = ["a.k.a. ", "f.k.a. ", "n.k.a. "]
            .iter()
            .find_map(|p| seg.strip_prefix(p))
        {
            let name = rest
                .trim()
                .trim_end_matches('.')
                .trim()
                .trim_matches('\'')
                .trim();
            if name.is_empty() {
                continue;
            }
            let folded = fold(name);
            if entry.names.iter().any(|n| fold(&n.text) == folded) {
                continue;
            }
            // Remark-only aliases are weak whatever their prefix: OFAC publishes its
            // "weak" (low-quality) a.k.a.s only in the remarks (OFAC FAQ 90).
            entry.names.push(EntryName {
                text: name.to_owned(),
                kind: NameKind::WeakAlias,
            });
        }
    }
}

fn push_document(entry: &mut ListEntry, kind: DocumentKind, rest: &str) {
    let rest = rest.trim().trim_end_matches('.');
    let (number, country) = match rest.find(" (") {
        Some(i) => {
            let country = rest
                .get(i + 2..)
                .map(|c| c.split(')').next().unwrap_or(c).trim().to_owned());
            (rest.get(..i).unwrap_or(rest).trim(), country)
        }
        None => (rest, None),
    };
    if !number.is_empty() {
        entry.documents.push(Document {
            kind,
            number: number.to_owned(),
            country,
        });
    }
}

/// Parses OFAC `DOB` values: `28 Jul 1963`, `Jul 1963`, `1963`, `circa 1955`,
/// `1955 to 1957`, `01 Jan 1955 to 31 Dec 1957`.
pub fn parse_dob(s: &str) -> Option<BirthDate> {
    let s = s.trim().trim_end_matches('.').trim();
    if let Some((a, b)) = s.split_once(" to ") {
        let from = parse_ofac_date(a)?.year;
        let to = parse_ofac_date(b)?.year;
        return Some(BirthDate::Range {
            from: from.min(to),
            to: from.max(to),
        });
    }
    if let Some(rest) = s.strip_prefix("circa ") {
        return Some(BirthDate::Approximate {
            year: parse_ofac_date(rest)?.year,
        });
    }
    Some(BirthDate::Exact {
        date: parse_ofac_date(s)?,
    })
}

fn parse_ofac_date(s: &str) -> Option<PartialDate> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    match parts.as_slice() {
        [y] => PartialDate::new(y.parse().ok()?, None, None),
        [m, y] => PartialDate::new(y.parse().ok()?, Some(month(m)?), None),
        [d, m, y] => PartialDate::new(y.parse().ok()?, Some(month(m)?), Some(d.parse().ok()?)),
        _ => None,
    }
}

fn month(m: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = m.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|x| *x == m)
        .and_then(|i| u8::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDN: &str = "10278,\"LOGAN MOREY, Elvis Angus\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 28 Jul 1963; POB Toledo District, Belize; Passport P0017003 (Belize); nationality Belize; a.k.a. 'BURTON BURGESS'.\"\r\n\
11195,\"IRAN AIRCRAFT CO\",-0- ,\"NPWMD] [IFSR\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"National ID No. 10100722073 (Iran); a.k.a. 'HE\"\r\n\
||||\r\n\x1a";

    #[test]
    fn parses_records_remarks_overflow_and_bad_lines() {
        let comments = b"11195,\"SA'; a.k.a. 'HTC'.\"\r\n99,\"x\"\r\n";
        let alt = b"10278,1,\"aka\",\"BURGESS, Burton\",-0- \r\n";
        let files = OfacFiles {
            primary: ("sdn.csv", SDN.as_bytes()),
            alt: Some(("alt.csv", alt)),
            add: None,
            comments: Some(("sdn_comments.csv", comments)),
        };
        let (entries, issues) = parse(&files);
        assert_eq!(entries.len(), 2);
        let logan = &entries[0];
        assert_eq!(logan.entity_type, EntityType::Individual);
        assert_eq!(
            logan.birth_dates,
            vec![BirthDate::Exact {
                date: PartialDate::new(1963, Some(7), Some(28)).unwrap()
            }]
        );
        assert_eq!(logan.birth_places, vec!["Toledo District, Belize"]);
        assert_eq!(logan.nationalities, vec!["Belize"]);
        assert_eq!(logan.documents[0].number, "P0017003");
        assert_eq!(logan.documents[0].country.as_deref(), Some("Belize"));
        assert!(
            logan
                .names
                .iter()
                .any(|n| n.text == "BURTON BURGESS" && n.kind == NameKind::WeakAlias)
        );
        let iran = &entries[1];
        assert_eq!(iran.entity_type, EntityType::Entity);
        assert_eq!(iran.programs, vec!["NPWMD", "IFSR"]);
        // The overflow in sdn_comments.csv completed the alias 'HESA'.
        assert!(iran.names.iter().any(|n| n.text == "HESA"));
        assert!(iran.names.iter().any(|n| n.text == "HTC"));
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(
            (issues[0].file.as_str(), issues[0].line, issues[0].kind),
            ("sdn.csv", 3, IssueKind::Malformed)
        );
        assert_eq!(issues[1].kind, IssueKind::Orphan);
    }

    #[test]
    fn a_file_cut_inside_a_quoted_field_loses_its_last_record_and_says_so() {
        let whole = SDN.split("||||").next().unwrap();
        let cut = &whole[..whole.len() - 20];
        let (entries, issues) = parse(&OfacFiles {
            primary: ("sdn.csv", cut.as_bytes()),
            alt: None,
            add: None,
            comments: None,
        });
        assert_eq!(entries.len(), 1, "the partial record is not an entry");
        assert_eq!(
            (issues[0].file.as_str(), issues[0].line, issues[0].kind),
            ("sdn.csv", 2, IssueKind::Malformed)
        );
        assert!(issues[0].message.contains("cut short"));
        let (entries, issues) = parse(&OfacFiles {
            primary: ("sdn.csv", whole.as_bytes()),
            alt: None,
            add: None,
            comments: None,
        });
        assert_eq!((entries.len(), issues.len()), (2, 0), "{issues:?}");

        // Read record by record, the file-level diagnosis still comes first,
        // ahead of a bad record met before the cut.
        let cut = format!("1,\"A\"\r\n{cut}");
        let (_, issues) = parse(&OfacFiles {
            primary: ("sdn.csv", cut.as_bytes()),
            alt: None,
            add: None,
            comments: None,
        });
        let seen: Vec<(u64, bool)> = issues
            .iter()
            .map(|i| (i.line, i.message.contains("cut short")))
            .collect();
        assert_eq!(seen, [(3, true), (1, false)], "{issues:?}");
    }

    #[test]
    fn parses_dob_variants() {
        assert_eq!(
            parse_dob("1962"),
            Some(BirthDate::Exact {
                date: PartialDate::new(1962, None, None).unwrap()
            })
        );
        assert_eq!(
            parse_dob("circa 1955"),
            Some(BirthDate::Approximate { year: 1955 })
        );
        assert_eq!(
            parse_dob("01 Jan 1955 to 31 Dec 1957"),
            Some(BirthDate::Range {
                from: 1955,
                to: 1957
            })
        );
        assert_eq!(
            parse_dob("Jul 1963."),
            Some(BirthDate::Exact {
                date: PartialDate::new(1963, Some(7), None).unwrap()
            })
        );
        assert_eq!(parse_dob("sometime"), None);
    }
}
