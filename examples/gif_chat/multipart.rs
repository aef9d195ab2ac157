//! `multipart/form-data` (RFC 7578), what the page's `FormData` sends and the book reads with
//! multer. A small parser of our own: the maintained Rust parsers are asynchronous (`multer`
//! reads a `Stream` of chunks under an async runtime, which this server has none of), and the
//! blocking one (`multipart`) is archived and flagged unmaintained (RUSTSEC-2023-0050). The
//! body arrives whole (read by `http::Connection::read_body` with a limit), so parsing is a walk
//! over a byte slice:
//!
//! ```text
//! Content-Type: multipart/form-data; boundary=----WebKitFormBoundaryX3c
//!
//! ------WebKitFormBoundaryX3c\r\n                                 <- "--" + boundary
//! Content-Disposition: form-data; name="gif"; filename="cat.gif"\r\n
//! Content-Type: image/gif\r\n                                     <- the part's headers
//! \r\n
//! GIF89a...\r\n                                                   <- the part's bytes
//! ------WebKitFormBoundaryX3c--\r\n                               <- "--" + boundary + "--": the end
//! ```
//!
//! Hard limits, each a clear error: a boundary of 1 to 70 characters (RFC 2046), at most
//! [`MAX_PARTS`] parts, at most [`MAX_PART_HEAD_BYTES`] of headers per part, at most
//! `max_file_bytes` per file and [`MAX_FIELD_BYTES`] per text field (multer's `fileSize` and
//! `fieldSize`), and a body that ends before its closing delimiter, or a part whose own
//! `Content-Length` disagrees with its bytes, is refused rather than guessed at.

use crate::web::unquote;

/// Parts in one body at most.
pub const MAX_PARTS: usize = 10;
/// Header bytes of one part at most.
pub const MAX_PART_HEAD_BYTES: usize = 8 * 1024;
/// Bytes of a text field at most.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// One part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `name="gif"`: the form field.
    pub name: String,
    /// `filename="cat.gif"`: present for a file, as the browser sent it (not to be trusted).
    pub filename: Option<String>,
    /// The part's `Content-Type`, if any (also the browser's guess, not to be trusted).
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    /// No usable `boundary=` in the `Content-Type`.
    BadBoundary,
    /// The framing is broken; the text says where.
    Malformed(String),
    /// More than [`MAX_PARTS`] parts.
    TooManyParts,
    /// A file larger than the limit (multer's `LIMIT_FILE_SIZE`, "File too large").
    FileTooLarge,
    /// A text field larger than [`MAX_FIELD_BYTES`].
    FieldTooLarge,
}

impl std::fmt::Display for MultipartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MultipartError::BadBoundary => write!(f, "multipart/form-data needs a boundary of 1 to 70 characters"),
            MultipartError::Malformed(why) => write!(f, "malformed multipart body: {why}"),
            MultipartError::TooManyParts => write!(f, "more than {MAX_PARTS} parts"),
            MultipartError::FileTooLarge => write!(f, "File too large"),
            MultipartError::FieldTooLarge => write!(f, "Field value too long"),
        }
    }
}

/// The boundary of a `Content-Type: multipart/form-data; boundary=...` header (quoted or not).
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    for parameter in content_type.split(';').skip(1) {
        let (name, value) = match parameter.split_once('=') {
            Some(pair) => pair,
            None => continue,
        };
        if !name.trim().eq_ignore_ascii_case("boundary") {
            continue;
        }
        let value = unquote(value);
        let printable = value.bytes().all(|byte| (0x20..0x7f).contains(&byte));
        if value.is_empty() || value.len() > 70 || !printable {
            return Err(MultipartError::BadBoundary);
        }
        return Ok(value.to_string());
    }
    Err(MultipartError::BadBoundary)
}

/// The position of `needle` in `haystack`, from `start`.
fn find(haystack: &[u8], needle: &[u8], start: usize) -> Option<usize> {
    if start > haystack.len() || needle.is_empty() {
        return None;
    }
    haystack[start..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| start + position)
}

fn malformed(why: &str) -> MultipartError {
    MultipartError::Malformed(why.to_string())
}

