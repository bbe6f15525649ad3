//! A push-based `multipart/form-data` parser (RFC 7578 over the RFC 2046
//! §5.1 body syntax) that never holds a part whole: bytes go in as they
//! arrive from the connection, events come out, and every limit (part count,
//! header block size, field value size, total size) is checked while reading,
//! so an oversized request is refused as soon as it crosses a line.
//!
//! Written here rather than taken from a crate because the parsers at hand
//! buffer a part's header block without a bound of its own.

use bytes::{Buf, Bytes, BytesMut};

/// Bounds for one request body.
#[derive(Debug, Clone, Copy)]
pub struct MultipartLimits {
    /// Parts in the body.
    pub max_parts: usize,
    /// Bytes of one part's header block.
    pub max_header_bytes: usize,
    /// Bytes of the whole body, delimiters included.
    pub max_body_bytes: u64,
    /// Bytes ignored before the first delimiter (RFC 2046 preamble).
    pub max_preamble_bytes: usize,
}

/// One part's headers, as far as form data uses them (RFC 7578 §4.2, §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHeaders {
    /// `name` of `Content-Disposition: form-data`.
    pub name: String,
    /// `filename`, raw as sent (untrusted: only ever metadata).
    pub filename: Option<String>,
    /// `Content-Type`, lower-cased, without parameters.
    pub content_type: Option<String>,
}

/// What the parser found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part begins.
    PartStart(PartHeaders),
    /// Bytes of the current part's content.
    Data(Bytes),
    /// The current part ended.
    PartEnd,
    /// The closing delimiter was read; the rest is ignored.
    End,
}

/// Why a body is refused. `is_too_large` tells 413 from 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// More parts than allowed.
    #[error("more than {0} parts")]
    TooManyParts(usize),
    /// A part's header block is too long.
    #[error("a part's headers exceed {0} bytes")]
    HeadersTooLarge(usize),
    /// The body is longer than allowed.
    #[error("the request body exceeds {0} bytes")]
    BodyTooLarge(u64),
    /// The body does not follow RFC 2046 / RFC 7578.
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

impl MultipartError {
    /// Limits crossed (413) rather than syntax errors (400).
    pub fn is_too_large(&self) -> bool {
        !matches!(self, Self::Malformed(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preamble,
    AfterDelimiter,
    Headers,
    Body,
    Done,
}

/// The parser. Feed it with [`Parser::feed`], drain it with
/// [`Parser::next_event`] until it returns `None`, then feed more or call
/// [`Parser::finish`] at the end of the body.
#[derive(Debug)]
pub struct Parser {
    /// `CRLF--boundary`: every delimiter but the first is preceded by CRLF
    /// (RFC 2046 §5.1.1); a CRLF is put in front of the body so the first
    /// one looks the same.
    delimiter: Vec<u8>,
    buf: BytesMut,
    stage: Stage,
    limits: MultipartLimits,
    received: u64,
    parts: usize,
    preamble: usize,
    eof: bool,
}

/// The `boundary` parameter of a `multipart/form-data` content type, checked
/// against RFC 2046 §5.1.1 (1 to 70 characters of `bchars`).
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::Malformed(
            "the content type must be multipart/form-data",
        ));
    }
    let value = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .ok_or(MultipartError::Malformed(
            "the content type has no boundary",
        ))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    if value.is_empty() || value.len() > 70 || !value.chars().all(allowed) || value.ends_with(' ') {
        return Err(MultipartError::Malformed("the boundary is not valid"));
    }
    Ok(value)
}

