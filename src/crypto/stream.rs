//! Streaming authenticated encryption for documents at rest: the STREAM
//! construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO
//! 2015, §7) over AES-256-GCM, the same shape as Tink's AES-GCM-HKDF streaming
//! AEAD. A document is encrypted and decrypted in chunks, so neither side ever
//! holds the whole file.
//!
//! Blob layout:
//!
//! ```text
//! header  = FORMAT_V1 (1 byte) ‖ nonce prefix (7 random bytes)
//! chunk i = AES-256-GCM(key, nonce_i, aad = context, plaintext_i) ‖ tag (16 bytes)
//! nonce_i = nonce prefix (7) ‖ i as u32 big-endian (4) ‖ last flag (1: 0x00 or 0x01)
//! ```
//!
//! Every non-final chunk carries exactly [`CHUNK_SIZE`] plaintext bytes; the
//! final chunk carries fewer (possibly none) and is sealed with the last flag
//! set. A full-size chunk is therefore never final, so a stream that ends on a
//! chunk boundary simply ends with an empty final chunk, and the decryptor can
//! tell "more follows" from "this is the end" by length alone. Because the
//! counter and the flag are in the nonce, dropping, reordering, duplicating
//! or truncating chunks fails authentication, and because the caller's context
//! (the document id) is the AAD, a chunk moved from another document fails
//! too, even under the same key.
//!
//! Nonce budget: the 56-bit prefix is random per stream, so two streams under
//! one key collide with probability about n²/2^57 for n streams. Data keys are
//! per applicant (see [`super::envelope`]) and an application holds a handful
//! of documents, far below that bound.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::envelope::{CryptoError, DataKey};

/// Plaintext bytes in every non-final chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Bytes of the GCM authentication tag after each chunk.
pub const TAG_LEN: usize = 16;
/// Bytes of the random nonce prefix in the header.
const PREFIX_LEN: usize = 7;
/// Bytes of the blob header: the format byte and the nonce prefix.
pub const HEADER_LEN: usize = 1 + PREFIX_LEN;
/// Ciphertext bytes of a full (non-final) chunk.
const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;
/// Format byte of the blob header, so the layout can change later.
const FORMAT_V1: u8 = 1;

/// The size of the blob that encrypting `plaintext_len` bytes produces, e.g.
/// for a storage quota check before the upload completes.
pub fn encrypted_len(plaintext_len: u64) -> u64 {
    // One sealed chunk per full CHUNK_SIZE of plaintext, plus the final
    // chunk, which always exists (and is empty on a chunk boundary).
    let chunks = plaintext_len / CHUNK_SIZE as u64 + 1;
    HEADER_LEN as u64 + plaintext_len + chunks * TAG_LEN as u64
}

/// The per-stream state both directions share: the key, the nonce prefix,
/// the AAD and the index of the next chunk.
struct ChunkCipher {
    key: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
    context: Vec<u8>,
    /// Index of the next chunk. A u64 so that "past u32::MAX" is a state, not
    /// an overflow.
    counter: u64,
}

