//! Name normalization: case folding, diacritics, transliteration, token classes, keys.
//!
//! Pure functions only. Every name (listed or queried) goes through [`normalize_name`]
//! so both sides of a comparison are in the same form: lower-case ASCII tokens, each
//! with a [`TokenClass`] (so legal forms, honorifics and generic words are recognised,
//! kept and explained rather than discarded) and the [`Script`] it was written in.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The writing system a token was written in before transliteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    /// Latin (incl. ASCII digits).
    Latin,
    /// Cyrillic.
    Cyrillic,
    /// Greek.
    Greek,
    /// Arabic (incl. Persian letters): transliterated without short vowels.
    Arabic,
    /// Han, Kana, Hangul: best effort via `deunicode`.
    Cjk,
    /// Anything else `deunicode` knows.
    Other,
}

/// What role a token plays in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenClass {
    /// An ordinary name part: the only class (with numbers) that can make a match.
    Name,
    /// Digits; matched exactly.
    Number,
    /// Name particles: al, el, bin, ibn, abu, van, de, …: they never count alone.
    Particle,
    /// Titles and honorifics (Dr, Sheikh, Haji, Colonel, Jr): ignored in scoring.
    Honorific,
    /// Company legal forms (LLC, GmbH, OOO, JSC, Ltd, SA, AG, …), canonicalised.
    LegalForm,
    /// Generic organisation words (group, company, the, trading, …): never match alone.
    Generic,
}

/// One normalized token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Token {
    /// Lower-case ASCII text (legal forms in canonical form, e.g. `llc`).
    pub text: String,
    /// Its class.
    pub class: TokenClass,
    /// The script it was written in.
    pub script: Script,
}

impl Token {
    /// True for tokens that can carry a match (names and numbers).
    pub fn is_core(&self) -> bool {
        matches!(self.class, TokenClass::Name | TokenClass::Number)
    }
}

/// A normalized name: tokens in their original order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NormalizedName {
    /// The tokens.
    pub tokens: Vec<Token>,
}

impl NormalizedName {
    /// The token texts joined by single spaces.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for t in &self.tokens {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&t.text);
        }
        s
    }

    /// True if any token is a legal form (the name looks like an organisation).
    pub fn has_legal_form(&self) -> bool {
        self.tokens.iter().any(|t| t.class == TokenClass::LegalForm)
    }

    /// The tokens that can carry a match.
    pub fn core(&self) -> impl Iterator<Item = &Token> {
        self.tokens.iter().filter(|t| t.is_core())
    }
}

/// Folds text to lower-case ASCII: Unicode compatibility decomposition (NFKD) with
/// combining marks removed, case folded, non-Latin scripts transliterated. Characters
/// that cannot be transliterated become spaces. Idempotent.
pub fn fold(s: &str) -> String {
    fold_with_scripts(s).0
}

