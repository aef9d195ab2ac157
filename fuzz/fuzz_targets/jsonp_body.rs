//! JSONP polling (`engineio::jsonp`, `engineio::payload`): a POST body as the server reads it
//! (`d=` in a form, its `\n` escapes undone, then the v3 or v4 payload), and a payload as it goes
//! back in a `___eio[j]("...");` answer. The first byte picks the protocol (even: 3, odd: 4).
//!
//! Checks: reading never panics; an answer's string literal is JSON that gives the payload back
//! and holds no raw U+2028 or U+2029 (they end a line in old JavaScript).
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_book::engineio::jsonp;
use socketio_book::engineio::payload::{self, Decoded, PollingFormat};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let format = PollingFormat {
        protocol: if which % 2 == 0 { 3 } else { 4 },
        supports_binary: false,
        jsonp: Some("0"),
    };
    let decoded = payload::decode_post(format, Some("application/x-www-form-urlencoded"), rest);
    if let Decoded::Packets(packets, _) = decoded {
        // What the server would answer with them, wrapped for the page's script tag.
        let answer = payload::encode_answer(format, &packets);
        let text = String::from_utf8(answer.body).expect("a JSONP answer is text");
        let literal = text
            .strip_prefix("___eio[0](")
            .and_then(|rest| rest.strip_suffix(");"))
            .expect("___eio[0](...);");
        assert!(!literal.contains(['\u{2028}', '\u{2029}']), "{literal:?}");
        let _: String = serde_json::from_str(literal).expect("a JSON string");
    }
    // Any text as a payload: the literal gives it back.
    let payload = String::from_utf8_lossy(rest);
    let wrapped = jsonp::wrap_text("0", &payload);
    let literal = &wrapped["___eio[0](".len()..wrapped.len() - 2];
    assert!(!literal.contains(['\u{2028}', '\u{2029}']), "{literal:?}");
    assert_eq!(serde_json::from_str::<String>(literal).expect("a JSON string"), payload);
});
