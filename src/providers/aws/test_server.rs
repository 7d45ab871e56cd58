//! A loopback HTTP server with canned answers, to check what escsh makes
//! of real wire responses (STS error documents, throttling, GitHub's token
//! service) without any network.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

pub struct Canned {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    handle: JoinHandle<Vec<String>>,
}

impl Canned {
    /// Serves one connection per answer, in order, then stops.
    pub fn serve(answers: Vec<(&str, &str, &str)>) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answers: Vec<String> = answers
            .into_iter()
            .map(|(status, content_type, body)| {
                format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                )
            })
            .collect();
        let handle = std::thread::spawn(move || {
            answers
                .iter()
                .map(|answer| {
                    let (stream, _) = listener.accept().unwrap();
                    let mut reader = BufReader::new(stream);
                    let request = read_request(&mut reader);
                    reader.get_mut().write_all(answer.as_bytes()).unwrap();
                    request
                })
                .collect()
        });
        Canned { url, handle }
    }

    /// The requests received, head and body, once every answer was given.
    pub fn requests(self) -> Vec<String> {
        self.handle.join().unwrap()
    }
}

fn read_request(reader: &mut impl BufRead) -> String {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    head + "\r\n" + &String::from_utf8_lossy(&body)
}