/// [`fold`], also returning the script of every output byte (the output is ASCII).
fn fold_with_scripts(s: &str) -> (String, Vec<Script>) {
    let mut out = String::with_capacity(s.len());
    let mut scripts = Vec::with_capacity(s.len());
    let mut push = |text: &str, script: Script, out: &mut String| {
        for c in text.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii() && !c.is_ascii_control() {
                out.push(c);
                scripts.push(script);
            } else {
                out.push(' ');
                scripts.push(script);
            }
        }
    };
    for orig in s.chars() {
        // Transliterate Cyrillic before NFKD: NFKD would turn й into и + breve.
        let lower = orig.to_lowercase().next().unwrap_or(orig);
        if let Some(t) = cyrillic(lower) {
            push(t, Script::Cyrillic, &mut out);
            continue;
        }
        for ch in std::iter::once(orig).nfkd() {
            if is_combining_mark(ch) {
                continue;
            }
            if ch.is_ascii() {
                let c = if ch.is_ascii_control() { ' ' } else { ch };
                push(c.encode_utf8(&mut [0; 4]), Script::Latin, &mut out);
                continue;
            }
            for lc in ch.to_lowercase() {
                if let Some(t) = latin_special(lc) {
                    push(t, Script::Latin, &mut out);
                } else if let Some(t) = cyrillic(lc) {
                    push(t, Script::Cyrillic, &mut out);
                } else if let Some(t) = greek(lc) {
                    // ELOT 743: the digraph ου is "ou" (υ alone is "y").
                    let t = if lc == 'υ' && out.ends_with('o') {
                        "u"
                    } else {
                        t
                    };
                    push(t, Script::Greek, &mut out);
                } else if let Some(t) = arabic(lc) {
                    push(t, Script::Arabic, &mut out);
                } else if matches!(lc, '\u{2019}' | '\u{2018}' | '\u{02bc}' | '\u{02bb}') {
                    push("'", Script::Latin, &mut out);
                } else if lc.is_whitespace() {
                    push(" ", Script::Latin, &mut out);
                } else {
                    let script = if is_cjk(lc) {
                        Script::Cjk
                    } else {
                        Script::Other
                    };
                    match deunicode::deunicode_char(lc) {
                        // Han characters come back as one syllable each ("Zhang "): keep
                        // the syllables apart so a two-character given name is two
                        // tokens; the matcher re-joins adjacent tokens when a list writes
                        // them as one word.
                        Some(t) => push(
                            if script == Script::Cjk {
                                t
                            } else {
                                t.trim_end()
                            },
                            script,
                            &mut out,
                        ),
                        None => push(" ", script, &mut out),
                    }
                }
            }
        }
    }
    (out, scripts)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Latin letters that do not decompose under NFKD.
fn latin_special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        'ŋ' => "ng",
        _ => return None,
    })
}

/// Cyrillic → Latin following BGN/PCGN (1947) for Russian, which is close to what OFAC
/// and the UN use (Khoroshev, Yuryevich, Shch); Ukrainian/Belarusian/Kazakh extras.
fn cyrillic(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' | 'є' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'ї' => "yi",
        'й' => "y",
        'к' | 'қ' => "k",
        'л' => "l",
        'м' => "m",
        'н' | 'ң' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ү' | 'ұ' | 'ў' => "u",
        'ф' => "f",
        'х' | 'һ' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        'ғ' | 'ґ' => "g",
        'ә' => "a",
        _ => return None,
    })
}

/// Greek → Latin (ELOT 743 simplified).
fn greek(c: char) -> Option<&'static str> {
    Some(match c {
        'α' => "a",
        'β' => "v",
        'γ' => "g",
        'δ' => "d",
        'ε' => "e",
        'ζ' => "z",
        'η' => "i",
        'θ' => "th",
        'ι' => "i",
        'κ' => "k",
        'λ' => "l",
        'μ' => "m",
        'ν' => "n",
        'ξ' => "x",
        'ο' => "o",
        'π' => "p",
        'ρ' => "r",
        'σ' | 'ς' => "s",
        'τ' => "t",
        'υ' => "y",
        'φ' => "f",
        'χ' => "ch",
        'ψ' => "ps",
        'ω' => "o",
        _ => return None,
    })
}

/// Arabic (and Persian) letters → Latin consonant skeleton with long vowels. Short
/// vowels are not written in Arabic, so a transliterated token is compared against
/// listed spellings by consonant skeleton as well (see [`skeleton`]). Harakat are
/// combining marks and are already removed by NFKD.
fn arabic(c: char) -> Option<&'static str> {
    Some(match c {
        'ا' | 'أ' | 'آ' | 'ٱ' | 'ى' | 'ة' => "a",
        'إ' => "i",
        'ب' => "b",
        'ت' => "t",
        'ث' => "th",
        'ج' => "j",
        'ح' | 'ه' => "h",
        'خ' => "kh",
        'د' => "d",
        'ذ' => "dh",
        'ر' => "r",
        'ز' => "z",
        'س' | 'ص' => "s",
        'ش' => "sh",
        'ض' => "d",
        'ط' => "t",
        'ظ' => "z",
        // Ayn carries a vowel in every Latin rendering (Izzat, Ali, Omar, Said).
        'ع' => "a",
        'ء' | 'ؤ' | 'ئ' | 'ـ' => "",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' | 'ک' => "k",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'و' => "w",
        'ي' | 'ی' => "y",
        'پ' => "p",
        'چ' => "ch",
        'ژ' => "zh",
        'گ' => "g",
        _ => return None,
    })
}

