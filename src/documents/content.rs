//! Decides what an uploaded file is from its bytes while they stream past,
//! never from its name or declared type, and refuses dangerous content.
//! Accepted: JPEG, PNG, PDF and HEIC/HEIF; everything else (SVG, HTML, XML,
//! GIF, WebP, BMP, TIFF, AVIF, archives, executables, scripts…) is refused.
//! Nothing here holds the whole file: memory is bounded by the constants
//! below (a few hundred KiB per upload, plus one HEIF `meta` box of at most
//! 1 MiB).
//!
//! Images are measured from their headers without decoding a pixel, and
//! bounded by [`ContentLimits`] (a PNG claiming 100,000 × 100,000 pixels is a
//! pixel flood, refused before its pixel data arrives):
//!
//! - JPEG (ISO/IEC 10918-1 Annex B): the marker segments are walked to the
//!   frame header (SOFn), which must appear within the first 1 MiB (it may
//!   follow a large EXIF APP1 segment), and on through the entropy-coded
//!   data to the end-of-image marker. Further JPEG images straight after the
//!   EOI (CIPA DC-007 Multi-Picture Format, Ultra HDR gain maps) are walked
//!   and bounded the same way. Other bytes after the last EOI are tolerated
//!   (cameras pad files) only up to 64 KiB and only if they carry no PDF,
//!   ZIP or markup signature.
//! - PNG (ISO/IEC 15948, RFC 2083): signature, IHDR first with length 13 and
//!   sane fields, chunks walked to IEND; any byte after IEND is refused.
//!   CRCs are not checked.
//! - HEIF (ISO/IEC 23008-12): an ISO BMFF `ftyp` box (ISO/IEC 14496-12
//!   §4.3) whose major brand is a HEIF brand; AVIF is refused. Top-level
//!   boxes are walked to the end of the file; the `meta` box is read and the
//!   `ispe` properties in `iprp/ipco` give the size (the primary item's, via
//!   `pitm` and `ipma`). No `ispe` means malformed.
//!
//! PDF (ISO 32000-1/-2): `%PDF-1.x` or `%PDF-2.0` at offset 0; `%%EOF`
//! within the last 1024 bytes (else truncated). A lexer reads the whole
//! file: comments, strings and stream data are told apart from object
//! syntax, and every name token is decoded (`#xx` escapes, ISO 32000-1
//! §7.3.5, so `/J#61vaScript` is `/JavaScript`). Refused: `/JavaScript`,
//! `/JS`, `/Launch`, `/EmbeddedFile(s)`, `/EF`, `/FileAttachment`,
//! `/RichMedia`, `/XFA`, `/SubmitForm`, `/ImportData`, `/GoToR`, `/GoToE`
//! (active content) and `/Encrypt` (an encrypted file cannot be inspected).
//! `/URI` links are allowed: bank statements carry them. Pages are counted
//! as `/Type /Page` (not `/Pages`) and bounded; zero pages is malformed.
//!
//! What the PDF scan reaches, and what it does not:
//!
//! - Compressed object streams (`/ObjStm`, PDF 1.5+) hide objects, and in
//!   most modern PDFs every page object. They are inflated (zlib via
//!   `miniz_oxide`, streaming, at most 16 MiB of output per document) and
//!   their objects scanned and counted like the rest. An object stream with
//!   any other filter, a predictor or an indirect `/Filter` cannot be read
//!   here, and the file is refused as `pdf_uninspectable`; so is a file
//!   whose object streams inflate past the bound.
//! - Other stream data (page content, fonts, images) is not decoded: names
//!   there are not objects a reader acts on. Raw stream bytes are still
//!   searched for the dangerous names of five characters or more, as a
//!   backstop should the lexer and a reader disagree about where a stream
//!   ends (shorter names such as `/JS` occur by chance in binary data).
//! - Names in strings and comments count as names: stricter than a reader.
//! - Pages are counted as page objects, so pages orphaned by incremental
//!   updates count too (an upper bound).
//! - The scan does not interpret the document: it cannot see what a reader
//!   would do with a malformed file it repairs, nor content in embedded
//!   images or fonts. It is one layer; the files are stored encrypted and
//!   only served to officers as downloads.
//!
//! Polyglots (files that another format's reader also accepts) are refused:
//! `<html`, `<script`, `<svg`, `<?xml`, `<?php` or `<!doctype html` in the
//! first 1024 bytes of any file; `%PDF-` in the first 1024 bytes of an image
//! (PDF readers look that far, ISO 32000-1 Annex H.3 note 3), or anywhere
//! in the first 1024 bytes after offset 0 of anything else; a ZIP local file
//! header (APPNOTE 4.3.7, with plausible fields) anywhere, or a ZIP
//! end-of-central-directory record (APPNOTE 4.3.16, which ZIP and JAR
//! readers look for from the end) in the last 64 KiB + 22 bytes.

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// Bytes kept from the start of a file for the type decision and the
/// polyglot checks.
const HEAD_LEN: usize = 1024;
/// A ZIP end-of-central-directory record (22 bytes) may be followed by a
/// comment of up to 65,535 bytes; readers search that far from the end.
const ZIP_EOCD_WINDOW: usize = 22 + 65_535;
/// Bytes of the fixed part of a ZIP local file header.
const ZIP_LOCAL_HEADER_LEN: usize = 30;
/// How far past its SOI a JPEG's frame header may be.
const JPEG_MAX_SOF_OFFSET: u64 = 1024 * 1024;
/// Bytes tolerated after a JPEG's last EOI.
const JPEG_MAX_TRAILING: usize = 64 * 1024;
/// Largest HEIF `meta` box read (iPhone files carry a few KiB).
const HEIF_MAX_META: u64 = 1024 * 1024;
/// `%%EOF` must be within this many bytes of the end of a PDF.
const PDF_EOF_WINDOW: usize = 1024;
/// Total inflated bytes of a PDF's object streams.
const PDF_MAX_INFLATED: u64 = 16 * 1024 * 1024;
/// Longest decoded PDF name kept; longer names match nothing we look for.
const NAME_MAX: usize = 32;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Bounds on what a file may claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLimits {
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most pixels (width × height) accepted in one image.
    pub max_pixels: u64,
    /// Most pages accepted in a PDF.
    pub max_pdf_pages: u32,
}

impl Default for ContentLimits {
    /// 12,000 pixels a side, 100 megapixels (a 108 MP phone camera is the
    /// largest common source), 50 PDF pages.
    fn default() -> Self {
        Self {
            max_width: 12_000,
            max_height: 12_000,
            max_pixels: 100_000_000,
            max_pdf_pages: 50,
        }
    }
}

/// The accepted types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// JPEG (ISO/IEC 10918-1).
    Jpeg,
    /// PNG (ISO/IEC 15948, RFC 2083).
    Png,
    /// PDF (ISO 32000).
    Pdf,
    /// HEIC/HEIF (ISO/IEC 23008-12).
    Heif,
}

impl ContentType {
    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
            Self::Heif => "image/heif",
        }
    }

    /// The file extension for server-chosen names.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Pdf => "pdf",
            Self::Heif => "heif",
        }
    }
}

/// What the content turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentInfo {
    /// The type, by content.
    pub content_type: ContentType,
    /// Image width in pixels (images only).
    pub width: Option<u32>,
    /// Image height in pixels (images only).
    pub height: Option<u32>,
    /// Page objects counted (PDFs only).
    pub pages: Option<u32>,
}

/// Why a file is refused. Messages are for an app developer and never echo
/// the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// Not JPEG, PNG, PDF or HEIC/HEIF by its content.
    #[error(
        "the file is not a JPEG, PNG, PDF or HEIC/HEIF file by its content{}",
        detected.map(|d| format!(" (it looks like {d})")).unwrap_or_default()
    )]
    UnsupportedContentType {
        /// What the content looks like instead, where recognised.
        detected: Option<&'static str>,
    },
    /// The image's declared size is above the limits (pixel flood).
    #[error(
        "the image declares {width} × {height} pixels; at most {max_width} × {max_height} pixels and {max_pixels} pixels in total are accepted"
    )]
    ImageTooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The width limit.
        max_width: u32,
        /// The height limit.
        max_height: u32,
        /// The pixel-count limit.
        max_pixels: u64,
    },
    /// The PDF carries scripts, actions or attachments.
    #[error(
        "the PDF contains active content ({feature}), which is not accepted; print or export it to a plain PDF and upload that"
    )]
    PdfActiveContent {
        /// What was found, in words.
        feature: &'static str,
    },
    /// The PDF has more pages than allowed.
    #[error("the PDF has more than {max} pages")]
    PdfTooManyPages {
        /// The page limit.
        max: u32,
    },
    /// The PDF is encrypted, so its content cannot be inspected.
    #[error(
        "the PDF is encrypted or password-protected and cannot be inspected; upload it without protection"
    )]
    PdfEncrypted,
    /// The PDF hides objects in a form the scan cannot read.
    #[error(
        "the PDF cannot be inspected: {reason}; save it as PDF 1.4 (without object streams) and upload that"
    )]
    PdfUninspectable {
        /// Why, in words.
        reason: &'static str,
    },
    /// The file is also readable as another format.
    #[error("the file is also readable as another format: {reason}")]
    PolyglotContent {
        /// What was found, in words.
        reason: &'static str,
    },
    /// The file claims an accepted type but is damaged or truncated.
    #[error("the file is damaged or truncated: {reason}")]
    Malformed {
        /// What is wrong, in words.
        reason: &'static str,
    },
}

impl ContentError {
    /// The stable, snake_case code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_content",
            Self::UnsupportedContentType { .. } => "unsupported_content_type",
            Self::ImageTooLarge { .. } => "image_too_large",
            Self::PdfActiveContent { .. } => "pdf_active_content",
            Self::PdfTooManyPages { .. } => "pdf_too_many_pages",
            Self::PdfEncrypted => "pdf_encrypted",
            Self::PdfUninspectable { .. } => "pdf_uninspectable",
            Self::PolyglotContent { .. } => "polyglot_content",
            Self::Malformed { .. } => "malformed_content",
        }
    }
}

fn malformed(reason: &'static str) -> ContentError {
    ContentError::Malformed { reason }
}

fn polyglot(reason: &'static str) -> ContentError {
    ContentError::PolyglotContent { reason }
}

/// Sniffs one file pushed through in pieces of any size: call
/// [`update`](Self::update) with each piece as it arrives (it may refuse the
/// file early), then [`finish`](Self::finish). After an error every later
/// call returns the same error.
pub struct Sniffer {
    limits: ContentLimits,
    /// The first [`HEAD_LEN`] bytes, until the type is decided.
    head: Vec<u8>,
    format: Option<Format>,
    /// Whether the head has been checked for polyglot signatures.
    head_checked: bool,
    tail: Tail,
    failed: Option<ContentError>,
}

