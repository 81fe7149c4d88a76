//! Plain request and response types: what every runtime can build from its own HTTP
//! types and turn back into them. No runtime types cross this boundary.

use serde::Serialize;

use crate::live::Handoff;

/// An incoming request, as the adapter decoded it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path without the query string, e.g. `/ofrep/v1/evaluate/flags/new-checkout`.
    pub path: String,
    /// The raw query string without `?`, possibly empty.
    pub query: String,
    /// `scheme://host[:port]` of the URL the client used, when the adapter knows it
    /// (the Worker does); links the edge hands out (event streams) are built on it.
    pub origin: String,
    /// Header names in any case; looked up case-insensitively.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Self {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            ..Self::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first header of that name, compared case-insensitively. Only names in
    /// [`REQUEST_HEADERS`] are read (a debug build checks), so an adapter for which each
    /// header costs a call may pass just those.
    pub fn get_header(&self, name: &str) -> Option<&str> {
        debug_assert!(
            REQUEST_HEADERS.contains(&name),
            "`{name}` is read but missing from REQUEST_HEADERS"
        );
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Query parameters, percent-decoded (`+` is a space).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }
}

/// Every request header the edge reads, in lower case. An adapter may pass only these
/// (the Worker does: each header it asks workerd for crosses the wasm boundary).
pub const REQUEST_HEADERS: [&str; 6] = [
    "authorization",
    "x-api-key",
    "content-type",
    "if-none-match",
    "last-event-id",
    "x-edgeflag-test-now",
];

/// The origin (`scheme://host[:port]`), path and query (without `?`) of an absolute
/// URL as a WHATWG URL parser serializes it (workerd's `request.url`): the host is
/// already lower case, a default port already dropped and the path already encoded,
/// so no parsing is needed. User information is left out of the origin, and a
/// fragment out of everything.
pub fn split_url(url: &str) -> (String, &str, &str) {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (url, query) = url.split_once('?').unwrap_or((url, ""));
    let Some((scheme, rest)) = url.split_once("://") else {
        return (String::new(), url, query);
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (format!("{scheme}://{host}"), path, query)
}

/// An outgoing response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Work for the adapter besides sending the response: tell an environment's event
    /// streams about a publish, or open a stream. `None` for almost every response.
    pub handoff: Option<Handoff>,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            handoff: None,
        }
    }

    pub fn handoff(mut self, handoff: Handoff) -> Self {
        self.handoff = Some(handoff);
        self
    }

    /// A JSON response. Serializing the crate's own response types cannot fail; if
    /// it ever did, the client gets a 500 rather than a panic.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => Self::new(status)
                .with_header("content-type", "application/json")
                .with_body(bytes),
            Err(_) => Self::new(500),
        }
    }

    /// A JSON response whose body is already written.
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Self {
        Self::new(status)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_decodes_the_query() {
        let req = Request::new(
            "GET",
            "/v1/evaluate?flag=a%20b&email=x%40y.com&plan=pro+max&bad=%zz",
        );
        assert_eq!(req.path, "/v1/evaluate");
        assert_eq!(
            req.query_pairs(),
            [
                ("flag", "a b"),
                ("email", "x@y.com"),
                ("plan", "pro max"),
                ("bad", "%zz")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn splits_a_serialized_url() {
        let split = |url| {
            let (origin, path, query) = split_url(url);
            (origin, path.to_string(), query.to_string())
        };
        let parts = |o: &str, p: &str, q: &str| (o.to_string(), p.to_string(), q.to_string());
        assert_eq!(
            split("https://flags.example.com/ofrep/v1/evaluate/flags/a%20b?x=1&y=%3F"),
            parts(
                "https://flags.example.com",
                "/ofrep/v1/evaluate/flags/a%20b",
                "x=1&y=%3F"
            )
        );
        assert_eq!(
            split("http://127.0.0.1:8787/healthz"),
            parts("http://127.0.0.1:8787", "/healthz", "")
        );
        assert_eq!(
            split("http://[::1]:8787/v1/flags?"),
            parts("http://[::1]:8787", "/v1/flags", "")
        );
        assert_eq!(
            split("https://user:pw@example.com/p?q#frag"),
            parts("https://example.com", "/p", "q")
        );
        assert_eq!(
            split("https://example.com?q=/x"),
            parts("https://example.com", "/", "q=/x")
        );
        assert_eq!(split("/relative?q"), parts("", "/relative", "q"));
    }

    #[test]
    fn headers_are_case_insensitive() {
        let req = Request::new("GET", "/").header("Authorization", "Bearer k");
        assert_eq!(req.get_header("authorization"), Some("Bearer k"));
        assert_eq!(req.get_header("x-api-key"), None);
    }
}