/// Multi-word legal forms, matched on token sequences, with their canonical token.
const LEGAL_PHRASES: &[(&[&str], &str)] = &[
    (&["open", "joint", "stock", "company"], "ojsc"),
    (&["closed", "joint", "stock", "company"], "cjsc"),
    (&["public", "joint", "stock", "company"], "pjsc"),
    (&["private", "joint", "stock", "company"], "jsc"),
    (&["joint", "stock", "company"], "jsc"),
    (&["limited", "liability", "company"], "llc"),
    (&["limited", "liability", "partnership"], "llp"),
    (&["public", "limited", "company"], "plc"),
    (&["sociedad", "anonima"], "sa"),
    (&["societe", "anonyme"], "sa"),
    (
        &["obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"],
        "ooo",
    ),
    (&["s", "de", "rl"], "srl"),
    (&["de", "cv"], "cv"),
    (&["co", "ltd"], "co ltd"),
];

/// Single-token legal forms (ISO 20275 ELF abbreviations commonly seen on lists),
/// with their canonical form.
fn legal_form(t: &str) -> Option<&'static str> {
    Some(match t {
        "llc" | "llp" | "ltd" | "inc" | "corp" | "gmbh" | "ag" | "sa" | "sas" | "sarl" | "srl"
        | "spa" | "bv" | "nv" | "plc" | "lp" | "oy" | "ab" | "as" | "asa" | "kg" | "kgaa"
        | "ooo" | "oao" | "zao" | "pao" | "ao" | "jsc" | "ojsc" | "cjsc" | "pjsc" | "sro"
        | "ltda" | "cv" | "fze" | "fzco" | "fzc" | "pte" | "pvt" | "pty" | "bhd" | "kft"
        | "zrt" | "doo" | "eood" | "ood" | "tov" | "sal" | "wll" | "co" | "sl" | "sc" | "se"
        | "ug" | "mbh" | "sapi" | "cia" => {
            return legal_canon(t);
        }
        "limited" => "ltd",
        "incorporated" => "inc",
        "corporation" => "corp",
        "company" => return None,
        _ => return None,
    })
}

fn legal_canon(t: &str) -> Option<&'static str> {
    // Return a 'static copy of the canonical spelling.
    const ALL: &[&str] = &[
        "llc", "llp", "ltd", "inc", "corp", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv",
        "nv", "plc", "lp", "oy", "ab", "as", "asa", "kg", "kgaa", "ooo", "oao", "zao", "pao", "ao",
        "jsc", "ojsc", "cjsc", "pjsc", "sro", "ltda", "cv", "fze", "fzco", "fzc", "pte", "pvt",
        "pty", "bhd", "kft", "zrt", "doo", "eood", "ood", "tov", "sal", "wll", "co", "sl", "sc",
        "se", "ug", "mbh", "sapi", "cia",
    ];
    ALL.iter().copied().find(|x| *x == t)
}

/// Short legal forms that are also plausible name parts (Korean "Se", Chinese "Pao",
/// Tuareg "ag"): only a legal form after the first token ("SEVERSTAL AS", not
/// "AS SAMARRAI"), and never enough on their own to call a name an organisation.
pub fn ambiguous_legal_form(t: &str) -> bool {
    matches!(
        t,
        "as" | "ab"
            | "ao"
            | "pao"
            | "sa"
            | "ag"
            | "co"
            | "kg"
            | "lp"
            | "oy"
            | "nv"
            | "bv"
            | "cv"
            | "sal"
            | "sl"
            | "sc"
            | "se"
            | "ug"
            | "cia"
            | "ad"
            | "doo"
            | "ood"
            | "spa"
            | "pte"
            | "pp"
    )
}

