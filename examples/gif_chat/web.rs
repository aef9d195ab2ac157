//! The little of Express the chat needs, on this crate's HTTP layer (`http::Connection`,
//! `http::Request`): a response to build (`res.send`, `res.render`'s HTML, `res.redirect`),
//! the request body with a size limit (what `express.json()`, `express.urlencoded()` and multer
//! read), `encodeURIComponent` / `decodeURIComponent`, and morgan's `dev` log line.
//!
//! ```text
//! POST /room/1/chat 200 0.912 ms - 2        <- morgan('dev'): method, path, status, time, bytes
//! ```

use std::io;
use std::time::Instant;

use log::info;
use socketio_book::http::{self, BodyError, Connection, Request};
use socketio_book::listener::Next;

/// One answer, built by a route and written by [`Response::write`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection after it: the request's body was not read to its end, so the next
    /// bytes on the connection are not the start of a request.
    pub close: bool,
}

impl Response {
    /// A response with a `Content-Type`.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body,
            close: false,
        }
    }

    /// `res.status(status).send(text)`: `ok`, or an error's message.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", text.as_bytes().to_vec())
    }

    /// A rendered page.
    pub fn html(status: u16, html: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", html.into_bytes())
    }

    /// `res.redirect(location)`: `302 Found` with Express's body.
    pub fn redirect(location: &str) -> Response {
        let mut response = Response::text(302, &format!("Found. Redirecting to {location}"));
        response.headers.push(("Location".to_string(), location.to_string()));
        response
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Asks for the connection to close after this answer.
    pub fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    /// Writes the answer to `request`, logs morgan's `dev` line, and says what the connection
    /// does next.
    pub fn write(self, connection: &mut Connection, request: &Request, started: Instant) -> io::Result<Next> {
        info!(
            "{} {} {} {:.3} ms - {}",
            request.method,
            request.path,
            self.status,
            started.elapsed().as_secs_f64() * 1000.0,
            self.body.len()
        );
        if self.close {
            http::write_response(connection.stream(), self.status, &self.headers, &self.body, None)?;
            return Ok(Next::Close);
        }
        connection.respond(request, self.status, &self.headers, &self.body)
    }
}

/// Reads the whole body of `request`, at most `limit` bytes; the error is the answer to send:
/// `413` past the limit (before a byte is read when `Content-Length` says so), `411` without a
/// length, `400` when the client stops sending before the length it announced (it closed the
/// connection, or sent nothing for `request_timeout`).
pub fn read_body(connection: &mut Connection, request: &Request, limit: usize) -> Result<Vec<u8>, Response> {
    match connection.read_body(request, limit) {
        Ok(body) => Ok(body),
        Err(BodyError::TooLarge) => Err(Response::text(413, &format!("request body over {limit} bytes")).closing()),
        Err(BodyError::LengthRequired) => Err(Response::text(411, "Content-Length required").closing()),
        Err(BodyError::Malformed(why)) => {
            Err(Response::text(400, &format!("incomplete request body: {why}")).closing())
        }
        Err(BodyError::Io(e)) => Err(Response::text(400, &format!("incomplete request body: {e}")).closing()),
    }
}

/// The media type of a `Content-Type` header, lower case, without parameters
/// (`Multipart/Form-Data; boundary=x` -> `multipart/form-data`).
pub fn media_type(request: &Request) -> String {
    let header = request.header("content-type").unwrap_or("");
    header.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// A header parameter's value without its surrounding quotes, if it has them:
/// `"a b"` -> `a b`, `abc` -> `abc`.
pub fn unquote(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

/// JavaScript's `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as `%XX`
/// of its UTF-8 bytes.
pub fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let kept = byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte);
        if kept {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// JavaScript's `decodeURIComponent`, forgiving as the `cookie` package uses it: `%XX` becomes
/// its byte (`+` stays `+`); a broken escape stays as it is, and bytes that are not UTF-8 become
/// U+FFFD.
pub fn decode_uri_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_components() {
        assert_eq!(encode_uri_component("s:a+b/c=d"), "s%3Aa%2Bb%2Fc%3Dd");
        assert_eq!(encode_uri_component("비밀 1"), "%EB%B9%84%EB%B0%80%201");
        assert_eq!(decode_uri_component("s%3Aa%2Bb+c"), "s:a+b+c");
        assert_eq!(decode_uri_component("%EB%B9%84%EB%B0%80"), "비밀");
        assert_eq!(decode_uri_component("%zz%4"), "%zz%4");
        assert_eq!(decode_uri_component("100%"), "100%");
    }
}
