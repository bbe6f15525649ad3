//! UN Security Council consolidated list loader (XML).
//!
//! Structure per the UN schema `sc-sanctions.xsd` (referenced by the file's
//! `xsi:noNamespaceSchemaLocation`): `CONSOLIDATED_LIST[@dateGenerated]` with
//! `INDIVIDUALS/INDIVIDUAL` and `ENTITIES/ENTITY`. Each record has leaf fields
//! (`DATAID`, `FIRST_NAME` … `FOURTH_NAME`, `UN_LIST_TYPE`, `REFERENCE_NUMBER`,
//! `NAME_ORIGINAL_SCRIPT`) and groups (`NATIONALITY/VALUE`, `INDIVIDUAL_ALIAS` and
//! `ENTITY_ALIAS` with `QUALITY` ∈ {Good, Low, a.k.a., f.k.a.} and `ALIAS_NAME`,
//! `INDIVIDUAL_DATE_OF_BIRTH` with `TYPE_OF_DATE` ∈ {EXACT, APPROXIMATELY, BETWEEN} and
//! `DATE`/`YEAR`/`FROM_YEAR`/`TO_YEAR`, `INDIVIDUAL_PLACE_OF_BIRTH`,
//! `INDIVIDUAL_DOCUMENT`, `*_ADDRESS`).
//!
//! Streaming parse (quick-xml): a damaged file keeps every record completed before the
//! damage; the damage is reported with its line.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::model::{
    BirthDate, Document, DocumentKind, EntityType, EntryName, IssueKind, ListEntry, LoadIssue,
    NameKind, PartialDate,
};

/// The result of parsing one UN consolidated XML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnParse {
    /// The entries that loaded.
    pub entries: Vec<ListEntry>,
    /// `dateGenerated` of the list, if present.
    pub published: Option<String>,
    /// Bad records and damage, with lines.
    pub issues: Vec<LoadIssue>,
}

type Fields = Vec<(String, String)>;

#[derive(Default)]
struct RecordBuf {
    tag: String,
    line: u64,
    leaves: Fields,
    groups: Vec<(String, Fields)>,
}

/// Tracks line numbers from byte offsets without rescanning.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, offset: u64) -> u64 {
        let target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if target < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let slice = self.bytes.get(self.pos..target).unwrap_or_default();
        self.line += slice.iter().filter(|b| **b == b'\n').count() as u64;
        self.pos = target;
        self.line
    }
}

/// Parses the UN consolidated XML.
pub fn parse(file: &str, bytes: &[u8]) -> UnParse {
    let mut reader = Reader::from_reader(bytes);
    let mut lines = Lines {
        bytes,
        pos: 0,
        line: 1,
    };
    let mut out = UnParse {
        entries: Vec::new(),
        published: None,
        issues: Vec::new(),
    };
    let mut stack: Vec<String> = Vec::new();
    let mut rec: Option<RecordBuf> = None;
    let mut group: Fields = Vec::new();
    let mut text = String::new();
    let issue = |line: u64, message: String| LoadIssue {
        file: file.to_owned(),
        line,
        kind: IssueKind::Malformed,
        message,
    };

    loop {
        let before = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = lines.at(reader.error_position());
                out.issues.push(issue(line, format!("XML error: {e}")));
                if let Some(r) = rec.take() {
                    out.issues.push(issue(
                        r.line,
                        format!(
                            "{} record starting here is incomplete and was skipped",
                            r.tag
                        ),
                    ));
                }
                break;
            }
        };
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if stack.is_empty() && name == "CONSOLIDATED_LIST" {
                    for a in e.attributes().flatten() {
                        if a.key.as_ref() == b"dateGenerated" {
                            out.published = Some(String::from_utf8_lossy(&a.value).into_owned());
                        }
                    }
                }
                stack.push(name);
                text.clear();
                if stack.len() == 3 {
                    let tag = stack.last().cloned().unwrap_or_default();
                    if tag == "INDIVIDUAL" || tag == "ENTITY" {
                        rec = Some(RecordBuf {
                            tag,
                            line: lines.at(before),
                            ..RecordBuf::default()
                        });
                    }
                } else if stack.len() == 4 {
                    group.clear();
                }
            }
            Event::Empty(_) => {}
            Event::Text(t) => match t.decode() {
                Ok(s) => text.push_str(&s),
                Err(e) => out
                    .issues
                    .push(issue(lines.at(before), format!("undecodable text: {e}"))),
            },
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => match r.decode().as_deref() {
                        Ok("amp") => Some("&".to_owned()),
                        Ok("lt") => Some("<".to_owned()),
                        Ok("gt") => Some(">".to_owned()),
                        Ok("quot") => Some("\"".to_owned()),
                        Ok("apos") => Some("'".to_owned()),
                        _ => None,
                    },
                };
                match resolved {
                    Some(s) => text.push_str(&s),
                    None => out.issues.push(issue(
                        lines.at(before),
                        "unknown entity reference".to_owned(),
                    )),
                }
            }
            Event::End(_) => {
                let depth = stack.len();
                let name = stack.pop().unwrap_or_default();
                if let Some(r) = rec.as_mut() {
                    match depth {
                        5 => group.push((name, text.trim().to_owned())),
                        4 if group.is_empty() => r.leaves.push((name, text.trim().to_owned())),
                        4 => r.groups.push((name, std::mem::take(&mut group))),
                        3 => {
                            if let Some(r) = rec.take() {
                                match build_entry(&r) {
                                    Ok(e) => out.entries.push(e),
                                    Err(msg) => out.issues.push(issue(r.line, msg)),
                                }
                            }
                        }
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => {
                if let Some(last) = stack.last() {
                    out.issues.push(issue(
                        lines.at(reader.buffer_position()),
                        format!("file truncated: <{last}> not closed"),
                    ));
                }
                if let Some(r) = rec.take() {
                    out.issues.push(issue(
                        r.line,
                        format!(
                            "{} record starting here is incomplete and was skipped",
                            r.tag
                        ),
                    ));
                }
                break;
            }
            _ => {}
        }
    }
    out
}