fn honorific(t: &str) -> bool {
    matches!(
        t,
        "mr" | "mrs"
            | "ms"
            | "miss"
            | "dr"
            | "prof"
            | "sir"
            | "dame"
            | "lord"
            | "lady"
            | "sheikh"
            | "shaykh"
            | "sheik"
            | "shaikh"
            | "haji"
            | "hajji"
            | "hadji"
            | "alhaji"
            | "mullah"
            | "mulla"
            | "maulana"
            | "mawlawi"
            | "maulvi"
            | "imam"
            | "general"
            | "gen"
            | "colonel"
            | "col"
            | "major"
            | "maj"
            | "captain"
            | "capt"
            | "lt"
            | "sgt"
            | "brigadier"
            | "admiral"
            | "jr"
            | "sr"
            | "ii"
            | "iii"
            | "excellency"
            | "hon"
    )
}

fn particle(t: &str) -> bool {
    matches!(
        t,
        "al" | "el"
            | "ul"
            | "bin"
            | "ibn"
            | "bint"
            | "ben"
            | "abu"
            | "abou"
            | "bou"
            | "bn"
            | "abn"
            | "abw"
            | "bnt"
            | "van"
            | "von"
            | "der"
            | "den"
            | "de"
            | "da"
            | "di"
            | "du"
            | "del"
            | "della"
            | "la"
            | "le"
            | "dos"
            | "das"
            | "y"
            | "e"
            | "st"
            | "ter"
    )
}

fn generic(t: &str) -> bool {
    matches!(
        t,
        "the"
            | "of"
            | "and"
            | "for"
            | "in"
            | "group"
            | "company"
            | "companies"
            | "trading"
            | "trade"
            | "international"
            | "intl"
            | "holding"
            | "holdings"
            | "enterprise"
            | "enterprises"
            | "industries"
            | "industrial"
            | "industry"
            | "services"
            | "service"
            | "global"
            | "investment"
            | "investments"
            | "management"
            | "import"
            | "export"
            | "bank"
            | "organization"
            | "organisation"
            | "foundation"
            | "association"
            | "partners"
            | "solutions"
            | "systems"
            | "technologies"
            | "technology"
            | "shipping"
            | "logistics"
            | "national"
            | "development"
            | "commercial"
            | "general"
            | "center"
            | "centre"
            | "consulting"
            | "ventures"
            | "capital"
            | "resources"
            | "products"
            | "agency"
    )
}

/// Normalizes a name into classified tokens (see the module docs).
pub fn normalize_name(s: &str) -> NormalizedName {
    let (folded, scripts) = fold_with_scripts(s);
    let mut raw: Vec<(String, Script)> = Vec::new();
    let bytes = folded.as_bytes();
    let mut start = None;
    let is_sep = |b: u8| {
        b.is_ascii_whitespace()
            || matches!(
                b,
                b',' | b';'
                    | b'/'
                    | b'('
                    | b')'
                    | b'"'
                    | b':'
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'|'
                    | b'+'
                    | b'*'
                    | b'!'
                    | b'?'
                    | b'='
                    | b'<'
                    | b'>'
                    | b'#'
                    | b'`'
            )
    };
    for i in 0..=bytes.len() {
        let sep = bytes.get(i).is_none_or(|b| is_sep(*b));
        match (sep, start) {
            (false, None) => start = Some(i),
            (true, Some(st)) => {
                if let (Some(chunk), Some(script)) = (folded.get(st..i), scripts.get(st)) {
                    split_chunk(chunk, *script, &mut raw);
                }
                start = None;
            }
            _ => {}
        }
    }
    classify(raw)
}

/// Splits one whitespace-free chunk: apostrophes vanish (O'Brien → obrien), dotted
/// abbreviations join (S.A. → sa, L.L.C. → llc), other punctuation splits (al-Zawahiri).
fn split_chunk(chunk: &str, script: Script, out: &mut Vec<(String, Script)>) {
    let chunk: String = chunk.chars().filter(|c| *c != '\'').collect();
    let pieces: Vec<&str> = chunk.split('.').collect();
    let dotted = pieces.len() > 1
        && pieces.iter().filter(|p| !p.is_empty()).count() >= 2
        && pieces
            .iter()
            .all(|p| p.len() <= 1 && p.chars().all(|c| c.is_ascii_alphabetic()));
    if dotted {
        out.push((pieces.concat(), script));
        return;
    }
    for part in chunk.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !part.is_empty() {
            out.push((part.to_owned(), script));
        }
    }
}

