//! The book's next sections (11.4 to 11.6, first edition): the real-time GIF chat room, on this
//! crate's HTTP layer and Socket.IO server. The book's files, and where they are here:
//!
//! | the book             | here                                   |
//! |----------------------|----------------------------------------|
//! | `app.js`             | `main.rs` (set-up), `app.rs` (the middleware chain), `session.rs`, `web.rs` |
//! | `socket.js`          | `socket.rs`                            |
//! | `routes/index.js`    | `routes.rs`, `multipart.rs` and `uploads.rs` (multer) |
//! | `schemas/*.js`       | `store.rs` (SQLite)                    |
//! | `views/*.pug`        | `views/*.html` (minijinja), `views.rs` |
//! | `public/main.css`    | `public/main.css`                      |
//! | `color-hash`         | `color_hash.rs`                        |
//! | `cookie-signature`   | `hmac.rs`                              |
//!
//! ```text
//! cargo run --example gif_chat                      # http://localhost:8005
//! cargo run --example gif_chat -- --port 3000 --data /tmp/chat
//! ```
//!
//! `--help` lists the flags (the table `USAGE` below, also in README): `--port` (8005), `--data
//! DIR` (the database `gif_chat.sqlite3` and `uploads/`), ... Env `COOKIE_SECRET` signs the
//! session cookies (the book's `.env`); without it a random secret is made at start. Prints
//! `listening on ADDRESS:PORT` once it accepts connections.

// Nested `if`s are kept where they read more plainly (as in the library).
#![allow(clippy::collapsible_if)]

mod app;
mod color_hash;
mod hmac;
mod multipart;
mod routes;
mod session;
mod socket;
mod store;
mod uploads;
mod views;
mod web;

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use log::info;
use socketio_book::cli::{self, Flag, Usage};
use socketio_book::engineio::base64;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::{Server, ServerOptions};
use socketio_book::www;

use crate::app::App;
use crate::session::Sessions;
use crate::store::Store;
use crate::views::Views;

/// `process.env.COOKIE_SECRET`, or 32 random bytes (then the cookies of an earlier run are
/// refused after a restart, as their sessions are gone anyway: the store is in memory).
fn cookie_secret() -> Result<String, String> {
    if let Ok(secret) = std::env::var("COOKIE_SECRET") {
        if !secret.is_empty() {
            return Ok(secret);
        }
    }
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom for a cookie secret: {e}"))?;
    Ok(base64::encode(&bytes))
}

/// The flags of `cargo run --example gif_chat -- ...`: `--help` prints this table.
const USAGE: Usage = Usage {
    program: env!("CARGO_BIN_NAME"),
    about: "the book's GIF chat (11.4 to 11.6): rooms, chats and GIFs over Socket.IO namespaces /room and /chat",
    flags: &[
        cli::port("8005").env("PORT"),
        cli::host("0.0.0.0"),
        Flag::text(
            "data",
            "DIR",
            "where the database (gif_chat.sqlite3) and the uploads (uploads/) are kept",
        )
        .default("gif_chat_data"),
        cli::LOG_LEVEL,
        cli::TRACE,
        cli::CLIENT_SCRIPT,
    ],
};

fn run() -> Result<(), String> {
    let flags = cli::parse_args(&USAGE);
    cli::init_logging(flags.log_level("log-level"));
    if flags.switch("trace") {
        socketio_book::trace::enable();
    }
    // app.set('port', process.env.PORT || 8005)
    let port: u16 = flags.number("port");
    let host = flags.text("host").unwrap_or_default().to_string(); // it has a default
    let data = PathBuf::from(flags.text("data").unwrap_or_default()); // it has a default
    let client_script = www::client_script(flags.text("client-script"))?;

    // connect(): the database, and the uploads folder (the book's fs.mkdirSync('uploads')).
    let uploads = data.join("uploads");
    std::fs::create_dir_all(&uploads).map_err(|e| format!("cannot create {}: {e}", uploads.display()))?;
    let database = data.join("gif_chat.sqlite3");
    let store = Store::open(&database).map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    info!("database {}, uploads in {}", database.display(), uploads.display());

    // const io = SocketIO(server, { path: '/socket.io' }); app.set('io', io)
    let io = Server::new(ServerOptions::default()).map_err(|e| e.to_string())?;
    let views = Views::new().map_err(|e| format!("a template does not compile: {e}"))?;
    let app = Arc::new(App {
        io,
        store,
        sessions: Sessions::new(&cookie_secret()?),
        views,
        uploads,
        client_script,
    });
    // webSocket(server, app, sessionMiddleware)
    socket::socket_js(&app);

    // app.listen(app.get('port'), () => console.log(app.get('port'), '번 포트에서 대기중'))
    let http = HttpServer::bind((host.as_str(), port), ListenerConfig::default())
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let address = http.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    info!(
        "{} 번 포트에서 대기중: open http://localhost:{}",
        address.port(),
        address.port()
    );
    http.serve(app);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gif_chat: {e}");
            ExitCode::FAILURE
        }
    }
}