impl ChunkCipher {
    fn new(key: &DataKey, prefix: [u8; PREFIX_LEN], context: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key.expose_bytes())
            .map_err(|_| CryptoError::Key("an AES-256 key has 32 bytes".to_owned()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            prefix,
            context: context.to_vec(),
            counter: 0,
        })
    }

    /// The nonce of the next chunk, advancing the counter. A non-final chunk
    /// needs a counter value left over for the final chunk after it, so the
    /// last usable index is reserved for a final chunk.
    fn next_nonce(&mut self, last: bool) -> Option<Nonce> {
        let index = u32::try_from(self.counter).ok()?;
        if !last && index == u32::MAX {
            return None;
        }
        self.counter += 1;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&index.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Some(Nonce::assume_unique_for_key(nonce))
    }

    /// Appends `ciphertext ‖ tag` of `plaintext` to `out`.
    fn seal(&mut self, plaintext: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let start = out.len();
        out.extend_from_slice(plaintext);
        self.seal_tail(out, start, last)
    }

    /// Seals the plaintext at `out[start..]` in place and appends its tag. On
    /// error the plaintext is cut from `out`, so none of it can be stored.
    fn seal_tail(
        &mut self,
        out: &mut Vec<u8>,
        start: usize,
        last: bool,
    ) -> Result<(), CryptoError> {
        let Some(nonce) = self.next_nonce(last) else {
            out.truncate(start);
            return Err(CryptoError::Key(
                "a document stream holds at most 2^32 chunks per nonce prefix".to_owned(),
            ));
        };
        let Some(body) = out.get_mut(start..) else {
            return Err(CryptoError::Decrypt);
        };
        match self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(&self.context), body)
        {
            Ok(tag) => {
                out.extend_from_slice(tag.as_ref());
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(CryptoError::Key("sealing a chunk failed".to_owned()))
            }
        }
    }

    /// Authenticates and decrypts one sealed chunk, appending the plaintext
    /// to `out` only if it is authentic.
    fn open(&mut self, sealed: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if sealed.len() < TAG_LEN {
            return Err(CryptoError::Decrypt);
        }
        let nonce = self.next_nonce(last).ok_or(CryptoError::Decrypt)?;
        let start = out.len();
        out.extend_from_slice(sealed);
        let opened = match out.get_mut(start..) {
            Some(body) => self
                .key
                .open_in_place(nonce, Aad::from(&self.context), body)
                .map(|plain| plain.len())
                .ok(),
            None => None,
        };
        match opened {
            Some(plain_len) => {
                out.truncate(start + plain_len);
                Ok(())
            }
            None => {
                // ring leaves unspecified bytes behind on failure; none of
                // them may reach the caller.
                out.truncate(start);
                Err(CryptoError::Decrypt)
            }
        }
    }
}

/// Encrypts one document as a stream: feed plaintext with
/// [`update`](Self::update) as it arrives, then call
/// [`finish`](Self::finish). The blob is the [`header`](Self::header)
/// followed by everything those calls append to `out`, in order.
pub struct Encryptor {
    cipher: ChunkCipher,
    /// Plaintext not yet sealed; always shorter than [`CHUNK_SIZE`] between calls.
    pending: Vec<u8>,
    failed: bool,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("chunks_sealed", &self.cipher.counter)
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// Starts a stream under `key` with a fresh random nonce prefix.
    /// `context` (the document id) is authenticated with every chunk, so
    /// the blob only decrypts with the same context.
    pub fn new(key: &DataKey, context: &[u8]) -> Result<Self, CryptoError> {
        let mut prefix = [0u8; PREFIX_LEN];
        SystemRandom::new()
            .fill(&mut prefix)
            .map_err(|_| CryptoError::Random)?;
        Ok(Self {
            cipher: ChunkCipher::new(key, prefix, context)?,
            pending: Vec::with_capacity(CHUNK_SIZE),
            failed: false,
        })
    }

