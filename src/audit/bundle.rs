//! Owns the export bundle format: NDJSON (one JSON object per `\n`-terminated line), written
//! by a streaming [`BundleWriter`] and read by a streaming, size-bounded [`BundleReader`].
//!
//! Line order (enforced by the writer and by `verify`):
//! 1. `{"type":"header","format":"kyc-gateway-audit-bundle","version":1,"log_id":..,"origin":..,"from":a,"to":b,"tree_size":N,"created_us":..}`
//! 2. zero or more `{"type":"key","vkey":".."}`
//! 3. zero or more `{"type":"checkpoint","note":".."}` (one must have size N)
//! 4. `{"type":"range_proof","hashes":[..]}` iff `a != 0 || b != N`
//! 5. `{"type":"entry","index":i,"entry":"<base64 std of the exact entry bytes>"}` for i in [a, b)
//! 6. `{"type":"manifest","entries":b-a,"entries_sha256":"<hex>","checkpoints":k}`
//!
//! Checkpoints and the range proof precede the entries so a verifier can check every
//! checkpoint root while streaming, in O(log N) memory for the tree state.

use std::io::{BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

use super::entry::MAX_ENTRY_BYTES;
use super::merkle::{Hash, range_proof_len};

/// The `format` value of the header line.
pub const FORMAT_NAME: &str = "kyc-gateway-audit-bundle";

/// The `version` value of the header line.
pub const FORMAT_VERSION: u32 = 1;

/// Maximum length of one line, excluding its newline (64 KiB); bounds entry and note lines.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Maximum length of a checkpoint note carried in a bundle (64 KiB).
pub const MAX_BUNDLE_NOTE_BYTES: usize = 64 * 1024;

/// Maximum hashes in a range proof: popcount(a) ≤ 64 for the left frontier plus at most
/// 2·63 rising-then-falling subtrees covering `[b, N)`, for any 64-bit sizes.
pub const MAX_RANGE_PROOF_HASHES: usize = 192;

/// Errors from reading or writing a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Underlying I/O failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A line exceeds [`MAX_LINE_BYTES`].
    #[error("line {line} is too long")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
    },
    /// The input ended in the middle of a line.
    #[error("line {line} is not newline-terminated")]
    UnterminatedLine {
        /// 1-based line number.
        line: u64,
    },
    /// A line is not a valid record (bad JSON, unknown type, unknown field, bad base64...).
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The writer was called out of order or with inconsistent data.
    #[error("writer misuse: {0}")]
    Order(&'static str),
}

/// The bundle header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Log identifier (matches `AuditEvent::log_id` of every entry).
    pub log_id: String,
    /// Checkpoint origin line of the log.
    pub origin: String,
    /// First entry index included.
    pub from: u64,
    /// One past the last entry index included.
    pub to: u64,
    /// Size of the tree the bundle proves against (a checkpoint of this size is included).
    pub tree_size: u64,
    /// Creation time, UTC microseconds (informational; not authenticated).
    pub created_us: i64,
}

/// The closing manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Number of entry lines.
    pub entries: u64,
    /// SHA-256 over the raw bytes of all entry lines, newlines included.
    pub entries_sha256: Hash,
    /// Number of checkpoint lines.
    pub checkpoints: u64,
}

/// One decoded bundle line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The header line.
    Header(Header),
    /// A checkpoint verifier key (vkey string).
    Key(String),
    /// A checkpoint signed note.
    Checkpoint(String),
    /// The compact-range proof (see `merkle::range_proof`).
    RangeProof(Vec<Hash>),
    /// One log entry with its exact bytes.
    Entry {
        /// Leaf index in the log.
        index: u64,
        /// The canonical entry bytes.
        bytes: Vec<u8>,
    },
    /// The manifest line.
    Manifest(Manifest),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Wire {
    Header {
        format: String,
        version: u32,
        log_id: String,
        origin: String,
        from: u64,
        to: u64,
        tree_size: u64,
        created_us: i64,
    },
    Key {
        vkey: String,
    },
    Entry {
        index: u64,
        entry: String,
    },
    RangeProof {
        hashes: Vec<String>,
    },
    Checkpoint {
        note: String,
    },
    Manifest {
        entries: u64,
        entries_sha256: String,
        checkpoints: u64,
    },
}

