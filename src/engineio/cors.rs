//! CORS, as the `cors` npm package does it (the reference runs `require("cors")(opts.cors)` as
//! its first middleware, on every request to its path, the WebSocket handshake included).
//!
//! A page of another origin may call the server only if the answer says so. An actual request
//! (`GET`, `POST`) gets, in this order:
//!
//! ```text
//! Access-Control-Allow-Origin: http://localhost:3000     origin: "*", the one origin, or the
//! Vary: Origin                                           request's own if allowed (reflected)
//! Access-Control-Allow-Credentials: true                 credentials: true
//! Access-Control-Expose-Headers: X-Total                 exposed_headers
//! ```
//!
//! A preflight (`OPTIONS`, sent by a browser before a request it may not send on its own) is
//! answered by the middleware itself, `204` with `Content-Length: 0`:
//!
//! ```text
//! Access-Control-Allow-Origin: http://localhost:3000
//! Vary: Origin, Access-Control-Request-Headers           (merged into one, as the `vary` package does)
//! Access-Control-Allow-Credentials: true
//! Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE
//! Access-Control-Allow-Headers: content-type             allowed_headers, or the request's
//!                                                        Access-Control-Request-Headers reflected
//! Access-Control-Max-Age: 600                            max_age
//! Access-Control-Expose-Headers: X-Total                 exposed_headers
//! ```
//!
//! An origin not allowed gets no `Access-Control-Allow-Origin` (the browser then refuses the
//! answer; the server still answers). An origin function that says "no CORS at all" (the
//! package's `false`) leaves the request without any of these headers; one that fails makes the
//! request fail with `400 {"code":3,"message":"Bad request"}` (the reference's
//! `MIDDLEWARE_FAILURE`).

use std::sync::Arc;

use crate::http::Request;

/// Which origins may call (the `cors` package's `origin` option).
#[derive(Clone)]
pub enum CorsOrigin {
    /// `"*"`: anyone (`Access-Control-Allow-Origin: *`). The package's default.
    Any,
    /// One origin, e.g. `"http://localhost:3000"`: sent as `Access-Control-Allow-Origin`
    /// whoever asks (the browser compares it), with `Vary: Origin`.
    Exact(String),
    /// `["http://a.example", "http://b.example"]`: the request's `Origin` is sent back if it is
    /// one of them, else nothing; always `Vary: Origin`.
    List(Vec<String>),
    /// `true`: the request's `Origin`, whatever it is, sent back.
    Reflect,
    /// `false`: no CORS headers at all.
    Disabled,
    /// `origin: (origin, callback) => ...`: decides per request from its `Origin` header (`None`
    /// when it has none). `Ok` gives one of the forms above for this request; `Err` fails the
    /// request (400, `connection_error` with `{"name":"MIDDLEWARE_FAILURE"}`). A function that
    /// returns `Function` counts as `Reflect` (the package treats any other value as "allowed").
    Function(Arc<CorsOriginFn>),
}

/// The function of [`CorsOrigin::Function`].
pub type CorsOriginFn = dyn Fn(Option<&str>) -> Result<CorsOrigin, String> + Send + Sync;

impl std::fmt::Debug for CorsOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorsOrigin::Any => write!(f, "Any"),
            CorsOrigin::Exact(origin) => write!(f, "Exact({origin:?})"),
            CorsOrigin::List(origins) => write!(f, "List({origins:?})"),
            CorsOrigin::Reflect => write!(f, "Reflect"),
            CorsOrigin::Disabled => write!(f, "Disabled"),
            CorsOrigin::Function(_) => write!(f, "Function(..)"),
        }
    }
}

impl CorsOrigin {
    /// The form a command-line list takes: one origin is [`CorsOrigin::Exact`], several a
    /// [`CorsOrigin::List`], `*` is [`CorsOrigin::Any`] (as `--cors-origin a,b` gives them to
    /// the reference: a string, or an array).
    pub fn from_list(origins: &[&str]) -> CorsOrigin {
        match origins {
            ["*"] => CorsOrigin::Any,
            [one] => CorsOrigin::Exact(one.to_string()),
            several => CorsOrigin::List(several.iter().map(|s| s.to_string()).collect()),
        }
    }
}

/// The `cors` package's options, with its defaults (`CorsOptions::default()`: any origin, no
/// credentials).
#[derive(Debug, Clone)]
pub struct CorsOptions {
    /// `origin`: [`CorsOrigin::Any`].
    pub origin: CorsOrigin,
    /// `methods`, answered to a preflight: `GET,HEAD,PUT,PATCH,POST,DELETE`.
    pub methods: Vec<String>,
    /// `allowedHeaders`: `None` reflects the preflight's `Access-Control-Request-Headers` (and
    /// adds `Vary: Access-Control-Request-Headers`).
    pub allowed_headers: Option<Vec<String>>,
    /// `exposedHeaders`: none.
    pub exposed_headers: Vec<String>,
    /// `credentials`: `Access-Control-Allow-Credentials: true` when set. Off.
    pub credentials: bool,
    /// `maxAge`, in seconds: how long a browser may keep a preflight's answer. None.
    pub max_age: Option<u64>,
    /// `preflightContinue`: a preflight gets the headers but is then handled as any request
    /// (Engine.IO answers an `OPTIONS` with an error). Off: answered at once.
    pub preflight_continue: bool,
    /// `optionsSuccessStatus`: the status of a preflight's answer, 204.
    pub options_success_status: u16,
}