/// Splits a body into its parts.
pub fn parse(body: &[u8], boundary: &str, max_file_bytes: usize) -> Result<Vec<Part>, MultipartError> {
    let opening = format!("--{boundary}");
    // Every later delimiter starts on a new line: CRLF "--" boundary.
    let delimiter = format!("\r\n--{boundary}");
    // A preamble before the first delimiter is allowed (and ignored); browsers send none.
    let first = match find(body, opening.as_bytes(), 0) {
        Some(position) => position,
        None => return Err(malformed("no opening boundary")),
    };
    let mut position = first + opening.len();
    let mut parts = Vec::new();
    loop {
        // After a delimiter: "--" ends the body; CRLF starts a part.
        let rest = &body[position..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(malformed("a boundary not followed by CRLF or --"));
        }
        position += 2;
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        // The part's headers, up to an empty line.
        let head_end = match find(body, b"\r\n\r\n", position) {
            Some(end) if end - position <= MAX_PART_HEAD_BYTES => end,
            Some(_) => return Err(malformed("part headers too long")),
            None if body.len() - position > MAX_PART_HEAD_BYTES => return Err(malformed("part headers too long")),
            None => return Err(malformed("the body ends in a part's headers")),
        };
        let head = match std::str::from_utf8(&body[position..head_end]) {
            Ok(head) => head,
            Err(_) => return Err(malformed("part headers are not UTF-8")),
        };
        let mut part = part_from_head(head)?;
        let data_start = head_end + 4;
        // The part's bytes, up to the next delimiter.
        let data_end = match find(body, delimiter.as_bytes(), data_start) {
            Some(end) => end,
            None => return Err(malformed("the body ends before the closing boundary")),
        };
        let length = data_end - data_start;
        if part.filename.is_some() && length > max_file_bytes {
            return Err(MultipartError::FileTooLarge);
        }
        if part.filename.is_none() && length > MAX_FIELD_BYTES {
            return Err(MultipartError::FieldTooLarge);
        }
        if let Some(declared) = declared_length(head)? {
            if declared != length {
                return Err(MultipartError::Malformed(format!(
                    "part \"{}\" says Content-Length {declared} but has {length} bytes",
                    part.name
                )));
            }
        }
        part.data = body[data_start..data_end].to_vec();
        parts.push(part);
        position = data_end + delimiter.len();
    }
}

/// A part's `Content-Length` header, if it has one (browsers send none; a client that does must
/// tell the truth).
fn declared_length(head: &str) -> Result<Option<usize>, MultipartError> {
    for line in head.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                return match value.trim().parse::<usize>() {
                    Ok(length) => Ok(Some(length)),
                    Err(_) => Err(malformed("a part's Content-Length is not a number")),
                };
            }
        }
    }
    Ok(None)
}

/// Reads `Content-Disposition: form-data; name="..."; filename="..."` and `Content-Type`.
fn part_from_head(head: &str) -> Result<Part, MultipartError> {
    let mut disposition = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let (name, value) = match line.split_once(':') {
            Some(pair) => pair,
            None => return Err(malformed("a part header line without ':'")),
        };
        if name.trim().eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim());
        } else if name.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let disposition = match disposition {
        Some(disposition) => disposition,
        None => return Err(malformed("a part without Content-Disposition")),
    };
    let parameters = split_parameters(disposition);
    match parameters.first() {
        Some((kind, None)) if kind.eq_ignore_ascii_case("form-data") => {}
        _ => return Err(malformed("Content-Disposition is not form-data")),
    }
    let mut name = None;
    let mut filename = None;
    for (key, value) in parameters.into_iter().skip(1) {
        match (key.to_ascii_lowercase().as_str(), value) {
            ("name", Some(value)) => name = Some(value),
            ("filename", Some(value)) => filename = Some(value),
            _ => {}
        }
    }
    match name {
        Some(name) => Ok(Part {
            name,
            filename,
            content_type,
            data: Vec::new(),
        }),
        None => Err(malformed("a part without a name")),
    }
}

