//! Owns offline verification of an export bundle: entry decoding and ordering, streaming
//! Merkle recomputation, checkpoint signatures and roots, the manifest, and consistency with a
//! caller-trusted checkpoint. No network, no database.
//!
//! Trust model: key lines inside a bundle are asserted by whoever produced the bundle. A
//! signature by such a key proves nothing about authenticity on its own; pin the log's key by
//! passing it in `extra_keys` and check [`Report::tree_checkpoint_signed_by_extra_key`], or pass
//! a `trusted` checkpoint obtained out of band.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;

use super::bundle::{BundleError, BundleReader, Header, Manifest, Record, to_hex};
use super::checkpoint::{
    Checkpoint, CheckpointError, Verifier, parse_and_verify, parse_unverified,
};
use super::entry::{AuditEvent, EntryError};
use super::merkle::{
    CompactTree, Hash, ProofError, complete_root, leaf_hash, range_proof_len, range_proof_split,
};

/// Maximum number of checkpoint lines accepted in one bundle (bounds verifier memory).
pub const MAX_CHECKPOINTS: u64 = 100_000;

/// Why an entry failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryFault {
    /// The bytes are not a valid canonical v1 entry.
    #[error("{0}")]
    Decode(EntryError),
    /// The line carries another index than the next expected one (missing, reordered or
    /// renumbered entry).
    #[error("expected this index, found {found}")]
    IndexMismatch {
        /// The index found on the line.
        found: u64,
    },
    /// An entry beyond the header's range.
    #[error("entry beyond the bundle range")]
    OutOfRange,
    /// The manifest arrived before this entry.
    #[error("entry missing")]
    Missing,
    /// The entry's `log_id` differs from the header's.
    #[error("log_id differs from the bundle header")]
    LogIdMismatch,
    /// The entry's `event_id` was already seen in this bundle.
    #[error("duplicate event_id")]
    DuplicateEventId,
}

/// Why a checkpoint failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointFault {
    /// The note's signatures do not verify with the known keys.
    #[error("signature: {0}")]
    Signature(CheckpointError),
    /// The checkpoint's origin differs from the bundle header's.
    #[error("origin differs from the bundle header")]
    OriginMismatch,
    /// The checkpoint is larger than the bundle's tree size.
    #[error("checkpoint size beyond the bundle tree size")]
    BeyondTree,
    /// The checkpoint's root differs from the root recomputed from the entries: the log
    /// forked or entries were altered.
    #[error("root differs from the recomputed root: {}", suspect_range(*first, *end))]
    RootMismatch {
        /// The last size that matched a checkpoint (or the bundle start): the
        /// first bad entry is at this index or later.
        first: u64,
        /// The size of the mismatching checkpoint: the first bad entry is before it.
        end: u64,
    },
    /// Two validly signed checkpoints of the same size have different roots: a fork.
    #[error("two signed checkpoints of this size have different roots (fork)")]
    ConflictingCheckpoints,
    /// The checkpoint of the bundle's tree size is absent.
    #[error("no checkpoint of the bundle tree size")]
    Missing,
}

/// Why the caller's trusted checkpoint could not be reconciled with the bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedFault {
    /// Its signature does not verify with the known keys.
    #[error("trusted checkpoint signature: {0}")]
    Signature(CheckpointError),
    /// Its origin differs from the bundle's.
    #[error("trusted checkpoint is for another log origin")]
    OriginMismatch,
    /// The bundle's tree is smaller than the trusted checkpoint.
    #[error("bundle is older than trusted checkpoint ({trusted_size} > {tree_size})")]
    BundleOlder {
        /// The trusted checkpoint's size.
        trusted_size: u64,
        /// The bundle's tree size.
        tree_size: u64,
    },
    /// The bundle does not contain the leaves needed to recompute the root at that size.
    #[error("consistency with the trusted checkpoint cannot be checked from a partial bundle")]
    PartialBundle,
    /// The root recomputed at the trusted size differs: the log forked or was rewritten.
    #[error("bundle is inconsistent with the trusted checkpoint (fork)")]
    Inconsistent,
}