impl std::fmt::Debug for Sniffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sniffer")
            .field("bytes", &self.tail.total)
            .field(
                "content_type",
                &self.format.as_ref().map(Format::content_type),
            )
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Sniffer {
    /// A sniffer for one file under `limits`.
    pub fn new(limits: ContentLimits) -> Self {
        Self {
            limits,
            head: Vec::with_capacity(HEAD_LEN),
            format: None,
            head_checked: false,
            tail: Tail::default(),
            failed: None,
        }
    }

    /// Takes the next bytes of the file. Refuses as soon as the bytes so far
    /// decide it (after the first 1024 bytes at the latest for the type).
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), ContentError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.feed(chunk);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), ContentError> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.tail.push(chunk);
        let take = (HEAD_LEN - self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..take]);
        let head_complete = self.head.len() == HEAD_LEN;
        match self.format.as_mut() {
            Some(format) => format.feed(chunk, &self.limits)?,
            // The head so far, this piece's share of it included, goes to
            // the parser as soon as the type is known; the rest follows.
            None => {
                if self.start(head_complete)?
                    && let Some(format) = self.format.as_mut()
                {
                    format.feed(&chunk[take..], &self.limits)?;
                }
            }
        }
        if head_complete {
            self.check_head()?;
        }
        self.check_zip_header()
    }

    /// Decides the type once the head allows it (magic bytes at offset 0;
    /// an unknown type only once the whole head is in, to tell a misplaced
    /// PDF header) and starts the format's parser on the head. Returns
    /// whether the parser started now.
    fn start(&mut self, head_complete: bool) -> Result<bool, ContentError> {
        let head = &self.head;
        if head.is_empty() {
            return if head_complete {
                Err(ContentError::Empty)
            } else {
                Ok(false)
            };
        }
        // 16 bytes hold every signature; an ftyp box must be whole.
        let ftyp_len = if head.get(4..8) == Some(b"ftyp") {
            be32(head, 0).unwrap_or(0) as usize
        } else {
            0
        };
        if !head_complete && (head.len() < 16 || ftyp_len > head.len()) {
            return Ok(false);
        }
        let content_type = match classify(head) {
            Ok(content_type) => content_type,
            Err(ContentError::Malformed { reason }) => return Err(malformed(reason)),
            Err(_) if !head_complete => return Ok(false),
            Err(error) => return Err(error),
        };
        let mut format = Format::new(content_type);
        format.feed(head, &self.limits)?;
        self.format = Some(format);
        Ok(true)
    }

    /// Polyglot signatures in the first [`HEAD_LEN`] bytes of an accepted
    /// file.
    fn check_head(&mut self) -> Result<(), ContentError> {
        if self.head_checked {
            return Ok(());
        }
        self.head_checked = true;
        let Some(content_type) = self.format.as_ref().map(Format::content_type) else {
            return Ok(());
        };
        let head = &self.head;
        if MARKUP.iter().any(|tag| contains_ignore_case(head, tag)) {
            return Err(polyglot(
                "the start of the file carries HTML, SVG, XML or script markup",
            ));
        }
        if content_type != ContentType::Pdf && contains(head, b"%PDF-") {
            return Err(polyglot(
                "the image carries a PDF header in its first 1024 bytes, where PDF readers look",
            ));
        }
        Ok(())
    }

    fn check_zip_header(&self) -> Result<(), ContentError> {
        if self.format.is_some() && self.tail.zip_local_header {
            return Err(polyglot("a ZIP archive entry is embedded in the file"));
        }
        Ok(())
    }

    /// Ends the file: checks what can only be checked at the end
    /// (truncation, trailing data, `%%EOF`, page count) and reports the type.
    pub fn finish(mut self) -> Result<ContentInfo, ContentError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if self.format.is_none() {
            self.start(true)?;
        }
        self.check_head()?;
        self.check_zip_header()?;
        let Some(format) = self.format.take() else {
            return Err(ContentError::Empty);
        };
        let info = format.finish(&self.tail)?;
        if self.tail.has_zip_end_record() {
            return Err(polyglot(
                "a ZIP end-of-central-directory record sits at the end of the file, where ZIP and JAR readers look",
            ));
        }
        Ok(info)
    }
}

/// Markup that a browser or XML parser would honour near the start of a
/// file, matched case-insensitively.
const MARKUP: [&[u8]; 6] = [
    b"<html",
    b"<script",
    b"<svg",
    b"<?xml",
    b"<?php",
    b"<!doctype html",
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Width and height against the limits; zero is malformed.
fn check_image(width: u32, height: u32, limits: &ContentLimits) -> Result<(), ContentError> {
    if width == 0 || height == 0 {
        return Err(malformed("the image declares a zero width or height"));
    }
    if width > limits.max_width
        || height > limits.max_height
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ContentError::ImageTooLarge {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// The type by the magic bytes at offset 0, or why not.
fn classify(head: &[u8]) -> Result<ContentType, ContentError> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ContentType::Jpeg);
    }
    if head.starts_with(PNG_SIGNATURE) {
        return Ok(ContentType::Png);
    }
    if let Some(version) = head.strip_prefix(b"%PDF-") {
        // ISO 32000-1 §7.5.2: `%PDF-1.n`; ISO 32000-2 §7.5.2: `%PDF-2.0`.
        return match version {
            [b'1', b'.', b'0'..=b'7', ..] | [b'2', b'.', b'0', ..] => Ok(ContentType::Pdf),
            _ => Err(malformed("the PDF header names no known PDF version")),
        };
    }
    if head.get(4..8) == Some(b"ftyp") {
        return classify_iso_media(head);
    }
    if head.len() > 1 && contains(&head[1..], b"%PDF-") {
        // PDF readers honour a header anywhere in the first 1024 bytes
        // (ISO 32000-1 Annex H.3 note 3), which is how polyglots work.
        return Err(polyglot(
            "a PDF header follows other data in the first 1024 bytes, where PDF readers still find it",
        ));
    }
    Err(ContentError::UnsupportedContentType {
        detected: detect(head),
    })
}

/// HEIF brands (ISO/IEC 23008-12 Annex B.4, B.5, D.4): image and image
/// sequence brands of HEVC-coded and generic HEIF files.
const HEIF_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// An ISO BMFF file (ISO/IEC 14496-12 §4.3): HEIF by its major brand, and
/// never AVIF (which also lists `mif1` as a compatible brand).
fn classify_iso_media(head: &[u8]) -> Result<ContentType, ContentError> {
    let size = be32(head, 0).unwrap_or(0) as usize;
    if size < 16 || !size.is_multiple_of(4) || size > head.len() {
        return Err(malformed("the file type box (ftyp) is damaged or too long"));
    }
    let major = &head[8..12];
    let compatible = head[16..size].chunks_exact(4);
    if std::iter::once(major)
        .chain(compatible)
        .any(|brand| brand == b"avif" || brand == b"avis")
    {
        return Err(ContentError::UnsupportedContentType {
            detected: Some("AVIF"),
        });
    }
    if HEIF_BRANDS.iter().any(|brand| major == *brand) {
        Ok(ContentType::Heif)
    } else {
        Err(ContentError::UnsupportedContentType {
            detected: Some("an ISO media file (MP4, QuickTime or similar)"),
        })
    }
}

/// A name for what an unsupported file looks like, for the error message.
fn detect(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 22] = [
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"PK\x03\x04", "a ZIP archive (also JAR, DOCX, XLSX, ODT)"),
        (b"PK\x05\x06", "a ZIP archive"),
        (b"\x1f\x8b", "gzip"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x7fELF", "an ELF executable"),
        (b"MZ", "a Windows executable"),
        (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
        (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
        (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
        (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
        (b"\xca\xfe\xba\xbe", "a Mach-O executable or Java class"),
        (b"#!", "a script"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "a legacy Office document",
        ),
        (b"{\\rtf", "RTF"),
        (b"%!PS", "PostScript"),
        (b"BM", "BMP"),
        (b"\x00\x00\x01\x00", "an icon"),
    ];
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Some("WebP");
    }
    if let Some((_, name)) = SIGNATURES.iter().find(|(sig, _)| head.starts_with(sig)) {
        return Some(name);
    }
    // Text formats: skip a UTF-8 byte order mark and leading whitespace.
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let starts = |prefix: &[u8]| {
        text.get(..prefix.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(prefix))
    };
    if starts(b"<svg") || starts(b"<!doctype svg") {
        Some("SVG")
    } else if ["<!doctype html", "<html", "<head", "<body", "<script"]
        .iter()
        .any(|tag| starts(tag.as_bytes()))
    {
        Some("HTML")
    } else if starts(b"<?xml") {
        if contains_ignore_case(head, b"<svg") {
            Some("SVG")
        } else if contains_ignore_case(head, b"<html") {
            Some("HTML")
        } else {
            Some("XML")
        }
    } else if starts(b"<") {
        Some("markup")
    } else {
        None
    }
}

/// The last bytes of the file, and the ZIP local-header scan over all of it.
#[derive(Default)]
struct Tail {
    /// The last bytes seen: at least [`ZIP_EOCD_WINDOW`] of them (or all).
    buf: Vec<u8>,
    /// Bytes seen in total.
    total: u64,
    /// The next absolute offset to test for a ZIP local file header.
    next_local_header: u64,
    zip_local_header: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
        self.total += chunk.len() as u64;
        let base = self.total - self.buf.len() as u64;
        // Offsets whose 30 header bytes have all arrived.
        let end = (self.total + 1).saturating_sub(ZIP_LOCAL_HEADER_LEN as u64);
        let from = self.next_local_header.max(base);
        if from < end && !self.zip_local_header {
            let window = &self.buf[(from - base) as usize..(end - base) as usize];
            // Only offsets holding a `P` can start a header.
            self.zip_local_header = memchr::memchr_iter(b'P', window).any(|i| {
                let i = (from - base) as usize + i;
                self.buf
                    .get(i..i + ZIP_LOCAL_HEADER_LEN)
                    .is_some_and(is_zip_local_header)
            });
        }
        self.next_local_header = self.next_local_header.max(end);
        if self.buf.len() > 2 * ZIP_EOCD_WINDOW {
            let drop = self.buf.len() - ZIP_EOCD_WINDOW;
            self.buf.drain(..drop);
        }
    }

    /// The last `n` bytes (or all, if fewer).
    fn last(&self, n: usize) -> &[u8] {
        &self.buf[self.buf.len().saturating_sub(n)..]
    }

    /// A ZIP end-of-central-directory record (APPNOTE 4.3.16) in the last
    /// 64 KiB + 22 bytes whose central directory fits before it: what ZIP
    /// and JAR readers look for from the end of a file.
    fn has_zip_end_record(&self) -> bool {
        let window = self.last(ZIP_EOCD_WINDOW);
        let base = self.total - window.len() as u64;
        window.windows(22).enumerate().any(|(i, record)| {
            record.starts_with(b"PK\x05\x06")
                && le32(record, 12).is_some_and(|cd_size| u64::from(cd_size) <= base + i as u64)
        })
    }
}

/// A ZIP local file header (APPNOTE 4.3.7) with plausible fields: version
/// needed at most 6.3, a defined compression method, a name of 1 to 4096
/// bytes. The checks make a chance match in compressed image data
/// vanishingly rare (about 2^-57 per byte), while any real archive entry
/// passes them.
fn is_zip_local_header(header: &[u8]) -> bool {
    header.starts_with(b"PK\x03\x04")
        && le16(header, 4).is_some_and(|version| version <= 63)
        && le16(header, 8).is_some_and(|method| method <= 99)
        && le16(header, 26).is_some_and(|name_len| (1..=4096).contains(&name_len))
}

/// The parser of the decided type.
enum Format {
    Jpeg(JpegScan),
    Png(PngScan),
    Pdf(Box<PdfScan>),
    Heif(HeifScan),
}

impl Format {
    fn new(content_type: ContentType) -> Self {
        match content_type {
            ContentType::Jpeg => Self::Jpeg(JpegScan::default()),
            ContentType::Png => Self::Png(PngScan::default()),
            ContentType::Pdf => Self::Pdf(Box::default()),
            ContentType::Heif => Self::Heif(HeifScan::default()),
        }
    }

    fn content_type(&self) -> ContentType {
        match self {
            Self::Jpeg(_) => ContentType::Jpeg,
            Self::Png(_) => ContentType::Png,
            Self::Pdf(_) => ContentType::Pdf,
            Self::Heif(_) => ContentType::Heif,
        }
    }

    fn feed(&mut self, data: &[u8], limits: &ContentLimits) -> Result<(), ContentError> {
        match self {
            Self::Jpeg(scan) => scan.feed(data, limits),
            Self::Png(scan) => scan.feed(data, limits),
            Self::Pdf(scan) => scan.feed(data, limits),
            Self::Heif(scan) => scan.feed(data, limits),
        }
    }

    fn finish(self, tail: &Tail) -> Result<ContentInfo, ContentError> {
        let image = |content_type, (width, height)| ContentInfo {
            content_type,
            width: Some(width),
            height: Some(height),
            pages: None,
        };
        match self {
            Self::Jpeg(scan) => Ok(image(ContentType::Jpeg, scan.finish()?)),
            Self::Png(scan) => Ok(image(ContentType::Png, scan.finish()?)),
            Self::Heif(scan) => Ok(image(ContentType::Heif, scan.finish()?)),
            Self::Pdf(scan) => Ok(ContentInfo {
                content_type: ContentType::Pdf,
                width: None,
                height: None,
                pages: Some(scan.finish(tail)?),
            }),
        }
    }
}

// ---------------------------------------------------------------- JPEG

/// Where the JPEG walker is (ISO/IEC 10918-1 Annex B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum JpegState {
    /// The SOI marker (FF D8) of the first image; the count of its bytes seen.
    #[default]
    Soi0,
    Soi1,
    /// Between segments: a marker's FF is due.
    Marker,
    /// After FF: the marker code (more FFs are fill bytes, B.1.1.2).
    Code,
    /// The two-byte segment length; `hi` once the first byte is in.
    Length {
        marker: u8,
        hi: Option<u8>,
    },
    /// Inside a marker segment's payload.
    Payload {
        marker: u8,
        left: u32,
    },
    /// Entropy-coded data after SOS, up to the next marker.
    Entropy,
    /// Entropy-coded data, just after an FF.
    EntropyFf,
    /// After an EOI: another image (FF D8) or trailing bytes.
    AfterEoi,
    AfterEoiFf,
    /// Trailing bytes after the last image.
    Trailing,
}

