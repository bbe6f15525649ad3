//! Candidate index: blocking keys so a screening scores a few hundred names, not all.
//!
//! Every name of every entry is prepared once ([`super::matcher::prepare`]) and posted
//! under three kinds of key: its core tokens (and adjacent pairs re-joined, for names
//! one side writes as one word), their consonant skeletons (phonetic), and their
//! character trigrams (typos). A query collects names sharing a token or skeleton, plus
//! names sharing at least half of some token's trigrams; candidates are ranked by key
//! hits and bounded by the policy. If no key hits at all, a bounded trigram fallback
//! takes the names with the most shared trigrams. The names are also kept packed for
//! scoring ([`PackedNames`]), with their entry types, so a screening reads its
//! candidates' entries only for near matches. Immutable after [`Index::build`]: shared
//! across threads by `Arc` with no lock on the read path.

use std::sync::Arc;

use super::matcher::{PackedNames, PreparedName, prepare};
use super::model::{EntityType, ListVersion};
use super::normalize::TokenClass;

/// Where an indexed name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameRef {
    /// Position of the list in the index's lists.
    pub list: u32,
    /// Position of the entry in that list.
    pub entry: u32,
    /// Position of the name in that entry.
    pub name: u32,
}

/// The immutable candidate index over a set of list versions.
#[derive(Debug, Default)]
pub struct Index {
    lists: Vec<Arc<ListVersion>>,
    /// Where each indexed name comes from (by name id).
    names: Vec<NameRef>,
    /// The names prepared for scoring, packed (by name id). Only this form is
    /// kept: tens of thousands of names stay in memory while a list version is
    /// active, and the rare candidate that needs the full prepared form (the
    /// evidence of a match) prepares its name again.
    packed: PackedNames,
    /// Entry type by name id, so incompatible candidates are skipped without reading
    /// their entries.
    kinds: Vec<EntityType>,
    tokens: Postings,
    skeletons: Postings,
    trigrams: Postings,
}

/// Posting lists under byte-string keys, packed: the keys sorted and
/// concatenated in one buffer, the lists in one array (compressed sparse
/// rows). The OFAC list alone has tens of thousands of keys; as a hash map of
/// vectors each cost two small allocations, and building them left the heap
/// fragmented, which is most of what the idle service kept resident.
#[derive(Debug, Default)]
struct Postings {
    keys: Vec<u8>,
    /// Where key `i` ends in `keys` (it starts where key `i - 1` ends).
    key_ends: Vec<u32>,
    /// Where key `i`'s list ends in `ids`.
    list_ends: Vec<u32>,
    /// Every list, each ascending.
    ids: Vec<u32>,
}

impl Postings {
    /// Item `i` of a packed sequence given its end offsets.
    fn slice<'a, T>(items: &'a [T], ends: &[u32], i: usize) -> &'a [T] {
        let start = i
            .checked_sub(1)
            .and_then(|p| ends.get(p))
            .map_or(0, |&e| e as usize);
        let end = ends.get(i).map_or(0, |&e| e as usize);
        items.get(start..end).unwrap_or_default()
    }

    fn with_capacity(keys: usize, key_bytes: usize, ids: usize) -> Self {
        Self {
            keys: Vec::with_capacity(key_bytes),
            key_ends: Vec::with_capacity(keys),
            list_ends: Vec::with_capacity(keys),
            ids: Vec::with_capacity(ids),
        }
    }

    /// Appends the next key (keys come in ascending order) with its list.
    fn push(&mut self, key: &[u8], ids: impl IntoIterator<Item = u32>) {
        self.keys.extend_from_slice(key);
        self.key_ends.push(end(&self.keys));
        self.ids.extend(ids);
        self.list_ends.push(end(&self.ids));
    }

    /// The ids posted under `key`, ascending (empty if none): a binary
    /// search over the sorted keys.
    fn get(&self, key: &[u8]) -> &[u32] {
        let (mut lo, mut hi) = (0, self.key_ends.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match Self::slice(&self.keys, &self.key_ends, mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Self::slice(&self.ids, &self.list_ends, mid),
            }
        }
        &[]
    }
}

/// Collects (key, id) postings in two flat buffers, then sorts them into
/// [`Postings`].
#[derive(Default)]
struct PostingsBuilder {
    text: Vec<u8>,
    /// (start of the key in `text`, its length, id), one per posting.
    posts: Vec<(u32, u32, u32)>,
}

