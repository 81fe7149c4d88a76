//! A pull reader of JSON text (RFC 8259), written for the engine's own documents.
//!
//! The snapshot reader ([`crate::reader`]), contexts and envelopes are read through it
//! rather than through serde, so the engine ships one small, non-generic parser. It
//! reads from a `&str` (UTF-8 is checked once, up front), borrows every string without
//! escapes, allocates nothing for a value it skips, and follows serde_json's rules to
//! the letter, because it replaced serde_json and must accept and refuse the same text
//! (docs/snapshot-format.md, "Reading JSON"):
//! - **Syntax** errors (`Syntax`) stop the whole document: bad grammar anywhere,
//!   skipped values included, text after the value.
//! - **Unreadable** values (`Unreadable`) are valid grammar that cannot be held: a
//!   string with a lone surrogate escape, a number beyond the range of a double. They
//!   are checked only where a value is read, never where it is skipped; so is
//!   nesting (128 arrays and objects are refused where they are read, as serde_json does).
//!
//! Messages are static (serde_json's wording), so no formatting code ships with it.

use alloc::{borrow::Cow, string::String, vec::Vec};
use serde_json::{Map, Number, Value};

/// Arrays and objects may nest 127 deep; the 128th is refused (serde_json's limit).
pub(crate) const MAX_DEPTH: usize = 128;

/// A grammar error: the document cannot be read at all. `at` is a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    pub at: usize,
    pub message: &'static str,
}

impl Syntax {
    /// 1-based line and column of the error, as serde_json counted them.
    pub(crate) fn line_column(&self, text: &str) -> (usize, usize) {
        let before = text.as_bytes().get(..self.at).unwrap_or(text.as_bytes());
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        (line, self.at.saturating_sub(line_start) + 1)
    }
}

/// Valid JSON that cannot be held: the reason, in serde_json's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreadable(pub &'static str);

pub(crate) const LONE_SURROGATE: Unreadable = Unreadable("lone leading surrogate in hex escape");
pub(crate) const END_OF_HEX_ESCAPE: Unreadable = Unreadable("unexpected end of hex escape");
pub(crate) const OUT_OF_RANGE: Unreadable = Unreadable("number out of range");
pub(crate) const TOO_DEEP: Unreadable = Unreadable("recursion limit exceeded");

/// The JSON type of the value that comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool => "boolean",
            Self::Number => "number",
            Self::String => "string",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

/// A member name as read: its text, or why it cannot be read together with its raw
/// text between the quotes (which is then its name in a JSON Pointer).
pub(crate) struct Key<'a> {
    pub name: Result<Cow<'a, str>, Unreadable>,
    pub raw: &'a str,
}

/// A data value that cannot be held, with the JSON Pointer to it inside the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadData {
    pub path: String,
    pub why: Unreadable,
}

/// The reader: a position in the text and the containers open there.
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    /// Bit `d` is set when the container at depth `d` is an object; `deeper` holds
    /// the bits from depth 128 on (only skipped values nest that deep).
    objects: u128,
    deeper: Vec<u128>,
    /// The depth at which opening a container that is read is refused.
    limit: usize,
}

