//! The book's `app.js` as a request's way through the app: what Express's `app.use` chain does,
//! in one function, [`App::handle`], in the same order:
//!
//! ```text
//! /socket.io/socket.io.js      the client script (socket.io's serveClient)
//! /socket.io/...               Socket.IO (Engine.IO requests)
//! morgan('dev')                one log line per answer (web.rs)
//! express.static('public')     GET /main.css
//! '/gif', static('uploads')    GET /gif/<name> (uploads.rs)
//! cookieParser, session,       the session named by the signed cookie, made on a page's first
//!   the colour middleware      visit (session.rs); a POST must bring one
//! app.use('/', indexRouter)    routes.rs
//! 404 handler, error handler   the error page (views/error.html)
//! ```

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use log::{debug, error, warn};
use serde_json::Value;
use socketio_book::http::{Connection, Request};
use socketio_book::listener::{HttpService, Next};
use socketio_book::socketio::{Namespace, Server};

use crate::routes;
use crate::session::{NoSession, Session, Sessions};
use crate::store::Store;
use crate::uploads;
use crate::views::Views;
use crate::web::{self, Response};

/// The colour a `/chat` socket's `socket.data` holds (`{"color":"#501f93","room":1}`).
pub fn color_in(data: &Value) -> String {
    data["color"].as_str().unwrap_or("?").to_string()
}

/// `public/main.css`.
const MAIN_CSS: &str = include_str!("public/main.css");

/// Everything the routes and the Socket.IO handlers share: Express's `app` (with
/// `app.set('io', io)`), the database, the session store, the views, the uploads folder.
///
/// The Socket.IO handlers hold an `Arc<App>`, and `io` holds the handlers: the app and the
/// server live as long as the process, which is what the example wants.
pub struct App {
    pub io: Server,
    pub store: Store,
    pub sessions: Sessions,
    pub views: Views,
    /// `<data>/uploads`, multer's `destination`.
    pub uploads: PathBuf,
    /// What `/socket.io/socket.io.js` serves.
    pub client_script: String,
}

/// One request on its way: Express's `req` with the session middleware's work, and the
/// connection to read the body from.
pub struct Visit<'a> {
    pub app: &'a App,
    pub request: &'a Request,
    connection: &'a mut Connection,
    /// The session the request's cookie names, or why there is none.
    from_cookie: Result<Session, NoSession>,
    /// A session this request made: its cookie goes out with the answer.
    made: Option<Session>,
}

impl Visit<'_> {
    /// The visitor's session, made now if the request brought none (express-session with
    /// `saveUninitialized: false`, plus the colour middleware that sets `req.session.color` on
    /// every first visit, so every visitor gets one). A forged cookie is ignored, as
    /// express-session ignores a cookie whose signature fails, and logged.
    pub fn session(&mut self) -> Result<Session, Response> {
        if let Ok(session) = &self.from_cookie {
            return Ok(session.clone());
        }
        if let Some(session) = &self.made {
            return Ok(session.clone());
        }
        if self.from_cookie == Err(NoSession::Forged) {
            warn!("{}: forged session cookie ignored: a new session", self.request.peer);
        }
        let session = self.app.sessions.create().map_err(|e| self.app.server_error(&e))?;
        self.made = Some(session.clone());
        Ok(session)
    }

    /// The session a POST must bring (the page it comes from made one): `403` without it.
    pub fn existing_session(&self) -> Result<Session, Response> {
        match &self.from_cookie {
            Ok(session) => Ok(session.clone()),
            Err(why) => {
                warn!("{} {}: 403 {}", self.request.method, self.request.path, why.message());
                Err(Response::text(403, why.message()))
            }
        }
    }

    /// The request body, at most `limit` bytes (see `web::read_body`).
    pub fn body(&mut self, limit: usize) -> Result<Vec<u8>, Response> {
        web::read_body(self.connection, self.request, limit)
    }

    /// `res.render(view, data)`.
    pub fn render(&self, status: u16, view: &str, data: Value) -> Result<Response, Response> {
        match self.app.views.render(view, &data) {
            Ok(html) => Ok(Response::html(status, html)),
            Err(e) => Err(self.app.server_error(&e)),
        }
    }
}