/// Lowercase hex of a hash.
pub fn to_hex(h: &Hash) -> String {
    let mut s = String::with_capacity(64);
    for b in h {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn from_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let hi = hex_val(*pair.first()?)?;
        let lo = hex_val(*pair.get(1)?)?;
        *o = (hi << 4) | lo;
    }
    Some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn finish_digest(ctx: &Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.clone().finish().as_ref());
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Keys,
    Checkpoints,
    Proof,
    Entries,
}

/// Streams a bundle to `W`, enforcing the line order and contiguity of entry indices.
///
/// Memory use is constant: entries are written as they are passed in.
pub struct BundleWriter<W: Write> {
    out: W,
    header: Header,
    stage: Stage,
    next_index: u64,
    entries_ctx: Context,
    checkpoints: u64,
    proof_written: bool,
    line: Vec<u8>,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle by writing the header line. Requires `from <= to <= tree_size`.
    pub fn new(out: W, header: Header) -> Result<Self, BundleError> {
        if header.from > header.to || header.to > header.tree_size {
            return Err(BundleError::Order("header needs from <= to <= tree_size"));
        }
        let mut w = Self {
            out,
            header,
            stage: Stage::Keys,
            next_index: 0,
            entries_ctx: Context::new(&SHA256),
            checkpoints: 0,
            proof_written: false,
            line: Vec::with_capacity(1024),
        };
        w.next_index = w.header.from;
        let h = &w.header;
        let wire = Wire::Header {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
            log_id: h.log_id.clone(),
            origin: h.origin.clone(),
            from: h.from,
            to: h.to,
            tree_size: h.tree_size,
            created_us: h.created_us,
        };
        w.write_wire(&wire, false)?;
        Ok(w)
    }

    fn needs_proof(&self) -> bool {
        self.header.from != 0 || self.header.to != self.header.tree_size
    }

