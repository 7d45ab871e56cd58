//! The agent's HTTP/1.1 server: one route family, `GET` with an
//! `Authorization` header, answered with JSON and `Connection: close`.
//!
//! Plain threads on `std::net` rather than tokio or hyper: a request's work
//! (reading the cache, sometimes opening an environment, whose evaluator
//! runs its own tokio runtime) is blocking, the protocol is one request
//! line and a few headers, and a thread per connection costs tens of
//! microseconds against the container protocol's handful of clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::files::same_token;

/// A request head larger than this is refused.
const MAX_HEAD: u64 = 16 * 1024;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What an authorized request gets back.
pub struct Response {
    pub status: u16,
    /// JSON.
    pub body: String,
}

impl Response {
    /// `{"code", "message"}`, the container protocol's error shape.
    pub fn error(status: u16, code: &str, message: &str) -> Response {
        Response {
            status,
            body: serde_json::json!({ "code": code, "message": message }).to_string(),
        }
    }
}

pub trait Handler: Send + Sync + 'static {
    /// Answers an authorized `GET path`.
    fn get(&self, path: &str) -> Response;
    /// Called every few seconds: background work such as refreshes.
    fn tick(&self);
    /// True when the agent may exit: called after `idle` without requests.
    fn may_exit(&self) -> bool;
}

/// Serves until the handler agrees to exit after `idle` without requests.
pub fn serve(listener: TcpListener, token: String, handler: Arc<dyn Handler>, idle: Duration) {
    let last = Arc::new(AtomicI64::new(crate::time::now()));
    {
        let (last, handler) = (last.clone(), handler.clone());
        let every = (idle / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            handler.tick();
            let quiet = crate::time::now() - last.load(Ordering::Relaxed);
            if quiet >= idle.as_secs() as i64 && handler.may_exit() {
                std::process::exit(0);
            }
        });
    }
    let token = Arc::new(token);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        last.store(crate::time::now(), Ordering::Relaxed);
        let (token, handler) = (token.clone(), handler.clone());
        std::thread::spawn(move || {
            let _ = answer(stream, &token, handler.as_ref());
        });
    }
}

fn answer(stream: TcpStream, token: &str, handler: &dyn Handler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new((&stream).take(MAX_HEAD));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut authorization = None;
    let mut complete = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            break;
        }
        let header = header.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            complete = true;
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let response = if !complete {
        Response::error(
            400,
            "BadRequest",
            "the request head is incomplete or too large",
        )
    } else if !authorization
        .as_deref()
        .is_some_and(|a| same_token(a.as_bytes(), token.as_bytes()))
    {
        // Before anything about the path: nothing about any environment.
        Response::error(
            403,
            "Forbidden",
            "missing or wrong Authorization token: read it from the file named by \
             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        )
    } else if method != "GET" {
        Response::error(405, "MethodNotAllowed", "only GET is served")
    } else {
        handler.get(path)
    };
    write_response(&stream, &response)
}

fn write_response(mut stream: &TcpStream, r: &Response) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let text = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{}",
        r.status,
        r.body.len(),
        r.body
    );
    stream.write_all(text.as_bytes())?;
    stream.flush()
}

/// A blocking `GET` against the agent, for escsh's own clients
/// (`credential-process`): status and body.
pub fn get(port: u16, path: &str, token: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.take(1 << 20).read_to_string(&mut text)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("the agent's answer has no body"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("the agent's answer has no status"))?;
    Ok((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl Handler for Echo {
        fn get(&self, path: &str) -> Response {
            Response {
                status: 200,
                body: serde_json::json!({ "path": path }).to_string(),
            }
        }
        fn tick(&self) {}
        fn may_exit(&self) -> bool {
            false
        }
    }

    #[test]
    fn the_token_is_required_and_errors_are_json() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            serve(
                listener,
                "t0k".into(),
                Arc::new(Echo),
                Duration::from_secs(3600),
            )
        });
        let (status, body) = get(port, "/x", "t0k").unwrap();
        assert_eq!((status, body.as_str()), (200, r#"{"path":"/x"}"#));
        let (status, body) = get(port, "/x", "nope").unwrap();
        assert_eq!(status, 403);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["code"], "Forbidden");
        assert!(!body.contains("/x"));
    }
}