/// Appends one reference token to a JSON Pointer, escaping `~` and `/`.
pub(crate) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// `/index`, written without the formatting machinery.
pub(crate) fn push_index(pointer: &mut String, index: usize) {
    pointer.push('/');
    pointer.push_str(itoa::Buffer::new().format(index));
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
            objects: 0,
            deeper: Vec::new(),
            limit: MAX_DEPTH,
        }
    }

    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// How many arrays and objects are open.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn fail<T>(&self, message: &'static str) -> Result<T, Syntax> {
        Err(Syntax {
            at: self.pos,
            message,
        })
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(b) = self.byte() {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// The type of the value that comes next.
    pub(crate) fn kind(&mut self) -> Result<Kind, Syntax> {
        Ok(match self.peek() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            Some(_) => return self.fail("expected value"),
            None => return self.fail("EOF while parsing a value"),
        })
    }

    fn literal(&mut self, word: &'static str) -> Result<(), Syntax> {
        for expected in word.bytes() {
            match self.byte() {
                Some(b) if b == expected => self.pos += 1,
                Some(_) => return self.fail("expected ident"),
                None => return self.fail("EOF while parsing a value"),
            }
        }
        Ok(())
    }

    /// `null`, when [`Reader::kind`] said so.
    pub(crate) fn null(&mut self) -> Result<(), Syntax> {
        self.peek();
        self.literal("null")
    }

    /// `true` or `false`, when [`Reader::kind`] said so.
    pub(crate) fn bool(&mut self) -> Result<bool, Syntax> {
        if self.peek() == Some(b't') {
            self.literal("true").map(|()| true)
        } else {
            self.literal("false").map(|()| false)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.byte(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number's text, checked against the grammar: an optional minus, no leading
    /// zeros, an optional fraction and exponent.
    pub(crate) fn number(&mut self) -> Result<&'a str, Syntax> {
        self.peek();
        let start = self.pos;
        if self.byte() == Some(b'-') {
            self.pos += 1;
        }
        match self.byte() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.byte(), Some(b'0'..=b'9')) {
                    return self.fail("invalid number");
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(_) => return self.fail("invalid number"),
            None => return self.fail("EOF while parsing a value"),
        }
        if self.byte() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.fail_digit();
            }
        }
        if matches!(self.byte(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.byte(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.fail_digit();
            }
        }
        Ok(self.text.get(start..self.pos).unwrap_or_default())
    }

    fn fail_digit<T>(&self) -> Result<T, Syntax> {
        match self.byte() {
            Some(_) => self.fail("invalid number"),
            None => self.fail("EOF while parsing a value"),
        }
    }

    /// A string, unescaped (borrowed when it has no escapes); `Err(Unreadable)` when
    /// it holds a lone surrogate. The whole string is consumed either way.
    pub(crate) fn string(&mut self) -> Result<Result<Cow<'a, str>, Unreadable>, Syntax> {
        self.peek();
        self.pos += 1; // the opening quote
        let start = self.pos;
        let bytes = self.text.as_bytes();
        // The common case: no escapes, borrowed.
        loop {
            match self.byte() {
                Some(b'"') => {
                    let s = self.text.get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return Ok(Ok(Cow::Borrowed(s)));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string");
                }
                Some(_) => self.pos += 1,
                None => return self.fail("EOF while parsing a string"),
            }
        }
        let mut out = String::from(self.text.get(start..self.pos).unwrap_or_default());
        let mut bad = None;
        loop {
            match self.byte() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match bad {
                        Some(why) => Err(why),
                        None => Ok(Cow::Owned(out)),
                    });
                }
                Some(b'\\') => {
                    self.pos += 1;
                    if let Err(why) = self.escape(&mut out)?
                        && bad.is_none()
                    {
                        bad = Some(why);
                    }
                }
                Some(0..=0x1f) => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string");
                }
                Some(_) => {
                    // Copy the run up to the next quote, backslash or control byte.
                    let run = self.pos;
                    while matches!(bytes.get(self.pos), Some(&b) if b >= 0x20 && b != b'"' && b != b'\\')
                    {
                        self.pos += 1;
                    }
                    out.push_str(self.text.get(run..self.pos).unwrap_or_default());
                }
                None => return self.fail("EOF while parsing a string"),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, Syntax> {
        let mut n = 0u16;
        for _ in 0..4 {
            let digit = match self.byte() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                Some(_) => return self.fail("invalid escape"),
                None => return self.fail("EOF while parsing a string"),
            };
            self.pos += 1;
            n = (n << 4) | u16::from(digit);
        }
        Ok(n)
    }

    /// One escape after its backslash. The grammar is checked whatever happens; a
    /// surrogate that does not pair up makes the string unreadable (serde_json's
    /// rules: a high surrogate must be followed at once by `\u` and a low one).
    fn escape(&mut self, out: &mut String) -> Result<Result<(), Unreadable>, Syntax> {
        let c = match self.byte() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.unicode_escape(out);
            }
            Some(_) => return self.fail("invalid escape"),
            None => return self.fail("EOF while parsing a string"),
        };
        self.pos += 1;
        out.push(c);
        Ok(Ok(()))
    }

    fn unicode_escape(&mut self, out: &mut String) -> Result<Result<(), Unreadable>, Syntax> {
        let n = self.hex4()?;
        if (0xDC00..=0xDFFF).contains(&n) {
            return Ok(Err(LONE_SURROGATE));
        }
        if !(0xD800..=0xDBFF).contains(&n) {
            out.push(char::from_u32(u32::from(n)).unwrap_or(char::REPLACEMENT_CHARACTER));
            return Ok(Ok(()));
        }
        // A high surrogate: `\u` and a low one must follow. What follows otherwise
        // is read on as ordinary string content, so its grammar is still checked.
        if self.text.as_bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
            return Ok(Err(END_OF_HEX_ESCAPE));
        }
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..=0xDFFF).contains(&low) {
            return Ok(Err(LONE_SURROGATE));
        }
        let c = 0x1_0000 + ((u32::from(n) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
        out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
        Ok(Ok(()))
    }

    /// A string's grammar, without unescaping it (nothing is allocated).
    fn skip_string(&mut self) -> Result<(), Syntax> {
        self.peek();
        self.pos += 1;
        loop {
            match self.byte() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.byte() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            self.hex4()?;
                        }
                        Some(_) => return self.fail("invalid escape"),
                        None => return self.fail("EOF while parsing a string"),
                    }
                }
                Some(0..=0x1f) => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string");
                }
                Some(_) => self.pos += 1,
                None => return self.fail("EOF while parsing a string"),
            }
        }
    }

    fn open(&mut self, object: bool) {
        self.peek();
        self.pos += 1;
        self.depth += 1;
        self.set_top(object);
    }

    fn set_top(&mut self, object: bool) {
        let (word, bit) = (self.depth / 128, 1u128 << (self.depth % 128));
        let slot = if word == 0 {
            &mut self.objects
        } else {
            if self.deeper.len() < word {
                self.deeper.resize(word, 0);
            }
            match self.deeper.get_mut(word - 1) {
                Some(slot) => slot,
                None => return,
            }
        };
        if object {
            *slot |= bit;
        } else {
            *slot &= !bit;
        }
    }

    fn in_object(&self) -> bool {
        let (word, bit) = (self.depth / 128, 1u128 << (self.depth % 128));
        let slot = if word == 0 {
            self.objects
        } else {
            self.deeper.get(word - 1).copied().unwrap_or(0)
        };
        slot & bit != 0
    }

    /// Values read (not skipped) may nest only so deep: `depth` is the number of
    /// containers open around the first value that counts. serde_json refuses the
    /// 128th array or object it deserializes, and never limits what it skips.
    pub(crate) fn set_base(&mut self, depth: usize) {
        self.limit = depth + MAX_DEPTH;
    }

    /// Whether opening one more container to read it goes past the limit.
    pub(crate) fn too_deep(&self) -> bool {
        self.depth + 1 >= self.limit
    }

    /// Consumes `[`, when [`Reader::kind`] said so.
    pub(crate) fn array(&mut self) {
        self.open(false);
    }

    /// Consumes `{`, when [`Reader::kind`] said so.
    pub(crate) fn object(&mut self) {
        self.open(true);
    }

    /// Whether the open array or object has another element or member: consumes the
    /// `,` before it (unless it is the `first`), or the closing bracket after the last.
    pub(crate) fn more(&mut self, first: bool) -> Result<bool, Syntax> {
        let object = self.in_object();
        let (close, eof, expected) = if object {
            (b'}', "EOF while parsing an object", "expected `,` or `}`")
        } else {
            (b']', "EOF while parsing a list", "expected `,` or `]`")
        };
        match self.peek() {
            Some(b) if b == close => {
                self.pos += 1;
                self.depth = self.depth.saturating_sub(1);
                return Ok(false);
            }
            None => return self.fail(eof),
            Some(b',') if !first => {
                self.pos += 1;
                if self.peek() == Some(close) {
                    return self.fail("trailing comma");
                }
            }
            Some(_) if first => {}
            Some(_) => return self.fail(expected),
        }
        Ok(true)
    }

    /// A member name and its colon.
    pub(crate) fn key(&mut self) -> Result<Key<'a>, Syntax> {
        match self.peek() {
            Some(b'"') => {}
            Some(_) => return self.fail("key must be a string"),
            None => return self.fail("EOF while parsing an object"),
        }
        let start = self.pos + 1;
        let name = self.string()?;
        let raw = self
            .text
            .get(start..self.pos.saturating_sub(1))
            .unwrap_or_default();
        match self.peek() {
            Some(b':') => self.pos += 1,
            Some(_) => return self.fail("expected `:`"),
            None => return self.fail("EOF while parsing an object"),
        }
        Ok(Key { name, raw })
    }

    /// Skips one value, checking only its grammar: no nesting limit (as serde_json
    /// skips), no allocation below 128 levels, and no recursion.
    pub(crate) fn skip(&mut self) -> Result<(), Syntax> {
        let base = self.depth;
        loop {
            let mut opened = false;
            match self.kind()? {
                Kind::Null => self.null()?,
                Kind::Bool => drop(self.bool()?),
                Kind::Number => drop(self.number()?),
                Kind::String => self.skip_string()?,
                kind => {
                    self.open(kind == Kind::Object);
                    opened = true;
                }
            }
            if self.depth == base {
                return Ok(());
            }
            // After a value or an opening bracket: on to the next value, closing
            // whatever ends on the way.
            loop {
                if self.more(opened)? {
                    if self.in_object() {
                        self.skip_string_key()?;
                    }
                    break;
                }
                opened = false;
                if self.depth == base {
                    return Ok(());
                }
            }
        }
    }

    fn skip_string_key(&mut self) -> Result<(), Syntax> {
        match self.peek() {
            Some(b'"') => self.skip_string()?,
            Some(_) => return self.fail("key must be a string"),
            None => return self.fail("EOF while parsing an object"),
        }
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => self.fail("expected `:`"),
            None => self.fail("EOF while parsing an object"),
        }
    }

    /// Skips one value and returns its text.
    pub(crate) fn raw(&mut self) -> Result<&'a str, Syntax> {
        self.peek();
        let start = self.pos;
        self.skip()?;
        Ok(self.text.get(start..self.pos).unwrap_or_default())
    }

    /// Closes every open container down to `depth`, checking the grammar of what is
    /// left in them: after a defect inside an item, the rest of it is still read.
    /// The reader must stand after a value (or a closed container).
    pub(crate) fn close_to(&mut self, depth: usize) -> Result<(), Syntax> {
        while self.depth > depth {
            if self.more(false)? {
                if self.in_object() {
                    self.skip_string_key()?;
                }
                self.skip()?;
            }
        }
        Ok(())
    }

    /// Only whitespace may follow the value.
    pub(crate) fn end(&mut self) -> Result<(), Syntax> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("trailing characters"),
        }
    }

    /// A number as serde_json holds it: a `u64` when it is a non-negative integer
    /// that fits, an `i64` when it is a negative one, else the nearest double.
    pub(crate) fn number_value(&mut self) -> Result<Result<Number, Unreadable>, Syntax> {
        let text = self.number()?;
        Ok(parse_number(text))
    }

    /// Any value, as data: every string and number in it must be readable. The rest
    /// of the value is read (its grammar checked) even when one part is not.
    pub(crate) fn value(&mut self) -> Result<Result<Value, BadData>, Syntax> {
        Ok(match self.kind()? {
            Kind::Null => self.null().map(|()| Ok(Value::Null))?,
            Kind::Bool => Ok(Value::Bool(self.bool()?)),
            Kind::Number => self
                .number_value()?
                .map(Value::Number)
                .map_err(|why| bad(String::new(), why)),
            Kind::String => self
                .string()?
                .map(|s| Value::String(s.into_owned()))
                .map_err(|why| bad(String::new(), why)),
            Kind::Array => self.array_value()?,
            Kind::Object => self.object_value()?,
        })
    }

    fn array_value(&mut self) -> Result<Result<Value, BadData>, Syntax> {
        if self.too_deep() {
            self.skip()?;
            return Ok(Err(bad(String::new(), TOO_DEEP)));
        }
        self.array();
        let mut items = Vec::new();
        let mut index = 0;
        let mut first_bad: Option<BadData> = None;
        while self.more(index == 0)? {
            match self.value()? {
                Ok(v) => {
                    if first_bad.is_none() {
                        items.push(v);
                    }
                }
                Err(mut b) => {
                    if first_bad.is_none() {
                        let mut path = String::new();
                        push_index(&mut path, index);
                        path.push_str(&b.path);
                        b.path = path;
                        first_bad = Some(b);
                    }
                }
            }
            index += 1;
        }
        Ok(match first_bad {
            Some(b) => Err(b),
            None => Ok(Value::Array(items)),
        })
    }

    fn object_value(&mut self) -> Result<Result<Value, BadData>, Syntax> {
        if self.too_deep() {
            self.skip()?;
            return Ok(Err(bad(String::new(), TOO_DEEP)));
        }
        self.object();
        let mut map = Map::new();
        let mut first = true;
        let mut first_bad: Option<BadData> = None;
        while self.more(first)? {
            first = false;
            let key = self.key()?;
            let name = match key.name {
                Ok(name) => name,
                Err(why) => {
                    self.skip()?;
                    if first_bad.is_none() {
                        let mut path = String::new();
                        push_token(&mut path, key.raw.trim_matches('"'));
                        first_bad = Some(bad(path, why));
                    }
                    continue;
                }
            };
            match self.value()? {
                Ok(v) => {
                    if first_bad.is_none() {
                        // The last of a repeated name wins, as in `JSON.parse`.
                        map.insert(name.into_owned(), v);
                    }
                }
                Err(mut b) => {
                    if first_bad.is_none() {
                        let mut path = String::new();
                        push_token(&mut path, &name);
                        path.push_str(&b.path);
                        b.path = path;
                        first_bad = Some(b);
                    }
                }
            }
        }
        Ok(match first_bad {
            Some(b) => Err(b),
            None => Ok(Value::Object(map)),
        })
    }
}

fn bad(path: String, why: Unreadable) -> BadData {
    BadData { path, why }
}

/// The value of a number whose text is valid JSON, as serde_json (with
/// `float_roundtrip`) reads it: integers exactly where they fit, everything else as
/// the correctly rounded double (`core`'s parser); beyond a double is unreadable.
pub(crate) fn parse_number(text: &str) -> Result<Number, Unreadable> {
    let integer = !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if integer {
        if let Some(digits) = text.strip_prefix('-') {
            // `-0` is the double -0.0; other negatives are `i64` where they fit.
            if digits != "0"
                && let Ok(n) = text.parse::<i64>()
            {
                return Ok(Number::from(n));
            }
        } else if let Ok(n) = text.parse::<u64>() {
            return Ok(Number::from(n));
        }
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Number::from_f64(f).ok_or(OUT_OF_RANGE),
        _ => Err(OUT_OF_RANGE),
    }
}

#[cfg(test)]
mod tests;