fn get<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

fn build_entry(r: &RecordBuf) -> Result<ListEntry, String> {
    let id = get(&r.leaves, "REFERENCE_NUMBER")
        .or_else(|| get(&r.leaves, "DATAID"))
        .ok_or_else(|| format!("{} without REFERENCE_NUMBER or DATAID", r.tag))?
        .to_owned();
    let primary: Vec<&str> = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"]
        .iter()
        .filter_map(|k| get(&r.leaves, k))
        .collect();
    if primary.is_empty() {
        return Err(format!("{} {id} has no name", r.tag));
    }
    let mut entry = ListEntry {
        id,
        entity_type: if r.tag == "INDIVIDUAL" {
            EntityType::Individual
        } else {
            EntityType::Entity
        },
        names: vec![EntryName {
            text: primary.join(" "),
            kind: NameKind::Primary,
        }],
        birth_dates: Vec::new(),
        birth_places: Vec::new(),
        nationalities: Vec::new(),
        documents: Vec::new(),
        addresses: Vec::new(),
        programs: get(&r.leaves, "UN_LIST_TYPE")
            .map(|p| vec![p.to_owned()])
            .unwrap_or_default(),
    };
    if let Some(orig) = get(&r.leaves, "NAME_ORIGINAL_SCRIPT") {
        entry.names.push(EntryName {
            text: orig.to_owned(),
            kind: NameKind::OriginalScript,
        });
    }
    for (tag, g) in &r.groups {
        match tag.as_str() {
            "NATIONALITY" => {
                for (k, v) in g {
                    if k == "VALUE" && !v.is_empty() {
                        entry.nationalities.push(v.clone());
                    }
                }
            }
            "INDIVIDUAL_ALIAS" | "ENTITY_ALIAS" => {
                if let Some(name) = get(g, "ALIAS_NAME") {
                    let kind = match get(g, "QUALITY") {
                        Some("Low") => NameKind::WeakAlias,
                        Some("f.k.a.") => NameKind::FormerName,
                        _ => NameKind::Alias,
                    };
                    entry.names.push(EntryName {
                        text: name.to_owned(),
                        kind,
                    });
                }
            }
            "INDIVIDUAL_DATE_OF_BIRTH" => {
                if let Some(d) = birth_date(g) {
                    entry.birth_dates.push(d);
                }
            }
            "INDIVIDUAL_PLACE_OF_BIRTH" => {
                let p: Vec<&str> = ["CITY", "STATE_PROVINCE", "COUNTRY"]
                    .iter()
                    .filter_map(|k| get(g, k))
                    .collect();
                if !p.is_empty() {
                    entry.birth_places.push(p.join(", "));
                }
            }
            "INDIVIDUAL_DOCUMENT" => {
                if let Some(number) = get(g, "NUMBER") {
                    let kind = match get(g, "TYPE_OF_DOCUMENT") {
                        Some(t) if t.to_ascii_lowercase().contains("passport") => {
                            DocumentKind::Passport
                        }
                        Some(t) if t.to_ascii_lowercase().contains("national") => {
                            DocumentKind::NationalId
                        }
                        Some(t) => DocumentKind::Other(t.to_owned()),
                        None => DocumentKind::Other(String::new()),
                    };
                    let country = get(g, "ISSUING_COUNTRY")
                        .or_else(|| get(g, "COUNTRY_OF_ISSUE"))
                        .map(str::to_owned);
                    entry.documents.push(Document {
                        kind,
                        number: number.to_owned(),
                        country,
                    });
                }
            }
            "INDIVIDUAL_ADDRESS" | "ENTITY_ADDRESS" => {
                let p: Vec<&str> = ["STREET", "CITY", "STATE_PROVINCE", "COUNTRY"]
                    .iter()
                    .filter_map(|k| get(g, k))
                    .collect();
                if !p.is_empty() {
                    entry.addresses.push(p.join(", "));
                }
            }
            _ => {}
        }
    }
    Ok(entry)
}

