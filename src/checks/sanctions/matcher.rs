//! Scoring a query against list names, and the explanation every match carries.
//!
//! Token-aware: core tokens (names, numbers) of both sides are paired greedily by
//! similarity (Jaro-Winkler; exact for numbers and 1-2 letter tokens; initials; a
//! consonant skeleton for spellings transliterated from Arabic), after re-joining
//! adjacent tokens that one side writes as one word. Unpaired tokens lower the score,
//! less when at least two tokens paired well (a missing middle name or patronymic). Particles,
//! honorifics, legal forms and generic words never carry a match. Date of birth and
//! nationality, where both sides have them, raise or lower the score. Screening never
//! rejects: it returns potential matches at or above the policy threshold for review.

use serde::Serialize;

use super::model::{BirthDate, EntityType, ListEntry, NameKind, PartialDate};
use super::normalize::{
    Script, TokenClass, ambiguous_legal_form, country_code, normalize_name, skeleton,
};

/// A screening request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Query {
    /// The name as entered (any script).
    pub name: String,
    /// What the party is, if known; inferred as an entity when the name has a legal form.
    pub entity_type: Option<EntityType>,
    /// Date of birth, if known.
    pub birth_date: Option<PartialDate>,
    /// Nationality (country name, demonym or ISO alpha-2), if known.
    pub nationality: Option<String>,
}

/// Screening policy values (from the versioned decision policy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScreeningPolicy {
    /// Minimum final score for a potential match (0..=1).
    pub threshold: f32,
    /// At most this many matches are returned (best first).
    pub max_results: usize,
    /// At most this many indexed names are scored per query (blocking bound).
    pub max_candidates: usize,
}

impl Default for ScreeningPolicy {
    fn default() -> Self {
        Self {
            threshold: 0.85,
            max_results: 20,
            max_candidates: 400,
        }
    }
}

/// How two tokens were paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairMethod {
    /// Identical after normalization.
    Exact,
    /// Jaro-Winkler similarity.
    JaroWinkler,
    /// One side is an initial of the other.
    Initial,
    /// Same consonant skeleton (transliteration variants, unwritten Arabic vowels).
    Skeleton,
}

/// One query token paired with one listed token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenPairing {
    /// Query token (may be two query tokens re-joined, shown joined).
    pub query: String,
    /// Listed token (may be two listed tokens re-joined).
    pub listed: String,
    /// Similarity 0..=1.
    pub score: f32,
    /// How it was computed.
    pub method: PairMethod,
}

/// The name part of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameScore {
    /// Weighted similarity 0..=1 (before evidence adjustments).
    pub score: f32,
    /// Paired tokens, best first.
    pub pairs: Vec<TokenPairing>,
    /// Query tokens left unpaired.
    pub unmatched_query: Vec<String>,
    /// Listed tokens left unpaired.
    pub unmatched_listed: Vec<String>,
}

/// A field compared besides the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceField {
    /// Date of birth.
    BirthDate,
    /// Nationality / citizenship.
    Nationality,
    /// Company legal form.
    LegalForm,
    /// Weak alias (OFAC remark-only a.k.a., UN "Low" quality).
    AliasQuality,
}

/// Whether a field supports or contradicts the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Raises the score.
    Corroborates,
    /// Lowers the score.
    Contradicts,
}

/// One corroborating or contradicting field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Which field.
    pub field: EvidenceField,
    /// Its effect.
    pub effect: Effect,
    /// The query's value.
    pub query_value: String,
    /// The listed values compared.
    pub listed_value: String,
    /// Added to the name score (negative when contradicting).
    pub adjustment: f32,
}

/// A potential match, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// List name (see the screening's version stamps for its hash and date).
    pub list: String,
    /// Entry id in that list.
    pub entry_id: String,
    /// Entry type.
    pub entity_type: EntityType,
    /// The entry's primary name.
    pub primary_name: String,
    /// The entry name that matched best.
    pub matched_name: String,
    /// Its kind (primary, alias, weak alias…).
    pub matched_name_kind: NameKind,
    /// The name comparison, token by token.
    pub name: NameScore,
    /// Corroborating and contradicting fields.
    pub evidence: Vec<Evidence>,
    /// Final score 0..=1: name score plus evidence adjustments.
    pub score: f32,
    /// The policy threshold it was compared with.
    pub threshold: f32,
}