    /// The blob header: the format byte and this stream's nonce prefix. It
    /// goes first in the blob, before the chunks.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut header = [FORMAT_V1; HEADER_LEN];
        header[1..].copy_from_slice(&self.cipher.prefix);
        header
    }

    /// Appends [`header`](Self::header) to `out`; call it once, before the
    /// first [`update`](Self::update).
    pub fn write_header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header());
    }

    /// Encrypts `plaintext`, appending every chunk it completes to `out`.
    /// Bytes short of a full chunk are kept until the next call or
    /// [`finish`](Self::finish). A chunk is assembled in `out` and sealed
    /// there in place, so a caller feeding large pieces has each byte copied
    /// once.
    pub fn update(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.failed {
            return Err(CryptoError::Key("the stream already failed".to_owned()));
        }
        let sealed_up_to = out.len();
        let result = self.seal_full_chunks(plaintext, out);
        if result.is_err() {
            // A chunk copied into `out` but not sealed must not reach storage.
            out.truncate(sealed_up_to);
            self.failed = true;
        }
        result
    }

    fn seal_full_chunks(
        &mut self,
        mut plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        let chunks = (self.pending.len() + plaintext.len()) / CHUNK_SIZE;
        if chunks > 0 {
            out.reserve(chunks * (CHUNK_SIZE + TAG_LEN));
            // The pending bytes (less than a chunk) open the first chunk.
            let mut start = out.len();
            out.extend_from_slice(&self.pending);
            self.pending.clear();
            for _ in 0..chunks {
                let take = CHUNK_SIZE - (out.len() - start);
                let (head, rest) = plaintext
                    .split_at_checked(take)
                    .ok_or_else(|| CryptoError::Key("chunk arithmetic".to_owned()))?;
                out.extend_from_slice(head);
                plaintext = rest;
                self.cipher.seal_tail(out, start, false)?;
                start = out.len();
            }
        }
        // Short of a full chunk: waits aside until the next call or `finish`.
        self.pending.extend_from_slice(plaintext);
        Ok(())
    }

    /// Seals the final chunk (the remaining bytes, possibly none) with the
    /// last flag set and appends it to `out`. Without it the blob does not
    /// decrypt.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.failed {
            return Err(CryptoError::Key("the stream already failed".to_owned()));
        }
        self.cipher.seal(&self.pending, true, out)
    }
}

/// Decrypts a blob written by [`Encryptor`] as it streams in: feed ciphertext
/// with [`update`](Self::update), then call [`finish`](Self::finish).
///
/// Each chunk's plaintext is appended to `out` only after that chunk has
/// been authenticated, but the stream as a whole is only known to be complete
/// and untruncated once `finish` returns `Ok`: a caller streaming plaintext to
/// a client must abort the response if `finish` (or any `update`) fails.
/// After the first error every later call fails too.
pub struct Decryptor {
    /// Its nonce prefix is set from the header once that has arrived.
    cipher: ChunkCipher,
    /// Header bytes collected so far (the header may arrive split).
    header: Vec<u8>,
    header_done: bool,
    /// Ciphertext of the chunk being collected; never more than one full chunk.
    pending: Vec<u8>,
    failed: bool,
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryptor")
            .field("chunks_opened", &self.cipher.counter)
            .finish_non_exhaustive()
    }
}

impl Decryptor {
    /// Prepares to decrypt a blob sealed under `key` with `context`.
    pub fn new(key: &DataKey, context: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self {
            cipher: ChunkCipher::new(key, [0; PREFIX_LEN], context)?,
            header: Vec::with_capacity(HEADER_LEN),
            header_done: false,
            pending: Vec::with_capacity(SEALED_CHUNK_SIZE),
            failed: false,
        })
    }

    /// Consumes `ciphertext`, appending the plaintext of every full chunk it
    /// completes (each authenticated first) to `out`. On error `out` holds
    /// nothing from the failing chunk.
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.failed {
            return Err(CryptoError::Decrypt);
        }
        let result = self.consume(ciphertext, out);
        self.failed = result.is_err();
        result
    }

    fn consume(&mut self, mut ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if !self.header_done {
            let take = (HEADER_LEN - self.header.len()).min(ciphertext.len());
            let (head, rest) = ciphertext.split_at(take);
            self.header.extend_from_slice(head);
            ciphertext = rest;
            if self.header.len() < HEADER_LEN {
                return Ok(());
            }
            self.cipher.prefix = prefix_from_header(&self.header)?;
            self.header_done = true;
        }
        let cipher = &mut self.cipher;
        while !ciphertext.is_empty() {
            let take = (SEALED_CHUNK_SIZE - self.pending.len()).min(ciphertext.len());
            let (head, rest) = ciphertext.split_at(take);
            ciphertext = rest;
            if self.pending.is_empty() && head.len() == SEALED_CHUNK_SIZE {
                cipher.open(head, false, out)?;
                continue;
            }
            self.pending.extend_from_slice(head);
            // A full-size chunk is never the final one (the final chunk
            // holds less than CHUNK_SIZE plaintext), so it opens right away.
            if self.pending.len() == SEALED_CHUNK_SIZE {
                cipher.open(&self.pending, false, out)?;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Opens the final chunk (what remains, which must carry the last flag)
    /// and appends its plaintext to `out`. Fails if the stream was truncated,
    /// reordered, extended or altered anywhere.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.failed || !self.header_done {
            return Err(CryptoError::Decrypt);
        }
        let mut cipher = self.cipher;
        cipher.open(&self.pending, true, out)
    }
}

