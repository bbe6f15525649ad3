//! Owns the RFC 6962 / RFC 9162 Merkle tree: hashing, roots, the incremental compact tree,
//! inclusion, consistency and compact-range proofs.
//!
//! Everything here is total: hostile sizes, indices and proofs produce a [`ProofError`],
//! never a panic or an unbounded loop (every loop is bounded by the 64 bits of a size).

use ring::digest::{Context, SHA256};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Errors from building or checking Merkle proofs and compact-tree state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A leaf index is not below the tree size.
    #[error("index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The offending index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// Two sizes (or a range) are not ordered as required.
    #[error("invalid sizes: {0}")]
    InvalidSizes(&'static str),
    /// The proof has the wrong number of hashes.
    #[error("proof has the wrong length")]
    WrongLength,
    /// The recomputed root does not match the expected root.
    #[error("recomputed root does not match")]
    RootMismatch,
    /// Serialized compact-tree state is malformed.
    #[error("malformed compact tree state")]
    MalformedState,
    /// The tree cannot grow further (its size would overflow `u64`).
    #[error("tree is full")]
    TreeFull,
}

fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1: MTH({}) = SHA-256()).
pub fn empty_root() -> Hash {
    sha256_parts(&[])
}

/// The leaf hash of an entry: SHA-256(0x00 || entry) (RFC 6962 §2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], entry])
}

/// The interior node hash: SHA-256(0x01 || left || right) (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[0x01], left, right])
}

/// The largest power of two strictly below `n` (RFC 6962 §2.1 "k"); requires `n >= 2`.
fn split_point(n: u64) -> u64 {
    // n >= 2 so n - 1 >= 1 and the shift is at most 63.
    let bits = 63u32.saturating_sub(n.saturating_sub(1).leading_zeros());
    1u64 << bits
}

fn split_slice(leaves: &[Hash], k: u64) -> (&[Hash], &[Hash]) {
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    leaves
        .split_at_checked(k)
        .unwrap_or((leaves, &[] as &[Hash]))
}

/// The Merkle Tree Hash of a list of leaf hashes (RFC 6962 §2.1 MTH; empty tree = SHA-256 of "").
///
/// Runs in O(n) time and O(log n) memory via [`CompactTree`].
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    let mut t = CompactTree::new();
    for h in leaf_hashes {
        // A slice cannot hold 2^64 hashes, so the tree can never be full here.
        if t.append(*h).is_err() {
            break;
        }
    }
    t.root()
}

/// An incremental Merkle tree that keeps only its right edge (the "frontier"): one perfect
/// subtree hash per set bit of `size`, largest (leftmost) first, so at most 64 hashes.
///
/// This is the state a sequencer persists to resume appending after a crash; its root equals
/// RFC 6962 §2.1 MTH of all leaves appended so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactTree {
    size: u64,
    frontier: Vec<Hash>,
}

/// Version byte at the start of [`CompactTree::to_bytes`] output.
const COMPACT_STATE_VERSION: u8 = 1;