/// What building an index will post, counted in a first pass so every
/// buffer is allocated once at its final size.
#[derive(Debug, Default)]
struct Sizes {
    names: usize,
    tokens: usize,
    packed_text: usize,
    token_posts: usize,
    token_text: usize,
    skeleton_posts: usize,
    skeleton_text: usize,
    trigram_posts: usize,
}

impl Sizes {
    fn add(&mut self, name: &PreparedName) {
        self.names += 1;
        for t in &name.core {
            self.tokens += 1;
            self.packed_text += t.text.len() + t.skel.len();
            self.token_posts += 1;
            self.token_text += t.text.len();
            if t.skel.len() >= 2 && t.class == TokenClass::Name {
                self.skeleton_posts += 1;
                self.skeleton_text += t.skel.len();
            }
            self.trigram_posts += t.text.len();
        }
        for w in name.core.windows(2) {
            if let [a, b] = w {
                self.token_posts += 1;
                self.token_text += a.text.len() + b.text.len();
            }
        }
    }
}

impl PostingsBuilder {
    fn with_capacity(posts: usize, text: usize) -> Self {
        Self {
            text: Vec::with_capacity(text),
            posts: Vec::with_capacity(posts),
        }
    }

    fn post(&mut self, key: &[u8], id: u32) {
        let start = end(&self.text);
        self.text.extend_from_slice(key);
        self.posts.push((start, end(key), id));
    }

    fn build(self) -> Postings {
        let Self { text, mut posts } = self;
        let key = |&(start, len, _): &(u32, u32, u32)| {
            text.get(start as usize..(start as usize + len as usize))
                .unwrap_or_default()
        };
        posts.sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.2.cmp(&b.2)));
        // Sorted, each key's postings are a run and repeated ids adjacent.
        let runs = || posts.chunk_by(|a, b| key(a) == key(b));
        fn ids_of(run: &[(u32, u32, u32)]) -> impl Iterator<Item = u32> + '_ {
            run.chunk_by(|a, b| a.2 == b.2)
                .filter_map(|same| same.first().map(|p| p.2))
        }
        let mut out = Postings::with_capacity(
            runs().count(),
            runs()
                .filter_map(|run| run.first())
                .map(|p| key(p).len())
                .sum(),
            runs().map(|run| ids_of(run).count()).sum(),
        );
        for run in runs() {
            out.push(run.first().map(key).unwrap_or_default(), ids_of(run));
        }
        out
    }
}

/// Trigram postings, each packed in a u64 (the three key bytes above the
/// name id): two thirds of a [`PostingsBuilder`]'s size for the most
/// numerous postings of all.
struct TrigramBuilder {
    posts: Vec<u64>,
}

impl TrigramBuilder {
    fn post(&mut self, g: [u8; 3], id: u32) {
        let key = u64::from(g[0]) << 16 | u64::from(g[1]) << 8 | u64::from(g[2]);
        self.posts.push(key << 32 | u64::from(id));
    }

    fn build(self) -> Postings {
        let mut posts = self.posts;
        posts.sort_unstable();
        posts.dedup();
        let runs = || posts.chunk_by(|a, b| a >> 32 == b >> 32);
        let keys = runs().count();
        let mut out = Postings::with_capacity(keys, 3 * keys, posts.len());
        for run in runs() {
            let key = (run.first().map_or(0, |p| p >> 32) as u32).to_be_bytes();
            out.push(
                key.get(1..).unwrap_or_default(),
                run.iter().map(|p| *p as u32),
            );
        }
        out
    }
}

/// A buffer's length as a u32 offset.
fn end<T>(v: &[T]) -> u32 {
    u32::try_from(v.len()).unwrap_or(u32::MAX)
}

/// Trigram posting lists longer than this are skipped when counting (they carry little
/// information and dominate the cost).
const MAX_TRIGRAM_POSTINGS: usize = 6000;

/// The trigrams of a token padded with a space on each side (one per byte).
fn trigrams(token: &str) -> impl Iterator<Item = [u8; 3]> + '_ {
    let b = token.as_bytes();
    // Byte `i` of " token ".
    let padded = move |i: usize| {
        i.checked_sub(1)
            .and_then(|j| b.get(j))
            .copied()
            .unwrap_or(b' ')
    };
    (0..b.len()).map(move |k| [padded(k), padded(k + 1), padded(k + 2)])
}