#[derive(Default)]
struct JpegScan {
    state: JpegState,
    /// Absolute offset of the next byte.
    pos: u64,
    /// Absolute offset of the current image's SOI.
    image_start: u64,
    /// The current image's frame size, once its SOF is read.
    frame: Option<(u32, u32)>,
    /// The first image's frame size.
    primary: Option<(u32, u32)>,
    /// The first bytes of the current SOF payload: P, Y, X (B.2.2).
    sof: [u8; 5],
    sof_got: usize,
    trailing: Vec<u8>,
}

/// SOF0..SOF15 carry the frame header; C4 (DHT), C8 (JPG) and CC (DAC) in
/// that range do not (ISO/IEC 10918-1 Table B.1).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const SOI: u8 = 0xD8;

impl JpegScan {
    fn feed(&mut self, data: &[u8], limits: &ContentLimits) -> Result<(), ContentError> {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            i += 1;
            let state = self.state;
            self.state = match state {
                JpegState::Soi0 if b == 0xFF => JpegState::Soi1,
                JpegState::Soi1 if b == SOI => JpegState::Marker,
                JpegState::Soi0 | JpegState::Soi1 => {
                    return Err(malformed(
                        "the JPEG does not start with a start-of-image marker",
                    ));
                }
                JpegState::Marker if b == 0xFF => JpegState::Code,
                JpegState::Marker => {
                    return Err(malformed(
                        "a JPEG marker segment is followed by stray bytes",
                    ));
                }
                JpegState::Code => self.marker(b)?,
                JpegState::Length { marker, hi: None } => JpegState::Length {
                    marker,
                    hi: Some(b),
                },
                JpegState::Length {
                    marker,
                    hi: Some(hi),
                } => self.segment(marker, u16::from_be_bytes([hi, b]))?,
                JpegState::Payload { marker, left } => {
                    // `b` is the payload's next byte; take what else of the
                    // payload this piece holds in one step.
                    let available = data.len() - i + 1;
                    let take = (left as usize).min(available);
                    if is_sof(marker) && self.sof_got < self.sof.len() {
                        for &byte in &data[i - 1..i - 1 + take] {
                            if self.sof_got < self.sof.len() {
                                self.sof[self.sof_got] = byte;
                                self.sof_got += 1;
                            }
                        }
                        if self.sof_got == self.sof.len() {
                            self.frame_header(limits)?;
                        }
                    }
                    i += take - 1;
                    let left = left - take as u32;
                    if left > 0 {
                        JpegState::Payload { marker, left }
                    } else {
                        self.after_segment(marker)
                    }
                }
                JpegState::Entropy => match memchr::memchr(0xFF, &data[i - 1..]) {
                    Some(at) => {
                        i += at;
                        JpegState::EntropyFf
                    }
                    None => {
                        i = data.len();
                        JpegState::Entropy
                    }
                },
                // Stuffed zero byte and restart markers belong to the scan.
                JpegState::EntropyFf if b == 0x00 || (0xD0..=0xD7).contains(&b) => {
                    JpegState::Entropy
                }
                JpegState::EntropyFf => self.marker(b)?,
                JpegState::AfterEoi if b == 0xFF => JpegState::AfterEoiFf,
                JpegState::AfterEoiFf if b == SOI => {
                    // Another image follows (Multi-Picture Format).
                    self.image_start = self.pos + i as u64 - 2;
                    self.frame = None;
                    JpegState::Marker
                }
                JpegState::AfterEoi | JpegState::AfterEoiFf | JpegState::Trailing => {
                    if state == JpegState::AfterEoiFf {
                        self.trailing.push(0xFF);
                    }
                    let rest = &data[i - 1..];
                    if self.trailing.len() + rest.len() > JPEG_MAX_TRAILING {
                        return Err(polyglot(
                            "more than 64 KiB of data follow the end of the JPEG image",
                        ));
                    }
                    self.trailing.extend_from_slice(rest);
                    i = data.len();
                    JpegState::Trailing
                }
            };
            let in_image = !matches!(
                self.state,
                JpegState::AfterEoi | JpegState::AfterEoiFf | JpegState::Trailing
            );
            if in_image
                && self.frame.is_none()
                && self.pos + i as u64 - self.image_start > JPEG_MAX_SOF_OFFSET
            {
                return Err(malformed(
                    "the JPEG has no frame header (SOF) in its first 1 MiB",
                ));
            }
        }
        self.pos += data.len() as u64;
        Ok(())
    }

    /// The state after marker code `b` (the byte after an FF).
    fn marker(&mut self, b: u8) -> Result<JpegState, ContentError> {
        Ok(match b {
            0xFF => JpegState::Code,
            EOI => {
                let frame = self
                    .frame
                    .ok_or_else(|| malformed("the JPEG has no frame header (SOF)"))?;
                self.primary.get_or_insert(frame);
                JpegState::AfterEoi
            }
            // RSTm and TEM stand alone, without a length (B.1.1.3).
            0xD0..=0xD7 | 0x01 => JpegState::Marker,
            SOI => return Err(malformed("a JPEG image starts inside another")),
            0x00 => return Err(malformed("a JPEG marker is missing")),
            SOS if self.frame.is_none() => {
                return Err(malformed("the JPEG has image data before its frame header"));
            }
            marker => JpegState::Length { marker, hi: None },
        })
    }

    fn segment(&mut self, marker: u8, length: u16) -> Result<JpegState, ContentError> {
        // The length counts itself (B.1.1.4); a frame header has at least
        // P, Y, X and Nf (B.2.2).
        if length < 2 || (is_sof(marker) && length < 8) {
            return Err(malformed("a JPEG marker segment has an impossible length"));
        }
        self.sof_got = 0;
        let left = u32::from(length) - 2;
        Ok(if left == 0 {
            self.after_segment(marker)
        } else {
            JpegState::Payload { marker, left }
        })
    }

    fn after_segment(&self, marker: u8) -> JpegState {
        if marker == SOS {
            JpegState::Entropy
        } else {
            JpegState::Marker
        }
    }

    fn frame_header(&mut self, limits: &ContentLimits) -> Result<(), ContentError> {
        let height = u32::from(u16::from_be_bytes([self.sof[1], self.sof[2]]));
        let width = u32::from(u16::from_be_bytes([self.sof[3], self.sof[4]]));
        // Every frame is bounded, including those of later images; the first
        // frame of an image is its size (hierarchical files carry more).
        check_image(width, height, limits)?;
        self.frame.get_or_insert((width, height));
        Ok(())
    }

    fn finish(self) -> Result<(u32, u32), ContentError> {
        let ended = matches!(
            self.state,
            JpegState::AfterEoi | JpegState::AfterEoiFf | JpegState::Trailing
        );
        let primary = self
            .primary
            .filter(|_| ended)
            .ok_or_else(|| malformed("the JPEG ends before its end-of-image marker"))?;
        let mut trailing = self.trailing;
        if self.state == JpegState::AfterEoiFf {
            trailing.push(0xFF);
        }
        let signatures: [&[u8]; 5] = [
            b"%PDF-",
            b"PK\x03\x04",
            b"PK\x05\x06",
            b"PK\x01\x02",
            b"\xff\xd8\xff",
        ];
        if signatures.iter().any(|sig| contains(&trailing, sig))
            || MARKUP
                .iter()
                .any(|tag| contains_ignore_case(&trailing, tag))
        {
            return Err(polyglot(
                "data after the end of the JPEG image carries another format's signature",
            ));
        }
        Ok(primary)
    }
}

// ---------------------------------------------------------------- PNG

#[derive(Debug, Clone, Copy, Default)]
enum PngState {
    /// The 8-byte signature; bytes matched.
    #[default]
    Signature,
    /// A chunk's length and type (PNG §5.3).
    Header,
    /// IHDR's 13 data bytes.
    Ihdr,
    /// Data and CRC still to pass; `iend` if this is IEND's.
    Skip { left: u64, iend: bool },
    /// After IEND's CRC: the file must end.
    End,
}

#[derive(Default)]
struct PngScan {
    state: PngState,
    buf: Vec<u8>,
    chunks: u64,
    seen_idat: bool,
    size: Option<(u32, u32)>,
}