/// Verification failure, naming the first bad index or checkpoint size.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Reading or parsing a line failed.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// The header is missing or inconsistent.
    #[error("header: {0}")]
    Header(&'static str),
    /// A record appears where it is not allowed.
    #[error("line {line}: {reason}")]
    Order {
        /// 1-based line number.
        line: u64,
        /// What is out of place.
        reason: &'static str,
    },
    /// A key line is not a valid vkey.
    #[error("line {line}: invalid key: {reason}")]
    Key {
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: CheckpointError,
    },
    /// A checkpoint note cannot even be parsed (so its size is unknown).
    #[error("line {line}: unparsable checkpoint note: {reason}")]
    Note {
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: CheckpointError,
    },
    /// The range proof is missing, superfluous or malformed.
    #[error("range proof: {0}")]
    RangeProof(ProofError),
    /// The first bad entry.
    #[error("entry {index}: {reason}")]
    Entry {
        /// The expected leaf index at the failure.
        index: u64,
        /// Why.
        reason: EntryFault,
    },
    /// A bad checkpoint.
    #[error("checkpoint of size {size}: {reason}")]
    Checkpoint {
        /// The checkpoint's tree size.
        size: u64,
        /// Why.
        reason: CheckpointFault,
    },
    /// The caller's trusted checkpoint does not reconcile with the bundle.
    #[error("{0}")]
    Trusted(TrustedFault),
    /// The bundle ends before its manifest.
    #[error("bundle is truncated (no manifest)")]
    Truncated,
    /// The manifest does not match or is not last.
    #[error("manifest: {0}")]
    Manifest(&'static str),
}

/// Names the first bad index as precisely as the checkpoints allow: exactly
/// when consecutive sizes are checkpointed, else the range it lies in.
fn suspect_range(first: u64, end: u64) -> String {
    if end == first.saturating_add(1) {
        format!("first bad entry at index {first} (altered, missing or reordered), or a fork")
    } else {
        format!(
            "first bad entry at an index in [{first}, {end}) (altered, missing or reordered), or a fork"
        )
    }
}

/// Summary of a successfully verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Number of entries verified.
    pub entries: u64,
    /// First index.
    pub from: u64,
    /// One past the last index.
    pub to: u64,
    /// Tree size proven against.
    pub tree_size: u64,
    /// Hex root at `tree_size`.
    pub root_hex: String,
    /// Checkpoint lines whose signature verified and whose root matched recomputation.
    pub checkpoints_verified: u64,
    /// Checkpoint lines whose signature verified but whose size is outside what the bundle
    /// lets us recompute (before `from`, or strictly between `to` and `tree_size`).
    pub checkpoints_signature_only: u64,
    /// Whether the checkpoint of `tree_size` also verifies with `extra_keys` alone (i.e. is
    /// anchored in a key the caller pinned, not only in keys the bundle supplied).
    pub tree_checkpoint_signed_by_extra_key: bool,
    /// Smallest `time_us` seen (entries are ordered by index, not by time).
    pub time_min_us: Option<i64>,
    /// Largest `time_us` seen.
    pub time_max_us: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Keys,
    Checkpoints,
    Proof,
    Entries,
}

struct State<'a> {
    header: Header,
    extra_keys: &'a [Verifier],
    trusted_note: Option<&'a str>,
    keys: Vec<Verifier>,
    stage: Stage,
    // size -> (root, number of lines with that size)
    checkpoints: BTreeMap<u64, (Hash, u64)>,
    checkpoint_lines: u64,
    checkpoints_verified: u64,
    tree_checkpoint_pinned: bool,
    trusted: Option<Checkpoint>,
    proof: Option<Vec<Hash>>,
    tree: Option<CompactTree>,
    right: Vec<Hash>,
    count: u64,
    seen_ids: HashSet<u128>,
    time_min: Option<i64>,
    time_max: Option<i64>,
    /// The largest size whose checkpoint matched so far (starts at `from`).
    last_matched: u64,
}

