//! The `io` cookie (the reference's `cookie` option): the session id, set on the answer to the
//! polling handshake, so that a load balancer can send a client's requests to the server that
//! holds its session (sticky sessions). Off by default.
//!
//! ```text
//! Set-Cookie: io=lv_VI97HAXpY6yYWAAAC; Path=/; HttpOnly; SameSite=Lax
//! ```
//!
//! written as the `cookie` npm package's `serialize` writes it: `name=value`, then the
//! attributes in its order (Max-Age, Domain, Path, HttpOnly, Secure, Partitioned, SameSite).
//! Only the answer to a polling handshake carries it: a session opened over WebSocket has no
//! cookie (the reference sets it from the polling transport's `headers` event only).

/// `SameSite`: whether the browser sends the cookie with requests from other sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`
    Strict,
    /// `SameSite=Lax` (the reference's default for this cookie)
    Lax,
    /// `SameSite=None` (needs `secure` in browsers)
    None,
}

/// The reference's `cookie` option, with its defaults: `{ name: "io", path: "/", httpOnly: true,
/// sameSite: "lax" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// The cookie's name: `io`.
    pub name: String,
    /// `Path`: `/`. `None`: no `Path` attribute.
    pub path: Option<String>,
    /// `Domain`: none.
    pub domain: Option<String>,
    /// `Max-Age`, in seconds: none (the cookie lasts as long as the browser session).
    pub max_age: Option<i64>,
    /// `HttpOnly` (page scripts cannot read it): on.
    pub http_only: bool,
    /// `Secure` (HTTPS only): off.
    pub secure: bool,
    /// `Partitioned`: off.
    pub partitioned: bool,
    /// `SameSite`: `Lax`. `None` (the Rust one): no `SameSite` attribute.
    pub same_site: Option<SameSite>,
}

impl Default for CookieOptions {
    fn default() -> CookieOptions {
        CookieOptions {
            name: "io".to_string(),
            path: Some("/".to_string()),
            domain: None,
            max_age: None,
            http_only: true,
            secure: false,
            partitioned: false,
            same_site: Some(SameSite::Lax),
        }
    }
}

impl CookieOptions {
    /// The `Set-Cookie` value for session `sid`, as `cookie.serialize(name, sid, options)`.
    /// (A sid is `[A-Za-z0-9_-]`, which `encodeURIComponent` leaves as it is.)
    pub fn serialize(&self, sid: &str) -> String {
        let mut cookie = format!("{}={}", self.name, sid);
        if let Some(max_age) = self.max_age {
            cookie.push_str(&format!("; Max-Age={max_age}"));
        }
        if let Some(domain) = &self.domain {
            cookie.push_str(&format!("; Domain={domain}"));
        }
        if let Some(path) = &self.path {
            cookie.push_str(&format!("; Path={path}"));
        }
        if self.http_only {
            cookie.push_str("; HttpOnly");
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        if self.partitioned {
            cookie.push_str("; Partitioned");
        }
        match self.same_site {
            Some(SameSite::Strict) => cookie.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => cookie.push_str("; SameSite=Lax"),
            Some(SameSite::None) => cookie.push_str("; SameSite=None"),
            None => {}
        }
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cookie() {
        assert_eq!(
            CookieOptions::default().serialize("abc-_1"),
            "io=abc-_1; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn every_attribute_in_the_package_order() {
        let options = CookieOptions {
            name: "sticky".to_string(),
            path: Some("/app".to_string()),
            domain: Some("example.com".to_string()),
            max_age: Some(3600),
            http_only: true,
            secure: true,
            partitioned: true,
            same_site: Some(SameSite::None),
        };
        assert_eq!(
            options.serialize("X"),
            "sticky=X; Max-Age=3600; Domain=example.com; Path=/app; HttpOnly; Secure; Partitioned; SameSite=None"
        );
        let bare = CookieOptions {
            path: None,
            http_only: false,
            same_site: None,
            ..CookieOptions::default()
        };
        assert_eq!(bare.serialize("X"), "io=X");
    }
}