impl Parser {
    /// A parser for `boundary` (from [`boundary`]).
    pub fn new(boundary: &str, limits: MultipartLimits) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(b"\r\n");
        Self {
            delimiter,
            buf,
            stage: Stage::Preamble,
            limits,
            received: 0,
            parts: 0,
            preamble: 0,
            eof: false,
        }
    }

    /// Adds bytes read from the connection.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), MultipartError> {
        self.received = self.received.saturating_add(chunk.len() as u64);
        if self.received > self.limits.max_body_bytes {
            return Err(MultipartError::BodyTooLarge(self.limits.max_body_bytes));
        }
        if self.stage != Stage::Done {
            self.buf.extend_from_slice(chunk);
        }
        Ok(())
    }

    /// Marks the end of the body; a body that ends before its closing
    /// delimiter is then reported by [`Parser::next_event`].
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The next event, or `None` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, MultipartError> {
        loop {
            match self.stage {
                Stage::Done => return Ok(None),
                Stage::Preamble => match find(&self.buf, &self.delimiter) {
                    Some(at) => {
                        self.preamble = self.preamble.saturating_add(at);
                        self.check_preamble()?;
                        self.buf.advance(at + self.delimiter.len());
                        self.stage = Stage::AfterDelimiter;
                    }
                    None => {
                        let keep = self.delimiter.len() - 1;
                        let drop = self.buf.len().saturating_sub(keep);
                        self.preamble = self.preamble.saturating_add(drop);
                        self.buf.advance(drop);
                        self.check_preamble()?;
                        return self.need_more("the body ended before the first boundary");
                    }
                },
                Stage::AfterDelimiter => {
                    // RFC 2046 §5.1.1: `--` closes; otherwise optional
                    // linear white space, then CRLF.
                    if self.buf.len() < 2 {
                        return self.need_more("the body ended after a boundary");
                    }
                    if self.buf.starts_with(b"--") {
                        self.stage = Stage::Done;
                        self.buf.clear();
                        return Ok(Some(Event::End));
                    }
                    let spaces = self
                        .buf
                        .iter()
                        .take_while(|b| **b == b' ' || **b == b'\t')
                        .count();
                    if spaces > 64 {
                        return Err(MultipartError::Malformed("junk after a boundary"));
                    }
                    if self.buf.len() < spaces + 2 {
                        return self.need_more("the body ended after a boundary");
                    }
                    if &self.buf[spaces..spaces + 2] != b"\r\n" {
                        return Err(MultipartError::Malformed("junk after a boundary"));
                    }
                    self.buf.advance(spaces + 2);
                    self.parts += 1;
                    if self.parts > self.limits.max_parts {
                        return Err(MultipartError::TooManyParts(self.limits.max_parts));
                    }
                    self.stage = Stage::Headers;
                }
                Stage::Headers => {
                    if self.buf.starts_with(b"\r\n") {
                        // No header block at all, so no Content-Disposition.
                        return Err(MultipartError::Malformed(
                            "a part has no Content-Disposition header",
                        ));
                    }
                    let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                        if self.buf.len() > self.limits.max_header_bytes {
                            return Err(MultipartError::HeadersTooLarge(
                                self.limits.max_header_bytes,
                            ));
                        }
                        return self.need_more("the body ended inside a part's headers");
                    };
                    let block = self.buf.split_to(end).freeze();
                    if block.len() > self.limits.max_header_bytes {
                        return Err(MultipartError::HeadersTooLarge(
                            self.limits.max_header_bytes,
                        ));
                    }
                    self.buf.advance(4);
                    self.stage = Stage::Body;
                    return Ok(Some(Event::PartStart(parse_headers(&block)?)));
                }
                Stage::Body => {
                    if let Some(at) = find(&self.buf, &self.delimiter) {
                        if at > 0 {
                            return Ok(Some(Event::Data(self.buf.split_to(at).freeze())));
                        }
                        self.buf.advance(self.delimiter.len());
                        self.stage = Stage::AfterDelimiter;
                        return Ok(Some(Event::PartEnd));
                    }
                    // Everything but a possible delimiter prefix at the end
                    // is content.
                    let safe = self.buf.len().saturating_sub(self.delimiter.len() - 1);
                    if safe > 0 {
                        return Ok(Some(Event::Data(self.buf.split_to(safe).freeze())));
                    }
                    return self.need_more("the body ended inside a part");
                }
            }
        }
    }

    fn need_more(&self, what: &'static str) -> Result<Option<Event>, MultipartError> {
        if self.eof {
            Err(MultipartError::Malformed(what))
        } else {
            Ok(None)
        }
    }

    fn check_preamble(&self) -> Result<(), MultipartError> {
        if self.preamble > self.limits.max_preamble_bytes {
            return Err(MultipartError::Malformed(
                "the body does not start with the boundary",
            ));
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(haystack, needle)
}

/// Parses a part's header block: `Content-Disposition: form-data` with a
/// `name` is required (RFC 7578 §4.2); `Content-Type` is optional.
fn parse_headers(block: &[u8]) -> Result<PartHeaders, MultipartError> {
    let text = std::str::from_utf8(block)
        .map_err(|_| MultipartError::Malformed("part headers are not UTF-8"))?;
    let mut disposition = None;
    let mut content_type = None;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(MultipartError::Malformed("a part header has no colon"))?;
        if name.eq_ignore_ascii_case("content-disposition") {
            if disposition.is_some() {
                return Err(MultipartError::Malformed(
                    "a part has two Content-Disposition headers",
                ));
            }
            disposition = Some(value.trim().to_owned());
        } else if name.eq_ignore_ascii_case("content-type") {
            let essence = value.split(';').next().unwrap_or_default().trim();
            content_type = Some(essence.to_ascii_lowercase());
        }
    }
    let disposition = disposition.ok_or(MultipartError::Malformed(
        "a part has no Content-Disposition header",
    ))?;
    let params = disposition_params(&disposition)?;
    let name = params
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .ok_or(MultipartError::Malformed("a part has no name"))?;
    let filename = params
        .iter()
        .find(|(k, _)| k == "filename")
        .map(|(_, v)| v.clone());
    Ok(PartHeaders {
        name,
        filename,
        content_type,
    })
}