/// A name prepared for comparison: normalized tokens with keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedName {
    /// Core tokens (names and numbers).
    pub core: Vec<PToken>,
    /// Canonical legal forms present.
    pub legal_forms: Vec<String>,
    /// True when the name has no name token, only generic words (e.g. "GLOBAL TRADING
    /// GROUP"): its generic words are then its core, and it matches only a name with
    /// exactly the same words, so generic words never produce a fuzzy match.
    pub generic_only: bool,
    /// True when a legal form that cannot be a name part (LLC, GmbH, JSC…) is present.
    pub org_form: bool,
}

/// One core token with its phonetic key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PToken {
    /// Normalized text.
    pub text: Box<str>,
    /// [`skeleton`] of the text.
    pub skel: Box<str>,
    /// Number or name.
    pub class: TokenClass,
    /// Original script.
    pub script: Script,
}

/// Normalizes and prepares a name.
pub fn prepare(name: &str) -> PreparedName {
    let n = normalize_name(name);
    let mut core = Vec::new();
    let mut generic = Vec::new();
    let mut legal_forms = Vec::new();
    let mut org_form = false;
    for t in n.tokens {
        let pt = |t: &super::normalize::Token| PToken {
            skel: skeleton(&t.text).into(),
            text: t.text.clone().into(),
            class: t.class,
            script: t.script,
        };
        match t.class {
            TokenClass::Name | TokenClass::Number => core.push(pt(&t)),
            TokenClass::Generic => generic.push(pt(&t)),
            TokenClass::LegalForm => {
                org_form |= !ambiguous_legal_form(&t.text);
                legal_forms.push(t.text);
            }
            _ => {}
        }
    }
    let generic_only = core.is_empty() && !generic.is_empty();
    if generic_only {
        core = generic;
    }
    PreparedName {
        core,
        legal_forms,
        generic_only,
        org_form,
    }
}

