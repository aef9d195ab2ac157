//! `app.set('view engine', 'pug')` and `res.render(view, data)`: the book's pug views as
//! minijinja templates, one file per view, compiled into the binary (`include_str!`), so that a
//! reader can hold `views/main.pug` beside `views/main.html`:
//!
//! | the book          | here                | what it shows                                   |
//! |-------------------|---------------------|-------------------------------------------------|
//! | `layout.pug`      | `views/layout.html` | `<head>`, `main.css`; the pages fill `content`  |
//! | `main.pug`        | `views/main.html`   | the room list, live over `/room`                |
//! | `room.pug`        | `views/room.html`   | the form that creates a room                    |
//! | `chat.pug`        | `views/chat.html`   | one room: its messages, live over `/chat`       |
//! | `error.pug`       | `views/error.html`  | the error handler's page                        |
//!
//! pug escapes `=` and `#{}` output; minijinja escapes every `{{ }}` of an `.html` template the
//! same way (`<` becomes `&lt;`), so a room title or a message is shown, never run.

use minijinja::Environment;
use minijinja::value::{Serde, Value};

/// The templates, by name.
const TEMPLATES: [(&str, &str); 5] = [
    ("layout.html", include_str!("views/layout.html")),
    ("main.html", include_str!("views/main.html")),
    ("room.html", include_str!("views/room.html")),
    ("chat.html", include_str!("views/chat.html")),
    ("error.html", include_str!("views/error.html")),
];

/// The compiled templates.
pub struct Views {
    environment: Environment<'static>,
}

impl Views {
    /// Compiles every template (an error names the template and the line).
    pub fn new() -> Result<Views, minijinja::Error> {
        let mut environment = Environment::new();
        for (name, source) in TEMPLATES {
            environment.add_template(name, source)?;
        }
        Ok(Views { environment })
    }

    /// `res.render(name, data)`: `data` is a JSON object, its keys the template's variables.
    pub fn render(&self, name: &str, data: &serde_json::Value) -> Result<String, minijinja::Error> {
        let template = self.environment.get_template(name)?;
        template.render(Value::from(Serde(data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_escape_what_visitors_wrote() {
        let views = Views::new().unwrap();
        let room = json!({"_id": "1", "title": "<b>방</b>", "max": 10, "owner": "#501f93", "secret": true});
        let html = views
            .render(
                "main.html",
                &json!({"title": "GIF 채팅방", "rooms": [room], "error": ["비밀번호가 틀렸습니다."]}),
            )
            .unwrap();
        assert!(html.contains("<td>&lt;b&gt;방&lt;&#x2f;b&gt;</td>"), "{html}");
        assert!(html.contains("<td>비밀방</td>"), "{html}");
        assert!(html.contains("data-password=\"true\" data-id=\"1\""), "{html}");
        assert!(
            html.contains("<div class=\"error-message\">비밀번호가 틀렸습니다.</div>"),
            "{html}"
        );

        let chats = [
            json!({"user": "#501f93", "chat": "<script>x</script>"}),
            json!({"user": "system", "chat": "#53aca8님이 입장하셨습니다."}),
            json!({"user": "#53aca8", "gif": "cat1.gif"}),
        ];
        let html = views
            .render(
                "chat.html",
                &json!({"title": "방", "room": room, "chats": chats, "user": "#501f93\"</script>"}),
            )
            .unwrap();
        assert!(
            html.contains("<div>&lt;script&gt;x&lt;&#x2f;script&gt;</div>"),
            "{html}"
        );
        assert!(
            html.contains("<div class=\"system\">\n        <div>#53aca8님이 입장하셨습니다.</div>"),
            "{html}"
        );
        assert!(html.contains("<img src=\"/gif/cat1.gif\">"), "{html}");
        // The user's colour goes into the script as JSON that cannot close the <script>.
        assert!(
            html.contains(r##"var USER = "#501f93\"\u003c/script\u003e";"##),
            "{html}"
        );
    }
}