fn classify(raw: Vec<(String, Script)>) -> NormalizedName {
    let mut tokens: Vec<Token> = Vec::with_capacity(raw.len());
    let mut i = 0;
    'outer: while i < raw.len() {
        for (phrase, canon) in LEGAL_PHRASES {
            let end = i + phrase.len();
            if let Some(window) = raw.get(i..end)
                && window.iter().zip(phrase.iter()).all(|((t, _), p)| t == p)
            {
                let script = window.first().map_or(Script::Latin, |w| w.1);
                for c in canon.split(' ') {
                    tokens.push(Token {
                        text: c.to_owned(),
                        class: TokenClass::LegalForm,
                        script,
                    });
                }
                i = end;
                continue 'outer;
            }
        }
        if let Some((text, script)) = raw.get(i) {
            // Arabic writes the article joined to the noun (الدوري → aldwry): split it off.
            if *script == Script::Arabic
                && text.len() >= 5
                && let Some(rest) = text.strip_prefix("al")
            {
                tokens.push(Token {
                    text: "al".to_owned(),
                    class: TokenClass::Particle,
                    script: *script,
                });
                tokens.push(Token {
                    text: rest.to_owned(),
                    class: TokenClass::Name,
                    script: *script,
                });
                i += 1;
                continue;
            }
            let class = if text.bytes().all(|b| b.is_ascii_digit()) {
                TokenClass::Number
            } else if let Some(canon) =
                legal_form(text).filter(|_| i > 0 || !ambiguous_legal_form(text))
            {
                tokens.push(Token {
                    text: canon.to_owned(),
                    class: TokenClass::LegalForm,
                    script: *script,
                });
                i += 1;
                continue;
            } else if honorific(text) {
                TokenClass::Honorific
            } else if particle(text) {
                TokenClass::Particle
            } else if generic(text) {
                TokenClass::Generic
            } else {
                TokenClass::Name
            };
            tokens.push(Token {
                text: text.clone(),
                class,
                script: *script,
            });
        }
        i += 1;
    }
    // A name made only of particles/honorifics ("ABU BAKR" is not, but "AL" alone is)
    // keeps them as names, so it can still be found. Generic words never become names.
    if !tokens.iter().any(Token::is_core) {
        for t in &mut tokens {
            if matches!(t.class, TokenClass::Particle | TokenClass::Honorific) {
                t.class = TokenClass::Name;
            }
        }
    }
    NormalizedName { tokens }
}

/// A consonant skeleton used as a phonetic key and to compare spellings of names
/// transliterated from Arabic (where short vowels are not written): a leading vowel
/// becomes `a`, common digraphs collapse (kh→k, ph→f, sh→s, th→t, gh→g, dh→d, q→k,
/// c→k, z→s, j→y, w→v), later vowels and `h/y/w` are dropped, repeats collapse.
pub fn skeleton(token: &str) -> String {
    let b = token.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let mut last = 0u8;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(b' ');
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        let (mapped, adv) = match (c, next) {
            (b'k' | b's' | b't' | b'g' | b'd' | b'z', b'h') => {
                (if c == b'z' { b's' } else { c }, 2)
            }
            (b'p', b'h') => (b'f', 2),
            (b'c', b'h') => (b'c', 2),
            (b'q' | b'c' | b'x', _) => (b'k', 1),
            (b'z', _) => (b's', 1),
            (b'j', _) => (b'y', 1),
            (b'w', _) => (b'v', 1),
            _ => (c, 1),
        };
        let vowel = matches!(mapped, b'a' | b'e' | b'i' | b'o' | b'u');
        if out.is_empty() {
            let m = if vowel { b'a' } else { mapped };
            out.push(m as char);
            last = m;
        } else if vowel || matches!(mapped, b'h' | b'y' | b'v') {
            // Vowels and weak consonants separate repeats: "mhmd" and "muhammad" both
            // give "mmd".
            last = 0;
        } else if mapped != last {
            out.push(mapped as char);
            last = mapped;
        }
        i += adv;
    }
    out
}