impl App {
    /// The error handler: `res.status(status); res.render('error', { message })`.
    pub fn error_page(&self, status: u16, message: &str) -> Response {
        let data = serde_json::json!({ "title": message, "message": message, "status": status });
        match self.views.render("error.html", &data) {
            Ok(html) => Response::html(status, html),
            Err(e) => {
                error!("cannot render the error page: {e}");
                Response::text(status, message)
            }
        }
    }

    /// A failure of ours (the database, the disk): logged, and a 500 page.
    pub fn server_error(&self, error: &dyn std::fmt::Display) -> Response {
        error!("500: {error}");
        self.error_page(500, "Internal Server Error")
    }

    /// `io.of('/chat')`.
    pub fn chat(&self) -> Namespace {
        self.io.of("/chat")
    }

    /// How many sockets are in room `room_id` of `/chat`: the book's
    /// `io.of('/chat').adapter.rooms[id].length`, in socket.io 4 `adapter.rooms.get(id)?.size`.
    pub fn room_size(&self, room_id: i64) -> usize {
        self.chat().adapter().room_size(&room_id.to_string())
    }

    /// Who is in room `room_id` of `/chat`, as `(socket id, colour)`, ordered by socket id:
    /// `io.of('/chat').in(id).fetchSockets()`, each socket's colour from its `socket.data`
    /// (set by `socket.rs` when it joined).
    pub fn participants(&self, room_id: i64) -> Vec<(String, String)> {
        let sockets = match self.chat().in_(&room_id.to_string()).fetch_sockets() {
            Ok(sockets) => sockets,
            Err(e) => {
                error!("room {room_id}: fetch_sockets: {e}");
                Vec::new()
            }
        };
        let mut participants: Vec<(String, String)> = sockets
            .iter()
            .map(|socket| (socket.id().to_string(), color_in(&socket.data())))
            .collect();
        participants.sort();
        participants
    }

    /// Answers one request that is not for Socket.IO (see the module documentation).
    fn route(&self, request: &Request, connection: &mut Connection) -> Response {
        // express.static(path.join(__dirname, 'public'))
        if request.method == "GET" && request.path == "/main.css" {
            return Response::new(200, "text/css; charset=utf-8", MAIN_CSS.as_bytes().to_vec());
        }
        // app.use('/gif', express.static(path.join(__dirname, 'uploads')))
        if request.method == "GET" {
            if let Some(name) = request.path.strip_prefix("/gif/") {
                return uploads::serve(&self.uploads, name);
            }
        }
        let mut visit = Visit {
            app: self,
            request,
            connection,
            from_cookie: self.sessions.by_cookie(request.header("cookie")),
            made: None,
        };
        if let Err(why) = &visit.from_cookie {
            debug!("{} {}: no session ({why:?})", request.method, request.path);
        }
        // app.use('/', indexRouter): the path's segments pick the route.
        let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let answer = match (request.method.as_str(), segments.as_slice()) {
            ("GET", [""]) => routes::render_main(&mut visit),
            ("GET", ["room"]) => routes::render_room(&mut visit),
            ("POST", ["room"]) => routes::create_room(&mut visit),
            ("GET", ["room", id]) => routes::enter_room(&mut visit, id),
            ("POST", ["room", id, "chat"]) => routes::send_chat(&mut visit, id),
            ("POST", ["room", id, "gif"]) => routes::send_gif(&mut visit, id),
            // app.use((req, res, next) => { const err = new Error('Not Found'); err.status = 404; ... })
            _ => Err(self.error_page(404, "Not Found")),
        };
        let response = answer.unwrap_or_else(|refusal| refusal);
        match visit.made {
            Some(session) => response.with_header("Set-Cookie", &self.sessions.set_cookie(&session.id)),
            None => response,
        }
    }
}

/// The whole app as the listener's service.
impl HttpService for App {
    fn handle(&self, request: Request, connection: &mut Connection) -> io::Result<Next> {
        if request.method == "GET" && request.path == "/socket.io/socket.io.js" {
            let response = Response::new(
                200,
                "application/javascript; charset=utf-8",
                self.client_script.as_bytes().to_vec(),
            );
            return response.write(connection, &request, Instant::now());
        }
        if self.io.handles(&request) {
            return self.io.handle_request(request, connection);
        }
        let started = Instant::now();
        let response = self.route(&request, connection);
        response.write(connection, &request, started)
    }
}
