//! `escsh agent run|status|stop`: the per-user credential agent. `run` is
//! what the hook, `run --aws-endpoint` and `aws credential-process` start
//! (detached); it answers the container credential protocol from the
//! cache and re-opens what it served before it expires.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};

use super::endpoint::{self, Problem};
use super::App;
use crate::agent::files::AgentFiles;
use crate::agent::server::{self, Handler, Response};
use crate::agent::{self, Target};

/// `escsh agent status` exits with this when no agent runs (as
/// `systemctl status` does for a stopped unit).
pub const NOT_RUNNING: u8 = 3;

struct Agent {
    files: AgentFiles,
    /// What was asked for, to refresh before expiry.
    served: Mutex<BTreeSet<String>>,
}

impl Handler for Agent {
    fn get(&self, path: &str) -> Response {
        let Some(target) = Target::from_path(path) else {
            return Response::error(
                404,
                "NotFound",
                "no such credentials path: use the URL escsh gives in \
                 AWS_CONTAINER_CREDENTIALS_FULL_URI",
            );
        };
        let app = App::from_env();
        let answer = match &app {
            Ok(app) => endpoint::keys(app, &target),
            Err(e) => Err(Problem::Unavailable(format!("{e:#}"))),
        };
        match answer {
            Ok(keys) => {
                self.served
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(path.to_string());
                Response {
                    status: 200,
                    body: endpoint::container_json(&keys).to_string(),
                }
            }
            Err(Problem::NotServed(m)) => Response::error(404, "NotServed", &m),
            Err(Problem::Unavailable(m)) => Response::error(503, "Unavailable", &m),
        }
    }

    fn tick(&self) {
        let served: Vec<String> = self
            .served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let Ok(app) = App::from_env() else { return };
        for path in served {
            if let Some(target) = Target::from_path(&path) {
                endpoint::refresh_if_due(&app, &target);
            }
        }
    }

    fn may_exit(&self) -> bool {
        self.files.live_shells() == 0
    }
}

/// Runs the agent in the foreground until it is idle or stopped. Another
/// agent already running: nothing to do.
pub fn run(app: &App) -> Result<()> {
    let files = AgentFiles::new(&app.paths);
    let Some(_lock) = files.take_lock().context("taking the agent's lock")? else {
        return Ok(());
    };
    let token = match files.read_token() {
        Ok(t) => t,
        Err(_) => files.new_token().context("writing the agent's token")?,
    };
    // The port of the agent before, when free: clients started with its
    // URL reach this one.
    let listener = files
        .read_port()
        .ok()
        .and_then(|(port, _)| TcpListener::bind(("127.0.0.1", port)).ok())
        .map_or_else(|| TcpListener::bind(("127.0.0.1", 0)), Ok)
        .context("listening on 127.0.0.1")?;
    files.write_port(listener.local_addr()?.port())?;
    let agent = Arc::new(Agent {
        files,
        served: Mutex::new(BTreeSet::new()),
    });
    server::serve(listener, token, agent, agent::idle());
    Ok(())
}

pub fn status(app: &App, out: &mut dyn Write) -> Result<u8> {
    let (token, port) = agent::describe_files(&app.paths);
    match agent::find(&app.paths) {
        Ok(Some(e)) => {
            let shells = AgentFiles::new(&app.paths).live_shells();
            writeln!(out, "escsh agent: running, pid {}", e.pid)?;
            writeln!(out, "listening: http://127.0.0.1:{}", e.port)?;
            writeln!(out, "token file: {token}")?;
            writeln!(out, "shells using it: {shells}")?;
            writeln!(
                out,
                "exits after {} s without requests once no shell uses it",
                agent::idle().as_secs()
            )?;
            Ok(0)
        }
        Ok(None) => {
            writeln!(out, "escsh agent: not running (started on demand)")?;
            Ok(NOT_RUNNING)
        }
        Err(e) => {
            writeln!(
                out,
                "escsh agent: not usable: {e} (port file {port}); the next client starts it afresh"
            )?;
            Ok(NOT_RUNNING)
        }
    }
}

pub fn stop(app: &App) -> Result<()> {
    match agent::stop(&app.paths)? {
        Some(pid) => eprintln!("escsh: stopped the agent (pid {pid})"),
        None => eprintln!("escsh: no agent is running"),
    }
    Ok(())
}