impl CompactTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the tree over `leaf_hashes` in order.
    pub fn from_leaves(leaf_hashes: &[Hash]) -> Self {
        let mut t = Self::new();
        for h in leaf_hashes {
            if t.append(*h).is_err() {
                break;
            }
        }
        t
    }

    /// Rebuilds a tree from its size and frontier (perfect subtree hashes for each set bit of
    /// `size`, highest bit first), e.g. the left part of a compact-range proof.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self, ProofError> {
        if u64::from(size.count_ones()) != frontier.len() as u64 {
            return Err(ProofError::WrongLength);
        }
        Ok(Self { size, frontier })
    }

    /// The number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, highest subtree first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Appends one leaf hash.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<(), ProofError> {
        self.append_subtree(0, leaf_hash)
    }

    /// Appends the hash of a perfect subtree of `2^level` leaves. The current size must be a
    /// multiple of `2^level`, so the subtree sits on an aligned boundary as in RFC 6962 §2.1.
    pub fn append_subtree(&mut self, level: u32, hash: Hash) -> Result<(), ProofError> {
        let width = 1u64
            .checked_shl(level)
            .filter(|_| level < 64)
            .ok_or(ProofError::InvalidSizes("subtree level too large"))?;
        if !self.size.is_multiple_of(width) {
            return Err(ProofError::InvalidSizes("subtree not aligned"));
        }
        let new_size = self.size.checked_add(width).ok_or(ProofError::TreeFull)?;
        let mut h = hash;
        let mut lvl = level;
        // Carry propagation: each set bit at `lvl` is a sibling perfect subtree to merge with.
        while lvl < 64 && (self.size >> lvl) & 1 == 1 {
            let left = self.frontier.pop().ok_or(ProofError::MalformedState)?;
            h = node_hash(&left, &h);
            lvl += 1;
        }
        self.frontier.push(h);
        self.size = new_size;
        Ok(())
    }

    /// The current root (RFC 6962 §2.1 MTH), folding the frontier right to left.
    pub fn root(&self) -> Hash {
        let mut iter = self.frontier.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        let mut acc = *last;
        for left in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }

    /// Serializes the state: version byte 0x01, size as 8 bytes big-endian, then the frontier.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + 32 * self.frontier.len());
        out.push(COMPACT_STATE_VERSION);
        out.extend_from_slice(&self.size.to_be_bytes());
        for h in &self.frontier {
            out.extend_from_slice(h);
        }
        out
    }

    /// Parses [`CompactTree::to_bytes`] output, checking the length matches the size exactly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let (head, rest) = bytes
            .split_at_checked(9)
            .ok_or(ProofError::MalformedState)?;
        let (version, size_bytes) = head.split_first().ok_or(ProofError::MalformedState)?;
        if *version != COMPACT_STATE_VERSION {
            return Err(ProofError::MalformedState);
        }
        let size_arr: [u8; 8] = size_bytes
            .try_into()
            .map_err(|_| ProofError::MalformedState)?;
        let size = u64::from_be_bytes(size_arr);
        let count = size.count_ones() as usize;
        if rest.len() != count * 32 {
            return Err(ProofError::MalformedState);
        }
        let frontier = rest
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { size, frontier })
    }
}

/// Builds the inclusion proof (audit path) for leaf `index` (RFC 6962 §2.1.1, RFC 9162 §2.1.3.1).
pub fn inclusion_proof(leaf_hashes: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaf_hashes.len() as u64;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(index, leaf_hashes, &mut proof);
    Ok(proof)
}

// RFC 9162 §2.1.3.1 PATH(m, D[n]); hashes are appended leaf-side first.
fn path(m: u64, leaves: &[Hash], out: &mut Vec<Hash>) {
    let n = leaves.len() as u64;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    let (left, right) = split_slice(leaves, k);
    if m < k {
        path(m, left, out);
        out.push(root(right));
    } else {
        path(m - k, right, out);
        out.push(root(left));
    }
}

/// Verifies an inclusion proof for `leaf_hash` at `index` in a tree of `size` with `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            // Skip levels where this node has no right sibling (RFC 9162 §2.1.3.2 step 5.b).
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Builds the consistency proof between the first `old_size` and `new_size` leaves
/// (RFC 6962 §2.1.2, RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof(
    leaf_hashes: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidSizes("old size exceeds new size"));
    }
    if new_size > leaf_hashes.len() as u64 {
        return Err(ProofError::InvalidSizes(
            "new size exceeds available leaves",
        ));
    }
    let mut out = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(out);
    }
    let (tree, _) = split_slice(leaf_hashes, new_size);
    subproof(old_size, tree, true, &mut out);
    Ok(out)
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b); hashes appended deepest first.
fn subproof(m: u64, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len() as u64;
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    let (left, right) = split_slice(leaves, k);
    if m <= k {
        subproof(m, left, complete, out);
        out.push(root(right));
    } else {
        subproof(m - k, right, false, out);
        out.push(root(left));
    }
}