impl Index {
    /// Builds the index over the given list versions.
    pub fn build(lists: Vec<Arc<ListVersion>>) -> Self {
        let mut idx = Index {
            lists,
            ..Index::default()
        };
        // Two passes over the names (preparing each twice costs less than
        // the memory that growing every buffer by doubling leaves behind).
        let mut sizes = Sizes::default();
        for list in &idx.lists {
            for entry in &list.entries {
                for name in &entry.names {
                    let prepared = prepare(&name.text);
                    if !prepared.core.is_empty() {
                        sizes.add(&prepared);
                    }
                }
            }
        }
        idx.names.reserve_exact(sizes.names);
        idx.kinds.reserve_exact(sizes.names);
        idx.packed
            .reserve(sizes.names, sizes.tokens, sizes.packed_text);
        let mut tokens = PostingsBuilder::with_capacity(sizes.token_posts, sizes.token_text);
        let mut skeletons =
            PostingsBuilder::with_capacity(sizes.skeleton_posts, sizes.skeleton_text);
        for (li, list) in idx.lists.iter().enumerate() {
            for (ei, entry) in list.entries.iter().enumerate() {
                for (ni, name) in entry.names.iter().enumerate() {
                    let prepared = prepare(&name.text);
                    if prepared.core.is_empty() {
                        continue;
                    }
                    let at = NameRef {
                        list: u32::try_from(li).unwrap_or(u32::MAX),
                        entry: u32::try_from(ei).unwrap_or(u32::MAX),
                        name: u32::try_from(ni).unwrap_or(u32::MAX),
                    };
                    let id = u32::try_from(idx.names.len()).unwrap_or(u32::MAX);
                    idx.packed.push(&prepared);
                    idx.kinds.push(entry.entity_type);
                    idx.names.push(at);
                    let core = &prepared.core;
                    for t in core {
                        tokens.post(t.text.as_bytes(), id);
                        if t.skel.len() >= 2 && t.class == TokenClass::Name {
                            skeletons.post(t.skel.as_bytes(), id);
                        }
                    }
                    for w in core.windows(2) {
                        if let [a, b] = w {
                            tokens.post(format!("{}{}", a.text, b.text).as_bytes(), id);
                        }
                    }
                }
            }
        }
        idx.packed.finish();
        idx.tokens = tokens.build();
        idx.skeletons = skeletons.build();
        // Trigrams last, in a pass of their own over the packed token texts,
        // so their builder (the largest) is never alive beside the others.
        let mut trigram_posts = TrigramBuilder {
            posts: Vec::with_capacity(sizes.trigram_posts),
        };
        for id in 0..end(&idx.names) {
            for text in idx.packed.token_texts(id) {
                for g in trigrams(text) {
                    trigram_posts.post(g, id);
                }
            }
        }
        idx.trigrams = trigram_posts.build();
        idx
    }

    /// The lists indexed, in index order.
    pub fn lists(&self) -> &[Arc<ListVersion>] {
        &self.lists
    }

    /// Number of indexed names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Where an indexed name comes from, by id.
    pub fn name(&self, id: u32) -> Option<NameRef> {
        self.names.get(usize::try_from(id).ok()?).copied()
    }

    /// The indexed names packed for scoring (same ids).
    pub fn packed(&self) -> &PackedNames {
        &self.packed
    }

    /// The entry type of an indexed name.
    pub fn entity_type(&self, id: u32) -> Option<EntityType> {
        self.kinds.get(usize::try_from(id).ok()?).copied()
    }

    /// Candidate name ids for a prepared query, best blocking score first, at most
    /// `limit`.
    pub fn candidates(&self, q: &PreparedName, limit: usize) -> Vec<u32> {
        let mut hits = Tally::new(self.names.len());
        for t in &q.core {
            hits.add_all(self.tokens.get(t.text.as_bytes()), 100);
            if t.skel.len() >= 2 && t.class == TokenClass::Name {
                hits.add_all(self.skeletons.get(t.skel.as_bytes()), 60);
            }
        }
        let mut joined = String::new();
        for w in q.core.windows(2) {
            if let [a, b] = w {
                joined.clear();
                joined.push_str(&a.text);
                joined.push_str(&b.text);
                hits.add_all(self.tokens.get(joined.as_bytes()), 100);
            }
        }
        // Trigrams: per query token, names sharing at least half of its trigrams.
        let mut counts = Tally::new(self.names.len());
        for t in &q.core {
            self.count_trigram_hits(&t.text, &mut counts, &mut hits);
        }
        if hits.touched.is_empty() {
            // No key hit at all: rank by shared trigrams, however few.
            for t in &q.core {
                if t.text.len() < 3 {
                    continue;
                }
                for g in trigrams(&t.text) {
                    let list = self.trigrams.get(&g);
                    if list.len() <= MAX_TRIGRAM_POSTINGS {
                        hits.add_all(list, 1);
                    }
                }
            }
        }
        hits.ranked(limit)
    }