/// Jaro-Winkler similarity of two ASCII byte strings (Winkler 1990; prefix scale 0.1,
/// at most 4 prefix characters).
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f32 {
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let range = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_used = [false; 64];
    let mut b_used = [false; 64];
    if a.len() > 64 || b.len() > 64 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(b.len());
        for j in lo..hi {
            if !b_used.get(j).copied().unwrap_or(true) && b.get(j) == Some(ca) {
                if let (Some(x), Some(y)) = (a_used.get_mut(i), b_used.get_mut(j)) {
                    *x = true;
                    *y = true;
                }
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let a_m = a
        .iter()
        .zip(a_used.iter())
        .filter(|(_, u)| **u)
        .map(|(c, _)| *c);
    let b_m = b
        .iter()
        .zip(b_used.iter())
        .filter(|(_, u)| **u)
        .map(|(c, _)| *c);
    let transpositions = a_m.zip(b_m).filter(|(x, y)| x != y).count() / 2;
    let m = matches as f32;
    let jaro = (m / a.len() as f32 + m / b.len() as f32 + (m - transpositions as f32) / m) / 3.0;
    let prefix = a
        .iter()
        .zip(b.iter())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count() as f32;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// Similarity of two tokens and how it was obtained (see the shaping note inside).
fn token_sim(a: &Tok, b: &Tok) -> (f32, PairMethod) {
    if a.text == b.text {
        return (1.0, PairMethod::Exact);
    }
    if a.class == TokenClass::Number || b.class == TokenClass::Number {
        return (0.0, PairMethod::Exact);
    }
    let (la, lb) = (a.text.len(), b.text.len());
    if (la == 1 && b.text.starts_with(a.text.as_str()))
        || (lb == 1 && a.text.starts_with(b.text.as_str()))
    {
        return (0.85, PairMethod::Initial);
    }
    if la <= 2 || lb <= 2 {
        return (0.0, PairMethod::Exact);
    }
    let jw = jaro_winkler(a.text.as_bytes(), b.text.as_bytes());
    let arabic = a.script == Script::Arabic || b.script == Script::Arabic;
    let sk = if arabic && a.skel.len() >= 2 && a.skel == b.skel {
        0.93
    } else if arabic && a.skel.len() >= 3 && b.skel.len() >= 3 {
        let j = jaro_winkler(a.skel.as_bytes(), b.skel.as_bytes());
        if j >= 0.9 { 0.9 * j } else { 0.0 }
    } else if a.skel == b.skel && a.skel.len() >= 3 {
        0.9
    } else {
        0.0
    };
    // Jaro-Winkler is generous with different names that share letters (hamid/amidi
    // 0.87): below 0.92 (beyond a typo or transliteration variant) it is cubed (→ 0.66).
    let jw = if jw >= 0.92 { jw } else { jw.powi(3) };
    if sk > jw {
        (sk, PairMethod::Skeleton)
    } else {
        (jw, PairMethod::JaroWinkler)
    }
}

/// A working token: possibly two adjacent tokens re-joined.
#[derive(Debug, Clone)]
struct Tok {
    text: String,
    skel: String,
    class: TokenClass,
    script: Script,
}

impl Tok {
    fn from(t: &PToken) -> Self {
        Self {
            text: t.text.to_string(),
            skel: t.skel.to_string(),
            class: t.class,
            script: t.script,
        }
    }

    fn weight(&self) -> f32 {
        if self.text.len() == 1 {
            1.5
        } else {
            self.text.len().min(8) as f32 + 2.0
        }
    }
}

/// Re-joins adjacent tokens of `a` whose concatenation is (nearly) a token of `b` that
/// `a` does not already contain ("abdul rahman" vs "abdulrahman", "al qaida" vs
/// "alqaida").
fn rejoin(a: Vec<Tok>, b: &[Tok]) -> Vec<Tok> {
    if a.len() < 2 {
        return a;
    }
    let mut out: Vec<Tok> = Vec::with_capacity(a.len());
    let mut i = 0;
    while i < a.len() {
        if let (Some(x), Some(y)) = (a.get(i), a.get(i + 1))
            && x.class == TokenClass::Name
            && y.class == TokenClass::Name
        {
            let joined = format!("{}{}", x.text, y.text);
            let hit = b.iter().any(|t| {
                t.text.len() >= 5
                    && !a.iter().any(|s| s.text == t.text)
                    && (t.text == joined
                        || jaro_winkler(t.text.as_bytes(), joined.as_bytes()) >= 0.95)
            });
            if hit {
                out.push(Tok {
                    skel: skeleton(&joined),
                    text: joined,
                    class: TokenClass::Name,
                    script: x.script,
                });
                i += 2;
                continue;
            }
        }
        if let Some(x) = a.get(i) {
            out.push(x.clone());
        }
        i += 1;
    }
    out
}

/// Compares two prepared names. `None` when either has no core token (e.g. a name of
/// generic words only, which can never match by itself).
pub fn score_names(query: &PreparedName, listed: &PreparedName) -> Option<NameScore> {
    if query.core.is_empty() || listed.core.is_empty() {
        return None;
    }
    if query.generic_only || listed.generic_only {
        return exact_generic(query, listed);
    }
    let q0: Vec<Tok> = query.core.iter().map(Tok::from).collect();
    let l0: Vec<Tok> = listed.core.iter().map(Tok::from).collect();
    let q = rejoin(q0, &l0);
    let l = rejoin(l0, &q);

    let mut cells: Vec<(f32, usize, usize, PairMethod)> = Vec::with_capacity(q.len() * l.len());
    for (i, a) in q.iter().enumerate() {
        for (j, b) in l.iter().enumerate() {
            let (s, m) = token_sim(a, b);
            if s >= 0.5 {
                cells.push((s, i, j, m));
            }
        }
    }
    cells.sort_by(|x, y| y.0.total_cmp(&x.0));
    let mut q_used = vec![false; q.len()];
    let mut l_used = vec![false; l.len()];
    let mut pairs = Vec::new();
    let (mut matched, mut strong_name_pairs) = (0.0f32, 0usize);
    for (s, i, j, m) in cells {
        if q_used.get(i).copied().unwrap_or(true) || l_used.get(j).copied().unwrap_or(true) {
            continue;
        }
        if let (Some(qu), Some(lu), Some(a), Some(b)) =
            (q_used.get_mut(i), l_used.get_mut(j), q.get(i), l.get(j))
        {
            *qu = true;
            *lu = true;
            matched += s * (a.weight() + b.weight());
            if s >= 0.8 && m != PairMethod::Initial {
                strong_name_pairs += 1;
            }
            pairs.push(TokenPairing {
                query: a.text.clone(),
                listed: b.text.clone(),
                score: s,
                method: m,
            });
        }
    }
    // A match needs at least one strong pair of real name tokens (not an initial).
    if strong_name_pairs == 0 {
        return Some(NameScore {
            score: 0.0,
            pairs,
            unmatched_query: unmatched(&q, &q_used),
            unmatched_listed: unmatched(&l, &l_used),
        });
    }
    // Missing names (on either side) cost 60% of their weight once two tokens paired
    // well (a middle name left out), and a patronymic 30%; otherwise in full.
    let two = strong_name_pairs >= 2;
    let mut total = 0.0f32;
    for (t, used) in q
        .iter()
        .zip(q_used.iter())
        .chain(l.iter().zip(l_used.iter()))
    {
        let factor = match (*used, two) {
            (true, _) => 1.0,
            (false, true) if is_patronymic(&t.text) => 0.3,
            (false, true) => 0.6,
            (false, false) => 1.0,
        };
        total += t.weight() * factor;
    }
    let score = if total > 0.0 {
        (matched / total).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Some(NameScore {
        score,
        pairs,
        unmatched_query: unmatched(&q, &q_used),
        unmatched_listed: unmatched(&l, &l_used),
    })
}

/// Names of generic words only match when both have exactly the same words.
fn exact_generic(query: &PreparedName, listed: &PreparedName) -> Option<NameScore> {
    let mut a: Vec<&str> = query.core.iter().map(|t| &*t.text).collect();
    let mut b: Vec<&str> = listed.core.iter().map(|t| &*t.text).collect();
    a.sort_unstable();
    b.sort_unstable();
    if !(query.generic_only && listed.generic_only && a == b) {
        return None;
    }
    let pairs = a
        .iter()
        .map(|t| TokenPairing {
            query: (*t).to_owned(),
            listed: (*t).to_owned(),
            score: 1.0,
            method: PairMethod::Exact,
        })
        .collect();
    Some(NameScore {
        score: 1.0,
        pairs,
        unmatched_query: Vec::new(),
        unmatched_listed: Vec::new(),
    })
}

/// Slavic patronymics (-ovich, -evich, -ovna, -evna, -ich) are routinely omitted.
fn is_patronymic(t: &str) -> bool {
    ["ovich", "evich", "ovna", "evna", "yich", "ich"]
        .iter()
        .any(|s| t.len() > s.len() + 2 && t.ends_with(s))
}

fn unmatched(toks: &[Tok], used: &[bool]) -> Vec<String> {
    toks.iter()
        .zip(used.iter())
        .filter(|(_, u)| !**u)
        .map(|(t, _)| t.text.clone())
        .collect()
}

/// True when a query of `query` type may be compared with an entry of `entry` type:
/// persons never match organisations (or vessels, aircraft) on a name alone.
pub fn types_compatible(query: Option<EntityType>, entry: EntityType) -> bool {
    match query {
        None => true,
        Some(q) => q.is_organisation_like() == entry.is_organisation_like(),
    }
}

/// Compares the query's date of birth and nationality with the entry's, and the legal
/// forms of the names, returning the evidence (empty when a side lacks the field).
pub fn evidence(
    query: &Query,
    q: &PreparedName,
    entry: &ListEntry,
    listed: &PreparedName,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(d) = query.birth_date
        && !entry.birth_dates.is_empty()
    {
        let best = entry
            .birth_dates
            .iter()
            .map(|b| dob_adjustment(d, b))
            .fold(f32::MIN, f32::max);
        let listed_value = entry
            .birth_dates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        if best != 0.0 {
            out.push(Evidence {
                field: EvidenceField::BirthDate,
                effect: if best > 0.0 {
                    Effect::Corroborates
                } else {
                    Effect::Contradicts
                },
                query_value: d.to_string(),
                listed_value,
                adjustment: best,
            });
        }
    }
    if let Some(n) = &query.nationality
        && let Some(qc) = country_code(n)
    {
        let codes: Vec<&str> = entry
            .nationalities
            .iter()
            .filter_map(|x| country_code(x))
            .collect();
        if !codes.is_empty() {
            let same = codes.contains(&qc);
            out.push(Evidence {
                field: EvidenceField::Nationality,
                effect: if same {
                    Effect::Corroborates
                } else {
                    Effect::Contradicts
                },
                query_value: n.clone(),
                listed_value: entry.nationalities.join("; "),
                adjustment: if same { 0.04 } else { -0.10 },
            });
        }
    }
    if !q.legal_forms.is_empty() && !listed.legal_forms.is_empty() {
        let same = q.legal_forms.iter().any(|f| listed.legal_forms.contains(f));
        out.push(Evidence {
            field: EvidenceField::LegalForm,
            effect: if same {
                Effect::Corroborates
            } else {
                Effect::Contradicts
            },
            query_value: q.legal_forms.join(" "),
            listed_value: listed.legal_forms.join(" "),
            adjustment: if same { 0.02 } else { -0.03 },
        });
    }
    out
}

/// Score adjustment for one listed date of birth: same full date +0.08, compatible year
/// +0.04, same year but different month/day −0.06, 2-5 years apart −0.12, more −0.20.
fn dob_adjustment(q: PartialDate, listed: &BirthDate) -> f32 {
    let year_gap = |y: u16| (i32::from(q.year) - i32::from(y)).unsigned_abs();
    let by_gap = |gap: u32| -> f32 {
        match gap {
            0 | 1 => 0.04,
            2..=5 => -0.12,
            _ => -0.20,
        }
    };
    match *listed {
        BirthDate::Exact { date } => {
            if date.year != q.year {
                return if year_gap(date.year) == 1 {
                    -0.04
                } else {
                    f32::min(by_gap(year_gap(date.year)), -0.12)
                };
            }
            let month_ok = match (date.month, q.month) {
                (Some(a), Some(b)) => Some(a == b),
                _ => None,
            };
            let day_ok = match (date.day, q.day) {
                (Some(a), Some(b)) => Some(a == b),
                _ => None,
            };
            match (month_ok, day_ok) {
                (Some(false), _) | (_, Some(false)) => -0.06,
                (Some(true), Some(true)) => 0.08,
                _ => 0.04,
            }
        }
        BirthDate::Approximate { year } => by_gap(year_gap(year).saturating_sub(1)),
        BirthDate::Range { from, to } => {
            let gap = if q.year < from {
                from - q.year
            } else {
                q.year.saturating_sub(to)
            };
            by_gap(u32::from(gap))
        }
    }
}

/// Factor applied to a weak alias's name score: OFAC advises that weak a.k.a.s alone
/// are a weak basis for a match.
pub const WEAK_ALIAS_FACTOR: f32 = 0.95;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: &str, b: &str) -> f32 {
        score_names(&prepare(a), &prepare(b)).map_or(0.0, |n| n.score)
    }

    #[test]
    fn jaro_winkler_reference_values() {
        // Winkler's examples: MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.813.
        assert!((jaro_winkler(b"martha", b"marhta") - 0.961).abs() < 0.001);
        assert!((jaro_winkler(b"dwayne", b"duane") - 0.84).abs() < 0.001);
        assert!((jaro_winkler(b"dixon", b"dicksonx") - 0.813).abs() < 0.001);
    }

    #[test]
    fn reordered_typo_missing_middle_and_joined_names_match() {
        assert!(s("Dmitry Khoroshev", "KHOROSHEV, Dmitry Yuryevich") >= 0.85);
        assert!(s("Dmitri Khorošev", "KHOROSHEV, Dmitry Yuryevich") >= 0.85);
        assert!(s("Abdulrahman Yasin", "ABDUL RAHMAN YASIN") >= 0.85);
        assert!(s("Ayman Zawahiri", "AL-ZAWAHIRI, Ayman") >= 0.95);
        assert!(s("D. Khoroshev", "KHOROSHEV, Dmitry") >= 0.6);
    }

    #[test]
    fn different_people_and_generic_words_do_not_match() {
        assert!(s("Maria Garcia", "GARCIA ABREGO, Juan") < 0.7);
        // Generic-only names match only the very same words, never fuzzily.
        assert!(s("The Trading Group", "THE TRADING GROUP") == 1.0);
        assert!(s("The Trading Group", "GLOBAL TRADING GROUP") == 0.0);
        assert!(s("Trading Group", "GLOBAL TRADING GROUP NV") == 0.0);
        assert!(s("Smith Trading Company", "JONES TRADING COMPANY") < 0.5);
        assert!(s("Unit 77", "GROUP 78") < 0.5);
    }

    #[test]
    fn arabic_script_finds_latin_spelling() {
        assert!(
            s("أسامة بن لادن", "USAMA BIN LADEN") >= 0.85,
            "{}",
            s("أسامة بن لادن", "USAMA BIN LADEN")
        );
        assert!(s("محمد حسين", "MUHAMMAD HUSSEIN") >= 0.85);
    }

    #[test]
    fn persons_never_match_organisations() {
        assert!(!types_compatible(
            Some(EntityType::Individual),
            EntityType::Entity
        ));
        assert!(!types_compatible(
            Some(EntityType::Entity),
            EntityType::Individual
        ));
        assert!(types_compatible(None, EntityType::Vessel));
    }

    #[test]
    fn dob_adjustments() {
        let d = PartialDate::new(1963, Some(7), Some(28)).unwrap();
        assert!(dob_adjustment(d, &BirthDate::Exact { date: d }) > 0.0);
        assert!(
            dob_adjustment(
                d,
                &BirthDate::Range {
                    from: 1960,
                    to: 1964
                }
            ) > 0.0
        );
        assert!(dob_adjustment(d, &BirthDate::Approximate { year: 1990 }) < -0.1);
        let other_day = PartialDate::new(1963, Some(7), Some(1)).unwrap();
        assert!(dob_adjustment(d, &BirthDate::Exact { date: other_day }) < 0.0);
    }
}