impl Default for CorsOptions {
    fn default() -> CorsOptions {
        CorsOptions {
            origin: CorsOrigin::Any,
            methods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]
                .iter()
                .map(|m| m.to_string())
                .collect(),
            allowed_headers: None,
            exposed_headers: Vec::new(),
            credentials: false,
            max_age: None,
            preflight_continue: false,
            options_success_status: 204,
        }
    }
}

impl CorsOptions {
    /// `{ origin, credentials: true }`, the form most servers use (and our examples'
    /// `--cors-origin`).
    pub fn with_credentials(origin: CorsOrigin) -> CorsOptions {
        CorsOptions {
            origin,
            credentials: true,
            ..CorsOptions::default()
        }
    }
}

/// What the middleware decided for one request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum CorsOutcome {
    /// These headers go on the answer, whatever it is (possibly none).
    Headers(Vec<(String, String)>),
    /// A preflight, answered by the middleware itself with this status and these headers.
    Preflight {
        status: u16,
        headers: Vec<(String, String)>,
    },
}

/// The `cors` middleware for one request. `Err`: the origin function failed.
pub(super) fn apply(options: &CorsOptions, request: &Request) -> Result<CorsOutcome, String> {
    let request_origin = request.header("origin");
    let origin = match &options.origin {
        CorsOrigin::Function(decide) => match decide(request_origin)? {
            CorsOrigin::Function(_) => CorsOrigin::Reflect,
            decided => decided,
        },
        fixed => fixed.clone(),
    };
    if let CorsOrigin::Disabled = origin {
        return Ok(CorsOutcome::Headers(Vec::new()));
    }
    let mut headers = Vec::new();
    configure_origin(&origin, request_origin, &mut headers);
    if options.credentials {
        push(&mut headers, "Access-Control-Allow-Credentials", "true");
    }
    if request.method != "OPTIONS" {
        configure_exposed_headers(options, &mut headers);
        return Ok(CorsOutcome::Headers(headers));
    }
    push(&mut headers, "Access-Control-Allow-Methods", &options.methods.join(","));
    match &options.allowed_headers {
        Some(allowed) => {
            let allowed = allowed.join(",");
            if !allowed.is_empty() {
                push(&mut headers, "Access-Control-Allow-Headers", &allowed);
            }
        }
        None => {
            vary(&mut headers, "Access-Control-Request-Headers");
            if let Some(asked) = request.header("access-control-request-headers") {
                if !asked.is_empty() {
                    push(&mut headers, "Access-Control-Allow-Headers", asked);
                }
            }
        }
    }
    if let Some(max_age) = options.max_age {
        push(&mut headers, "Access-Control-Max-Age", &max_age.to_string());
    }
    configure_exposed_headers(options, &mut headers);
    if options.preflight_continue {
        return Ok(CorsOutcome::Headers(headers));
    }
    // The package adds `Content-Length: 0` ("Safari needs it for a 204"); `http.rs` writes it
    // after these headers, where Node writes it too.
    Ok(CorsOutcome::Preflight {
        status: options.options_success_status,
        headers,
    })
}

/// The package's `configureOrigin`.
fn configure_origin(origin: &CorsOrigin, request_origin: Option<&str>, headers: &mut Vec<(String, String)>) {
    let allowed = match origin {
        CorsOrigin::Any => {
            push(headers, "Access-Control-Allow-Origin", "*");
            return;
        }
        CorsOrigin::Exact(only) => {
            push(headers, "Access-Control-Allow-Origin", only);
            vary(headers, "Origin");
            return;
        }
        CorsOrigin::List(list) => request_origin.is_some_and(|asked| list.iter().any(|allowed| allowed == asked)),
        CorsOrigin::Reflect | CorsOrigin::Function(_) => true,
        CorsOrigin::Disabled => false,
    };
    // Reflected: the request's own origin, if it is allowed and there is one.
    if allowed {
        if let Some(asked) = request_origin {
            if !asked.is_empty() {
                push(headers, "Access-Control-Allow-Origin", asked);
            }
        }
    }
    vary(headers, "Origin");
}

/// The package's `configureExposedHeaders`.
fn configure_exposed_headers(options: &CorsOptions, headers: &mut Vec<(String, String)>) {
    let exposed = options.exposed_headers.join(",");
    if !exposed.is_empty() {
        push(headers, "Access-Control-Expose-Headers", &exposed);
    }
}

/// `res.setHeader(name, value)`: replaces a header of that name (any case) where it is, or adds
/// it at the end.
pub(super) fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    for (existing, old) in headers.iter_mut() {
        if existing.eq_ignore_ascii_case(name) {
            *existing = name.to_string();
            *old = value.to_string();
            return;
        }
    }
    headers.push((name.to_string(), value.to_string()));
}

fn push(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    set_header(headers, name, value);
}