    /// Adds `10 × shared trigrams` to `hits` for every name sharing at least half of
    /// `token`'s trigrams (and at least two).
    ///
    /// Counting every posting of every trigram dominated the cost of a screening, so
    /// this counts only the postings that can matter: a name sharing `need` of the `e`
    /// usable trigrams must be in at least one of the `e - need + 1` shortest posting
    /// lists (pigeonhole), so those are scanned, and the names found there are looked
    /// up in the remaining, longer lists. The result is the same as counting everything.
    fn count_trigram_hits(&self, token: &str, counts: &mut Tally, hits: &mut Tally) {
        if token.len() < 3 {
            return;
        }
        let mut lists: Vec<&[u32]> = Vec::new();
        let mut grams = 0usize;
        for g in trigrams(token) {
            grams += 1;
            // A missing trigram is an empty list; over-long ones are skipped.
            let list = self.trigrams.get(&g);
            if list.len() <= MAX_TRIGRAM_POSTINGS {
                lists.push(list);
            }
        }
        let need = grams.div_ceil(2).max(2);
        if lists.len() < need {
            return;
        }
        lists.sort_unstable_by_key(|l| l.len());
        let (probe, rest) = lists.split_at(lists.len() - need + 1);
        for list in probe {
            counts.add_all(list, 1);
        }
        counts.touched.sort_unstable();
        let Tally { score, touched } = counts;
        for list in rest {
            for_each_common(touched, list, |id| {
                if let Some(c) = score.get_mut(id as usize) {
                    *c += 1;
                }
            });
        }
        let need = u32::try_from(need).unwrap_or(u32::MAX);
        for &id in touched.iter() {
            let c = score.get(id as usize).copied().unwrap_or(0);
            if c >= need {
                hits.add(id, 10 * c);
            }
        }
        counts.clear();
    }
}

/// Per-name blocking scores for one query: a dense array (a hash map here cost more
/// than everything else in a screening) plus the ids touched, so ranking and resetting
/// visit only those.
struct Tally {
    score: Vec<u32>,
    touched: Vec<u32>,
}

impl Tally {
    fn new(names: usize) -> Self {
        Self {
            score: vec![0; names],
            touched: Vec::new(),
        }
    }

    fn add(&mut self, id: u32, w: u32) {
        if let Some(s) = self.score.get_mut(id as usize) {
            if *s == 0 {
                self.touched.push(id);
            }
            *s += w;
        }
    }

    fn add_all(&mut self, list: &[u32], w: u32) {
        for &id in list {
            self.add(id, w);
        }
    }

    fn clear(&mut self) {
        for &id in &self.touched {
            if let Some(s) = self.score.get_mut(id as usize) {
                *s = 0;
            }
        }
        self.touched.clear();
    }

    /// The touched ids, highest score first (ties by id), at most `limit`.
    fn ranked(&self, limit: usize) -> Vec<u32> {
        let mut ranked: Vec<(u32, u32)> = self
            .touched
            .iter()
            .map(|&id| (id, self.score.get(id as usize).copied().unwrap_or(0)))
            .collect();
        let order = |a: &(u32, u32), b: &(u32, u32)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        // Only the best `limit` need sorting; the order is total, so this gives the
        // same list as sorting everything.
        if limit < ranked.len() {
            ranked.select_nth_unstable_by(limit, order);
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(order);
        ranked.into_iter().map(|(id, _)| id).collect()
    }
}

/// Calls `f` with every id in both ascending lists. The ids of `small` are looked up
/// in `big` by galloping (exponential then binary search from the last position), so
/// the cost grows with `small` and only logarithmically with `big`.
fn for_each_common(small: &[u32], big: &[u32], mut f: impl FnMut(u32)) {
    let mut rest = big;
    for &id in small {
        let below = |i: usize| rest.get(i).is_some_and(|&x| x < id);
        let (mut lo, mut hi) = (0, 1);
        while below(hi) {
            lo = hi;
            hi *= 2;
        }
        // rest[lo] < id (or lo = 0) and rest[hi] >= id (or hi is past the end).
        let window = rest.get(lo..(hi + 1).min(rest.len())).unwrap_or_default();
        let p = lo + window.partition_point(|&x| x < id);
        rest = rest.get(p..).unwrap_or_default();
        if rest.first() == Some(&id) {
            f(id);
        }
    }
}
