//! A small JSON writer for the adapter's answers: strings, whole numbers, and
//! `serde_json::Value`s (variation values, metadata) written straight into one
//! `String`, with no generic serializer and no `core::fmt`.
//!
//! Text is made at the edge that needs it. The one number this writer does not
//! spell itself is a number with a fraction or an exponent: JavaScript's own
//! `String(x)` writes it (in the browser and node), so no float-formatting
//! code ships in the wasm; JSON.parse reads every such text back to the same double.

use serde_json::{Map, Number, Value};

/// Answers under construction: a JSON text, written left to right.
#[derive(Debug, Default)]
pub struct Json(String);

impl Json {
    pub fn into_string(self) -> String {
        self.0
    }

    /// Raw JSON text, written as is.
    pub fn raw(&mut self, text: &str) -> &mut Self {
        self.0.push_str(text);
        self
    }

    /// A JSON string, escaped as serde_json escapes it.
    pub fn str(&mut self, text: &str) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.0.push('"');
        let mut start = 0;
        for (i, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.push_str(text.get(start..i).unwrap_or_default());
            if escape.is_empty() {
                self.0.push_str("\\u00");
                for nibble in [byte >> 4, byte & 0xf] {
                    self.0.push(char::from(HEX[usize::from(nibble)]));
                }
            } else {
                self.0.push_str(escape);
            }
            start = i + 1;
        }
        self.0.push_str(text.get(start..).unwrap_or_default());
        self.0.push('"');
        self
    }

    pub fn u64(&mut self, n: u64) -> &mut Self {
        self.0.push_str(itoa::Buffer::new().format(n));
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.raw(if b { "true" } else { "false" })
    }

    /// `text` as a string, or `null`.
    pub fn opt_str(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => self.str(text),
            None => self.raw("null"),
        }
    }

    /// Starts the member `name` of an object: a comma unless it is the `first`.
    pub fn key(&mut self, first: bool, name: &str) -> &mut Self {
        if !first {
            self.0.push(',');
        }
        self.str(name).raw(":")
    }

    pub fn value(&mut self, value: &Value) -> &mut Self {
        match value {
            Value::Null => self.raw("null"),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.str(s),
            Value::Array(items) => {
                self.raw("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.raw(",");
                    }
                    self.value(item);
                }
                self.raw("]")
            }
            Value::Object(map) => self.object(map),
        }
    }

    pub fn object(&mut self, map: &Map<String, Value>) -> &mut Self {
        self.raw("{");
        for (i, (name, item)) in map.iter().enumerate() {
            self.key(i == 0, name).value(item);
        }
        self.raw("}")
    }

    pub fn strings<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) -> &mut Self {
        self.raw("[");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.str(item);
        }
        self.raw("]")
    }

    fn number(&mut self, n: &Number) -> &mut Self {
        if let Some(u) = n.as_u64() {
            return self.u64(u);
        }
        if let Some(i) = n.as_i64() {
            self.0.push_str(itoa::Buffer::new().format(i));
            return self;
        }
        // Numbers in a `Value` are finite: serde_json reads no other.
        let f = n.as_f64().unwrap_or_default();
        self.0.push_str(&float_text(f));
        self
    }
}

/// JavaScript's text for a finite double, keeping the sign of zero.
#[cfg(target_arch = "wasm32")]
fn float_text(f: f64) -> String {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        /// JavaScript's global `String`: the shortest text that reads back as `x`.
        #[wasm_bindgen(js_name = String)]
        fn js_string(x: f64) -> String;
    }
    if f == 0.0 && f.is_sign_negative() {
        return String::from("-0");
    }
    js_string(f)
}

/// Natively (the adapter's own tests), Rust's shortest round-trip text.
#[cfg(not(target_arch = "wasm32"))]
fn float_text(f: f64) -> String {
    format!("{f:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: &Value) -> String {
        let mut out = Json::default();
        out.value(value);
        out.into_string()
    }

    #[test]
    fn writes_values_as_serde_json_reads_them_back() {
        let value = json!({
            "s": "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f} é \u{2028}",
            "n": [0, 1, -1, u64::MAX, i64::MIN, 0.5, -2.5e-7, 1e300, -0.0],
            "b": [true, false, null],
            "o": {"": {}, "x": []}
        });
        let written = text(&value);
        let back: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(back, value, "{written}");
        let zero: Value = serde_json::from_str(&text(&json!(-0.0))).unwrap();
        assert!(zero.as_f64().unwrap().is_sign_negative());
    }

    #[test]
    fn escapes_as_serde_json_does() {
        for s in [
            "plain",
            "\"quoted\"",
            "back\\slash",
            "\u{0}\u{7f}",
            "tab\tnew\nline",
            "日本",
        ] {
            assert_eq!(text(&json!(s)), serde_json::to_string(s).unwrap());
        }
    }
}
