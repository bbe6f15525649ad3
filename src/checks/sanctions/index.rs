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

use std::collections::HashMap;
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
    tokens: HashMap<Box<str>, Vec<u32>>,
    skeletons: HashMap<Box<str>, Vec<u32>>,
    trigrams: HashMap<[u8; 3], Vec<u32>>,
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

fn post<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<u32>>, key: K, id: u32) {
    let v = map.entry(key).or_default();
    if v.last() != Some(&id) {
        v.push(id);
    }
}

impl Index {
    /// Builds the index over the given list versions.
    pub fn build(lists: Vec<Arc<ListVersion>>) -> Self {
        let mut idx = Index {
            lists,
            ..Index::default()
        };
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
                        post(&mut idx.tokens, t.text.clone(), id);
                        if t.skel.len() >= 2 && t.class == TokenClass::Name {
                            post(&mut idx.skeletons, t.skel.clone(), id);
                        }
                        for g in trigrams(&t.text) {
                            post(&mut idx.trigrams, g, id);
                        }
                    }
                    for w in core.windows(2) {
                        if let [a, b] = w {
                            post(
                                &mut idx.tokens,
                                format!("{}{}", a.text, b.text).into_boxed_str(),
                                id,
                            );
                        }
                    }
                }
            }
        }
        idx.packed.finish();
        // The index lives until the next list version: no spare capacity left
        // over from building it (capacities double as they grow).
        idx.names.shrink_to_fit();
        idx.kinds.shrink_to_fit();
        for map in [&mut idx.tokens, &mut idx.skeletons] {
            map.values_mut().for_each(Vec::shrink_to_fit);
            map.shrink_to_fit();
        }
        idx.trigrams.values_mut().for_each(Vec::shrink_to_fit);
        idx.trigrams.shrink_to_fit();
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
            hits.add_all(postings(self.tokens.get(&t.text)), 100);
            if t.skel.len() >= 2 && t.class == TokenClass::Name {
                hits.add_all(postings(self.skeletons.get(&t.skel)), 60);
            }
        }
        let mut joined = String::new();
        for w in q.core.windows(2) {
            if let [a, b] = w {
                joined.clear();
                joined.push_str(&a.text);
                joined.push_str(&b.text);
                hits.add_all(postings(self.tokens.get(joined.as_str())), 100);
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
                    if let Some(list) = self.trigrams.get(&g)
                        && list.len() <= MAX_TRIGRAM_POSTINGS
                    {
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
        // Missing trigrams count as empty lists; over-long ones are skipped entirely.
        let mut lists: Vec<&[u32]> = Vec::new();
        let mut grams = 0usize;
        for g in trigrams(token) {
            grams += 1;
            match self.trigrams.get(&g) {
                Some(list) if list.len() > MAX_TRIGRAM_POSTINGS => {}
                Some(list) => lists.push(list),
                None => lists.push(&[]),
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

fn postings(list: Option<&Vec<u32>>) -> &[u32] {
    list.map_or(&[], Vec::as_slice)
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
