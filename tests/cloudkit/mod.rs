//! A stand-in Pulumi Cloud for the tests: a loopback HTTP/1.1 server on a
//! thread, speaking the wire format of docs/pulumi-cloud-api.md with canned
//! answers (it never evaluates anything), checking every request's method,
//! path, query and headers, and able to fail, stall or garble on demand.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value as Json};

pub const TOKEN: &str = "pul-standin-0123456789abcdef";

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
}

/// A stored environment: its revisions (definition and opened value) and
/// tags.
#[derive(Debug, Clone, Default)]
pub struct Canned {
    /// Revision → (definition as stored, definition decrypted, Environment).
    pub revisions: BTreeMap<i64, (String, String, Json)>,
    pub tags: BTreeMap<String, i64>,
    /// A 400 with these diagnostics answers every open.
    pub diagnostics: Option<Json>,
    /// Revisions the next opens of the latest get, in turn (the last one
    /// stays): a definition changing between two opens.
    pub open_order: std::collections::VecDeque<i64>,
}

impl Canned {
    pub fn latest(&self) -> i64 {
        self.revisions.keys().last().copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    Slow(Duration),
    Garbled,
}

#[derive(Default)]
struct State {
    envs: BTreeMap<String, Canned>,
    sessions: BTreeMap<String, (String, i64)>,
    faults: Vec<(String, String, Fault, usize)>,
    requests: Vec<Request>,
    problems: Vec<String>,
    page_size: usize,
    next_session: u64,
}

pub struct StandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    pub fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            page_size: 2,
            ..State::default()
        }));
        let shared = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                thread::spawn(move || serve(conn, &state));
            }
        });
        StandIn { url, state }
    }

    /// Stores `name` at `revision` with its definition and opened value.
    pub fn put(&self, name: &str, revision: i64, yaml: &str, environment: Json) {
        self.put_secret(name, revision, yaml, yaml, environment);
    }

    pub fn put_secret(
        &self,
        name: &str,
        revision: i64,
        yaml: &str,
        decrypted: &str,
        environment: Json,
    ) {
        let mut s = self.state.lock().unwrap();
        s.envs
            .entry(name.to_string())
            .or_default()
            .revisions
            .insert(revision, (yaml.into(), decrypted.into(), environment));
    }

    pub fn tag(&self, name: &str, tag: &str, revision: i64) {
        let mut s = self.state.lock().unwrap();
        s.envs
            .get_mut(name)
            .unwrap()
            .tags
            .insert(tag.into(), revision);
    }

    /// The next opens of `name` (no version) answer these revisions in turn.
    pub fn open_order(&self, name: &str, revisions: &[i64]) {
        let mut s = self.state.lock().unwrap();
        s.envs.get_mut(name).unwrap().open_order = revisions.iter().copied().collect();
    }

    pub fn set_diagnostics(&self, name: &str, diagnostics: Json) {
        let mut s = self.state.lock().unwrap();
        s.envs.entry(name.to_string()).or_default().diagnostics = Some(diagnostics);
    }

    /// The next `times` requests `METHOD` whose path starts with `prefix`
    /// meet `fault`.
    pub fn fault(&self, method: &str, prefix: &str, fault: Fault, times: usize) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push((method.into(), prefix.into(), fault, times));
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests made with `method` to paths containing `part`.
    pub fn count(&self, method: &str, part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(part))
            .count()
    }

    /// Requests that did not follow the wire format (bad headers, unknown
    /// routes, bad queries). Tests assert it is empty.
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }

    pub fn clear(&self) {
        let mut s = self.state.lock().unwrap();
        s.requests.clear();
    }

    /// `escsh` with a private ESCSH_HOME and HOME, logged in to this
    /// stand-in through the environment: never the real ~/.pulumi.
    pub fn escsh(&self, home: &std::path::Path) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_escsh"));
        isolate(&mut c, home);
        c.env("PULUMI_BACKEND_URL", &self.url)
            .env("PULUMI_ACCESS_TOKEN", TOKEN);
        c
    }
}

/// Sets ESCSH_HOME and HOME under `home` and drops every PULUMI_ variable.
pub fn isolate(c: &mut std::process::Command, home: &std::path::Path) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PULUMI_") {
            c.env_remove(&k);
        }
    }
    c.env("ESCSH_HOME", home.join("escsh"))
        .env("HOME", home)
        .env_remove("VISUAL")
        .env_remove("EDITOR");
}

