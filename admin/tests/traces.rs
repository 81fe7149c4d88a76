//! OpenTelemetry traces over OTLP/HTTP, across processes: the real `edgeflag serve` with
//! `EDGEFLAG_TELEMETRY_OTLP_ENDPOINT` pointing at a small collector in this test, which
//! records what it is sent. A request's span arrives (with its route and request id),
//! the spans still queued are flushed at a graceful shutdown, and with no endpoint
//! nothing is sent.

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{TcpListener, TcpStream},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_edgeflag");

/// What the collector received: (request line, content type, body) per request.
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A collector answering 200 to every request and keeping it.
fn collector() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received: Received = Arc::default();
    let store = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let store = store.clone();
            std::thread::spawn(move || serve(stream, &store));
        }
    });
    (url, received)
}

fn serve(stream: TcpStream, store: &Received) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut content_type) = (0, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => content_type = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        store
            .lock()
            .unwrap()
            .push((line.trim_end().to_string(), content_type, body));
        let mut out = &stream;
        out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str, token: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\nauthorization: Bearer {token}\r\nx-request-id: trace-test-42\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Runs an admin with `otlp` (or none), makes one API request, stops it with SIGTERM;
/// returns what the collector received.
fn run(otlp: Option<&str>, received: &Received) -> Vec<(String, String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("admin.db").display()
    );
    let init = Command::new(BIN)
        .arg("init")
        .env("EDGEFLAG_DATABASE_URL", &db)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(init.status.success());
    let key = String::from_utf8(init.stdout)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let port = free_port();
    let mut serve = Command::new(BIN);
    serve
        .arg("serve")
        .env("EDGEFLAG_DATABASE_URL", &db)
        .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
        .env("EDGEFLAG_PUBLISH_DIR", dir.path().join("published"))
        .env("EDGEFLAG_LOG", "info")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match otlp {
        Some(url) => serve.env("EDGEFLAG_TELEMETRY_OTLP_ENDPOINT", url),
        None => serve.env_remove("EDGEFLAG_TELEMETRY_OTLP_ENDPOINT"),
    };
    let mut child = serve.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the admin did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let answer = get(port, "/v1/projects", &key);
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    // A graceful stop flushes the spans the batch exporter still holds.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
    received.lock().unwrap().clone()
}

#[test]
fn a_request_span_reaches_the_collector_and_is_flushed_at_shutdown() {
    let (url, received) = collector();
    let got = run(Some(&url), &received);
    assert!(!got.is_empty(), "no export arrived");
    for (line, content_type, _) in &got {
        assert_eq!(line, "POST /v1/traces HTTP/1.1");
        assert_eq!(content_type, "application/x-protobuf");
    }
    // OTLP protobuf carries strings as they are: the service, the span's route and
    // the request id the caller sent.
    let bytes: Vec<u8> = got.iter().flat_map(|(_, _, body)| body.clone()).collect();
    let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(has("edgeflag-admin"), "service.name");
    assert!(has("/v1/projects"), "the request span's route");
    assert!(has("trace-test-42"), "the request id");
}

#[test]
fn without_an_endpoint_nothing_is_exported() {
    let (_url, received) = collector();
    assert!(run(None, &received).is_empty());
}