/// `form-data; name="a;b"; filename=x.gif` -> `[("form-data", None), ("name", Some("a;b")),
/// ("filename", Some("x.gif"))]`: `;` inside quotes does not split, `\"` is a quote.
fn split_parameters(text: &str) -> Vec<(String, Option<String>)> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            pieces.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    pieces.push(current);
    pieces
        .into_iter()
        .map(|piece| match piece.split_once('=') {
            Some((key, value)) => (key.trim().to_string(), Some(value.trim().to_string())),
            None => (piece.trim().to_string(), None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&str]) -> Vec<u8> {
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(b"--XyZ\r\n");
            body.extend_from_slice(part.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        body
    }

    #[test]
    fn reads_a_file_and_a_field() {
        let body = body(&[
            "Content-Disposition: form-data; name=\"gif\"; filename=\"a;\\\"b.gif\"\r\nContent-Type: image/gif\r\n\r\nGIF89a\r\n--X",
            "Content-Disposition: form-data; name=note\r\n\r\nhi",
        ]);
        let parts = parse(&body, "XyZ", 100).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "gif");
        assert_eq!(parts[0].filename.as_deref(), Some("a;\"b.gif"));
        assert_eq!(parts[0].content_type.as_deref(), Some("image/gif"));
        // A CRLF and a near-boundary inside the data are data.
        assert_eq!(parts[0].data, b"GIF89a\r\n--X");
        assert_eq!(parts[1].name, "note");
        assert_eq!(parts[1].filename, None);
        assert_eq!(parts[1].data, b"hi");
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----Web12").unwrap(),
            "----Web12"
        );
        assert_eq!(
            boundary("multipart/form-data; charset=x; Boundary=\"a b\"").unwrap(),
            "a b"
        );
        assert_eq!(boundary("multipart/form-data"), Err(MultipartError::BadBoundary));
        assert_eq!(
            boundary("multipart/form-data; boundary="),
            Err(MultipartError::BadBoundary)
        );
        let long = format!("multipart/form-data; boundary={}", "x".repeat(71));
        assert_eq!(boundary(&long), Err(MultipartError::BadBoundary));
    }

    #[test]
    fn refuses_what_does_not_add_up() {
        let file = "Content-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\n\r\n0123456789";
        assert_eq!(parse(&body(&[file]), "XyZ", 9), Err(MultipartError::FileTooLarge));
        assert_eq!(parse(&body(&[file]), "XyZ", 10).unwrap()[0].data, b"0123456789");
        // Cut short: no closing delimiter.
        let whole = body(&[file]);
        let cut = &whole[..whole.len() - 12];
        assert_eq!(
            parse(cut, "XyZ", 100),
            Err(MultipartError::Malformed(
                "the body ends before the closing boundary".into()
            ))
        );
        assert!(matches!(
            parse(b"no boundary at all", "XyZ", 100),
            Err(MultipartError::Malformed(_))
        ));
        // A part that lies about its length.
        let lying =
            "Content-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\nContent-Length: 3\r\n\r\n0123456789";
        assert!(matches!(
            parse(&body(&[lying]), "XyZ", 100),
            Err(MultipartError::Malformed(_))
        ));
        let honest =
            "Content-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\nContent-Length: 10\r\n\r\n0123456789";
        assert_eq!(parse(&body(&[honest]), "XyZ", 100).unwrap().len(), 1);
        // Too many parts; headers without a name; not form-data.
        let field = "Content-Disposition: form-data; name=\"f\"\r\n\r\nv";
        assert_eq!(
            parse(&body(&[field; 11]), "XyZ", 100),
            Err(MultipartError::TooManyParts)
        );
        assert!(parse(&body(&[field; 10]), "XyZ", 100).is_ok());
        let nameless = "Content-Disposition: form-data; filename=\"a.gif\"\r\n\r\nx";
        assert!(matches!(
            parse(&body(&[nameless]), "XyZ", 100),
            Err(MultipartError::Malformed(_))
        ));
        let attachment = "Content-Disposition: attachment; name=\"gif\"\r\n\r\nx";
        assert!(matches!(
            parse(&body(&[attachment]), "XyZ", 100),
            Err(MultipartError::Malformed(_))
        ));
        let big_field = format!(
            "Content-Disposition: form-data; name=\"f\"\r\n\r\n{}",
            "v".repeat(MAX_FIELD_BYTES + 1)
        );
        assert_eq!(
            parse(&body(&[&big_field]), "XyZ", 100),
            Err(MultipartError::FieldTooLarge)
        );
    }
}