/// Maps a country or nationality as written on lists or in queries (name, demonym or
/// ISO 3166-1 alpha-2 code) to its alpha-2 code. `None` if unknown.
pub fn country_code(s: &str) -> Option<&'static str> {
    let f = fold(s);
    let key: String = f
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let key = key.strip_prefix("the ").unwrap_or(&key);
    let key = key.strip_prefix("possibly ").unwrap_or(key);
    COUNTRIES
        .iter()
        .find(|(code, names)| code.eq_ignore_ascii_case(key) || names.contains(&key))
        .map(|(code, _)| *code)
}

/// ISO 3166-1 alpha-2 codes with the names and demonyms used by OFAC and the UN.
const COUNTRIES: &[(&str, &[&str])] = &[
    ("AF", &["afghanistan", "afghan"]),
    ("AL", &["albania", "albanian"]),
    ("DZ", &["algeria", "algerian"]),
    ("AO", &["angola", "angolan"]),
    ("AR", &["argentina", "argentine", "argentinian"]),
    ("AM", &["armenia", "armenian"]),
    ("AU", &["australia", "australian"]),
    ("AT", &["austria", "austrian"]),
    ("AZ", &["azerbaijan", "azerbaijani"]),
    ("BH", &["bahrain", "bahraini"]),
    ("BD", &["bangladesh", "bangladeshi"]),
    ("BB", &["barbados"]),
    ("BY", &["belarus", "belarusian"]),
    ("BE", &["belgium", "belgian"]),
    ("BZ", &["belize", "belizean"]),
    ("BO", &["bolivia", "bolivian"]),
    ("BA", &["bosnia and herzegovina", "bosnian"]),
    ("BR", &["brazil", "brazilian"]),
    ("BG", &["bulgaria", "bulgarian"]),
    ("BI", &["burundi", "burundian"]),
    ("KH", &["cambodia", "cambodian"]),
    ("CV", &["cabo verde", "cape verde"]),
    ("CA", &["canada", "canadian"]),
    ("CF", &["central african republic"]),
    ("TD", &["chad", "chadian"]),
    ("CL", &["chile", "chilean"]),
    ("CN", &["china", "chinese", "people s republic of china"]),
    ("CO", &["colombia", "colombian"]),
    ("KM", &["comoros"]),
    ("CG", &["congo", "republic of the congo"]),
    (
        "CD",
        &[
            "democratic republic of the congo",
            "congo democratic republic",
            "drc",
        ],
    ),
    ("CR", &["costa rica", "costa rican"]),
    ("HR", &["croatia", "croatian"]),
    ("CU", &["cuba", "cuban"]),
    ("CY", &["cyprus", "cypriot"]),
    ("CZ", &["czech republic", "czechia", "czech"]),
    ("DK", &["denmark", "danish"]),
    ("DO", &["dominican republic", "dominican"]),
    ("EC", &["ecuador", "ecuadorian"]),
    ("EG", &["egypt", "egyptian"]),
    ("SV", &["el salvador", "salvadoran"]),
    ("ER", &["eritrea", "eritrean"]),
    ("ET", &["ethiopia", "ethiopian"]),
    ("FI", &["finland", "finnish"]),
    ("FR", &["france", "french"]),
    ("GM", &["gambia", "gambian"]),
    ("GE", &["georgia", "georgian"]),
    ("DE", &["germany", "german"]),
    ("GH", &["ghana", "ghanaian"]),
    ("GR", &["greece", "greek"]),
    ("GT", &["guatemala", "guatemalan"]),
    ("GN", &["guinea", "guinean"]),
    ("HT", &["haiti", "haitian"]),
    ("HN", &["honduras", "honduran"]),
    ("HK", &["hong kong"]),
    ("HU", &["hungary", "hungarian"]),
    ("IN", &["india", "indian"]),
    ("ID", &["indonesia", "indonesian"]),
    ("IR", &["iran", "iranian", "iran islamic republic of"]),
    ("IQ", &["iraq", "iraqi"]),
    ("IE", &["ireland", "irish"]),
    ("IL", &["israel", "israeli"]),
    ("IT", &["italy", "italian"]),
    ("JP", &["japan", "japanese"]),
    ("JO", &["jordan", "jordanian"]),
    ("KZ", &["kazakhstan", "kazakh"]),
    ("KE", &["kenya", "kenyan"]),
    (
        "KP",
        &[
            "north korea",
            "korea north",
            "democratic people s republic of korea",
            "korea",
        ],
    ),
    ("KR", &["south korea", "korea south", "republic of korea"]),
    ("XK", &["kosovo"]),
    ("KW", &["kuwait", "kuwaiti"]),
    ("KG", &["kyrgyzstan", "kyrgyz"]),
    ("LV", &["latvia", "latvian"]),
    ("LB", &["lebanon", "lebanese"]),
    ("LY", &["libya", "libyan"]),
    ("MK", &["macedonia", "north macedonia", "macedonian"]),
    ("MY", &["malaysia", "malaysian"]),
    ("ML", &["mali", "malian"]),
    ("MT", &["malta", "maltese"]),
    ("MR", &["mauritania", "mauritanian"]),
    ("MX", &["mexico", "mexican"]),
    ("MA", &["morocco", "moroccan"]),
    ("MM", &["burma", "myanmar", "burmese"]),
    ("NL", &["netherlands", "dutch"]),
    ("NZ", &["new zealand"]),
    ("NI", &["nicaragua", "nicaraguan"]),
    ("NG", &["nigeria", "nigerian"]),
    ("NO", &["norway", "norwegian"]),
    ("OM", &["oman", "omani"]),
    ("PK", &["pakistan", "pakistani"]),
    (
        "PS",
        &[
            "palestinian",
            "palestine",
            "state of palestine",
            "west bank",
            "gaza",
        ],
    ),
    ("PA", &["panama", "panamanian"]),
    ("PY", &["paraguay", "paraguayan"]),
    ("PE", &["peru", "peruvian"]),
    ("PH", &["philippines", "filipino"]),
    ("PL", &["poland", "polish"]),
    ("PT", &["portugal", "portuguese"]),
    ("QA", &["qatar", "qatari"]),
    ("RO", &["romania", "romanian"]),
    ("RU", &["russia", "russian federation", "russian"]),
    ("RW", &["rwanda", "rwandan"]),
    ("SA", &["saudi arabia", "saudi"]),
    ("SN", &["senegal", "senegalese"]),
    ("RS", &["serbia", "serbian"]),
    ("SL", &["sierra leone"]),
    ("SG", &["singapore", "singaporean"]),
    ("SI", &["slovenia", "slovenian"]),
    ("SO", &["somalia", "somali"]),
    ("ZA", &["south africa", "south african"]),
    ("SS", &["south sudan"]),
    ("ES", &["spain", "spanish"]),
    ("LK", &["sri lanka", "sri lankan"]),
    ("SD", &["sudan", "sudanese"]),
    ("SR", &["suriname"]),
    ("SE", &["sweden", "swedish"]),
    ("CH", &["switzerland", "swiss"]),
    ("SY", &["syria", "syrian", "syrian arab republic"]),
    ("TW", &["taiwan"]),
    ("TJ", &["tajikistan", "tajik"]),
    (
        "TZ",
        &["tanzania", "united republic of tanzania", "tanzanian"],
    ),
    ("TH", &["thailand", "thai"]),
    ("TT", &["trinidad and tobago"]),
    ("TN", &["tunisia", "tunisian"]),
    ("TR", &["turkey", "turkiye", "turkish"]),
    ("TM", &["turkmenistan"]),
    ("UG", &["uganda", "ugandan"]),
    ("UA", &["ukraine", "ukrainian"]),
    ("AE", &["united arab emirates", "uae", "emirati"]),
    (
        "GB",
        &[
            "united kingdom",
            "uk",
            "british",
            "united kingdom of great britain and northern ireland",
        ],
    ),
    (
        "US",
        &[
            "united states",
            "usa",
            "united states of america",
            "american",
        ],
    ),
    ("UY", &["uruguay"]),
    ("UZ", &["uzbekistan", "uzbek"]),
    ("VE", &["venezuela", "venezuelan"]),
    ("VN", &["vietnam", "viet nam", "vietnamese"]),
    ("YE", &["yemen", "yemeni"]),
    ("ZW", &["zimbabwe", "zimbabwean"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(s: &str) -> Vec<String> {
        normalize_name(s)
            .tokens
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    fn classes(s: &str) -> Vec<TokenClass> {
        normalize_name(s)
            .tokens
            .into_iter()
            .map(|t| t.class)
            .collect()
    }

    #[test]
    fn folds_diacritics_case_and_special_letters() {
        assert_eq!(fold("Anna Müller-Straße"), "anna muller-strasse");
        assert_eq!(fold("ÉLODIE Øster"), "elodie oster");
        assert_eq!(fold("Łukasz"), "lukasz");
    }

    #[test]
    fn transliterates_cyrillic_greek_arabic_cjk() {
        assert_eq!(
            fold("Хорошев Дмитрий Юрьевич"),
            "khoroshev dmitriy yurevich"
        );
        assert_eq!(fold("Γιώργος Παπαδόπουλος"), "giorgos papadopoulos");
        assert_eq!(fold("محمد"), "mhmd");
        assert_eq!(texts("张伟"), vec!["zhang", "wei"]);
    }

    #[test]
    fn recognises_legal_forms_and_keeps_them() {
        let n = normalize_name("Bel-Kap-Steel L.L.C.");
        assert_eq!(
            texts("Bel-Kap-Steel L.L.C."),
            vec!["bel", "kap", "steel", "llc"]
        );
        assert!(n.has_legal_form());
        assert_eq!(
            texts("Russian Helicopters Joint Stock Company"),
            vec!["russian", "helicopters", "jsc"]
        );
        assert_eq!(texts("OOO Romashka"), vec!["ooo", "romashka"]);
        assert_eq!(
            classes("Siemens AG"),
            vec![TokenClass::Name, TokenClass::LegalForm]
        );
        // "AS" at the start is a name part, not a legal form.
        assert_eq!(classes("As Sahab")[0], TokenClass::Name);
    }

    #[test]
    fn classifies_particles_honorifics_generic_words() {
        assert_eq!(
            classes("Dr. Ayman al-Zawahiri"),
            vec![
                TokenClass::Honorific,
                TokenClass::Name,
                TokenClass::Particle,
                TokenClass::Name
            ]
        );
        assert_eq!(classes("The Trading Group"), vec![TokenClass::Generic; 3]);
        assert_eq!(classes("P-532"), vec![TokenClass::Name, TokenClass::Number]);
        // A name of particles only stays findable.
        assert_eq!(classes("Abu"), vec![TokenClass::Name]);
    }

    #[test]
    fn apostrophes_vanish_and_initials_stay() {
        assert_eq!(texts("NU'MAN, J. O'Brien"), vec!["numan", "j", "obrien"]);
    }

    #[test]
    fn skeleton_unifies_vowel_variants() {
        assert_eq!(skeleton("mohammed"), skeleton("muhammad"));
        assert_eq!(skeleton("usama"), skeleton("osama"));
        assert_eq!(skeleton(&fold("أسامة")), skeleton("usama"));
        assert_eq!(skeleton(&fold("حسين")), skeleton("hussein"));
    }

    #[test]
    fn countries_map_names_demonyms_and_codes() {
        assert_eq!(country_code("Russian Federation"), Some("RU"));
        assert_eq!(country_code("russia"), Some("RU"));
        assert_eq!(country_code("RU"), Some("RU"));
        assert_eq!(country_code("Palestinian"), Some("PS"));
        assert_eq!(country_code("Atlantis"), None);
    }

    proptest! {
        #[test]
        fn fold_is_idempotent_and_ascii(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert!(once.is_ascii());
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn normalize_is_idempotent(s in "\\PC{0,40}") {
            let once = normalize_name(&s);
            let twice = normalize_name(&once.render());
            prop_assert_eq!(once.render(), twice.render());
        }

        #[test]
        fn normalize_never_panics_on_any_string(s in any::<String>()) {
            let n = normalize_name(&s);
            prop_assert!(n.tokens.iter().all(|t| !t.text.is_empty() && t.text.is_ascii()));
            let _ = skeleton(&n.render());
        }
    }
}