/// Wraps plain JSON in the Value shape: `{"value": ..., "trace": ...}`.
pub fn v(plain: Json) -> Json {
    let inner = match plain {
        Json::Object(m) => Json::Object(m.into_iter().map(|(k, x)| (k, v(x))).collect()),
        Json::Array(a) => Json::Array(a.into_iter().map(v).collect()),
        other => other,
    };
    json!({"value": inner, "trace": {"def": {"environment": "acme/app/dev",
        "begin": {"line": 1, "column": 1, "byte": 0}, "end": {"line": 1, "column": 2, "byte": 1}}}})
}

/// A secret Value.
pub fn secret(plain: Json) -> Json {
    let mut x = v(plain);
    x["secret"] = json!(true);
    x
}

/// An Environment whose properties are `props` (already Values).
pub fn environment(props: Json) -> Json {
    json!({"properties": props, "schema": {}, "exprs": {},
           "executionContext": {"properties": {}, "schema": {}}})
}

fn serve(conn: TcpStream, state: &Mutex<State>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, val)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), val.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let request = Request {
        method,
        path,
        query,
        headers,
    };
    let (status, extra, body) = answer(state, &request);
    let mut out = conn;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, val) in extra {
        head.push_str(&format!("{k}: {val}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&body);
    let _ = out.flush();
}

type Reply = (u16, Vec<(String, String)>, Vec<u8>);

fn error(code: u16, message: &str) -> Reply {
    (
        code,
        vec![("X-Pulumi-Request-ID".into(), format!("req-{code}-standin"))],
        json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    )
}

fn ok(body: Json) -> Reply {
    (200, Vec::new(), body.to_string().into_bytes())
}

fn answer(state: &Mutex<State>, r: &Request) -> Reply {
    let fault = {
        let mut s = state.lock().unwrap();
        s.requests.push(r.clone());
        check_headers(&mut s, r);
        let i = s
            .faults
            .iter()
            .position(|(m, p, _, n)| *m == r.method && r.path.starts_with(p.as_str()) && *n > 0);
        i.map(|i| {
            s.faults[i].3 -= 1;
            s.faults[i].2.clone()
        })
    };
    match fault {
        Some(Fault::Status(code)) => return error(code, "the stand-in was told to fail"),
        Some(Fault::Garbled) => return (200, Vec::new(), b"{\"id\": [garbled".to_vec()),
        Some(Fault::Slow(d)) => thread::sleep(d),
        None => {}
    }
    if r.headers.get("authorization").map(String::as_str) != Some(&format!("token {TOKEN}")) {
        return error(401, "Unauthorized: No credentials provided or are invalid.");
    }
    let mut s = state.lock().unwrap();
    route(&mut s, r)
}

fn check_headers(s: &mut State, r: &Request) {
    let h = |k: &str| r.headers.get(k).cloned().unwrap_or_default();
    if h("accept") != "application/vnd.pulumi+8" {
        s.problems
            .push(format!("{} {}: Accept {:?}", r.method, r.path, h("accept")));
    }
    if h("content-type") != "application/json" {
        s.problems.push(format!(
            "{} {}: Content-Type {:?}",
            r.method,
            r.path,
            h("content-type")
        ));
    }
    if !h("user-agent").starts_with("escsh/") {
        s.problems.push(format!(
            "{} {}: User-Agent {:?}",
            r.method,
            r.path,
            h("user-agent")
        ));
    }
}

fn route(s: &mut State, r: &Request) -> Reply {
    let segs: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let Some(rest) = segs.strip_prefix(&["api", "esc", "environments"]) else {
        s.problems
            .push(format!("unknown route {} {}", r.method, r.path));
        return error(404, "Not found");
    };
    match (r.method.as_str(), rest) {
        ("GET", []) => list(s, r, None),
        ("GET", [org]) => list(s, r, Some(org)),
        ("POST", [o, p, e, "open"]) => open(s, r, &format!("{o}/{p}/{e}"), None),
        ("POST", [o, p, e, "versions", v, "open"]) => open(s, r, &format!("{o}/{p}/{e}"), Some(v)),
        ("GET", [o, p, e, "open", id]) => read_open(s, r, &format!("{o}/{p}/{e}"), id),
        ("GET", [o, p, e, "versions", "tags", tag]) => {
            no_query(s, r);
            let name = format!("{o}/{p}/{e}");
            match s.envs.get(&name).and_then(|c| c.tags.get(*tag)) {
                Some(rev) => {
                    ok(json!({"name": tag, "revision": rev, "created": "2026-11-01T00:00:00Z"}))
                }
                None => error(404, "Environment tag not found"),
            }
        }
        ("GET", [o, p, e, tail @ ..]) => {
            no_query(s, r);
            let name = format!("{o}/{p}/{e}");
            let (version, decrypt) = match tail {
                [] => (None, false),
                ["decrypt"] => (None, true),
                ["versions", v] => (Some(*v), false),
                ["versions", v, "decrypt"] => (Some(*v), true),
                _ => {
                    s.problems.push(format!("unknown route GET {}", r.path));
                    return error(404, "Not found");
                }
            };
            let Some(c) = s.envs.get(&name) else {
                return error(404, &format!("Environment '{name}' not found"));
            };
            let Some(rev) = resolve(c, version) else {
                return error(404, "Environment version not found");
            };
            let (yaml, decrypted, _) = &c.revisions[&rev];
            let text = if decrypt { decrypted } else { yaml };
            (
                200,
                vec![
                    ("ETag".into(), format!("\"etag-{rev}\"")),
                    ("Pulumi-ESC-Revision".into(), rev.to_string()),
                    ("Content-Type".into(), "application/x-yaml".into()),
                ],
                text.clone().into_bytes(),
            )
        }
        _ => {
            s.problems
                .push(format!("unknown route {} {}", r.method, r.path));
            error(404, "Not found")
        }
    }
}

fn no_query(s: &mut State, r: &Request) {
    if !r.query.is_empty() {
        s.problems
            .push(format!("unexpected query {:?} on {}", r.query, r.path));
    }
}

fn resolve(c: &Canned, version: Option<&str>) -> Option<i64> {
    match version {
        None => Some(c.latest()),
        Some(v) => match v.parse::<i64>() {
            Ok(n) => c.revisions.contains_key(&n).then_some(n),
            Err(_) => c.tags.get(v).copied(),
        },
    }
}

fn list(s: &mut State, r: &Request, org: Option<&str>) -> Reply {
    let start: usize = match r.query.as_str() {
        "" => 0,
        q => match q
            .strip_prefix("continuationToken=page-")
            .and_then(|n| n.parse().ok())
        {
            Some(n) => n,
            None => {
                s.problems.push(format!("bad list query {q:?}"));
                return error(400, "bad continuation token");
            }
        },
    };
    let names: Vec<&String> = s
        .envs
        .keys()
        .filter(|k| org.is_none_or(|o| k.starts_with(&format!("{o}/"))))
        .collect();
    if org.is_some() && names.is_empty() {
        return error(404, "Organization not found");
    }
    let page: Vec<Json> = names
        .iter()
        .skip(start)
        .take(s.page_size)
        .map(|n| {
            let p: Vec<&str> = n.split('/').collect();
            json!({"organization": p[0], "project": p[1], "name": p[2]})
        })
        .collect();
    let mut body = json!({"environments": page});
    if start + s.page_size < names.len() {
        body["nextToken"] = json!(format!("page-{}", start + s.page_size));
    }
    ok(body)
}

fn open(s: &mut State, r: &Request, name: &str, version: Option<&str>) -> Reply {
    if !r.query.starts_with("duration=") || r.query.contains('&') {
        s.problems
            .push(format!("open without a lone duration: {:?}", r.query));
    }
    let Some(c) = s.envs.get_mut(name) else {
        return error(404, &format!("Environment '{name}' not found"));
    };
    let ordered = match (version, c.open_order.len()) {
        (None, 0) => None,
        (None, 1) => c.open_order.front().copied(),
        (None, _) => c.open_order.pop_front(),
        _ => None,
    };
    if let Some(d) = &c.diagnostics {
        return (
            400,
            Vec::new(),
            json!({"code": 400, "message": "evaluation failed", "diagnostics": d})
                .to_string()
                .into_bytes(),
        );
    }
    let Some(rev) = ordered.or_else(|| resolve(c, version)) else {
        return error(404, "Environment version not found");
    };
    s.next_session += 1;
    let id = format!("session{}", s.next_session);
    s.sessions.insert(id.clone(), (name.to_string(), rev));
    ok(json!({"id": id}))
}

fn read_open(s: &mut State, r: &Request, name: &str, id: &str) -> Reply {
    no_query(s, r);
    match s.sessions.get(id) {
        Some((n, rev)) if n == name => ok(s.envs[name].revisions[rev].2.clone()),
        _ => error(404, "open session not found"),
    }
}

/// The query's `duration`, as Go text, of the last open.
pub fn last_open_duration(st: &StandIn) -> Option<String> {
    st.requests()
        .iter()
        .rev()
        .find(|r| r.method == "POST" && r.path.ends_with("/open"))
        .and_then(|r| r.query.strip_prefix("duration=").map(str::to_string))
}