/// The nonce prefix of a complete header, if its format is known.
fn prefix_from_header(header: &[u8]) -> Result<[u8; PREFIX_LEN], CryptoError> {
    let (format, prefix) = header.split_first().ok_or(CryptoError::Decrypt)?;
    if *format != FORMAT_V1 {
        return Err(CryptoError::Decrypt);
    }
    prefix.try_into().map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &[u8] = b"document:0190f1c2-7a4e-7c1b-9d3e-1f2a3b4c5d6e";

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn encrypt_in_pieces(key: &DataKey, context: &[u8], plain: &[u8], piece: usize) -> Vec<u8> {
        let mut enc = Encryptor::new(key, context).unwrap();
        let mut out = enc.header().to_vec();
        for part in plain.chunks(piece.max(1)) {
            enc.update(part, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        out
    }

    fn decrypt_in_pieces(
        key: &DataKey,
        context: &[u8],
        blob: &[u8],
        piece: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut dec = Decryptor::new(key, context)?;
        let mut out = Vec::new();
        for part in blob.chunks(piece.max(1)) {
            dec.update(part, &mut out)?;
        }
        dec.finish(&mut out)?;
        Ok(out)
    }

    fn decrypt(key: &DataKey, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        decrypt_in_pieces(key, DOC, blob, blob.len())
    }

    /// Byte range of sealed chunk `i` in a blob.
    fn chunk_range(i: usize) -> std::ops::Range<usize> {
        let start = HEADER_LEN + i * SEALED_CHUNK_SIZE;
        start..start + SEALED_CHUNK_SIZE
    }

    #[test]
    fn round_trips_at_chunk_boundaries_in_awkward_pieces() {
        let key = DataKey::generate().unwrap();
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
        ] {
            let plain = plaintext(len);
            for piece in [7777, CHUNK_SIZE, len.max(1)] {
                let blob = encrypt_in_pieces(&key, DOC, &plain, piece);
                assert_eq!(blob.len() as u64, encrypted_len(len as u64), "len {len}");
                for read_piece in [7777, SEALED_CHUNK_SIZE, blob.len()] {
                    assert_eq!(
                        decrypt_in_pieces(&key, DOC, &blob, read_piece).unwrap(),
                        plain,
                        "len {len}, written in {piece}, read in {read_piece}"
                    );
                }
            }
        }
    }

    #[test]
    fn round_trips_one_byte_at_a_time() {
        let key = DataKey::generate().unwrap();
        for len in [0, 1, 300] {
            let plain = plaintext(len);
            let blob = encrypt_in_pieces(&key, DOC, &plain, 1);
            assert_eq!(decrypt_in_pieces(&key, DOC, &blob, 1).unwrap(), plain);
        }
    }

    #[test]
    fn a_stream_ending_on_a_chunk_boundary_ends_with_an_empty_final_chunk() {
        let key = DataKey::generate().unwrap();
        let blob = encrypt_in_pieces(&key, DOC, &plaintext(2 * CHUNK_SIZE), 7777);
        assert_eq!(blob.len(), HEADER_LEN + 2 * SEALED_CHUNK_SIZE + TAG_LEN);
    }

    #[test]
    fn the_same_document_encrypts_differently_each_time() {
        let key = DataKey::generate().unwrap();
        let plain = plaintext(1000);
        assert_ne!(
            encrypt_in_pieces(&key, DOC, &plain, 1000),
            encrypt_in_pieces(&key, DOC, &plain, 1000)
        );
    }

    #[test]
    fn ciphertext_shows_no_file_signatures() {
        let key = DataKey::generate().unwrap();
        let mut pdf =
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
        pdf.extend(plaintext(CHUNK_SIZE + 10));
        let mut jpeg = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
        ];
        jpeg.extend(plaintext(500));
        for (plain, magic) in [(&pdf, &b"%PDF"[..]), (&jpeg, &[0xFF, 0xD8, 0xFF][..])] {
            let blob = encrypt_in_pieces(&key, DOC, plain, 4096);
            assert!(!blob.starts_with(magic));
            assert!(!blob[HEADER_LEN..].starts_with(magic));
            assert!(!blob.windows(magic.len()).any(|w| w == magic));
        }
    }

    #[test]
    fn wrong_key_or_context_fails() {
        let key = DataKey::generate().unwrap();
        let blob = encrypt_in_pieces(&key, DOC, &plaintext(CHUNK_SIZE + 5), 7777);
        let other = DataKey::generate().unwrap();
        assert_eq!(decrypt(&other, &blob), Err(CryptoError::Decrypt));
        assert_eq!(
            decrypt_in_pieces(&key, b"document:other", &blob, 7777),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn truncation_fails() {
        let key = DataKey::generate().unwrap();
        // Three full chunks and an empty final chunk.
        let blob = encrypt_in_pieces(&key, DOC, &plaintext(3 * CHUNK_SIZE), 7777);
        // Missing final chunk: the stream ends right after a non-final chunk.
        let without_final = &blob[..blob.len() - TAG_LEN];
        assert_eq!(decrypt(&key, without_final), Err(CryptoError::Decrypt));
        // Ends after the first chunk.
        assert_eq!(
            decrypt(&key, &blob[..chunk_range(0).end]),
            Err(CryptoError::Decrypt)
        );
        // Ends in the middle of a chunk, of the final chunk, of the header.
        for cut in [
            chunk_range(1).start + 100,
            blob.len() - 1,
            HEADER_LEN - 1,
            0,
        ] {
            assert_eq!(
                decrypt(&key, &blob[..cut]),
                Err(CryptoError::Decrypt),
                "cut {cut}"
            );
        }
        // A final chunk that carries data, dropped.
        let blob = encrypt_in_pieces(&key, DOC, &plaintext(CHUNK_SIZE + 10), 7777);
        assert_eq!(
            decrypt(&key, &blob[..chunk_range(0).end]),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn reordered_or_duplicated_chunks_fail() {
        let key = DataKey::generate().unwrap();
        let blob = encrypt_in_pieces(&key, DOC, &plaintext(3 * CHUNK_SIZE + 9), 7777);
        let mut swapped = blob.clone();
        swapped[chunk_range(0)].copy_from_slice(&blob[chunk_range(1)]);
        swapped[chunk_range(1)].copy_from_slice(&blob[chunk_range(0)]);
        assert_eq!(decrypt(&key, &swapped), Err(CryptoError::Decrypt));

        let mut moved = blob[..HEADER_LEN].to_vec();
        moved.extend_from_slice(&blob[chunk_range(1)]);
        moved.extend_from_slice(&blob[chunk_range(0)]);
        moved.extend_from_slice(&blob[chunk_range(2).start..]);
        assert_eq!(decrypt(&key, &moved), Err(CryptoError::Decrypt));

        let mut duplicated = blob[..chunk_range(1).end].to_vec();
        duplicated.extend_from_slice(&blob[chunk_range(1)]);
        duplicated.extend_from_slice(&blob[chunk_range(2).start..]);
        assert_eq!(decrypt(&key, &duplicated), Err(CryptoError::Decrypt));
    }

    #[test]
    fn a_chunk_from_another_document_fails_under_the_same_key() {
        let key = DataKey::generate().unwrap();
        let plain = plaintext(2 * CHUNK_SIZE + 3);
        let ours = encrypt_in_pieces(&key, DOC, &plain, 7777);
        let theirs = encrypt_in_pieces(&key, b"document:other", &plain, 7777);
        let mut spliced = ours.clone();
        spliced[chunk_range(1)].copy_from_slice(&theirs[chunk_range(1)]);
        assert_eq!(decrypt(&key, &spliced), Err(CryptoError::Decrypt));
        // Even with their header (nonce prefix) too, the context differs.
        let mut with_header = theirs[..HEADER_LEN].to_vec();
        with_header.extend_from_slice(&theirs[HEADER_LEN..]);
        assert_eq!(decrypt(&key, &with_header), Err(CryptoError::Decrypt));
    }

    #[test]
    fn a_flipped_byte_anywhere_fails() {
        let key = DataKey::generate().unwrap();
        let small = encrypt_in_pieces(&key, DOC, &plaintext(100), 100);
        for i in 0..small.len() {
            let mut altered = small.clone();
            altered[i] ^= 0x01;
            assert_eq!(
                decrypt(&key, &altered),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
        }
        let big = encrypt_in_pieces(&key, DOC, &plaintext(2 * CHUNK_SIZE + 50), 7777);
        for i in [
            0,
            3,
            HEADER_LEN,
            chunk_range(0).end - 1,
            chunk_range(1).start,
            chunk_range(1).start + 4000,
            chunk_range(1).end - TAG_LEN,
            big.len() - TAG_LEN - 1,
            big.len() - 1,
        ] {
            let mut altered = big.clone();
            altered[i] ^= 0x80;
            assert_eq!(
                decrypt(&key, &altered),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
        }
    }

    #[test]
    fn extra_bytes_after_the_final_chunk_fail() {
        let key = DataKey::generate().unwrap();
        for len in [0, 10, CHUNK_SIZE] {
            let blob = encrypt_in_pieces(&key, DOC, &plaintext(len), 7777);
            for extra in [1, TAG_LEN, SEALED_CHUNK_SIZE] {
                let mut extended = blob.clone();
                extended.extend(std::iter::repeat_n(0u8, extra));
                assert_eq!(decrypt(&key, &extended), Err(CryptoError::Decrypt));
            }
            // A second copy of the final chunk appended.
            let mut twice = blob.clone();
            twice.extend_from_slice(&blob[blob.len() - TAG_LEN..]);
            assert_eq!(decrypt(&key, &twice), Err(CryptoError::Decrypt));
        }
    }

    #[test]
    fn a_wrong_format_byte_fails_at_once() {
        let key = DataKey::generate().unwrap();
        let mut blob = encrypt_in_pieces(&key, DOC, &plaintext(10), 10);
        blob[0] = 2;
        let mut dec = Decryptor::new(&key, DOC).unwrap();
        let mut out = Vec::new();
        assert_eq!(dec.update(&blob, &mut out), Err(CryptoError::Decrypt));
        assert_eq!(decrypt(&key, &[]), Err(CryptoError::Decrypt));
    }

    #[test]
    fn no_unauthenticated_plaintext_is_released_and_errors_stick() {
        let key = DataKey::generate().unwrap();
        let plain = plaintext(3 * CHUNK_SIZE);
        let mut blob = encrypt_in_pieces(&key, DOC, &plain, 7777);
        blob[chunk_range(1).start + 10] ^= 1;
        let mut dec = Decryptor::new(&key, DOC).unwrap();
        let mut out = Vec::new();
        assert_eq!(dec.update(&blob, &mut out), Err(CryptoError::Decrypt));
        // Only the authentic first chunk came out.
        assert_eq!(out, plain[..CHUNK_SIZE]);
        assert_eq!(dec.update(b"", &mut out), Err(CryptoError::Decrypt));
        assert_eq!(dec.finish(&mut out), Err(CryptoError::Decrypt));
        assert_eq!(out.len(), CHUNK_SIZE);
    }

    #[test]
    fn the_chunk_counter_cannot_wrap() {
        let key = DataKey::generate().unwrap();
        let chunk = plaintext(CHUNK_SIZE);
        // The last index is reserved for the final chunk.
        let mut enc = Encryptor::new(&key, DOC).unwrap();
        enc.cipher.counter = u64::from(u32::MAX) - 1;
        let mut out = Vec::new();
        enc.update(&chunk, &mut out).unwrap();
        let sealed = out.clone();
        // Half a chunk pending, then one and a half: the chunk it would
        // complete cannot be sealed, and none of its plaintext stays in `out`.
        enc.update(&chunk[..CHUNK_SIZE / 2], &mut out).unwrap();
        assert!(matches!(
            enc.update(&plaintext(CHUNK_SIZE + CHUNK_SIZE / 2), &mut out),
            Err(CryptoError::Key(_))
        ));
        assert_eq!(out, sealed);

        let mut enc = Encryptor::new(&key, DOC).unwrap();
        enc.cipher.counter = u64::from(u32::MAX) - 1;
        let mut blob = enc.header().to_vec();
        enc.update(&chunk, &mut blob).unwrap();
        enc.finish(&mut blob).unwrap();
        let mut dec = Decryptor::new(&key, DOC).unwrap();
        let mut plain = Vec::new();
        dec.update(&blob[..HEADER_LEN], &mut plain).unwrap();
        dec.cipher.counter = u64::from(u32::MAX) - 1;
        dec.update(&blob[HEADER_LEN..], &mut plain).unwrap();
        dec.finish(&mut plain).unwrap();
        assert_eq!(plain, chunk);

        // A decryptor past the last index refuses a further non-final chunk.
        let mut dec = Decryptor::new(&key, DOC).unwrap();
        dec.update(&blob[..HEADER_LEN], &mut plain).unwrap();
        dec.cipher.counter = u64::from(u32::MAX);
        assert_eq!(
            dec.update(&blob[chunk_range(0)], &mut plain),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = DataKey::generate().unwrap();
        let enc = Encryptor::new(&key, DOC).unwrap();
        let dec = Decryptor::new(&key, DOC).unwrap();
        let shown = format!("{enc:?} {dec:?}");
        assert!(shown.contains("Encryptor") && shown.contains("Decryptor"));
        assert!(!shown.contains(&format!("{:?}", key.expose_bytes())));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn round_trip_with_random_piece_splits(
            len in 0usize..(2 * CHUNK_SIZE + 100),
            write_cuts in proptest::collection::vec(1usize..20_000, 1..12),
            read_cuts in proptest::collection::vec(1usize..20_000, 1..12),
        ) {
            let key = DataKey::generate().unwrap();
            let plain = plaintext(len);
            let mut enc = Encryptor::new(&key, DOC).unwrap();
            let mut blob = Vec::new();
            enc.write_header(&mut blob);
            let mut rest = &plain[..];
            for cut in write_cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (part, tail) = rest.split_at((*cut).min(rest.len()));
                enc.update(part, &mut blob).unwrap();
                rest = tail;
            }
            enc.finish(&mut blob).unwrap();
            prop_assert_eq!(blob.len() as u64, encrypted_len(len as u64));

            let mut dec = Decryptor::new(&key, DOC).unwrap();
            let mut out = Vec::new();
            let mut rest = &blob[..];
            for cut in read_cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (part, tail) = rest.split_at((*cut).min(rest.len()));
                dec.update(part, &mut out).unwrap();
                rest = tail;
            }
            dec.finish(&mut out).unwrap();
            prop_assert_eq!(out, plain);
        }
    }
}