/// Verifies a bundle read from `reader`.
///
/// `trusted`: a signed checkpoint note the caller already trusts; the bundle must be
/// consistent with it. `extra_keys`: verifier keys added to the bundle's own key lines.
///
/// Memory: O(log N) for the tree, O(k) for k checkpoints, plus 16 bytes per entry for the
/// duplicate `event_id` check.
pub fn verify_bundle<R: BufRead>(
    reader: R,
    trusted: Option<&str>,
    extra_keys: &[Verifier],
) -> Result<Report, VerifyError> {
    let mut reader = BundleReader::new(reader);
    let header = match reader.next_record()? {
        Some(Record::Header(h)) => h,
        Some(_) => return Err(VerifyError::Header("first line is not the header")),
        None => return Err(VerifyError::Truncated),
    };
    if header.from > header.to || header.to > header.tree_size {
        return Err(VerifyError::Header("needs from <= to <= tree_size"));
    }
    let start = header.from;
    let mut st = State {
        header,
        extra_keys,
        trusted_note: trusted,
        keys: Vec::new(),
        stage: Stage::Keys,
        checkpoints: BTreeMap::new(),
        checkpoint_lines: 0,
        checkpoints_verified: 0,
        tree_checkpoint_pinned: false,
        trusted: None,
        proof: None,
        tree: None,
        right: Vec::new(),
        count: 0,
        seen_ids: HashSet::new(),
        time_min: None,
        time_max: None,
        last_matched: start,
    };
    loop {
        let line = reader.line_number().saturating_add(1);
        let Some(rec) = reader.next_record()? else {
            return Err(VerifyError::Truncated);
        };
        match rec {
            Record::Header(_) => {
                return Err(VerifyError::Order {
                    line,
                    reason: "second header",
                });
            }
            Record::Key(vkey) => {
                if st.stage != Stage::Keys {
                    return Err(VerifyError::Order {
                        line,
                        reason: "key after checkpoint, proof or entry",
                    });
                }
                let v = Verifier::from_vkey(&vkey)
                    .map_err(|reason| VerifyError::Key { line, reason })?;
                st.keys.push(v);
            }
            Record::Checkpoint(note) => {
                if st.stage > Stage::Checkpoints {
                    return Err(VerifyError::Order {
                        line,
                        reason: "checkpoint after proof or entry",
                    });
                }
                st.enter(Stage::Checkpoints)?;
                st.add_checkpoint(line, &note)?;
            }
            Record::RangeProof(hashes) => {
                if st.stage > Stage::Checkpoints {
                    return Err(VerifyError::Order {
                        line,
                        reason: "range proof after entries or repeated",
                    });
                }
                st.enter(Stage::Proof)?;
                st.proof = Some(hashes);
            }
            Record::Entry { index, bytes } => {
                st.enter(Stage::Entries)?;
                st.add_entry(index, &bytes)?;
            }
            Record::Manifest(m) => {
                st.enter(Stage::Entries)?;
                let report = st.finish(&m, &reader)?;
                // The manifest must be the last line.
                if reader.next_record()?.is_some() {
                    return Err(VerifyError::Manifest("data after the manifest"));
                }
                return Ok(report);
            }
        }
    }
}

