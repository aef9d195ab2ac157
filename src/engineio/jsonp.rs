//! JSONP polling (the reference's `transports/polling-jsonp.ts`): long-polling for browsers
//! without CORS, through `<script>` tags and a hidden `<form>`. The reference serves it whenever
//! the handshake's query has `j` (any protocol version; socket.io 2.x clients ask for it with
//! `jsonp: true` and no XHR, or with `forceJSONP`).
//!
//! ```text
//! GET  ?EIO=3&transport=polling&j=0&b64=1      ◄  ___eio[0]("117:0{\"sid\":\"...\",...}");
//!                                                 the payload as a JavaScript string literal,
//!                                                 passed to the page's callback number `j`
//! POST ?EIO=3&transport=polling&j=0&sid=X         body (form-encoded): d=6%3A4hello
//!      Content-Type: application/x-www-form-urlencoded              answered `ok`
//! ```
//!
//! The form turns a newline of the payload into `\n` (backslash, n) and a `\n` already there
//! into `\\n`; the server turns them back. Both rules are the reference's regular expressions,
//! written out here as loops.

use crate::http;

/// The callback's name from the handshake's `j`: `___eio[0](`; only the digits of `j` are kept
/// (`j=1a2` is `___eio[12](`), so nothing of the query reaches the script but digits.
fn head(j: &str) -> String {
    let digits: String = j.chars().filter(|c| c.is_ascii_digit()).collect();
    format!("___eio[{digits}](")
}

/// A text payload as a JSONP answer: `___eio[0]("6:4hello");`. The payload becomes a JSON string
/// (`JSON.stringify`), then U+2028 and U+2029, which JSON allows in strings and old JavaScript
/// does not, are escaped too ("we must output valid javascript, not valid json").
pub fn wrap_text(j: &str, payload: &str) -> String {
    let literal = serde_json::Value::String(payload.to_string())
        .to_string()
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    format!("{}{literal});", head(j))
}

/// A binary payload (Engine.IO v3 to a client without `b64`, which a JSONP client never is) as the
/// reference writes it: `JSON.stringify` of a Node `Buffer`, `{"type":"Buffer","data":[1,4,255]}`.
pub fn wrap_binary(j: &str, payload: &[u8]) -> String {
    let bytes: Vec<String> = payload.iter().map(|b| b.to_string()).collect();
    format!(r#"{}{{"type":"Buffer","data":[{}]}});"#, head(j), bytes.join(","))
}

/// The payload of a JSONP POST: the form field `d` (decoded as Node's `querystring.parse`:
/// `+` is a space, `%XX` a byte), with its newlines restored. `None` when there is no single `d`
/// (the reference then does nothing with the body, and the POST is still answered `ok`).
pub fn unwrap_post(body: &str) -> Option<String> {
    let mut found = None;
    for (key, value) in http::parse_query(body) {
        if key == "d" {
            if found.is_some() {
                return None; // `d=a&d=b` is an array to `querystring`: not a string
            }
            found = Some(value);
        }
    }
    found.map(|data| restore_backslash_n(&restore_newlines(&data)))
}

/// The reference's `data.replace(/(\\)?\\n/g, ...)`: `\n` (backslash, n) becomes a newline,
/// `\\n` stays as it is.
fn restore_newlines(data: &str) -> String {
    let chars: Vec<char> = data.chars().collect();
    let mut out = String::with_capacity(data.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'\\') && chars.get(i + 2) == Some(&'n') {
            out.push_str("\\\\n");
            i += 3;
        } else if chars[i] == '\\' && chars.get(i + 1) == Some(&'n') {
            out.push('\n');
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Then the reference's `.replace(/\\\\n/g, "\\n")`: `\\n` becomes `\n` (backslash, n).
fn restore_backslash_n(data: &str) -> String {
    data.replace("\\\\n", "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(wrap_text("0", "6:4hello"), r#"___eio[0]("6:4hello");"#);
        assert_eq!(wrap_text("1a2", "3:4\"\n"), r#"___eio[12]("3:4\"\n");"#);
        assert_eq!(wrap_text("", "4:4a\u{2028}b"), r#"___eio[]("4:4a\u2028b");"#);
        assert_eq!(
            wrap_binary("3", &[1, 4, 255, 4, 1]),
            r#"___eio[3]({"type":"Buffer","data":[1,4,255,4,1]});"#
        );
    }

    #[test]
    fn posts() {
        assert_eq!(unwrap_post("d=6%3A4hello").as_deref(), Some("6:4hello"));
        assert_eq!(unwrap_post("d=4+a").as_deref(), Some("4 a"));
        // `\n` (backslash n) is a newline; `\\n` is `\n`, the two characters.
        assert_eq!(unwrap_post("d=4a%5Cnb").as_deref(), Some("4a\nb"));
        assert_eq!(unwrap_post("d=4a%5C%5Cnb").as_deref(), Some("4a\\nb"));
        assert_eq!(unwrap_post("x=1&d=2%3A41").as_deref(), Some("2:41"));
        assert_eq!(unwrap_post("d=1&d=2"), None);
        assert_eq!(unwrap_post("e=1"), None);
        assert_eq!(unwrap_post(""), None);
    }
}