    fn write_wire(&mut self, wire: &Wire, is_entry: bool) -> Result<(), BundleError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, wire)
            .map_err(|e| BundleError::Io(std::io::Error::other(e)))?;
        if self.line.len() > MAX_LINE_BYTES {
            return Err(BundleError::Order("line would exceed the size limit"));
        }
        self.line.push(b'\n');
        if is_entry {
            self.entries_ctx.update(&self.line);
        }
        self.out.write_all(&self.line)?;
        Ok(())
    }

    /// Writes a verifier key line. Keys come before checkpoints.
    pub fn key(&mut self, vkey: &str) -> Result<(), BundleError> {
        if self.stage != Stage::Keys {
            return Err(BundleError::Order("key after checkpoint, proof or entry"));
        }
        self.write_wire(
            &Wire::Key {
                vkey: vkey.to_owned(),
            },
            false,
        )
    }

    /// Writes a checkpoint note line. Checkpoints come after keys, before proof and entries.
    pub fn checkpoint(&mut self, note: &str) -> Result<(), BundleError> {
        if self.stage > Stage::Checkpoints {
            return Err(BundleError::Order("checkpoint after proof or entry"));
        }
        if note.len() > MAX_BUNDLE_NOTE_BYTES {
            return Err(BundleError::Order("note too large"));
        }
        self.stage = Stage::Checkpoints;
        self.write_wire(
            &Wire::Checkpoint {
                note: note.to_owned(),
            },
            false,
        )?;
        self.checkpoints = self.checkpoints.saturating_add(1);
        Ok(())
    }

    /// Writes the range proof (from `merkle::range_proof`); required, and only allowed, when
    /// the bundle does not cover the whole tree `[0, tree_size)`.
    pub fn range_proof(&mut self, hashes: &[Hash]) -> Result<(), BundleError> {
        if self.stage > Stage::Checkpoints || self.proof_written {
            return Err(BundleError::Order("range proof after entries or twice"));
        }
        if !self.needs_proof() {
            return Err(BundleError::Order("full bundle takes no range proof"));
        }
        let h = &self.header;
        if hashes.len() != range_proof_len(h.from, h.to, h.tree_size) {
            return Err(BundleError::Order("range proof has the wrong length"));
        }
        self.stage = Stage::Proof;
        self.proof_written = true;
        let hashes = hashes.iter().map(|h| STANDARD.encode(h)).collect();
        self.write_wire(&Wire::RangeProof { hashes }, false)
    }

    /// Writes the next entry; `index` must be `from`, `from + 1`, ... in order.
    pub fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), BundleError> {
        if self.needs_proof() && !self.proof_written {
            return Err(BundleError::Order("range proof must precede entries"));
        }
        if index != self.next_index || index >= self.header.to {
            return Err(BundleError::Order("entry index not next in range"));
        }
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(BundleError::Order("entry too large"));
        }
        self.stage = Stage::Entries;
        self.write_wire(
            &Wire::Entry {
                index,
                entry: STANDARD.encode(bytes),
            },
            true,
        )?;
        self.next_index = index.saturating_add(1);
        Ok(())
    }

    /// Writes the manifest, flushes and returns the sink. Fails if entries are missing.
    pub fn finish(mut self) -> Result<W, BundleError> {
        if self.next_index != self.header.to {
            return Err(BundleError::Order(
                "not all entries of the range were written",
            ));
        }
        if self.needs_proof() && !self.proof_written {
            return Err(BundleError::Order("range proof missing"));
        }
        let entries = self.header.to - self.header.from;
        let wire = Wire::Manifest {
            entries,
            entries_sha256: to_hex(&finish_digest(&self.entries_ctx)),
            checkpoints: self.checkpoints,
        };
        self.write_wire(&wire, false)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Streams records from an NDJSON bundle with per-line bounds. It does not enforce line
/// order (that is `verify`'s job) but keeps the running SHA-256 of entry lines.
pub struct BundleReader<R: BufRead> {
    inner: R,
    line_no: u64,
    buf: Vec<u8>,
    entries_ctx: Context,
    entry_lines: u64,
}

impl<R: BufRead> BundleReader<R> {
    /// Wraps a buffered reader.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            line_no: 0,
            buf: Vec::with_capacity(1024),
            entries_ctx: Context::new(&SHA256),
            entry_lines: 0,
        }
    }

    /// The 1-based number of the last line read (0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    /// SHA-256 over the raw bytes of all entry lines read so far, newlines included.
    pub fn entry_lines_sha256(&self) -> Hash {
        finish_digest(&self.entries_ctx)
    }

    /// Number of entry lines read so far.
    pub fn entry_lines(&self) -> u64 {
        self.entry_lines
    }

    fn malformed(&self, reason: impl Into<String>) -> BundleError {
        BundleError::Malformed {
            line: self.line_no,
            reason: reason.into(),
        }
    }

    /// Reads the next record; `Ok(None)` at a clean end of input.
    pub fn next_record(&mut self) -> Result<Option<Record>, BundleError> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no = self.line_no.saturating_add(1);
        if self.buf.last() != Some(&b'\n') {
            return Err(if n as u64 >= limit {
                BundleError::LineTooLong { line: self.line_no }
            } else {
                BundleError::UnterminatedLine { line: self.line_no }
            });
        }
        let wire: Wire =
            serde_json::from_slice(&self.buf).map_err(|e| self.malformed(e.to_string()))?;
        let rec = match wire {
            Wire::Header {
                format,
                version,
                log_id,
                origin,
                from,
                to,
                tree_size,
                created_us,
            } => {
                if format != FORMAT_NAME {
                    return Err(self.malformed("unknown bundle format"));
                }
                if version != FORMAT_VERSION {
                    return Err(self.malformed("unsupported bundle version"));
                }
                Record::Header(Header {
                    log_id,
                    origin,
                    from,
                    to,
                    tree_size,
                    created_us,
                })
            }
            Wire::Key { vkey } => Record::Key(vkey),
            Wire::Checkpoint { note } => {
                if note.len() > MAX_BUNDLE_NOTE_BYTES {
                    return Err(self.malformed("note too large"));
                }
                Record::Checkpoint(note)
            }
            Wire::RangeProof { hashes } => {
                if hashes.len() > MAX_RANGE_PROOF_HASHES {
                    return Err(self.malformed("range proof too long"));
                }
                let mut out = Vec::with_capacity(hashes.len());
                for h in &hashes {
                    let raw = STANDARD
                        .decode(h)
                        .map_err(|_| self.malformed("range proof hash base64"))?;
                    let hash: Hash = raw
                        .as_slice()
                        .try_into()
                        .map_err(|_| self.malformed("range proof hash length"))?;
                    out.push(hash);
                }
                Record::RangeProof(out)
            }
            Wire::Entry { index, entry } => {
                let bytes = STANDARD
                    .decode(&entry)
                    .map_err(|_| self.malformed("entry base64"))?;
                if bytes.len() > MAX_ENTRY_BYTES {
                    return Err(self.malformed("entry too large"));
                }
                self.entries_ctx.update(&self.buf);
                self.entry_lines = self.entry_lines.saturating_add(1);
                Record::Entry { index, bytes }
            }
            Wire::Manifest {
                entries,
                entries_sha256,
                checkpoints,
            } => {
                let digest =
                    from_hex(&entries_sha256).ok_or_else(|| self.malformed("manifest digest"))?;
                Record::Manifest(Manifest {
                    entries,
                    entries_sha256: digest,
                    checkpoints,
                })
            }
        };
        Ok(Some(rec))
    }
}