impl State<'_> {
    fn all_keys(&self) -> Vec<Verifier> {
        self.keys
            .iter()
            .chain(self.extra_keys.iter())
            .cloned()
            .collect()
    }

    /// Moves forward to `next`, running the one-time work at each boundary crossed.
    fn enter(&mut self, next: Stage) -> Result<(), VerifyError> {
        if self.stage == Stage::Keys && next > Stage::Keys {
            self.load_trusted()?;
        }
        if self.stage < Stage::Entries && next == Stage::Entries {
            self.start_tree()?;
        }
        if next > self.stage {
            self.stage = next;
        }
        Ok(())
    }

    fn load_trusted(&mut self) -> Result<(), VerifyError> {
        let Some(note) = self.trusted_note else {
            return Ok(());
        };
        let keys = self.all_keys();
        let cp = parse_and_verify(note, &keys)
            .map_err(|e| VerifyError::Trusted(TrustedFault::Signature(e)))?;
        let h = &self.header;
        if cp.origin != h.origin {
            return Err(VerifyError::Trusted(TrustedFault::OriginMismatch));
        }
        if cp.size > h.tree_size {
            return Err(VerifyError::Trusted(TrustedFault::BundleOlder {
                trusted_size: cp.size,
                tree_size: h.tree_size,
            }));
        }
        // Recomputable sizes: every size in [from, to] (the frontier plus the entries) and
        // tree_size (via the range proof).
        let checkable = (h.from <= cp.size && cp.size <= h.to) || cp.size == h.tree_size;
        if !checkable {
            return Err(VerifyError::Trusted(TrustedFault::PartialBundle));
        }
        self.trusted = Some(cp);
        Ok(())
    }

    fn add_checkpoint(&mut self, line: u64, note: &str) -> Result<(), VerifyError> {
        self.checkpoint_lines = self.checkpoint_lines.saturating_add(1);
        if self.checkpoint_lines > MAX_CHECKPOINTS {
            return Err(VerifyError::Order {
                line,
                reason: "too many checkpoints",
            });
        }
        let size = parse_unverified(note)
            .map_err(|reason| VerifyError::Note { line, reason })?
            .size;
        let keys = self.all_keys();
        let cp = parse_and_verify(note, &keys).map_err(|e| VerifyError::Checkpoint {
            size,
            reason: CheckpointFault::Signature(e),
        })?;
        let fail = |reason| VerifyError::Checkpoint { size, reason };
        if cp.origin != self.header.origin {
            return Err(fail(CheckpointFault::OriginMismatch));
        }
        if cp.size > self.header.tree_size {
            return Err(fail(CheckpointFault::BeyondTree));
        }
        if cp.size == self.header.tree_size && parse_and_verify(note, self.extra_keys).is_ok() {
            self.tree_checkpoint_pinned = true;
        }
        match self.checkpoints.get_mut(&cp.size) {
            Some((root, _)) if *root != cp.root => {
                return Err(fail(CheckpointFault::ConflictingCheckpoints));
            }
            Some((_, n)) => *n = n.saturating_add(1),
            None => {
                self.checkpoints.insert(cp.size, (cp.root, 1));
            }
        }
        Ok(())
    }

    /// Builds the tree state at `from` (empty, or the range proof's left frontier).
    fn start_tree(&mut self) -> Result<(), VerifyError> {
        let h = &self.header;
        let needs_proof = h.from != 0 || h.to != h.tree_size;
        let (tree, right) = match (needs_proof, self.proof.take()) {
            (false, None) => (CompactTree::new(), Vec::new()),
            (false, Some(_)) => return Err(VerifyError::RangeProof(ProofError::WrongLength)),
            (true, None) => return Err(VerifyError::RangeProof(ProofError::WrongLength)),
            (true, Some(p)) => {
                if p.len() != range_proof_len(h.from, h.to, h.tree_size) {
                    return Err(VerifyError::RangeProof(ProofError::WrongLength));
                }
                range_proof_split(h.from, h.to, h.tree_size, &p).map_err(VerifyError::RangeProof)?
            }
        };
        self.right = right;
        let root = tree.root();
        let size = tree.size();
        self.tree = Some(tree);
        self.check_root_at(size, &root)
    }

    /// Compares checkpoints and the trusted checkpoint of `size` with the recomputed `root`.
    fn check_root_at(&mut self, size: u64, root: &Hash) -> Result<(), VerifyError> {
        if let Some((cp_root, lines)) = self.checkpoints.get(&size) {
            if cp_root != root {
                return Err(VerifyError::Checkpoint {
                    size,
                    reason: CheckpointFault::RootMismatch {
                        first: self.last_matched.min(size.saturating_sub(1)),
                        end: size,
                    },
                });
            }
            self.checkpoints_verified = self.checkpoints_verified.saturating_add(*lines);
            self.last_matched = size;
        }
        if let Some(t) = &self.trusted
            && t.size == size
            && &t.root != root
        {
            return Err(VerifyError::Trusted(TrustedFault::Inconsistent));
        }
        Ok(())
    }

    fn add_entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), VerifyError> {
        let expected = self.header.from.saturating_add(self.count);
        let fail = |reason| VerifyError::Entry {
            index: expected,
            reason,
        };
        if expected >= self.header.to {
            return Err(VerifyError::Entry {
                index,
                reason: EntryFault::OutOfRange,
            });
        }
        if index != expected {
            return Err(fail(EntryFault::IndexMismatch { found: index }));
        }
        let ev = AuditEvent::decode(bytes).map_err(|e| fail(EntryFault::Decode(e)))?;
        if ev.log_id != self.header.log_id {
            return Err(fail(EntryFault::LogIdMismatch));
        }
        let id = ev
            .event_id_u128()
            .ok_or(fail(EntryFault::Decode(EntryError::InvalidField(
                "event_id",
            ))))?;
        if !self.seen_ids.insert(id) {
            return Err(fail(EntryFault::DuplicateEventId));
        }
        self.time_min = Some(self.time_min.map_or(ev.time_us, |m| m.min(ev.time_us)));
        self.time_max = Some(self.time_max.map_or(ev.time_us, |m| m.max(ev.time_us)));
        let tree = self
            .tree
            .as_mut()
            .ok_or(VerifyError::RangeProof(ProofError::MalformedState))?;
        tree.append(leaf_hash(bytes))
            .map_err(VerifyError::RangeProof)?;
        self.count = self.count.saturating_add(1);
        let size = tree.size();
        if self.checkpoints.contains_key(&size)
            || self.trusted.as_ref().is_some_and(|t| t.size == size)
        {
            let root = tree.root();
            self.check_root_at(size, &root)?;
        }
        Ok(())
    }

    fn finish<R: BufRead>(
        &mut self,
        m: &Manifest,
        reader: &BundleReader<R>,
    ) -> Result<Report, VerifyError> {
        let h = self.header.clone();
        let expected = h.to - h.from;
        if self.count < expected {
            return Err(VerifyError::Entry {
                index: h.from.saturating_add(self.count),
                reason: EntryFault::Missing,
            });
        }
        let tree = self
            .tree
            .as_ref()
            .ok_or(VerifyError::RangeProof(ProofError::MalformedState))?;
        let root =
            complete_root(tree, h.tree_size, &self.right).map_err(VerifyError::RangeProof)?;
        if !self.checkpoints.contains_key(&h.tree_size) {
            return Err(VerifyError::Checkpoint {
                size: h.tree_size,
                reason: CheckpointFault::Missing,
            });
        }
        // Sizes in [from, to] were already checked while streaming.
        if h.tree_size > h.to {
            self.check_root_at(h.tree_size, &root)?;
        }
        let signature_only = self
            .checkpoints
            .iter()
            .filter(|(s, _)| **s < h.from || (**s > h.to && **s < h.tree_size))
            .map(|(_, (_, n))| *n)
            .sum();
        if m.entries != self.count {
            return Err(VerifyError::Manifest("entry count differs"));
        }
        if reader.entry_lines() != self.count || m.entries_sha256 != reader.entry_lines_sha256() {
            return Err(VerifyError::Manifest("entries_sha256 differs"));
        }
        if m.checkpoints != self.checkpoint_lines {
            return Err(VerifyError::Manifest("checkpoint count differs"));
        }
        Ok(Report {
            entries: self.count,
            from: h.from,
            to: h.to,
            tree_size: h.tree_size,
            root_hex: to_hex(&root),
            checkpoints_verified: self.checkpoints_verified,
            checkpoints_signature_only: signature_only,
            tree_checkpoint_signed_by_extra_key: self.tree_checkpoint_pinned,
            time_min_us: self.time_min,
            time_max_us: self.time_max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::bundle::BundleWriter;
    use super::super::checkpoint::CheckpointSigner;
    use super::super::entry::tests::sample;
    use super::super::merkle::{range_proof_from_leaves, root};
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    const ORIGIN: &str = "example.com/kyc-gateway/audit";

    struct Fixture {
        lines: Vec<String>,
        signer: CheckpointSigner,
        leaves: Vec<Hash>,
    }

    impl Fixture {
        fn text(&self) -> String {
            self.lines.iter().map(|l| format!("{l}\n")).collect()
        }
        fn verify(&self, trusted: Option<&str>) -> Result<Report, VerifyError> {
            verify_bundle(self.text().as_bytes(), trusted, &[])
        }
        fn line_of_entry(&self, i: u64) -> usize {
            self.lines
                .iter()
                .position(|l| l.starts_with(&format!("{{\"type\":\"entry\",\"index\":{i},")))
                .unwrap()
        }
        fn note(&self, size: u64) -> String {
            let r = root(&self.leaves[..size as usize]);
            self.signer.sign(ORIGIN, size, &r).unwrap()
        }
    }

    fn build(n: u64, from: u64, to: u64, extra_sizes: &[u64]) -> Fixture {
        let signer = CheckpointSigner::generate("kyc-audit").unwrap().0;
        let entries: Vec<Vec<u8>> = (0..n).map(|i| sample(i).encode()).collect();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let header = Header {
            log_id: "kyc-gateway/test".into(),
            origin: ORIGIN.into(),
            from,
            to,
            tree_size: n,
            created_us: 1,
        };
        let mut w = BundleWriter::new(Vec::new(), header).unwrap();
        w.key(&signer.vkey()).unwrap();
        for &s in extra_sizes.iter().chain([n].iter()) {
            let note = signer
                .sign(ORIGIN, s, &root(&leaves[..s as usize]))
                .unwrap();
            w.checkpoint(&note).unwrap();
        }
        if from != 0 || to != n {
            w.range_proof(&range_proof_from_leaves(&leaves, from, to).unwrap())
                .unwrap();
        }
        for i in from..to {
            w.entry(i, &entries[i as usize]).unwrap();
        }
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        Fixture {
            lines: out.lines().map(str::to_owned).collect(),
            signer,
            leaves,
        }
    }

    fn entry_error(r: Result<Report, VerifyError>) -> (u64, EntryFault) {
        match r {
            Err(VerifyError::Entry { index, reason }) => (index, reason),
            other => panic!("expected entry error, got {other:?}"),
        }
    }

    fn checkpoint_error(r: Result<Report, VerifyError>) -> (u64, CheckpointFault) {
        match r {
            Err(VerifyError::Checkpoint { size, reason }) => (size, reason),
            other => panic!("expected checkpoint error, got {other:?}"),
        }
    }

    #[test]
    fn valid_10k_bundle() {
        let f = build(10_000, 0, 10_000, &[1, 5000]);
        let r = f.verify(None).unwrap();
        assert_eq!(r.entries, 10_000);
        assert_eq!(r.checkpoints_verified, 3);
        assert_eq!(r.root_hex, to_hex(&root(&f.leaves)));
        assert_eq!(r.time_min_us, Some(sample(0).time_us));
        assert!(!r.tree_checkpoint_signed_by_extra_key);
        let pinned = verify_bundle(f.text().as_bytes(), None, &[f.signer.verifier()]).unwrap();
        assert!(pinned.tree_checkpoint_signed_by_extra_key);
    }

    #[test]
    fn partial_ranges_verify() {
        for (n, a, b, extra) in [
            (37u64, 5u64, 20u64, vec![3u64, 5, 12, 20, 30]),
            (37, 0, 20, vec![20]),
            (37, 20, 37, vec![]),
            (16, 16, 16, vec![]),
            (16, 3, 3, vec![3]),
        ] {
            let f = build(n, a, b, &extra);
            let r = f.verify(None).unwrap();
            assert_eq!(r.entries, b - a);
            assert_eq!(r.root_hex, to_hex(&root(&f.leaves)));
        }
        let f = build(37, 5, 20, &[3, 12, 30]);
        let r = f.verify(None).unwrap();
        assert_eq!(r.checkpoints_verified, 2);
        assert_eq!(r.checkpoints_signature_only, 2);
        // Tampered range proof → the tree-size checkpoint (or one inside the range) fails.
        let mut g = build(37, 5, 20, &[]);
        let pos = g
            .lines
            .iter()
            .position(|l| l.contains("range_proof"))
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&g.lines[pos]).unwrap();
        v["hashes"][0] = STANDARD.encode([9u8; 32]).into();
        g.lines[pos] = v.to_string();
        assert!(matches!(
            checkpoint_error(g.verify(None)),
            (37, CheckpointFault::RootMismatch { .. })
        ));
    }

    #[test]
    fn swap_delete_reindex() {
        let f = build(20, 0, 20, &[]);
        let (a, b) = (f.line_of_entry(4), f.line_of_entry(9));
        let mut g = f.lines.clone();
        g.swap(a, b);
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            entry_error(verify_bundle(t.as_bytes(), None, &[])),
            (4, EntryFault::IndexMismatch { found: 9 })
        );
        // Delete a middle entry.
        let mut g = f.lines.clone();
        g.remove(f.line_of_entry(7));
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            entry_error(verify_bundle(t.as_bytes(), None, &[])),
            (7, EntryFault::IndexMismatch { found: 8 })
        );
        // Delete the tail entry.
        let mut g = f.lines.clone();
        g.remove(f.line_of_entry(19));
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            entry_error(verify_bundle(t.as_bytes(), None, &[])),
            (19, EntryFault::Missing)
        );
        // Change an index.
        let mut g = f.lines.clone();
        let p = f.line_of_entry(11);
        g[p] = g[p].replace("\"index\":11,", "\"index\":12,");
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            entry_error(verify_bundle(t.as_bytes(), None, &[])),
            (11, EntryFault::IndexMismatch { found: 12 })
        );
        // Duplicate event (same entry bytes twice with consecutive indices).
        let mut g = f.lines.clone();
        let p = f.line_of_entry(3);
        g[p] = f.lines[f.line_of_entry(2)].replace("\"index\":2,", "\"index\":3,");
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            entry_error(verify_bundle(t.as_bytes(), None, &[])),
            (3, EntryFault::DuplicateEventId)
        );
    }

    #[test]
    fn truncation_and_manifest() {
        let f = build(10, 0, 10, &[4]);
        let cp = f
            .lines
            .iter()
            .rposition(|l| l.starts_with("{\"type\":\"checkpoint\""))
            .unwrap();
        let t: String = f.lines[..=cp].iter().map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            verify_bundle(t.as_bytes(), None, &[]),
            Err(VerifyError::Truncated)
        ));
        let n = f.lines.len();
        let t: String = f.lines[..n - 1].iter().map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            verify_bundle(t.as_bytes(), None, &[]),
            Err(VerifyError::Truncated)
        ));
        let mut t = f.text();
        t.push_str(&f.lines[n - 1]);
        t.push('\n');
        assert!(matches!(
            verify_bundle(t.as_bytes(), None, &[]),
            Err(VerifyError::Manifest(_))
        ));
        let mut g = f.lines.clone();
        g[n - 1] = g[n - 1].replace("\"checkpoints\":2", "\"checkpoints\":3");
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            verify_bundle(t.as_bytes(), None, &[]),
            Err(VerifyError::Manifest(_))
        ));
        // Missing tree-size checkpoint.
        let mut g = f.lines.clone();
        g.remove(cp);
        let last = g.len() - 1;
        g[last] = g[last].replace("\"checkpoints\":2", "\"checkpoints\":1");
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            checkpoint_error(verify_bundle(t.as_bytes(), None, &[])),
            (10, CheckpointFault::Missing)
        );
    }

    #[test]
    fn forks_signatures_keys() {
        let f = build(12, 0, 12, &[5]);
        let cp_line = |g: &[String]| {
            g.iter()
                .rposition(|l| l.starts_with("{\"type\":\"checkpoint\""))
                .unwrap()
        };
        // Same size, another validly signed root: fork.
        let mut g = f.lines.clone();
        let forged = f.signer.sign(ORIGIN, 12, &[0xAB; 32]).unwrap();
        let line = serde_json::json!({"type":"checkpoint","note":forged}).to_string();
        g.insert(cp_line(&g) + 1, line.clone());
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            checkpoint_error(verify_bundle(t.as_bytes(), None, &[])),
            (12, CheckpointFault::ConflictingCheckpoints)
        );
        // A lone validly signed checkpoint with another root at an intermediate size.
        let mut g = f.lines.clone();
        let forged = f.signer.sign(ORIGIN, 7, &[0xAB; 32]).unwrap();
        g.insert(
            cp_line(&g),
            serde_json::json!({"type":"checkpoint","note":forged}).to_string(),
        );
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            checkpoint_error(verify_bundle(t.as_bytes(), None, &[])),
            (7, CheckpointFault::RootMismatch { .. })
        ));
        // Bad signature: flip a signature byte.
        let mut g = f.lines.clone();
        let p = cp_line(&g);
        let note = f.note(12);
        let b64 = note.trim_end().rsplit(' ').next().unwrap().to_owned();
        let mut blob = STANDARD.decode(&b64).unwrap();
        blob[20] ^= 1;
        let bad = note.replace(&b64, &STANDARD.encode(blob));
        g[p] = serde_json::json!({"type":"checkpoint","note":bad}).to_string();
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert!(matches!(
            checkpoint_error(verify_bundle(t.as_bytes(), None, &[])),
            (
                12,
                CheckpointFault::Signature(CheckpointError::BadSignature(_))
            )
        ));
        // Wrong key in the bundle.
        let mut g = f.lines.clone();
        let other = CheckpointSigner::generate("kyc-audit").unwrap().0;
        g[1] = serde_json::json!({"type":"key","vkey":other.vkey()}).to_string();
        let t: String = g.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            checkpoint_error(verify_bundle(t.as_bytes(), None, &[])),
            (
                5,
                CheckpointFault::Signature(CheckpointError::NoKnownSignature)
            )
        );
    }

    #[test]
    fn trusted_checkpoint() {
        let f = build(30, 0, 30, &[]);
        assert!(f.verify(Some(&f.note(17))).is_ok());
        assert!(f.verify(Some(&f.note(30))).is_ok());
        assert!(f.verify(Some(&f.note(0))).is_ok());
        let fork = f.signer.sign(ORIGIN, 17, &[1; 32]).unwrap();
        assert!(matches!(
            f.verify(Some(&fork)),
            Err(VerifyError::Trusted(TrustedFault::Inconsistent))
        ));
        let newer = f.signer.sign(ORIGIN, 31, &[1; 32]).unwrap();
        assert!(matches!(
            f.verify(Some(&newer)),
            Err(VerifyError::Trusted(TrustedFault::BundleOlder { .. }))
        ));
        let stranger = CheckpointSigner::generate("x").unwrap().0;
        let unsigned = stranger.sign(ORIGIN, 3, &[1; 32]).unwrap();
        assert!(matches!(
            f.verify(Some(&unsigned)),
            Err(VerifyError::Trusted(TrustedFault::Signature(_)))
        ));
        let p = build(30, 10, 20, &[]);
        assert!(matches!(
            p.verify(Some(&p.note(5))),
            Err(VerifyError::Trusted(TrustedFault::PartialBundle))
        ));
        assert!(p.verify(Some(&p.note(15))).is_ok());
        assert!(p.verify(Some(&p.note(30))).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_entry_byte_flip_fails(i in 0u64..16, pos in 0usize..10_000, bit in 0u8..8) {
            let f = build(16, 0, 16, &[8]);
            let p = f.line_of_entry(i);
            let mut v: serde_json::Value = serde_json::from_str(&f.lines[p]).unwrap();
            let mut bytes = STANDARD.decode(v["entry"].as_str().unwrap()).unwrap();
            let pos = pos % bytes.len();
            bytes[pos] ^= 1 << bit;
            v["entry"] = STANDARD.encode(&bytes).into();
            let mut g = f.lines.clone();
            g[p] = v.to_string();
            let t: String = g.iter().map(|l| format!("{l}\n")).collect();
            let expected_cp = if i < 8 { 8 } else { 16 };
            match verify_bundle(t.as_bytes(), None, &[]) {
                Err(VerifyError::Entry { index, .. }) => prop_assert_eq!(index, i),
                Err(VerifyError::Checkpoint { size, reason }) => {
                    prop_assert_eq!(size, expected_cp);
                    let mismatch = matches!(reason, CheckpointFault::RootMismatch { .. });
                    prop_assert!(mismatch, "unexpected fault {:?}", reason);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