/// Verifies that the tree of `old_size` with `old_root` is a prefix of the tree of `new_size`
/// with `new_root` (RFC 9162 §2.1.4.2). A size-0 old tree must have the empty root and an
/// empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidSizes("old size exceeds new size"));
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if *old_root == empty_root() {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // RFC 9162 §2.1.4.2 step 1: a non-trivial proof is never empty.
    let (first, rest) = proof.split_first().ok_or(ProofError::WrongLength)?;
    // Step 2: for a power-of-two old size the old root itself is the first node.
    let (seed, path): (&Hash, &[Hash]) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    // Step 4: skip the levels where the old tree's last node is a right child.
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *seed;
    let mut sr = *seed;
    for c in path {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// One perfect subtree of a compact range: `2^level` leaves starting at leaf `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subtree {
    /// Height of the subtree (0 = a single leaf).
    pub level: u32,
    /// Position of the subtree among subtrees of the same level.
    pub index: u64,
}

/// The perfect subtrees making up the left frontier of `[0, a)`, largest first.
pub fn left_frontier_subtrees(a: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if (a >> level) & 1 == 1 {
            out.push(Subtree {
                level,
                index: start >> level,
            });
            start |= 1u64 << level;
        }
    }
    out
}

/// The aligned perfect subtrees covering `[b, n)` from left to right (sizes rise, then fall).
pub fn right_cover_subtrees(b: u64, n: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut pos = b;
    // Each step consumes at least one leaf and at most 128 steps occur (rise then fall).
    while pos < n {
        let remaining = n - pos;
        let max_fit = 63 - remaining.leading_zeros();
        let level = pos.trailing_zeros().min(max_fit);
        out.push(Subtree {
            level,
            index: pos >> level,
        });
        pos += 1u64 << level;
    }
    out
}

/// Builds the compact-range proof that lets a holder of leaves `[a, b)` recompute the root of
/// the tree of size `n`: the left frontier of `[0, a)` (see [`left_frontier_subtrees`]) followed
/// by the subtrees covering `[b, n)` (see [`right_cover_subtrees`]).
///
/// `subtree(level, index)` must return the hash of the perfect subtree over leaves
/// `[index << level, (index + 1) << level)`; a database can answer it from stored interior
/// nodes, so the caller never needs all leaves in memory. At most 64 + 128 calls are made.
pub fn range_proof<E, F>(a: u64, b: u64, n: u64, mut subtree: F) -> Result<Vec<Hash>, E>
where
    E: From<ProofError>,
    F: FnMut(u32, u64) -> Result<Hash, E>,
{
    if a > b || b > n {
        return Err(ProofError::InvalidSizes("need a <= b <= n").into());
    }
    let mut out = Vec::new();
    for s in left_frontier_subtrees(a)
        .into_iter()
        .chain(right_cover_subtrees(b, n))
    {
        out.push(subtree(s.level, s.index)?);
    }
    Ok(out)
}

/// [`range_proof`] over an in-memory slice holding all `n` leaf hashes.
pub fn range_proof_from_leaves(
    leaf_hashes: &[Hash],
    a: u64,
    b: u64,
) -> Result<Vec<Hash>, ProofError> {
    let n = leaf_hashes.len() as u64;
    range_proof(a, b, n, |level, index| {
        let start = usize::try_from(index << level).map_err(|_| ProofError::WrongLength)?;
        let len = 1usize
            .checked_shl(level)
            .ok_or(ProofError::InvalidSizes("level"))?;
        let end = start.checked_add(len).ok_or(ProofError::WrongLength)?;
        let slice = leaf_hashes
            .get(start..end)
            .ok_or(ProofError::InvalidSizes("subtree beyond leaves"))?;
        Ok(root(slice))
    })
}

