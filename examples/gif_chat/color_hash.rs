//! `new ColorHash().hex(req.sessionID)`: the `color-hash` package (1.0.x, the book's version)
//! turns a string into a colour, the visitor's name in the chat.
//!
//! ```text
//! "Hello World"  --BKDR hash-->  hash  -->  hue = hash % 359, saturation and lightness picked
//!                                           from [0.35, 0.5, 0.65] by hash / 360
//!                                      -->  HSL to RGB  -->  "#8796c5"
//! ```
//!
//! JavaScript computes in doubles; so does this file, so that every colour is the package's to
//! the bit (the tests hold values printed by the package itself).

/// The package's default saturations and lightnesses (3 values each; 3 is a prime).
const LEVELS: [f64; 3] = [0.35, 0.5, 0.65];

/// The package's modified BKDR hash: `x` appended, `hash = hash * 131 + code unit`, divided by
/// 137 whenever it grows past `MAX_SAFE_INTEGER / 137` so that it stays an exact double.
fn bkdr_hash(text: &str) -> f64 {
    let seed = 131.0;
    let seed2 = 137.0;
    let max_safe_integer = (9_007_199_254_740_991.0_f64 / seed2).trunc();
    let mut hash: f64 = 0.0;
    // `str += 'x'`, then `str.charCodeAt(i)`: UTF-16 code units.
    let units = text.encode_utf16().chain("x".encode_utf16());
    for unit in units {
        if hash > max_safe_integer {
            hash = (hash / seed2).trunc();
        }
        hash = hash * seed + f64::from(unit);
    }
    hash
}

/// `colorHash.hsl(text)`: hue in [0, 359), saturation, lightness.
pub fn hsl(text: &str) -> (f64, f64, f64) {
    let mut hash = bkdr_hash(text);
    let hue = hash % 359.0; // 359 is a prime
    hash = (hash / 360.0).trunc();
    let saturation = LEVELS[(hash % 3.0) as usize];
    hash = (hash / 3.0).trunc();
    let lightness = LEVELS[(hash % 3.0) as usize];
    (hue, saturation, lightness)
}

/// HSL to RGB, each channel rounded to 0..=255 (the package's `HSL2RGB`).
fn hsl_to_rgb(hue: f64, saturation: f64, lightness: f64) -> [u8; 3] {
    let h = hue / 360.0;
    let q = if lightness < 0.5 {
        lightness * (1.0 + saturation)
    } else {
        lightness + saturation - lightness * saturation
    };
    let p = 2.0 * lightness - q;
    let mut rgb = [0u8; 3];
    for (channel, shifted) in rgb.iter_mut().zip([h + 1.0 / 3.0, h, h - 1.0 / 3.0]) {
        let mut color = shifted;
        if color < 0.0 {
            color += 1.0;
        }
        if color > 1.0 {
            color -= 1.0;
        }
        let value = if color < 1.0 / 6.0 {
            p + (q - p) * 6.0 * color
        } else if color < 0.5 {
            q
        } else if color < 2.0 / 3.0 {
            p + (q - p) * 6.0 * (2.0 / 3.0 - color)
        } else {
            p
        };
        // Math.round: halves go up (the values are never negative).
        *channel = (value * 255.0 + 0.5).floor() as u8;
    }
    rgb
}

/// `colorHash.hex(text)`: `#rrggbb`.
pub fn hex(text: &str) -> String {
    let (hue, saturation, lightness) = hsl(text);
    let [r, g, b] = hsl_to_rgb(hue, saturation, lightness);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Printed by color-hash 1.0.3 in Node: `new ColorHash().hsl(s)`, `.hex(s)`.
    #[test]
    fn same_colours_as_the_package() {
        assert_eq!(hsl(""), (120.0, 0.35, 0.35));
        assert_eq!(hex(""), "#3a783a");
        assert_eq!(hsl("Hello World"), (225.0, 0.35, 0.65));
        assert_eq!(hex("Hello World"), "#8796c5");
        assert_eq!(hex("abc"), "#783a3d");
        // Session ids as express-session makes them (32 characters of base64url).
        assert_eq!(hsl("hOnIHiDaAN-U_TpnRbkBrMv0f9sJ0nPs"), (265.0, 0.65, 0.35));
        assert_eq!(hex("hOnIHiDaAN-U_TpnRbkBrMv0f9sJ0nPs"), "#501f93");
        assert_eq!(hex("ZqgYaj1jSbG5O6Ql7m8OZm-P2jY4gq1q"), "#53aca8");
        // Long enough for the hash to be divided by 137 on the way.
        assert_eq!(hex(&"x".repeat(200)), "#71783a");
    }
}
