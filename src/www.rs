//! The chapter's page and client script, compiled into the binary (`include_str!`), and the
//! HTTP routes of the chapter's app: what Express and `serveClient` do for the book.
//!
//! ```text
//! GET /                         www/index.html   (the chapter's index.pug)
//! GET /socket.io/socket.io.js   www/socket.io.js (our readable client; or a file given by
//!                                                 --client-script, e.g. the official bundle)
//! /socket.io/...                Socket.IO (Engine.IO requests)
//! anything else                 404
//! ```

use std::io;
use std::sync::Arc;

use crate::http::{Connection, Request};
use crate::listener::{HttpService, Next};
use crate::socketio;

/// `www/index.html`.
pub const INDEX_HTML: &str = include_str!("../www/index.html");
/// `www/socket.io.js`.
pub const CLIENT_SCRIPT: &str = include_str!("../www/socket.io.js");

/// What `/socket.io/socket.io.js` serves: the file of `--client-script`, else our client.
pub fn client_script(path: Option<&str>) -> Result<String, String> {
    match path {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("--client-script {path}: {e}")),
        None => Ok(CLIENT_SCRIPT.to_string()),
    }
}

/// The chapter's app: the page, the client script, and Socket.IO.
pub struct App {
    io: socketio::Server,
    client_script: Arc<String>,
    client_script_url: String,
}

impl App {
    /// Serves `io` and the page; `client_script` is what `/socket.io/socket.io.js` returns.
    pub fn new(io: socketio::Server, path: &str, client_script: String) -> App {
        App {
            io,
            client_script: Arc::new(client_script),
            client_script_url: format!("{}/socket.io.js", path.trim_end_matches('/')),
        }
    }
}

impl HttpService for App {
    fn handle(&self, request: Request, connection: &mut Connection) -> io::Result<Next> {
        if request.method == "GET" && request.path == self.client_script_url {
            let headers = vec![(
                "Content-Type".to_string(),
                "application/javascript; charset=utf-8".to_string(),
            )];
            return connection.respond(&request, 200, &headers, self.client_script.as_bytes());
        }
        if self.io.handles(&request) {
            return self.io.handle_request(request, connection);
        }
        if request.method == "GET" && (request.path == "/" || request.path == "/index.html") {
            let headers = vec![("Content-Type".to_string(), "text/html; charset=utf-8".to_string())];
            return connection.respond(&request, 200, &headers, INDEX_HTML.as_bytes());
        }
        let headers = vec![("Content-Type".to_string(), "text/plain; charset=utf-8".to_string())];
        connection.respond(&request, 404, &headers, b"Not Found")
    }
}