/// The number of hashes a valid range proof for `[a, b)` in a tree of `n` has.
pub fn range_proof_len(a: u64, b: u64, n: u64) -> usize {
    a.count_ones() as usize + right_cover_subtrees(b, n).len()
}

/// Splits a range proof into the left frontier tree at size `a` and the right-cover hashes.
pub fn range_proof_split(
    a: u64,
    b: u64,
    n: u64,
    proof: &[Hash],
) -> Result<(CompactTree, Vec<Hash>), ProofError> {
    if a > b || b > n {
        return Err(ProofError::InvalidSizes("need a <= b <= n"));
    }
    if proof.len() != range_proof_len(a, b, n) {
        return Err(ProofError::WrongLength);
    }
    let (left, right) = proof
        .split_at_checked(a.count_ones() as usize)
        .ok_or(ProofError::WrongLength)?;
    Ok((
        CompactTree::from_frontier(a, left.to_vec())?,
        right.to_vec(),
    ))
}

/// Completes a tree holding leaves `[0, b)` with the right-cover hashes of `[b, n)` and returns
/// the root of size `n`.
pub fn complete_root(tree: &CompactTree, n: u64, right: &[Hash]) -> Result<Hash, ProofError> {
    let cover = right_cover_subtrees(tree.size(), n);
    if cover.len() != right.len() || tree.size() > n {
        return Err(ProofError::WrongLength);
    }
    let mut t = tree.clone();
    for (s, h) in cover.iter().zip(right) {
        t.append_subtree(s.level, *h)?;
    }
    Ok(t.root())
}