/// The `vary` package: adds `field` to the `Vary` header (one header, values joined by `, `),
/// unless it is there already (any case) or `Vary` is `*`.
fn vary(headers: &mut Vec<(String, String)>, field: &str) {
    let current = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("vary"))
        .map(|(_, value)| value.clone());
    let value = match current {
        None => field.to_string(),
        Some(current) => {
            let present: Vec<String> = current.split(',').map(|v| v.trim().to_ascii_lowercase()).collect();
            if current == "*" || present.iter().any(|v| v == "*") {
                "*".to_string()
            } else if present.iter().any(|v| *v == field.to_ascii_lowercase()) {
                current
            } else if current.is_empty() {
                field.to_string()
            } else {
                format!("{current}, {field}")
            }
        }
    };
    set_header(headers, "Vary", &value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut head = format!("{method} /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let peer = "127.0.0.1:1".parse().unwrap();
        let (request, _) = crate::http::parse_head(head.as_bytes(), peer).unwrap().unwrap();
        request
    }

    fn headers(outcome: CorsOutcome) -> Vec<(String, String)> {
        match outcome {
            CorsOutcome::Headers(headers) => headers,
            CorsOutcome::Preflight { headers, .. } => headers,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_preflight_with_every_option_in_the_package_order() {
        let options = CorsOptions {
            origin: CorsOrigin::List(vec!["http://a.example".into(), "http://b.example".into()]),
            methods: vec!["GET".into(), "POST".into()],
            exposed_headers: vec!["X-One".into(), "X-Two".into()],
            credentials: true,
            max_age: Some(600),
            ..CorsOptions::default()
        };
        let preflight = request(
            "OPTIONS",
            &[
                ("Origin", "http://b.example"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
        );
        assert_eq!(
            apply(&options, &preflight).unwrap(),
            CorsOutcome::Preflight {
                status: 204,
                headers: pairs(&[
                    ("Access-Control-Allow-Origin", "http://b.example"),
                    ("Vary", "Origin, Access-Control-Request-Headers"),
                    ("Access-Control-Allow-Credentials", "true"),
                    ("Access-Control-Allow-Methods", "GET,POST"),
                    ("Access-Control-Allow-Headers", "content-type"),
                    ("Access-Control-Max-Age", "600"),
                    ("Access-Control-Expose-Headers", "X-One,X-Two"),
                ])
            }
        );
    }

    #[test]
    fn any_origin_puts_vary_where_the_reflected_headers_are() {
        let preflight = request("OPTIONS", &[("Origin", "http://x.example")]);
        assert_eq!(
            headers(apply(&CorsOptions::default(), &preflight).unwrap()),
            pairs(&[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
                ("Vary", "Access-Control-Request-Headers"),
            ])
        );
    }

    #[test]
    fn each_origin_form_on_an_actual_request() {
        let get = request("GET", &[("Origin", "http://c.example")]);
        let with = |origin: CorsOrigin| {
            headers(
                apply(
                    &CorsOptions {
                        origin,
                        ..CorsOptions::default()
                    },
                    &get,
                )
                .unwrap(),
            )
        };
        assert_eq!(with(CorsOrigin::Any), pairs(&[("Access-Control-Allow-Origin", "*")]));
        assert_eq!(
            with(CorsOrigin::Exact("http://a.example".into())),
            pairs(&[("Access-Control-Allow-Origin", "http://a.example"), ("Vary", "Origin")])
        );
        assert_eq!(
            with(CorsOrigin::List(vec!["http://a.example".into()])),
            pairs(&[("Vary", "Origin")])
        );
        assert_eq!(
            with(CorsOrigin::Reflect),
            pairs(&[("Access-Control-Allow-Origin", "http://c.example"), ("Vary", "Origin")])
        );
        assert_eq!(with(CorsOrigin::Disabled), pairs(&[]));
        let by_suffix = CorsOrigin::Function(Arc::new(|origin: Option<&str>| {
            Ok(match origin {
                Some(origin) if origin.ends_with(".example") => CorsOrigin::Reflect,
                _ => CorsOrigin::Disabled,
            })
        }));
        assert_eq!(
            with(by_suffix),
            pairs(&[("Access-Control-Allow-Origin", "http://c.example"), ("Vary", "Origin")])
        );
        let failing = CorsOrigin::Function(Arc::new(|_: Option<&str>| Err("no".to_string())));
        assert_eq!(
            apply(
                &CorsOptions {
                    origin: failing,
                    ..CorsOptions::default()
                },
                &get
            ),
            Err("no".to_string())
        );
    }

    #[test]
    fn vary_merges_as_the_vary_package() {
        let mut headers = pairs(&[("Vary", "Origin")]);
        vary(&mut headers, "origin");
        assert_eq!(headers, pairs(&[("Vary", "Origin")]));
        vary(&mut headers, "Accept");
        assert_eq!(headers, pairs(&[("Vary", "Origin, Accept")]));
        let mut star = pairs(&[("Vary", "*")]);
        vary(&mut star, "Origin");
        assert_eq!(star, pairs(&[("Vary", "*")]));
    }
}