/// `form-data; name="x"; filename="y"` → `[(name, x), (filename, y)]`, with
/// quoted-string escapes undone (RFC 7578 §4.2, RFC 9110 §5.6.4).
fn disposition_params(value: &str) -> Result<Vec<(String, String)>, MultipartError> {
    let mut chars = value.chars().peekable();
    let kind: String = chars.by_ref().take_while(|c| *c != ';').collect();
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::Malformed(
            "a part's Content-Disposition is not form-data",
        ));
    }
    let mut params = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(params);
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().to_ascii_lowercase();
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => val.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => val.push(c),
                    None => {
                        return Err(MultipartError::Malformed(
                            "an unterminated quoted string in Content-Disposition",
                        ));
                    }
                }
            }
            while chars.peek().is_some_and(|c| *c != ';') {
                chars.next();
            }
            chars.next();
        } else {
            val = chars.by_ref().take_while(|c| *c != ';').collect();
            val = val.trim().to_owned();
        }
        if params.iter().any(|(k, _)| *k == key) {
            return Err(MultipartError::Malformed(
                "a Content-Disposition parameter is repeated",
            ));
        }
        params.push((key, val));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: MultipartLimits = MultipartLimits {
        max_parts: 4,
        max_header_bytes: 1024,
        max_body_bytes: 1 << 20,
        max_preamble_bytes: 64,
    };

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, content) in parts {
            out.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
            if let Some(f) = filename {
                out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
            }
            out.extend_from_slice(b"\r\nContent-Type: Image/JPEG; q=1\r\n\r\n");
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    /// Feeds `input` in pieces of `piece` bytes and collects the events,
    /// merging adjacent data.
    fn run(
        input: &[u8],
        piece: usize,
        limits: MultipartLimits,
    ) -> Result<Vec<Event>, MultipartError> {
        let mut p = Parser::new("XyZ", limits);
        let mut events: Vec<Event> = Vec::new();
        let push = |e: Event, events: &mut Vec<Event>| match (events.last_mut(), e) {
            (Some(Event::Data(prev)), Event::Data(more)) => {
                let mut joined = prev.to_vec();
                joined.extend_from_slice(&more);
                *prev = Bytes::from(joined);
            }
            (_, e) => events.push(e),
        };
        for chunk in input.chunks(piece.max(1)) {
            p.feed(chunk)?;
            while let Some(e) = p.next_event()? {
                push(e, &mut events);
            }
        }
        p.finish();
        while let Some(e) = p.next_event()? {
            push(e, &mut events);
        }
        Ok(events)
    }

    #[test]
    fn parts_come_out_whole_whatever_the_piece_size() {
        let content: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let input = body(&[
            ("kind", None, b"passport"),
            ("file", Some("a.jpg"), &content),
        ]);
        for piece in [1, 2, 3, 7, 64, 4096, input.len()] {
            let events = run(&input, piece, LIMITS).unwrap();
            assert_eq!(events.len(), 7, "piece {piece}: {events:?}");
            assert_eq!(events[1], Event::Data(Bytes::from_static(b"passport")));
            let Event::PartStart(h) = &events[3] else {
                panic!()
            };
            assert_eq!(h.name, "file");
            assert_eq!(h.filename.as_deref(), Some("a.jpg"));
            assert_eq!(h.content_type.as_deref(), Some("image/jpeg"));
            assert_eq!(events[4], Event::Data(Bytes::from(content.clone())));
            assert_eq!(events[6], Event::End);
        }
    }

    #[test]
    fn content_that_looks_like_a_delimiter_prefix_stays_content() {
        let content = b"\r\n--XyA\r\n--Xy";
        let events = run(&body(&[("file", None, content)]), 1, LIMITS).unwrap();
        assert_eq!(events[1], Event::Data(Bytes::from_static(content)));
    }

    #[test]
    fn limits_are_enforced_while_reading() {
        let many: Vec<(&str, Option<&str>, &[u8])> = vec![("a", None, b"x"); 5];
        assert_eq!(
            run(&body(&many), 16, LIMITS),
            Err(MultipartError::TooManyParts(4))
        );

        let mut long_header =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX: ".to_vec();
        long_header.extend(std::iter::repeat_n(b'a', 2000));
        let err = run(&long_header, 100, LIMITS).unwrap_err();
        assert_eq!(err, MultipartError::HeadersTooLarge(1024));
        assert!(err.is_too_large());

        let small = MultipartLimits {
            max_body_bytes: 100,
            ..LIMITS
        };
        let big = body(&[("file", None, &[7u8; 200])]);
        assert_eq!(run(&big, 10, small), Err(MultipartError::BodyTooLarge(100)));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for bad in [
            &b"no boundary at all"[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--XyZ--",
            b"--XyZjunk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--",
        ] {
            let err = run(bad, 5, LIMITS).unwrap_err();
            assert!(!err.is_too_large(), "{err:?}");
        }
    }

    #[test]
    fn boundaries_follow_rfc_2046() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").unwrap(),
            "abc"
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"").unwrap(),
            "a b:c"
        );
        assert!(boundary("multipart/form-data").is_err());
        assert!(boundary("multipart/mixed; boundary=abc").is_err());
        assert!(boundary("multipart/form-data; boundary=").is_err());
        assert!(boundary(&format!("multipart/form-data; boundary={}", "a".repeat(71))).is_err());
    }

    #[test]
    fn quoted_file_names_are_unescaped() {
        let h =
            parse_headers(b"Content-Disposition: form-data; name=\"f\"; filename=\"a\\\"b.jpg\"")
                .unwrap();
        assert_eq!(h.filename.as_deref(), Some("a\"b.jpg"));
    }

    proptest! {
        #[test]
        fn any_content_round_trips(content in proptest::collection::vec(any::<u8>(), 0..3000), piece in 1usize..300) {
            let events = run(&body(&[("file", Some("x"), &content)]), piece, LIMITS).unwrap();
            let data = match &events[1] { Event::Data(d) => d.to_vec(), Event::PartEnd => Vec::new(), e => panic!("{e:?}") };
            prop_assert_eq!(data, content);
        }
    }
}
