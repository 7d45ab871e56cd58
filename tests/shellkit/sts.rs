//! A counting front for STS on 127.0.0.1: point `AWS_ENDPOINT_URL` at it
//! and it either relays every connection to moto or refuses each request
//! with STS's `AccessDenied` (an error the SDK does not retry, so one
//! attempt is one request). Either way it counts the `AssumeRole` requests
//! it saw and writes the count to a file a shell can read, so a test can
//! tell how often the environment was opened, and when.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

pub struct Sts {
    pub url: String,
    calls: Arc<AtomicUsize>,
    /// Holds the current count (a decimal number), rewritten on each call.
    pub count_file: PathBuf,
}

const ACTION: &[u8] = b"Action=AssumeRole";

impl Sts {
    /// Relays to `upstream` (`http://127.0.0.1:PORT`, moto).
    pub fn relay(upstream: &str, count_file: &Path) -> Sts {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .to_string();
        Sts::start(count_file, move |client, seen| {
            relay(client, &upstream, seen)
        })
    }

    /// Answers every request with `AccessDenied`.
    pub fn refusing(count_file: &Path) -> Sts {
        Sts::start(count_file, refuse)
    }

    pub fn assume_role_calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn start<F>(count_file: &Path, serve: F) -> Sts
    where
        F: Fn(TcpStream, &Counter) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        std::fs::write(count_file, "0\n").unwrap();
        let counter = Arc::new(Counter {
            calls: calls.clone(),
            file: count_file.to_path_buf(),
        });
        let serve = Arc::new(serve);
        // The listener thread lives as long as the test process; a test
        // binary's exit ends it.
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (serve, counter) = (serve.clone(), counter.clone());
                thread::spawn(move || serve(client, &counter));
            }
        });
        Sts {
            url,
            calls,
            count_file: count_file.to_path_buf(),
        }
    }
}

pub struct Counter {
    calls: Arc<AtomicUsize>,
    file: PathBuf,
}

impl Counter {
    /// Counts the requests `bytes` (the next chunk of a client's stream,
    /// after `tail`, the end of the previous chunk) contains.
    fn scan(&self, tail: &mut Vec<u8>, bytes: &[u8]) {
        tail.extend_from_slice(bytes);
        let found = tail.windows(ACTION.len()).filter(|w| *w == ACTION).count();
        if found > 0 {
            let n = self.calls.fetch_add(found, Ordering::SeqCst) + found;
            let tmp = self.file.with_extension("tmp");
            let _ = std::fs::write(&tmp, format!("{n}\n"));
            let _ = std::fs::rename(&tmp, &self.file);
        }
        // Keep what could be the start of a match cut by the next read.
        let keep = tail.len().min(ACTION.len() - 1);
        tail.drain(..tail.len() - keep);
    }
}

fn relay(client: TcpStream, upstream: &str, counter: &Counter) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut s_read, mut c_write) = (server, client);
    let back = thread::spawn(move || {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = c_write.shutdown(Shutdown::Write);
    });
    let mut buf = [0u8; 16 * 1024];
    let mut tail = Vec::new();
    loop {
        match c_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                counter.scan(&mut tail, &buf[..n]);
                if s_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = s_write.shutdown(Shutdown::Write);
    let _ = back.join();
}

/// Reads one request (headers, then `Content-Length` bytes of body) and
/// answers 403 `AccessDenied`, closing the connection.
fn refuse(mut client: TcpStream, counter: &Counter) {
    let mut request = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut tail = Vec::new();
    loop {
        if let Some(end) = find(&request, b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                counter.scan(&mut tail, &buf[..n]);
                request.extend_from_slice(&buf[..n]);
            }
        }
    }
    let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>refused by the test's STS</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>";
    let response = format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes());
    let _ = client.shutdown(Shutdown::Both);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