/// Verifies that leaves `[a, b)` together with a range proof yield `root` for size `n`.
pub fn verify_range(
    leaf_hashes: &[Hash],
    a: u64,
    n: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let b = a
        .checked_add(leaf_hashes.len() as u64)
        .ok_or(ProofError::InvalidSizes("range overflows"))?;
    let (mut tree, right) = range_proof_split(a, b, n, proof)?;
    for h in leaf_hashes {
        tree.append(*h)?;
    }
    if &complete_root(&tree, n, &right)? != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Literal RFC 6962 §2.1 definitions, recursive, used as the reference.
    fn naive_root(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&naive_root(&d[..k]), &naive_root(&d[k..]))
            }
        }
    }

    fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(naive_root(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(naive_root(&d[..k]));
            p
        }
    }

    fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![naive_root(d)] };
        }
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(naive_root(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(naive_root(&d[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn known_vectors_rfc6962() {
        // Leaves and roots from the certificate-transparency reference test data.
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let lh: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        for (i, want) in roots.iter().enumerate() {
            assert_eq!(hex(&root(&lh[..=i])), *want, "size {}", i + 1);
        }
        assert_eq!(
            hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hostile_inputs() {
        let l = leaves(5);
        let r = root(&l);
        assert!(inclusion_proof(&l, 5).is_err());
        assert!(inclusion_proof(&[], 0).is_err());
        assert!(verify_inclusion(&l[0], 0, 0, &[], &r).is_err());
        assert!(verify_inclusion(&l[0], 5, 5, &[], &r).is_err());
        assert!(verify_inclusion(&l[0], u64::MAX, u64::MAX, &[r; 100], &r).is_err());
        assert!(verify_inclusion(&l[0], 0, u64::MAX, &[r; 64], &r).is_err());
        let p = inclusion_proof(&l, 2).unwrap();
        let mut long = p.clone();
        long.push(r);
        assert!(verify_inclusion(&l[2], 2, 5, &long, &r).is_err());
        assert!(verify_inclusion(&l[2], 2, 5, &p[..p.len() - 1], &r).is_err());
        assert!(verify_consistency(3, 2, &r, &r, &[]).is_err());
        assert!(verify_consistency(3, 5, &r, &r, &[]).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &r, &r, &[r; 200]).is_err());
        assert!(consistency_proof(&l, 3, 6).is_err());
        assert!(CompactTree::from_bytes(&[]).is_err());
        assert!(CompactTree::from_bytes(&[1, 0, 0, 0, 0, 0, 0, 0, 1]).is_err());
        assert!(range_proof_from_leaves(&l, 3, 2).is_err());
        assert!(range_proof_split(1, 2, 5, &[]).is_err());
    }

    #[test]
    fn compact_tree_persist_and_resume() {
        let l = leaves(37);
        let mut t = CompactTree::from_leaves(&l[..20]);
        let bytes = t.to_bytes();
        let mut resumed = CompactTree::from_bytes(&bytes).unwrap();
        assert_eq!(resumed, t);
        for h in &l[20..] {
            resumed.append(*h).unwrap();
            t.append(*h).unwrap();
        }
        assert_eq!(resumed.root(), naive_root(&l));
        assert_eq!(resumed.size(), 37);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn root_matches_reference(n in 0usize..130) {
            let l = leaves(n);
            prop_assert_eq!(root(&l), naive_root(&l));
            let t = CompactTree::from_leaves(&l);
            prop_assert_eq!(CompactTree::from_bytes(&t.to_bytes()).unwrap().root(), naive_root(&l));
        }

        #[test]
        fn inclusion_round_trip(n in 1usize..100, i in 0usize..100, flip in 0usize..256*8) {
            let i = i % n;
            let l = leaves(n);
            let r = naive_root(&l);
            let p = inclusion_proof(&l, i as u64).unwrap();
            prop_assert_eq!(&p, &naive_path(i, &l));
            prop_assert!(verify_inclusion(&l[i], i as u64, n as u64, &p, &r).is_ok());
            if !p.is_empty() {
                let mut bad = p.clone();
                let which = (flip / 256) % bad.len();
                bad[which][(flip / 8) % 32] ^= 1 << (flip % 8);
                prop_assert!(verify_inclusion(&l[i], i as u64, n as u64, &bad, &r).is_err());
            }
            // Wrong index or size must fail too.
            if n > 1 {
                let j = (i + 1) % n;
                prop_assert!(verify_inclusion(&l[i], j as u64, n as u64, &p, &r).is_err());
            }
        }

        #[test]
        fn consistency_round_trip(n in 1usize..100, m in 0usize..100, flip in 0usize..256*8) {
            let m = m % (n + 1);
            let l = leaves(n);
            let p = consistency_proof(&l, m as u64, n as u64).unwrap();
            if m > 0 && m < n {
                prop_assert_eq!(&p, &naive_subproof(m, &l, true));
            }
            let old = naive_root(&l[..m]);
            let new = naive_root(&l);
            prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &p).is_ok());
            if !p.is_empty() {
                let mut bad = p.clone();
                let which = (flip / 256) % bad.len();
                bad[which][(flip / 8) % 32] ^= 1 << (flip % 8);
                prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &bad).is_err());
            }
            if m > 0 && m < n {
                let other = naive_root(&l[..m - 1]);
                prop_assert!(verify_consistency(m as u64, n as u64, &other, &new, &p).is_err());
            }
        }

        #[test]
        fn range_round_trip(n in 0usize..100, a in 0usize..100, b in 0usize..100, flip in 0usize..256*8) {
            let b = b % (n + 1);
            let a = a % (b + 1);
            let l = leaves(n);
            let r = naive_root(&l);
            let p = range_proof_from_leaves(&l, a as u64, b as u64).unwrap();
            prop_assert_eq!(p.len(), range_proof_len(a as u64, b as u64, n as u64));
            prop_assert!(verify_range(&l[a..b], a as u64, n as u64, &p, &r).is_ok());
            if !p.is_empty() {
                let mut bad = p.clone();
                let which = (flip / 256) % bad.len();
                bad[which][(flip / 8) % 32] ^= 1 << (flip % 8);
                prop_assert!(verify_range(&l[a..b], a as u64, n as u64, &bad, &r).is_err());
            }
        }
    }
}
