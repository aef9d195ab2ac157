//! The uploaded images: multer's `diskStorage` (where a file goes and under which name) and
//! `app.use('/gif', express.static('uploads'))` (how it is served back).
//!
//! The book names a file `path.basename(originalname, ext) + Date.now() + ext`, taking the name
//! and the extension the browser sent. Both are the client's to choose, so here:
//!
//! ```text
//! "../../etc/움짤 (1).GIF"   the last path segment only, "/" and "\" both      -> "움짤 (1).GIF"
//!                           its stem, letters and digits and - _ kept, at most 40 -> "움짤1"
//!                           + the time in ms + the extension OF THE BYTES        -> "움짤11554102000123.gif"
//! "<script>.gif" with PNG bytes                                                   -> "script1554102000123.png"
//! "....gif" (nothing left)                                                        -> "gif1554102000123.gif"
//! ```
//!
//! Only images are kept: the bytes must start as a GIF, PNG, JPEG or WebP does (a file that only
//! claims `image/gif` is refused). Served back, a file's `Content-Type` again comes from its bytes,
//! with `X-Content-Type-Options: nosniff`; anything that is not one of those images (a file put in
//! the folder by hand) goes out as an `application/octet-stream` attachment, never inline.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::web::{Response, decode_uri_component};

/// multer's `limits: { fileSize: 5 * 1024 * 1024 }`.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Characters of the original name's stem kept at most.
const MAX_STEM_CHARS: usize = 40;

/// An image type recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageType {
    pub mime: &'static str,
    pub extension: &'static str,
}

/// The image type of `bytes`, from their signature ("magic number"), or `None`.
pub fn image_type(bytes: &[u8]) -> Option<ImageType> {
    let is = |mime, extension| Some(ImageType { mime, extension });
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        is("image/gif", ".gif")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        is("image/png", ".png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        is("image/jpeg", ".jpg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        is("image/webp", ".webp")
    } else {
        None
    }
}

/// A character a stored name may hold: a letter or digit of any script, `-`, `_`.
fn is_safe_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// The stem of the browser's file name, made safe (see the module documentation).
pub fn safe_stem(original: &str) -> String {
    let last_segment = original.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = match last_segment.rsplit_once('.') {
        Some((stem, _extension)) => stem,
        None => last_segment,
    };
    let kept: String = stem.chars().filter(|c| is_safe_char(*c)).take(MAX_STEM_CHARS).collect();
    if kept.is_empty() { "gif".to_string() } else { kept }
}

/// Whether `name` is one `save` could have made: a safe stem and digits, `.`, a known extension.
/// Anything else under `/gif/` (`..`, `%2F`, a dot file) is not looked for on disk at all.
pub fn is_stored_name(name: &str) -> bool {
    let (stem, extension) = match name.rsplit_once('.') {
        Some(pair) => pair,
        None => return false,
    };
    let known = ["gif", "png", "jpg", "webp"].contains(&extension);
    known && !stem.is_empty() && stem.chars().all(is_safe_char)
}

/// Writes an upload under `dir` as `<safe stem><ms since 1970><extension of its type>`, never
/// over an existing file (`-1`, `-2`, ... is added if that name is taken). Returns the name.
pub fn save(dir: &Path, original_name: &str, image: ImageType, bytes: &[u8]) -> io::Result<String> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis())
        .unwrap_or(0);
    let stem = format!("{}{millis}", safe_stem(original_name));
    for attempt in 0..100 {
        let name = if attempt == 0 {
            format!("{stem}{}", image.extension)
        } else {
            format!("{stem}-{attempt}{}", image.extension)
        };
        // create_new: fails if the name exists, so two uploads in the same millisecond do not
        // overwrite each other.
        match OpenOptions::new().write(true).create_new(true).open(dir.join(&name)) {
            Ok(mut file) => {
                file.write_all(bytes)?;
                return Ok(name);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name for the upload",
    ))
}

/// `GET /gif/<name>`: the file, typed by its bytes; 404 for anything `save` would not have made.
pub fn serve(dir: &Path, encoded_name: &str) -> Response {
    let name = decode_uri_component(encoded_name);
    if !is_stored_name(&name) {
        return Response::text(404, "Not Found");
    }
    let bytes = match fs::read(dir.join(&name)) {
        Ok(bytes) => bytes,
        Err(_) => return Response::text(404, "Not Found"),
    };
    let response = match image_type(&bytes) {
        Some(image) => Response::new(200, image.mime, bytes),
        None => Response::new(200, "application/octet-stream", bytes).with_header("Content-Disposition", "attachment"),
    };
    response
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Cache-Control", "public, max-age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_stem("cat.gif"), "cat");
        assert_eq!(safe_stem("../../etc/passwd"), "passwd");
        assert_eq!(safe_stem("..\\..\\win.ini"), "win");
        assert_eq!(safe_stem("움짤 (1).GIF"), "움짤1");
        assert_eq!(safe_stem("<img src=x onerror=alert(1)>.gif"), "imgsrcxonerroralert1");
        assert_eq!(safe_stem("<script>alert(1)</script>.gif"), "script"); // the part after the last "/"
        assert_eq!(safe_stem("....gif"), "gif");
        assert_eq!(safe_stem(""), "gif");
        assert_eq!(safe_stem(&"a".repeat(100)).len(), MAX_STEM_CHARS);
        assert!(is_stored_name("cat1554102000123.gif"));
        assert!(is_stored_name("움짤11554102000123-1.png"));
        for bad in ["..", "../x.gif", "a/b.gif", ".gif", "x.exe", "x.gif.", "a b.gif", "x"] {
            assert!(!is_stored_name(bad), "{bad}");
        }
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(image_type(b"GIF89a....").unwrap().mime, "image/gif");
        assert_eq!(image_type(b"GIF87a").unwrap().extension, ".gif");
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n....").unwrap().mime, "image/png");
        assert_eq!(image_type(b"\xff\xd8\xff\xe0").unwrap().mime, "image/jpeg");
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().mime, "image/webp");
        assert_eq!(image_type(b"<html><script>"), None);
        assert_eq!(image_type(b"GIF8"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn saving_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("gif_chat_uploads_test_{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let gif = image_type(b"GIF89a").unwrap();
        let first = save(&dir, "../a.gif", gif, b"GIF89a-1").unwrap();
        let second = save(&dir, "../a.gif", gif, b"GIF89a-2").unwrap();
        assert!(first.starts_with('a') && first.ends_with(".gif"), "{first}");
        assert_ne!(first, second);
        assert_eq!(fs::read(dir.join(&first)).unwrap(), b"GIF89a-1");
        assert_eq!(fs::read(dir.join(&second)).unwrap(), b"GIF89a-2");
        let served = serve(&dir, &first);
        assert_eq!(served.status, 200);
        assert_eq!(served.body, b"GIF89a-1");
        fs::remove_dir_all(&dir).unwrap();
    }
}
