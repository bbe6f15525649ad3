//! Candidate index: blocking keys so a screening scores a few hundred names, not all.
//!
//! Every name of every entry is prepared once ([`super::matcher::prepare`]) and posted
//! under three kinds of key: its core tokens (and adjacent pairs re-joined, for names
//! one side writes as one word), their consonant skeletons (phonetic), and their
//! character trigrams (typos). A query collects names sharing a token or skeleton, plus
//! names sharing at least half of some token's trigrams; candidates are ranked by key
//! hits and bounded by the policy. If no key hits at all, a bounded trigram fallback
//! takes the names with the most shared trigrams. Immutable after [`Index::build`]:
//! shared across threads by `Arc` with no lock on the read path.

use std::collections::HashMap;
use std::sync::Arc;

use super::matcher::{PreparedName, prepare};
use super::model::ListVersion;
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

/// One indexed name.
#[derive(Debug, Clone)]
pub struct IndexedName {
    /// Where it comes from.
    pub at: NameRef,
    /// The prepared name.
    pub prepared: PreparedName,
}

/// The immutable candidate index over a set of list versions.
#[derive(Debug, Default)]
pub struct Index {
    lists: Vec<Arc<ListVersion>>,
    names: Vec<IndexedName>,
    tokens: HashMap<Box<str>, Vec<u32>>,
    skeletons: HashMap<Box<str>, Vec<u32>>,
    trigrams: HashMap<[u8; 3], Vec<u32>>,
}

/// Trigram posting lists longer than this are skipped when counting (they carry little
/// information and dominate the cost).
const MAX_TRIGRAM_POSTINGS: usize = 6000;

fn trigrams(token: &str) -> impl Iterator<Item = [u8; 3]> + '_ {
    let padded: Vec<u8> = std::iter::once(b' ')
        .chain(token.bytes())
        .chain(std::iter::once(b' '))
        .collect();
    let grams: Vec<[u8; 3]> = padded
        .windows(3)
        .filter_map(|w| <[u8; 3]>::try_from(w).ok())
        .collect();
    grams.into_iter()
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
                    idx.names.push(IndexedName { at, prepared });
                }
            }
        }
        for (id, n) in idx.names.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let core = &n.prepared.core;
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

    /// An indexed name by id.
    pub fn name(&self, id: u32) -> Option<&IndexedName> {
        self.names.get(usize::try_from(id).ok()?)
    }

    /// Candidate name ids for a prepared query, best blocking score first, at most
    /// `limit`.
    pub fn candidates(&self, q: &PreparedName, limit: usize) -> Vec<u32> {
        let mut hits: HashMap<u32, u32> = HashMap::new();
        let add = |list: Option<&Vec<u32>>, w: u32, hits: &mut HashMap<u32, u32>| {
            for id in list.into_iter().flatten() {
                *hits.entry(*id).or_default() += w;
            }
        };
        for t in &q.core {
            add(self.tokens.get(&t.text), 100, &mut hits);
            if t.skel.len() >= 2 && t.class == TokenClass::Name {
                add(self.skeletons.get(&t.skel), 60, &mut hits);
            }
        }
        for w in q.core.windows(2) {
            if let [a, b] = w {
                add(
                    self.tokens.get(format!("{}{}", a.text, b.text).as_str()),
                    100,
                    &mut hits,
                );
            }
        }
        // Trigrams: per query token, names sharing at least half of its trigrams.
        let mut fallback: HashMap<u32, u32> = HashMap::new();
        for t in &q.core {
            if t.text.len() < 3 {
                continue;
            }
            let grams: Vec<[u8; 3]> = trigrams(&t.text).collect();
            let need = u32::try_from(grams.len().div_ceil(2))
                .unwrap_or(u32::MAX)
                .max(2);
            let mut counts: HashMap<u32, u32> = HashMap::new();
            for g in &grams {
                if let Some(list) = self.trigrams.get(g)
                    && list.len() <= MAX_TRIGRAM_POSTINGS
                {
                    for id in list {
                        *counts.entry(*id).or_default() += 1;
                    }
                }
            }
            for (id, c) in counts {
                if c >= need {
                    *hits.entry(id).or_default() += 10 * c;
                } else {
                    *fallback.entry(id).or_default() += c;
                }
            }
        }
        let source = if hits.is_empty() { fallback } else { hits };
        let mut ranked: Vec<(u32, u32)> = source.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked.into_iter().map(|(id, _)| id).collect()
    }
}