impl<R: BufRead> Iterator for BundleReader<R> {
    type Item = Result<Record, BundleError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(from: u64, to: u64, n: u64) -> Header {
        Header {
            log_id: "log".into(),
            origin: "o".into(),
            from,
            to,
            tree_size: n,
            created_us: 5,
        }
    }

    #[test]
    fn write_read_round_trip() {
        let mut w = BundleWriter::new(Vec::new(), header(0, 2, 2)).unwrap();
        w.key("k+00000000+AQ==").unwrap();
        w.checkpoint("note\n").unwrap();
        assert!(w.key("late").is_err());
        assert!(w.entry(1, b"x").is_err());
        w.entry(0, b"{}").unwrap();
        w.entry(1, b"{\"a\":1}").unwrap();
        let out = w.finish().unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with(
            "{\"type\":\"header\",\"format\":\"kyc-gateway-audit-bundle\",\"version\":1,"
        ));
        let recs: Vec<Record> = BundleReader::new(out.as_slice())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(recs.len(), 6);
        assert!(matches!(&recs[3], Record::Entry { index: 0, bytes } if bytes == b"{}"));
        let Record::Manifest(m) = &recs[5] else {
            panic!("no manifest")
        };
        let mut ctx = Context::new(&SHA256);
        for l in text.lines().filter(|l| l.contains("\"type\":\"entry\"")) {
            ctx.update(l.as_bytes());
            ctx.update(b"\n");
        }
        assert_eq!(m.entries_sha256, finish_digest(&ctx));
        assert_eq!(m.entries, 2);
        assert_eq!(m.checkpoints, 1);
    }

    #[test]
    fn writer_requires_proof_for_partial_range() {
        let mut w = BundleWriter::new(Vec::new(), header(1, 2, 3)).unwrap();
        assert!(w.entry(1, b"x").is_err());
        assert!(w.range_proof(&[[0; 32]]).is_err());
        w.range_proof(&[[0; 32], [1; 32]]).unwrap();
        w.entry(1, b"x").unwrap();
        w.finish().unwrap();
        assert!(BundleWriter::new(Vec::new(), header(2, 1, 3)).is_err());
    }

    #[test]
    fn reader_rejects_bad_lines() {
        let cases: [&[u8]; 7] = [
            b"{\"type\":\"bogus\"}\n",
            b"{\"type\":\"key\",\"vkey\":\"a\",\"extra\":1}\n",
            b"{\"type\":\"entry\",\"index\":0,\"entry\":\"!!\"}\n",
            b"{\"type\":\"key\",\"vkey\":\"a\"}",
            b"not json\n",
            b"{\"type\":\"header\",\"format\":\"other\",\"version\":1,\"log_id\":\"l\",\"origin\":\"o\",\"from\":0,\"to\":0,\"tree_size\":0,\"created_us\":0}\n",
            b"{\"type\":\"manifest\",\"entries\":0,\"entries_sha256\":\"zz\",\"checkpoints\":0}\n",
        ];
        for c in cases {
            let mut r = BundleReader::new(c);
            assert!(r.next_record().is_err(), "{}", String::from_utf8_lossy(c));
        }
        let long = format!("{}\n", "a".repeat(MAX_LINE_BYTES + 10));
        let mut r = BundleReader::new(long.as_bytes());
        assert!(matches!(
            r.next_record(),
            Err(BundleError::LineTooLong { line: 1 })
        ));
        let many: Vec<String> = (0..MAX_RANGE_PROOF_HASHES + 1)
            .map(|_| STANDARD.encode([0u8; 32]))
            .collect();
        let line = format!(
            "{}\n",
            serde_json::json!({"type":"range_proof","hashes":many})
        );
        assert!(BundleReader::new(line.as_bytes()).next_record().is_err());
    }
}