/// `INDIVIDUAL_DATE_OF_BIRTH`: EXACT (`DATE` or `YEAR`), APPROXIMATELY (`YEAR`/`DATE`),
/// BETWEEN (`FROM_YEAR`, `TO_YEAR`).
fn birth_date(g: &Fields) -> Option<BirthDate> {
    let year = |k: &str| get(g, k).and_then(|y| y.trim().parse::<u16>().ok());
    let date = get(g, "DATE").and_then(|d| PartialDate::parse_iso(d.get(..10).unwrap_or(d)));
    match get(g, "TYPE_OF_DATE") {
        Some("BETWEEN") => {
            let (from, to) = (year("FROM_YEAR")?, year("TO_YEAR")?);
            Some(BirthDate::Range {
                from: from.min(to),
                to: from.max(to),
            })
        }
        Some("APPROXIMATELY") => Some(BirthDate::Approximate {
            year: year("YEAR").or(date.map(|d| d.year))?,
        }),
        _ => match date {
            Some(date) => Some(BirthDate::Exact { date }),
            None => Some(BirthDate::Exact {
                date: PartialDate::new(year("YEAR")?, None, None)?,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>1</DATAID>
      <FIRST_NAME>DOKU</FIRST_NAME>
      <SECOND_NAME>KHAMATOVICH</SECOND_NAME>
      <THIRD_NAME>UMAROV</THIRD_NAME>
      <UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
      <REFERENCE_NUMBER>QDi.290</REFERENCE_NUMBER>
      <NAME_ORIGINAL_SCRIPT>Умаров Доку Хаматович</NAME_ORIGINAL_SCRIPT>
      <NATIONALITY><VALUE>Russian Federation</VALUE></NATIONALITY>
      <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Lom-ali Butayev</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Abu Usman</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY/><ALIAS_NAME/></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1964-04-13</DATE></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1963</FROM_YEAR><TO_YEAR>1965</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>96 03 464086</NUMBER><ISSUING_COUNTRY>Russian Federation</ISSUING_COUNTRY></INDIVIDUAL_DOCUMENT>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>2</DATAID>
      <FIRST_NAME>AL-HARAMAIN &amp; AL MASJED AL-AQSA CHARITY FOUNDATION</FIRST_NAME>
      <REFERENCE_NUMBER>QDe.109</REFERENCE_NUMBER>
      <ENTITY_ALIAS><QUALITY>f.k.a.</QUALITY><ALIAS_NAME>Al Haramain Al Masjed Al Aqsa</ALIAS_NAME></ENTITY_ALIAS>
    </ENTITY>
    <ENTITY>
      <DATAID>3</DATAID>
      <FIRST_NAME>BROKEN"#;

    #[test]
    fn parses_individuals_entities_and_reports_truncation() {
        let p = parse("un.xml", XML.as_bytes());
        assert_eq!(p.published.as_deref(), Some("2026-02-27T00:00:09.554Z"));
        assert_eq!(p.entries.len(), 2);
        let u = &p.entries[0];
        assert_eq!(u.id, "QDi.290");
        assert_eq!(u.primary_name(), "DOKU KHAMATOVICH UMAROV");
        assert_eq!(u.names.len(), 4);
        assert_eq!(u.names[1].kind, NameKind::OriginalScript);
        assert_eq!(u.names[3].kind, NameKind::WeakAlias);
        assert_eq!(u.birth_dates.len(), 2);
        assert_eq!(
            u.birth_dates[1],
            BirthDate::Range {
                from: 1963,
                to: 1965
            }
        );
        assert_eq!(u.documents[0].kind, DocumentKind::Passport);
        assert_eq!(u.nationalities, vec!["Russian Federation"]);
        let e = &p.entries[1];
        assert_eq!(e.entity_type, EntityType::Entity);
        assert_eq!(
            e.primary_name(),
            "AL-HARAMAIN & AL MASJED AL-AQSA CHARITY FOUNDATION"
        );
        assert_eq!(e.names[1].kind, NameKind::FormerName);
        assert!(!p.issues.is_empty());
        // The incomplete ENTITY starts on line 28.
        assert!(p.issues.iter().any(|i| i.line == 28), "{:?}", p.issues);
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            "<",
            "<<<>>>",
            "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL></X>",
            "\u{0}\u{ff}",
        ] {
            let _ = parse("x.xml", s.as_bytes());
        }
    }
}