impl PngScan {
    fn feed(&mut self, mut data: &[u8], limits: &ContentLimits) -> Result<(), ContentError> {
        while !data.is_empty() {
            let want = match self.state {
                PngState::Signature => PNG_SIGNATURE.len(),
                PngState::Header => 8,
                PngState::Ihdr => 13,
                PngState::Skip { left, iend } => {
                    let take = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    data = &data[take..];
                    let left = left - take as u64;
                    self.state = match (left, iend) {
                        (0, true) => PngState::End,
                        (0, false) => PngState::Header,
                        _ => PngState::Skip { left, iend },
                    };
                    continue;
                }
                PngState::End => {
                    return Err(polyglot("data follows the PNG end chunk (IEND)"));
                }
            };
            let take = (want - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() < want {
                break;
            }
            let buf = std::mem::take(&mut self.buf);
            self.state = match self.state {
                PngState::Signature if buf == PNG_SIGNATURE => PngState::Header,
                PngState::Signature => return Err(malformed("the PNG signature is damaged")),
                PngState::Header => self.chunk_header(&buf)?,
                PngState::Ihdr => {
                    self.ihdr(&buf, limits)?;
                    PngState::Skip {
                        left: 4,
                        iend: false,
                    }
                }
                state => state,
            };
        }
        Ok(())
    }

    fn chunk_header(&mut self, header: &[u8]) -> Result<PngState, ContentError> {
        let length = be32(header, 0).unwrap_or(u32::MAX);
        let kind = &header[4..8];
        // PNG §5.3: lengths up to 2^31 − 1; §5.4: types are ASCII letters.
        if length > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(malformed("a PNG chunk header is damaged"));
        }
        self.chunks += 1;
        let first = self.chunks == 1;
        match (kind, first) {
            (b"IHDR", true) if length == 13 => return Ok(PngState::Ihdr),
            (_, true) | (b"IHDR", false) => {
                return Err(malformed("a PNG must start with one 13-byte IHDR chunk"));
            }
            (b"IDAT", _) => self.seen_idat = true,
            (b"IEND", _) if length != 0 => {
                return Err(malformed("the PNG end chunk (IEND) is damaged"));
            }
            (b"IEND", _) if !self.seen_idat => {
                return Err(malformed("the PNG ends without image data"));
            }
            _ => {}
        }
        Ok(PngState::Skip {
            left: u64::from(length) + 4,
            iend: kind == b"IEND",
        })
    }

    /// IHDR (PNG §11.2.2).
    fn ihdr(&mut self, ihdr: &[u8], limits: &ContentLimits) -> Result<(), ContentError> {
        let width = be32(ihdr, 0).unwrap_or(0);
        let height = be32(ihdr, 4).unwrap_or(0);
        let (depth, colour) = (ihdr[8], ihdr[9]);
        let depth_ok = match colour {
            0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
            3 => matches!(depth, 1 | 2 | 4 | 8),
            2 | 4 | 6 => matches!(depth, 8 | 16),
            _ => false,
        };
        if width > 0x7FFF_FFFF
            || height > 0x7FFF_FFFF
            || !depth_ok
            || ihdr[10] != 0
            || ihdr[11] != 0
            || ihdr[12] > 1
        {
            return Err(malformed("the PNG header (IHDR) is damaged"));
        }
        check_image(width, height, limits)?;
        self.size = Some((width, height));
        Ok(())
    }

    fn finish(self) -> Result<(u32, u32), ContentError> {
        match (self.state, self.size) {
            (PngState::End, Some(size)) => Ok(size),
            _ => Err(malformed("the PNG ends before its end chunk (IEND)")),
        }
    }
}

// ---------------------------------------------------------------- HEIF

#[derive(Debug, Clone, Copy, Default)]
enum HeifState {
    /// A top-level box header (ISO/IEC 14496-12 §4.2): 8 bytes, or 16 with
    /// a 64-bit size.
    #[default]
    Header,
    /// A box's payload to pass over.
    Skip { left: u64 },
    /// The `meta` box's payload, collected.
    Meta { left: u64 },
    /// A box of size 0, which extends to the end of the file.
    ToEnd,
}

#[derive(Default)]
struct HeifScan {
    state: HeifState,
    header: Vec<u8>,
    meta: Vec<u8>,
    seen_meta: bool,
    size: Option<(u32, u32)>,
}

impl HeifScan {
    fn feed(&mut self, mut data: &[u8], limits: &ContentLimits) -> Result<(), ContentError> {
        while !data.is_empty() {
            match self.state {
                HeifState::ToEnd => return Ok(()),
                HeifState::Skip { left } => {
                    let take = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    data = &data[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        HeifState::Header
                    } else {
                        HeifState::Skip { left }
                    };
                }
                HeifState::Meta { left } => {
                    let take = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.meta.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    let left = left - take as u64;
                    if left == 0 {
                        let meta = std::mem::take(&mut self.meta);
                        self.size = Some(read_meta(&meta, limits)?);
                        self.state = HeifState::Header;
                    } else {
                        self.state = HeifState::Meta { left };
                    }
                }
                HeifState::Header => {
                    let want = if be32(&self.header, 0) == Some(1) {
                        16
                    } else {
                        8
                    };
                    let take = (want - self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.header.len() == 8 && be32(&self.header, 0) == Some(1) {
                        continue;
                    }
                    if self.header.len() == want {
                        let header = std::mem::take(&mut self.header);
                        self.state = self.box_started(&header)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn box_started(&mut self, header: &[u8]) -> Result<HeifState, ContentError> {
        let kind = &header[4..8];
        let size = match be32(header, 0) {
            Some(0) if kind != b"meta" => return Ok(HeifState::ToEnd),
            Some(1) => be64(header, 8).unwrap_or(0),
            Some(size) => u64::from(size),
            None => 0,
        };
        let payload = size
            .checked_sub(header.len() as u64)
            .ok_or_else(|| malformed("a HEIF box has an impossible size"))?;
        if kind != b"meta" {
            return Ok(if payload == 0 {
                HeifState::Header
            } else {
                HeifState::Skip { left: payload }
            });
        }
        // ISO/IEC 23008-12 §9.2: one file-level MetaBox.
        if self.seen_meta {
            return Err(malformed("the HEIF file has two metadata (meta) boxes"));
        }
        self.seen_meta = true;
        if payload == 0 || payload > HEIF_MAX_META {
            return Err(malformed(
                "the HEIF metadata (meta) box is empty or too large",
            ));
        }
        Ok(HeifState::Meta { left: payload })
    }

    fn finish(self) -> Result<(u32, u32), ContentError> {
        let at_boundary = match self.state {
            HeifState::Header => self.header.is_empty(),
            HeifState::ToEnd => true,
            HeifState::Skip { .. } | HeifState::Meta { .. } => false,
        };
        if !at_boundary {
            return Err(malformed("the HEIF file ends inside a box"));
        }
        self.size
            .ok_or_else(|| malformed("the HEIF file declares no image size (ispe)"))
    }
}

/// A box's four-character type and its payload.
type IsoBox<'a> = ([u8; 4], &'a [u8]);

/// The boxes in `data` (ISO/IEC 14496-12 §4.2).
fn child_boxes(mut data: &[u8]) -> Result<Vec<IsoBox<'_>>, ContentError> {
    let damaged = || malformed("a box in the HEIF metadata is damaged");
    let mut boxes = Vec::new();
    while !data.is_empty() {
        let size = be32(data, 0).ok_or_else(damaged)?;
        let kind: [u8; 4] = data
            .get(4..8)
            .and_then(|k| k.try_into().ok())
            .ok_or_else(damaged)?;
        let (header, size) = match size {
            0 => (8, data.len()),
            1 => {
                let large = be64(data, 8).ok_or_else(damaged)?;
                (16, usize::try_from(large).map_err(|_| damaged())?)
            }
            size => (8, size as usize),
        };
        if size < header || size > data.len() {
            return Err(damaged());
        }
        boxes.push((kind, &data[header..size]));
        data = &data[size..];
    }
    Ok(boxes)
}

/// The image size from a `meta` payload (a FullBox: 4 bytes of version and
/// flags, then boxes): every `ispe` property (ISO/IEC 23008-12 §6.5.3) is
/// bounded, and the primary item's (`pitm` §8.11.4 of 14496-12, associated
/// through `ipma` §9.3) is reported, else the largest.
fn read_meta(meta: &[u8], limits: &ContentLimits) -> Result<(u32, u32), ContentError> {
    let damaged = || malformed("the HEIF metadata is damaged");
    let mut primary = None;
    let mut properties: Vec<Option<(u32, u32)>> = Vec::new();
    let mut associations: Vec<(u32, Vec<u16>)> = Vec::new();
    for (kind, payload) in child_boxes(meta.get(4..).ok_or_else(damaged)?)? {
        match &kind {
            b"pitm" => {
                primary = Some(if payload.first() == Some(&0) {
                    u32::from(be16(payload, 4).ok_or_else(damaged)?)
                } else {
                    be32(payload, 4).ok_or_else(damaged)?
                });
            }
            b"iprp" => {
                for (kind, payload) in child_boxes(payload)? {
                    match &kind {
                        b"ipco" => {
                            for (kind, payload) in child_boxes(payload)? {
                                properties.push(if &kind == b"ispe" {
                                    let width = be32(payload, 4).ok_or_else(damaged)?;
                                    let height = be32(payload, 8).ok_or_else(damaged)?;
                                    Some((width, height))
                                } else {
                                    None
                                });
                            }
                        }
                        b"ipma" => associations.extend(read_ipma(payload).ok_or_else(damaged)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let sizes: Vec<(u32, u32)> = properties.iter().flatten().copied().collect();
    if sizes.is_empty() {
        return Err(malformed("the HEIF file declares no image size (ispe)"));
    }
    for &(width, height) in &sizes {
        check_image(width, height, limits)?;
    }
    let of_primary = primary.and_then(|id| {
        let (_, indexes) = associations.iter().find(|(item, _)| *item == id)?;
        indexes.iter().find_map(|&index| {
            // Property indexes are 1-based; 0 means "none".
            properties
                .get(usize::from(index).checked_sub(1)?)
                .copied()
                .flatten()
        })
    });
    let largest = sizes
        .iter()
        .copied()
        .max_by_key(|&(w, h)| u64::from(w) * u64::from(h));
    of_primary.or(largest).ok_or_else(damaged)
}

/// `ipma` entries: item id and its property indexes (ISO/IEC 23008-12 §9.3.2).
fn read_ipma(payload: &[u8]) -> Option<Vec<(u32, Vec<u16>)>> {
    let version = *payload.first()?;
    let wide_index = payload.get(3)? & 1 == 1;
    let count = be32(payload, 4)?;
    let mut at = 8;
    let mut entries = Vec::new();
    for _ in 0..count {
        let item = if version < 1 {
            at += 2;
            u32::from(be16(payload, at - 2)?)
        } else {
            at += 4;
            be32(payload, at - 4)?
        };
        let n = *payload.get(at)?;
        at += 1;
        let mut indexes = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            if wide_index {
                indexes.push(be16(payload, at)? & 0x7FFF);
                at += 2;
            } else {
                indexes.push(u16::from(*payload.get(at)? & 0x7F));
                at += 1;
            }
        }
        entries.push((item, indexes));
    }
    Some(entries)
}

// ---------------------------------------------------------------- PDF

#[derive(Default)]
struct PdfScan {
    lexer: Lexer,
    budget: PdfBudget,
}

/// What the whole document may use, shared with the lexers of its object
/// streams.
#[derive(Default)]
struct PdfBudget {
    pages: u32,
    max_pages: u32,
    inflated: u64,
}

impl PdfScan {
    fn feed(&mut self, data: &[u8], limits: &ContentLimits) -> Result<(), ContentError> {
        self.budget.max_pages = limits.max_pdf_pages;
        self.lexer.feed(data, &mut self.budget)
    }

    fn finish(mut self, tail: &Tail) -> Result<u32, ContentError> {
        self.lexer.end(&mut self.budget)?;
        if matches!(self.lexer.mode, Mode::StreamStart | Mode::StreamData) {
            return Err(malformed("the PDF ends inside a stream"));
        }
        // ISO 32000-1 §7.5.5: the last line of the file is `%%EOF`.
        if !contains(tail.last(PDF_EOF_WINDOW), b"%%EOF") {
            return Err(malformed(
                "the PDF has no end-of-file marker (%%EOF) at its end; it may be truncated",
            ));
        }
        if self.budget.pages == 0 {
            return Err(malformed("the PDF has no pages"));
        }
        Ok(self.budget.pages)
    }
}

/// What a name means to the scan.
enum Danger {
    Active(&'static str),
    Encrypted,
}

/// Names that refuse a PDF (ISO 32000-1 §12.6.4 actions, §7.11.4 embedded
/// files, §12.7.8 XFA forms, §13.6 rich media, §7.6 encryption).
fn danger(name: &[u8]) -> Option<Danger> {
    Some(Danger::Active(match name {
        b"JavaScript" | b"JS" => "JavaScript",
        b"Launch" => "a launch action",
        b"EmbeddedFile" | b"EmbeddedFiles" | b"EF" | b"FileAttachment" => "embedded files",
        b"RichMedia" => "rich media",
        b"XFA" => "an XFA form",
        b"SubmitForm" => "a form submission action",
        b"ImportData" => "a data import action",
        b"GoToR" => "a link into another file",
        b"GoToE" => "a link into an embedded file",
        b"Encrypt" => return Some(Danger::Encrypted),
        _ => return None,
    }))
}

/// Names shorter than this are ignored inside raw stream data.
const STREAM_NAME_MIN: usize = 5;

/// Lexer modes (ISO 32000-1 §7.2, §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Normal,
    /// `%` to the end of the line.
    Comment,
    /// `( … )`, nested, with `\` escapes.
    Literal { depth: u32, escape: bool },
    /// `< … >`.
    Hex,
    /// After the `stream` keyword and its CR, before an optional LF.
    StreamStart,
    /// Stream data up to `endstream`.
    StreamData,
}

/// A name being read, decoded as it goes.
struct Name {
    bytes: [u8; NAME_MAX],
    len: usize,
    overflow: bool,
    /// `#` seen, and its first hex digit once in.
    hash: Option<Option<u8>>,
    /// Started in object syntax (not a string, comment or stream).
    syntax: bool,
    /// Started in raw stream data.
    in_stream: bool,
}

impl Name {
    fn push(&mut self, b: u8) {
        if self.len < NAME_MAX {
            self.bytes[self.len] = b;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }

    /// Takes `b` if it continues the name.
    fn take(&mut self, b: u8) -> bool {
        match self.hash {
            Some(None) if b.is_ascii_hexdigit() => {
                self.hash = Some(Some(b));
                return true;
            }
            Some(Some(hi)) if b.is_ascii_hexdigit() => {
                self.push((hex_value(hi) << 4) | hex_value(b));
                self.hash = None;
                return true;
            }
            // A `#` without two hex digits stands for itself, as lenient
            // readers take it.
            Some(pending) => {
                self.push(b'#');
                if let Some(hi) = pending {
                    self.push(hi);
                }
                self.hash = None;
            }
            None => {}
        }
        if !is_regular(b) {
            return false;
        }
        if b == b'#' {
            self.hash = Some(None);
        } else {
            self.push(b);
        }
        true
    }

    fn decoded(&self) -> Option<&[u8]> {
        (!self.overflow).then_some(&self.bytes[..self.len])
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b.to_ascii_uppercase().wrapping_sub(b'A') + 10,
    }
}

/// White-space characters (ISO 32000-1 Table 1).
fn is_whitespace(b: u8) -> bool {
    matches!(b, 0x00 | 0x09 | 0x0A | 0x0C | 0x0D | 0x20)
}

/// Regular characters: neither white space nor delimiters (Table 2).
fn is_regular(b: u8) -> bool {
    !is_whitespace(b)
        && !matches!(
            b,
            b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
        )
}

/// What the names of the current object said about its stream.
#[derive(Default, Clone, Copy)]
struct ObjectFlags {
    obj_stm: bool,
    first: bool,
    n: bool,
    filter: bool,
    flate: bool,
    other_filter: bool,
    predictor: bool,
}

/// A PDF lexer. The outer one reads the file; each object stream gets a
/// nested one (`nested`: no streams inside) fed with its decoded bytes.
#[derive(Default)]
struct Lexer {
    nested: bool,
    mode: Mode,
    name: Option<Name>,
    /// The regular-character run being read (a keyword candidate).
    word: [u8; 9],
    word_len: usize,
    /// A `<` was read; the next byte tells a dictionary from a hex string.
    less_than: bool,
    /// The last token was the name `/Type` (for `/Type /Page`).
    after_type: bool,
    object: ObjectFlags,
    /// The last nine bytes of stream data, to find `endstream`.
    recent: [u8; 9],
    object_stream: Option<Box<ObjectStream>>,
}

impl Lexer {
    fn feed(&mut self, data: &[u8], budget: &mut PdfBudget) -> Result<(), ContentError> {
        let mut stream_from = None;
        for (i, &b) in data.iter().enumerate() {
            if self.mode == Mode::StreamData && stream_from.is_none() {
                stream_from = Some(i);
            }
            let in_name = self.name_byte(b, budget)?;
            match self.mode {
                Mode::Normal => self.normal(b, in_name)?,
                Mode::Comment => {
                    if b == b'\r' || b == b'\n' {
                        self.mode = Mode::Normal;
                    }
                }
                Mode::Literal { depth, escape } => {
                    self.mode = match b {
                        _ if escape => Mode::Literal {
                            depth,
                            escape: false,
                        },
                        b'\\' => Mode::Literal {
                            depth,
                            escape: true,
                        },
                        b'(' => Mode::Literal {
                            depth: depth.saturating_add(1),
                            escape: false,
                        },
                        b')' if depth <= 1 => Mode::Normal,
                        b')' => Mode::Literal {
                            depth: depth - 1,
                            escape: false,
                        },
                        _ => self.mode,
                    };
                }
                Mode::Hex => {
                    if b == b'>' {
                        self.mode = Mode::Normal;
                    }
                }
                // §7.3.8.1: `stream` is followed by CRLF or LF.
                Mode::StreamStart => {
                    self.mode = Mode::StreamData;
                    if b != b'\n' {
                        stream_from = Some(i);
                        self.stream_byte(b);
                    }
                }
                Mode::StreamData => {
                    if self.stream_byte(b) {
                        let from = stream_from.take().unwrap_or(i);
                        self.end_stream(&data[from..=i], budget)?;
                    }
                }
            }
        }
        if let Some(from) = stream_from.filter(|_| self.mode == Mode::StreamData)
            && let Some(stream) = self.object_stream.as_mut()
        {
            stream.feed(&data[from..], budget)?;
        }
        Ok(())
    }

    /// Feeds `b` to the name being read, or starts one at `/`. Returns
    /// whether `b` is part of a name.
    fn name_byte(&mut self, b: u8, budget: &mut PdfBudget) -> Result<bool, ContentError> {
        if let Some(name) = self.name.as_mut() {
            if name.take(b) {
                return Ok(true);
            }
            if let Some(name) = self.name.take() {
                self.name_done(&name, budget)?;
            }
        }
        if b == b'/' {
            self.name = Some(Name {
                bytes: [0; NAME_MAX],
                len: 0,
                overflow: false,
                hash: None,
                syntax: self.mode == Mode::Normal && !self.less_than,
                in_stream: matches!(self.mode, Mode::StreamStart | Mode::StreamData),
            });
            return Ok(true);
        }
        Ok(false)
    }

    fn name_done(&mut self, name: &Name, budget: &mut PdfBudget) -> Result<(), ContentError> {
        let Some(name) = name_bytes(name) else {
            return Ok(());
        };
        let (bytes, syntax) = name;
        match danger(bytes) {
            Some(Danger::Active(feature)) => {
                return Err(ContentError::PdfActiveContent { feature });
            }
            Some(Danger::Encrypted) => return Err(ContentError::PdfEncrypted),
            None => {}
        }
        if !syntax {
            return Ok(());
        }
        if bytes == b"Page" && self.after_type {
            budget.pages += 1;
            if budget.pages > budget.max_pages {
                return Err(ContentError::PdfTooManyPages {
                    max: budget.max_pages,
                });
            }
        }
        self.after_type = bytes == b"Type";
        let flags = &mut self.object;
        match bytes {
            b"ObjStm" => flags.obj_stm = true,
            b"First" => flags.first = true,
            b"N" => flags.n = true,
            b"Filter" => flags.filter = true,
            b"FlateDecode" => flags.flate = true,
            b"DecodeParms" | b"Predictor" => flags.predictor = true,
            b"ASCIIHexDecode" | b"ASCII85Decode" | b"LZWDecode" | b"RunLengthDecode"
            | b"CCITTFaxDecode" | b"JBIG2Decode" | b"DCTDecode" | b"JPXDecode" | b"Crypt"
            | b"AHx" | b"A85" | b"LZW" | b"Fl" | b"RL" => flags.other_filter = true,
            _ => {}
        }
        Ok(())
    }

    /// A byte of object syntax.
    fn normal(&mut self, b: u8, in_name: bool) -> Result<(), ContentError> {
        if self.less_than {
            self.less_than = false;
            if b != b'<' {
                self.mode = if b == b'>' { Mode::Normal } else { Mode::Hex };
            }
            return Ok(());
        }
        if !is_regular(b) && self.word_done()? {
            // `stream` and its end-of-line marker: data follows.
            self.mode = if b == b'\r' {
                Mode::StreamStart
            } else {
                Mode::StreamData
            };
            return Ok(());
        }
        if in_name {
            return Ok(());
        }
        match b {
            b'%' => self.mode = Mode::Comment,
            b'(' => {
                self.mode = Mode::Literal {
                    depth: 1,
                    escape: false,
                };
                self.after_type = false;
            }
            b'<' => {
                self.less_than = true;
                self.after_type = false;
            }
            b')' | b'>' | b'[' | b']' | b'{' | b'}' => self.after_type = false,
            _ if is_whitespace(b) => {}
            _ => {
                if self.word_len < self.word.len() {
                    self.word[self.word_len] = b;
                }
                self.word_len += 1;
            }
        }
        Ok(())
    }

    /// Ends the keyword being read; true if it was `stream`.
    fn word_done(&mut self) -> Result<bool, ContentError> {
        if self.word_len == 0 {
            return Ok(false);
        }
        // Longer words are none of the keywords looked for.
        let (word, len) = (self.word, self.word_len);
        let word = word.get(..len).unwrap_or_default();
        self.after_type = false;
        let stream = match word {
            b"obj" | b"endobj" => {
                self.object = ObjectFlags::default();
                false
            }
            b"stream" if !self.nested => {
                self.start_stream()?;
                true
            }
            _ => false,
        };
        self.word_len = 0;
        Ok(stream)
    }

    /// Prepares for the data of the stream whose dictionary was just read.
    fn start_stream(&mut self) -> Result<(), ContentError> {
        let flags = std::mem::take(&mut self.object);
        self.recent = [0; 9];
        // An object stream (ISO 32000-1 §7.5.7) by its /Type, or by its
        // required /N and /First should /Type be missing or indirect.
        if !(flags.obj_stm || (flags.first && flags.n)) {
            return Ok(());
        }
        if flags.other_filter || flags.predictor || (flags.filter && !flags.flate) {
            return Err(ContentError::PdfUninspectable {
                reason: "an object stream uses a compression the scan cannot decode",
            });
        }
        self.object_stream = Some(Box::new(ObjectStream::new(flags.filter)));
        Ok(())
    }

    /// Takes a byte of stream data; true once it completes `endstream`.
    fn stream_byte(&mut self, b: u8) -> bool {
        self.recent.rotate_left(1);
        self.recent[8] = b;
        &self.recent == b"endstream"
    }

    fn end_stream(&mut self, last: &[u8], budget: &mut PdfBudget) -> Result<(), ContentError> {
        self.mode = Mode::Normal;
        self.word_len = 0;
        self.after_type = false;
        if let Some(mut stream) = self.object_stream.take() {
            stream.feed(last, budget)?;
            stream.finish(budget)?;
        }
        Ok(())
    }

    /// The input is over: a pending name still counts.
    fn end(&mut self, budget: &mut PdfBudget) -> Result<(), ContentError> {
        if let Some(name) = self.name.take() {
            self.name_done(&name, budget)?;
        }
        if self.mode == Mode::Normal {
            self.word_done()?;
        }
        Ok(())
    }
}

/// A name's decoded bytes and whether it is object syntax, or `None` if it
/// is too long to matter or too short to trust inside raw stream data.
fn name_bytes(name: &Name) -> Option<(&[u8], bool)> {
    let bytes = name.decoded()?;
    if name.in_stream && bytes.len() < STREAM_NAME_MIN {
        return None;
    }
    Some((bytes, name.syntax))
}

/// An object stream's data on its way to a nested lexer, inflated first if
/// it is FlateDecode-compressed (RFC 1950/1951).
struct ObjectStream {
    inflater: Option<Box<InflateState>>,
    ended: bool,
    out: Vec<u8>,
    lexer: Lexer,
}

impl ObjectStream {
    fn new(flate: bool) -> Self {
        Self {
            // Readers ignore the Adler-32 checksum; so does the scan, since
            // what matters is the bytes a reader would see.
            inflater: flate.then(|| InflateState::new_boxed(DataFormat::ZLibIgnoreChecksum)),
            ended: false,
            out: vec![0; 32 * 1024],
            lexer: Lexer {
                nested: true,
                ..Lexer::default()
            },
        }
    }

    fn feed(&mut self, mut data: &[u8], budget: &mut PdfBudget) -> Result<(), ContentError> {
        let Some(inflater) = self.inflater.as_mut() else {
            return self.lexer.feed(data, budget);
        };
        while !self.ended {
            let result = inflate(inflater, data, &mut self.out, MZFlush::None);
            data = &data[result.bytes_consumed..];
            let written = result.bytes_written;
            budget.inflated += written as u64;
            if budget.inflated > PDF_MAX_INFLATED {
                return Err(ContentError::PdfUninspectable {
                    reason: "its object streams inflate to more than 16 MiB",
                });
            }
            self.lexer.feed(&self.out[..written], budget)?;
            match result.status {
                Ok(MZStatus::StreamEnd) => self.ended = true,
                Ok(_) | Err(MZError::Buf) => {
                    if result.bytes_consumed == 0 && written == 0 {
                        if data.is_empty() {
                            break;
                        }
                        // No progress on input left over: never skip bytes
                        // unscanned.
                        return Err(malformed(
                            "a compressed object stream in the PDF is corrupt",
                        ));
                    }
                    if data.is_empty() && written < self.out.len() {
                        break;
                    }
                }
                Err(_) => {
                    return Err(malformed(
                        "a compressed object stream in the PDF is corrupt",
                    ));
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, budget: &mut PdfBudget) -> Result<(), ContentError> {
        if self.inflater.is_some() && !self.ended {
            return Err(malformed(
                "a compressed object stream in the PDF is truncated",
            ));
        }
        self.lexer.end(budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sniff_in(bytes: &[u8], piece: usize) -> Result<ContentInfo, ContentError> {
        let mut sniffer = Sniffer::new(ContentLimits::default());
        for part in bytes.chunks(piece.max(1)) {
            sniffer.update(part)?;
        }
        sniffer.finish()
    }

    /// Sniffs whole, in 4096-byte pieces and in 7-byte pieces; all three
    /// must agree.
    fn sniff(bytes: &[u8]) -> Result<ContentInfo, ContentError> {
        let whole = sniff_in(bytes, bytes.len());
        assert_eq!(sniff_in(bytes, 4096), whole, "4096-byte pieces");
        assert_eq!(sniff_in(bytes, 7), whole, "7-byte pieces");
        whole
    }

    fn code(bytes: &[u8]) -> &'static str {
        match sniff(bytes) {
            Ok(info) => panic!("accepted as {info:?}"),
            Err(e) => e.code(),
        }
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    /// A baseline JPEG: SOI, APP0 (JFIF), the given extra segments, SOF0,
    /// SOS, entropy-coded bytes (with a stuffed FF and a restart marker),
    /// EOI.
    fn jpeg_with(width: u16, height: u16, extra: &[Vec<u8>]) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00"));
        for s in extra {
            j.extend_from_slice(s);
        }
        let mut sof = vec![8];
        sof.extend_from_slice(&height.to_be_bytes());
        sof.extend_from_slice(&width.to_be_bytes());
        sof.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        j.extend(segment(0xC0, &sof));
        j.extend(segment(0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]));
        j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78, 0x9A]);
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        jpeg_with(width, height, &[])
    }

    /// An APP1 segment of `len` payload bytes that looks like EXIF.
    fn app1(len: usize) -> Vec<u8> {
        let mut payload = b"Exif\0\0MM\0*".to_vec();
        payload.resize(len, 0x42);
        segment(0xE1, &payload)
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]); // CRCs are not checked
        c
    }

    fn png_with(width: u32, height: u32, before_idat: &[Vec<u8>]) -> Vec<u8> {
        let mut p = PNG_SIGNATURE.to_vec();
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        p.extend(png_chunk(b"IHDR", &ihdr));
        for c in before_idat {
            p.extend_from_slice(c);
        }
        p.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x00, 0x00]));
        p.extend(png_chunk(b"IEND", &[]));
        p
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        png_with(width, height, &[])
    }

    const PDF_HEAD: &str = "%PDF-1.7\n%\u{e2}\u{e3}\u{cf}\u{d3}\n";
    const PDF_TAIL: &str =
        "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Root 1 0 R /Size 9 >>\nstartxref\n9\n%%EOF\n";

    /// A one-page PDF with `extra` inserted as further object text.
    fn pdf_with(extra: &str) -> Vec<u8> {
        format!(
            "{PDF_HEAD}1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
             2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
             3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n\
             4 0 obj\n<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 712 Td (Statement) Tj ET\nendstream\nendobj\n\
             {extra}{PDF_TAIL}"
        )
        .into_bytes()
    }

    fn pdf() -> Vec<u8> {
        pdf_with("")
    }

    fn pdf_pages(n: usize) -> Vec<u8> {
        let pages: String = (0..n)
            .map(|i| format!("{} 0 obj\n<</Type/Page/Parent 2 0 R>>\nendobj\n", 10 + i))
            .collect();
        let kids: String = (0..n).map(|i| format!("{} 0 R ", 10 + i)).collect();
        format!(
            "{PDF_HEAD}1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
             2 0 obj\n<< /Type /Pages /Kids [{kids}] /Count {n} >>\nendobj\n{pages}{PDF_TAIL}"
        )
        .into_bytes()
    }

    /// A PDF whose pages and `objects` sit in a compressed object stream,
    /// as PDF 1.5+ writers do.
    fn pdf_object_stream(objects: &str, dict_extra: &str, compress: bool) -> Vec<u8> {
        let data = if compress {
            miniz_oxide::deflate::compress_to_vec_zlib(objects.as_bytes(), 6)
        } else {
            objects.as_bytes().to_vec()
        };
        let filter = if compress {
            "/Filter /FlateDecode "
        } else {
            ""
        };
        let mut p = format!(
            "{PDF_HEAD}5 0 obj\n<< /Type /ObjStm /N 3 /First 12 {filter}{dict_extra}/Length {} >>\nstream\n",
            data.len()
        )
        .into_bytes();
        p.extend_from_slice(&data);
        p.extend_from_slice(format!("\nendstream\nendobj\n{PDF_TAIL}").as_bytes());
        p
    }

    const OBJECTS: &str = "1 0 2 40 3 80 << /Type /Catalog /Pages 2 0 R >> \
                           << /Type /Pages /Kids [3 0 R] /Count 1 >> \
                           << /Type /Page /Parent 2 0 R >>";

    fn iso_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = u32::try_from(payload.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn full_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0, 0, 0, 0];
        p.extend_from_slice(payload);
        iso_box(kind, &p)
    }

    fn ispe(width: u32, height: u32) -> Vec<u8> {
        let mut p = width.to_be_bytes().to_vec();
        p.extend_from_slice(&height.to_be_bytes());
        full_box(b"ispe", &p)
    }

    /// ftyp, meta (hdlr, pitm = item 1, iprp with a thumbnail-sized ispe
    /// first and the primary's second, ipma tying item 1 to the second),
    /// mdat.
    fn heif(major: &[u8; 4], compatible: &[&[u8; 4]], width: u32, height: u32) -> Vec<u8> {
        let mut ftyp = major.to_vec();
        ftyp.extend_from_slice(&[0, 0, 0, 0]);
        for brand in compatible {
            ftyp.extend_from_slice(*brand);
        }
        let mut f = iso_box(b"ftyp", &ftyp);
        let ipco = iso_box(b"ipco", &[ispe(320, 240), ispe(width, height)].concat());
        // version 0, flags 0: one entry, item 1 (u16), one association,
        // essential bit and index 2 in one byte.
        let ipma = full_box(b"ipma", &[0, 0, 0, 1, 0, 1, 1, 0x82]);
        let iprp = iso_box(b"iprp", &[ipco, ipma].concat());
        let hdlr = full_box(b"hdlr", b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full_box(b"pitm", &[0, 1]);
        f.extend(full_box(b"meta", &[hdlr, pitm, iprp].concat()));
        f.extend(iso_box(b"mdat", &[0x55; 300]));
        f
    }

    #[test]
    fn a_minimal_jpeg_is_measured() {
        let info = sniff(&jpeg(640, 480)).unwrap();
        assert_eq!(
            info,
            ContentInfo {
                content_type: ContentType::Jpeg,
                width: Some(640),
                height: Some(480),
                pages: None
            }
        );
        assert_eq!(sniff_in(&jpeg(640, 480), 1), Ok(info));
    }

    #[test]
    fn a_jpeg_frame_header_after_a_large_exif_segment_is_found_in_any_pieces() {
        let file = jpeg_with(4032, 3024, &[app1(60_000), app1(65_000), app1(50_000)]);
        let expected = Some((Some(4032), Some(3024)));
        for piece in [1, 4096, file.len()] {
            let info = sniff_in(&file, piece).ok();
            assert_eq!(info.map(|i| (i.width, i.height)), expected, "piece {piece}");
        }
    }

    #[test]
    fn a_jpeg_frame_header_must_come_within_the_first_mib() {
        let exif: Vec<Vec<u8>> = (0..17).map(|_| app1(65_000)).collect();
        assert_eq!(code(&jpeg_with(100, 100, &exif)), "malformed_content");
        let exif: Vec<Vec<u8>> = (0..15).map(|_| app1(65_000)).collect();
        assert!(sniff(&jpeg_with(100, 100, &exif)).is_ok());
    }

    #[test]
    fn jpeg_sizes_are_bounded() {
        assert_eq!(code(&jpeg(20_000, 100)), "image_too_large");
        assert_eq!(code(&jpeg(11_000, 11_000)), "image_too_large"); // 121 MP
        assert_eq!(code(&jpeg(0, 100)), "malformed_content");
        // Refused as soon as the frame header is in, before the image data.
        let file = jpeg(65_535, 65_535);
        let sof_end = file.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap() + 9;
        let mut sniffer = Sniffer::new(ContentLimits::default());
        assert_eq!(
            sniffer.update(&file[..sof_end]).map_err(|e| e.code()),
            Err("image_too_large")
        );
    }

    #[test]
    fn damaged_or_truncated_jpegs_are_malformed() {
        let file = jpeg(10, 10);
        assert_eq!(code(&file[..file.len() - 2]), "malformed_content");
        assert_eq!(code(&file[..40]), "malformed_content");
        // Scan data before any frame header.
        let mut no_sof = vec![0xFF, 0xD8];
        no_sof.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        no_sof.extend_from_slice(&[1, 2, 0xFF, 0xD9]);
        assert_eq!(code(&no_sof), "malformed_content");
    }

    #[test]
    fn jpeg_trailing_data_is_tolerated_only_small_and_signature_free() {
        let mut padded = jpeg(10, 10);
        padded.extend_from_slice(&[0u8; 2000]);
        assert!(sniff(&padded).is_ok());

        let mut large = jpeg(10, 10);
        large.extend(std::iter::repeat_n(0u8, JPEG_MAX_TRAILING + 1));
        assert_eq!(code(&large), "polyglot_content");

        for signature in [&b"%PDF-1.4"[..], b"<script>", b"PK\x01\x02"] {
            let mut tagged = jpeg(10, 10);
            tagged.extend_from_slice(b"\0\0\0\0");
            tagged.extend_from_slice(signature);
            assert_eq!(code(&tagged), "polyglot_content");
        }
    }

    #[test]
    fn multi_picture_jpegs_are_walked_and_every_image_is_bounded() {
        let mut mpf = jpeg(4000, 3000);
        mpf.extend(jpeg(1000, 750));
        let info = sniff(&mpf).unwrap();
        assert_eq!((info.width, info.height), (Some(4000), Some(3000)));
        let mut flood = jpeg(4000, 3000);
        flood.extend(jpeg(60_000, 60_000));
        assert_eq!(code(&flood), "image_too_large");
    }

    /// A ZIP archive with one stored entry, as `zip` writes it.
    fn zip() -> Vec<u8> {
        let mut z = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        z.extend_from_slice(&[0; 12]); // crc, sizes
        z.extend_from_slice(&[9, 0, 0, 0]); // name length 9, no extra
        z.extend_from_slice(b"evil.html");
        let cd_offset = z.len() as u32;
        let mut cd = b"PK\x01\x02\x14\x00\x14\x00".to_vec();
        cd.extend_from_slice(&[0; 20]);
        cd.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        cd.extend_from_slice(b"evil.html");
        let cd_size = cd.len() as u32;
        z.extend(cd);
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        z.extend_from_slice(&cd_size.to_le_bytes());
        z.extend_from_slice(&cd_offset.to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    #[test]
    fn images_carrying_a_zip_archive_are_polyglots() {
        let mut appended = jpeg(10, 10);
        appended.extend(zip());
        assert_eq!(code(&appended), "polyglot_content");
        // Hidden inside a comment segment in the middle of the file.
        let inside = jpeg_with(10, 10, &[app1(3000), segment(0xFE, &zip()), app1(3000)]);
        assert_eq!(code(&inside), "polyglot_content");
        let png_inside = png_with(10, 10, &[png_chunk(b"zzIP", &zip())]);
        assert_eq!(code(&png_inside), "polyglot_content");
        // Only an end record, its comment covering the rest of the file.
        let mut eocd = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x20\x00".to_vec();
        eocd.extend_from_slice(&[0; 2]);
        // In a well-formed last box of a HEIF file.
        let heif_tail = [heif(b"heic", &[b"mif1"], 64, 64), iso_box(b"free", &eocd)].concat();
        assert_eq!(code(&heif_tail), "polyglot_content");
        // Appended raw, it is not even a box.
        let heif_raw = [heif(b"heic", &[b"mif1"], 64, 64), eocd.clone()].concat();
        assert_eq!(code(&heif_raw), "malformed_content");
        let tail_in_comment = jpeg_with(10, 10, &[app1(3000), segment(0xFE, &eocd)]);
        assert_eq!(code(&tail_in_comment), "polyglot_content");
    }

    #[test]
    fn markup_or_a_pdf_header_near_the_start_is_a_polyglot() {
        let script = jpeg_with(10, 10, &[segment(0xFE, b"<SCRIPT>alert(1)</script>")]);
        assert_eq!(code(&script), "polyglot_content");
        let php = jpeg_with(10, 10, &[segment(0xFE, b"<?php system($_GET['c']); ?>")]);
        assert_eq!(code(&php), "polyglot_content");
        let svg = png_with(10, 10, &[png_chunk(b"tEXt", b"Comment\0<svg onload=x>")]);
        assert_eq!(code(&svg), "polyglot_content");
        let pdf_in_png = png_with(10, 10, &[png_chunk(b"tEXt", b"Comment\0%PDF-1.4")]);
        assert_eq!(code(&pdf_in_png), "polyglot_content");
        let html_in_pdf = pdf_with("% <html><body>hi</body></html>\n");
        assert_eq!(code(&html_in_pdf), "polyglot_content");
        // The same markup past the first 1024 bytes of an image is only bytes.
        let late = jpeg_with(10, 10, &[app1(2000), segment(0xFE, b"<svg>")]);
        assert!(sniff(&late).is_ok());
    }

    #[test]
    fn pngs_are_measured_and_bounded() {
        let info = sniff(&png(1920, 1080)).unwrap();
        assert_eq!(
            (info.content_type, info.width, info.height),
            (ContentType::Png, Some(1920), Some(1080))
        );
        let flood = png(100_000, 100_000);
        assert_eq!(code(&flood), "image_too_large");
        // Refused from the header alone.
        let mut sniffer = Sniffer::new(ContentLimits::default());
        assert_eq!(
            sniffer.update(&flood[..33]).map_err(|e| e.code()),
            Err("image_too_large")
        );
    }

    #[test]
    fn damaged_pngs_are_malformed_and_data_after_iend_is_refused() {
        let good = png(10, 10);
        assert_eq!(code(&good[..good.len() - 1]), "malformed_content");
        let mut text_first = PNG_SIGNATURE.to_vec();
        text_first.extend(png_chunk(b"tEXt", b"a\0b"));
        text_first.extend_from_slice(&good[8..]);
        assert_eq!(code(&text_first), "malformed_content");
        let mut bad_depth = good.clone();
        bad_depth[24] = 3;
        assert_eq!(code(&bad_depth), "malformed_content");

        let mut after = good.clone();
        after.push(0);
        assert_eq!(code(&after), "polyglot_content");
        let mut html_after = good;
        html_after.extend_from_slice(b"<html>");
        assert_eq!(code(&html_after), "polyglot_content");
    }

    #[test]
    fn a_tiny_pdf_is_accepted_with_its_page_count() {
        assert_eq!(
            sniff(&pdf()),
            Ok(ContentInfo {
                content_type: ContentType::Pdf,
                width: None,
                height: None,
                pages: Some(1)
            })
        );
        assert_eq!(sniff_in(&pdf(), 1).map(|i| i.pages), Ok(Some(1)));
        // Links are fine: bank statements carry them.
        let link = pdf_with("9 0 obj\n<< /S /URI /URI (https://bank.example) >>\nendobj\n");
        assert!(sniff(&link).is_ok());
        let v2 = [b"%PDF-2.0".as_slice(), &pdf()[8..]].concat();
        assert!(sniff(&v2).is_ok());
    }

    #[test]
    fn active_content_in_a_pdf_is_refused() {
        for (object, feature) in [
            ("<< /S /JavaScript /JS (app.alert(1)) >>", "JavaScript"),
            ("<< /S /J#61vaScript >>", "JavaScript"),
            ("<< /OpenAction << /J#53 (x) >> >>", "JavaScript"),
            (
                "<< /AA << /O 12 0 R >> /S /Launch /F (cmd.exe) >>",
                "a launch action",
            ),
            ("<< /Names << /EmbeddedFiles 7 0 R >> >>", "embedded files"),
            ("<< /Type /EmbeddedFile /Length 0 >>", "embedded files"),
            ("<< /Type /Annot /Subtype /RichMedia >>", "rich media"),
            ("<< /AcroForm << /XFA 8 0 R >> >>", "an XFA form"),
            (
                "<< /S /SubmitForm /F (https://x) >>",
                "a form submission action",
            ),
            ("<< /S /ImportData >>", "a data import action"),
            ("<< /S /GoToR /F (other.pdf) >>", "a link into another file"),
            ("<< /S /GoToE >>", "a link into an embedded file"),
        ] {
            let file = pdf_with(&format!("9 0 obj\n{object}\nendobj\n"));
            assert_eq!(
                sniff(&file),
                Err(ContentError::PdfActiveContent { feature }),
                "{object}"
            );
        }
    }

    #[test]
    fn an_escaped_name_split_across_pieces_is_still_found() {
        let file = pdf_with("9 0 obj\n<< /S /J#61va#53cript >>\nendobj\n");
        for piece in 1..=12 {
            assert_eq!(
                sniff_in(&file, piece).map_err(|e| e.code()),
                Err("pdf_active_content"),
                "piece {piece}"
            );
        }
    }

    #[test]
    fn encrypted_truncated_or_misplaced_pdfs_are_refused() {
        let encrypted = pdf_with(
            "9 0 obj\n<< /Filter /Standard /V 2 /R 3 >>\nendobj\ntrailer << /Encrypt 9 0 R >>\n",
        );
        assert_eq!(sniff(&encrypted), Err(ContentError::PdfEncrypted));
        let file = pdf();
        assert_eq!(code(&file[..file.len() - 10]), "malformed_content");
        assert_eq!(code(&file[..file.len() / 2]), "malformed_content");
        let shifted = [b"0123456789".as_slice(), &file].concat();
        assert_eq!(code(&shifted), "polyglot_content");
        let unknown_version = [b"%PDF-3.1".as_slice(), &file[8..]].concat();
        assert_eq!(code(&unknown_version), "malformed_content");
    }

    #[test]
    fn pdf_pages_are_counted_and_bounded() {
        assert_eq!(sniff(&pdf_pages(50)).map(|i| i.pages), Ok(Some(50)));
        assert_eq!(
            sniff(&pdf_pages(51)),
            Err(ContentError::PdfTooManyPages { max: 50 })
        );
        assert_eq!(code(&pdf_pages(0)), "malformed_content");
        // `/Type /Pages` is not a page; a page in a string is not either.
        let decoys = pdf_with("9 0 obj\n<< /Type /Pages /Title (/Type /Page) >>\nendobj\n");
        assert_eq!(sniff(&decoys).map(|i| i.pages), Ok(Some(1)));
        let spaced = pdf_with("9 0 obj\n<</Type\r\n  /Page>>\nendobj\n");
        assert_eq!(sniff(&spaced).map(|i| i.pages), Ok(Some(2)));
    }

    #[test]
    fn raw_stream_data_is_not_mistaken_for_names_but_long_names_still_count() {
        // Binary content (an image, a font) may hold `/JS` by chance.
        let mut binary =
            b"9 0 obj\n<< /Length 20 /Filter /DCTDecode >>\nstream\n\x01\x02/JS \x03/XFA\x00"
                .to_vec();
        binary.extend_from_slice(b"\nendstream\nendobj\n");
        let file = pdf_with(std::str::from_utf8(&binary).unwrap());
        assert_eq!(sniff(&file).map(|i| i.pages), Ok(Some(1)));
        let hidden = pdf_with(
            "9 0 obj\n<< /Length 30 >>\nstream\n<< /S /JavaScript >>\nendstream\nendobj\n",
        );
        assert_eq!(code(&hidden), "pdf_active_content");
    }

    #[test]
    fn object_streams_are_inflated_and_scanned() {
        let file = pdf_object_stream(OBJECTS, "", true);
        assert!(!file.windows(5).any(|w| w == b"/Page"), "compressed");
        assert_eq!(sniff(&file).map(|i| i.pages), Ok(Some(1)));
        assert_eq!(sniff_in(&file, 1).map(|i| i.pages), Ok(Some(1)));
        let raw = pdf_object_stream(OBJECTS, "", false);
        assert_eq!(sniff(&raw).map(|i| i.pages), Ok(Some(1)));

        let script = format!("{OBJECTS} << /S /JavaScript /JS (app.alert(1)) >>");
        assert_eq!(
            sniff(&pdf_object_stream(&script, "", true)),
            Err(ContentError::PdfActiveContent {
                feature: "JavaScript"
            })
        );
        let short = format!("{OBJECTS} << /OpenAction << /JS 9 0 R >> >>");
        assert_eq!(
            code(&pdf_object_stream(&short, "", true)),
            "pdf_active_content"
        );
        let many: String = (0..60).map(|_| "<</Type/Page>> ").collect();
        assert_eq!(
            code(&pdf_object_stream(&many, "", true)),
            "pdf_too_many_pages"
        );
    }

    #[test]
    fn object_streams_the_scan_cannot_read_are_refused() {
        let hex = pdf_object_stream(OBJECTS, "/Filter /ASCIIHexDecode ", false);
        assert_eq!(code(&hex), "pdf_uninspectable");
        let indirect = pdf_object_stream(OBJECTS, "/Filter 7 0 R ", false);
        assert_eq!(code(&indirect), "pdf_uninspectable");
        let predictor = pdf_object_stream(OBJECTS, "/DecodeParms << /Predictor 12 >> ", true);
        assert_eq!(code(&predictor), "pdf_uninspectable");

        let mut corrupt = pdf_object_stream(OBJECTS, "", true);
        let at = corrupt.windows(7).position(|w| w == b"stream\n").unwrap() + 9;
        corrupt[at] ^= 0xFF;
        corrupt[at + 1] ^= 0xFF;
        assert!(matches!(
            sniff(&corrupt).map_err(|e| e.code()),
            Err("malformed_content" | "pdf_uninspectable")
        ));

        // An inflation bomb: 20 MiB of spaces in a few KiB.
        let bomb = " ".repeat(20 * 1024 * 1024);
        let file = pdf_object_stream(&format!("{OBJECTS}{bomb}"), "", true);
        assert!(file.len() < 100_000);
        assert_eq!(code(&file), "pdf_uninspectable");
    }

    #[test]
    fn heif_is_measured_from_the_primary_item() {
        let file = heif(b"heic", &[b"mif1", b"heic"], 4032, 3024);
        let info = sniff(&file).unwrap();
        assert_eq!(
            info,
            ContentInfo {
                content_type: ContentType::Heif,
                width: Some(4032),
                height: Some(3024),
                pages: None
            }
        );
        assert_eq!(sniff_in(&file, 1), Ok(info));
        assert!(sniff(&heif(b"mif1", &[b"heic"], 100, 100)).is_ok());
        assert_eq!(
            code(&heif(b"heic", &[b"mif1"], 50_000, 50_000)),
            "image_too_large"
        );
    }

    #[test]
    fn avif_and_other_iso_media_are_unsupported() {
        assert_eq!(
            sniff(&heif(b"avif", &[b"mif1", b"miaf"], 100, 100)),
            Err(ContentError::UnsupportedContentType {
                detected: Some("AVIF")
            })
        );
        assert_eq!(
            code(&heif(b"heic", &[b"mif1", b"avif"], 100, 100)),
            "unsupported_content_type"
        );
        assert_eq!(
            code(&heif(b"isom", &[b"mp41"], 100, 100)),
            "unsupported_content_type"
        );
    }

    #[test]
    fn damaged_heif_is_malformed() {
        let file = heif(b"heic", &[b"mif1"], 100, 100);
        assert_eq!(code(&file[..file.len() - 1]), "malformed_content");
        let mut without_ispe = iso_box(b"ftyp", b"heic\0\0\0\0mif1");
        without_ispe.extend(full_box(b"meta", &full_box(b"pitm", &[0, 1])));
        assert_eq!(code(&without_ispe), "malformed_content");
    }

    #[test]
    fn everything_else_is_unsupported_and_named_where_known() {
        let cases: [(&[u8], Option<&str>); 18] = [
            (
                b"\xef\xbb\xbf \n\t<html><body>hi</body></html>",
                Some("HTML"),
            ),
            (b"<!DOCTYPE html><p>", Some("HTML")),
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", Some("SVG")),
            (b"<?xml version=\"1.0\"?>\n<svg/>", Some("SVG")),
            (b"<?xml version=\"1.0\"?><a/>", Some("XML")),
            (b"GIF89a\x01\x00\x01\x00", Some("GIF")),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("WebP")),
            (b"BM\x36\0\0\0\0\0", Some("BMP")),
            (b"II*\0\x08\0\0\0", Some("TIFF")),
            (b"\x1f\x8b\x08\0", Some("gzip")),
            (b"7z\xbc\xaf\x27\x1c\0\x04", Some("a 7-Zip archive")),
            (b"Rar!\x1a\x07\x01\0", Some("a RAR archive")),
            (b"\x7fELF\x02\x01\x01\0", Some("an ELF executable")),
            (b"MZ\x90\0\x03\0\0\0", Some("a Windows executable")),
            (b"\xcf\xfa\xed\xfe\x07\0\0\x01", Some("a Mach-O executable")),
            (b"#!/bin/sh\nrm -rf /\n", Some("a script")),
            (b"hello, world", None),
            (b"\xff\xd8", None),
        ];
        for (bytes, detected) in cases {
            assert_eq!(
                sniff(bytes),
                Err(ContentError::UnsupportedContentType { detected }),
                "{detected:?}"
            );
        }
        assert_eq!(
            sniff(&zip()),
            Err(ContentError::UnsupportedContentType {
                detected: Some("a ZIP archive (also JAR, DOCX, XLSX, ODT)")
            })
        );
        assert_eq!(sniff(b""), Err(ContentError::Empty));
    }

    #[test]
    fn errors_stick_and_never_echo_the_file() {
        let mut sniffer = Sniffer::new(ContentLimits::default());
        let secret = b"<html>SECRET-ACCOUNT-4711</html>";
        sniffer.update(secret).unwrap(); // still within the first 1024 bytes
        let error = sniffer.finish().unwrap_err();
        assert!(!error.to_string().contains("SECRET"));

        let mut sniffer = Sniffer::new(ContentLimits::default());
        let mut file = png(100_000, 100_000);
        file.extend_from_slice(&[0; 2000]);
        let first = sniffer.update(&file).unwrap_err();
        assert_eq!(sniffer.update(&png(10, 10)), Err(first.clone()));
        assert_eq!(sniffer.finish(), Err(first));
    }

    #[test]
    fn codes_are_stable_snake_case() {
        let errors = [
            ContentError::Empty,
            ContentError::UnsupportedContentType { detected: None },
            ContentError::ImageTooLarge {
                width: 1,
                height: 1,
                max_width: 1,
                max_height: 1,
                max_pixels: 1,
            },
            ContentError::PdfActiveContent { feature: "x" },
            ContentError::PdfTooManyPages { max: 1 },
            ContentError::PdfEncrypted,
            ContentError::PdfUninspectable { reason: "x" },
            ContentError::PolyglotContent { reason: "x" },
            ContentError::Malformed { reason: "x" },
        ];
        let codes: std::collections::HashSet<_> = errors.iter().map(ContentError::code).collect();
        assert_eq!(codes.len(), errors.len());
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    /// The real sample files in `tests/fixtures/documents` (see its README).
    #[test]
    fn real_sample_files_are_accepted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/documents");
        let mut seen = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let expected = match path.extension().and_then(|e| e.to_str()) {
                Some("jpg" | "jpeg") => ContentType::Jpeg,
                Some("png") => ContentType::Png,
                Some("pdf") => ContentType::Pdf,
                Some("heic" | "heif") => ContentType::Heif,
                _ => continue,
            };
            let bytes = std::fs::read(&path).unwrap();
            let info = sniff(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(info.content_type, expected, "{}", path.display());
            if expected == ContentType::Pdf {
                assert!(info.pages.is_some_and(|p| p >= 1));
            } else {
                assert!(info.width.is_some_and(|w| w > 0) && info.height.is_some_and(|h| h > 0));
            }
            seen.insert(expected.extension());
        }
        for ext in ["jpg", "png", "pdf"] {
            assert!(seen.contains(ext), "no .{ext} sample in {}", dir.display());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_verdict_does_not_depend_on_how_the_file_is_split(
            which in 0usize..5,
            cuts in proptest::collection::vec(1usize..600, 1..20),
        ) {
            let file = match which {
                0 => jpeg_with(800, 600, &[app1(3000)]),
                1 => png(300, 200),
                2 => pdf_object_stream(OBJECTS, "", true),
                3 => heif(b"heic", &[b"mif1"], 64, 48),
                _ => pdf_with("9 0 obj\n<< /S /J#61vaScript >>\nendobj\n"),
            };
            let mut sniffer = Sniffer::new(ContentLimits::default());
            let mut rest = &file[..];
            let mut result = Ok(());
            for cut in cuts.iter().cycle() {
                if rest.is_empty() || result.is_err() { break; }
                let (part, tail) = rest.split_at((*cut).min(rest.len()));
                result = sniffer.update(part);
                rest = tail;
            }
            let split = result.and_then(|()| sniffer.finish());
            prop_assert_eq!(split, sniff_in(&file, file.len()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            head in prop_oneof![
                Just(b"\xff\xd8\xff".to_vec()),
                Just(PNG_SIGNATURE.to_vec()),
                Just(b"%PDF-1.7\n".to_vec()),
                Just(b"\0\0\0\x18ftypheic\0\0\0\0mif1".to_vec()),
            ],
            body in proptest::collection::vec(any::<u8>(), 0..4000),
        ) {
            let file = [head, body].concat();
            let _ = sniff_in(&file, 13);
        }
    }
}
