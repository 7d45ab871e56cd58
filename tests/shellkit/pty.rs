//! A terminal for shells whose line editor needs one that answers: nushell's
//! (reedline) asks where the cursor is (`ESC[6n`) before each prompt and
//! will not read a line until told. `script` relays that question to a pipe
//! where nobody answers, so the shell is run here on a pseudo-terminal whose
//! other end answers "row 1, column 1". It types the next line of the
//! session each time the editor starts reading one (it says so with its
//! own escape sequence), never ahead: typed-ahead text echoed while a
//! command runs would be mixed with what the command prints.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Both editors turn bracketed paste on as they start reading a line.
const READING: &[u8] = b"\x1b[?2004h";
/// "Where is the cursor?", and the answer: row 1, column 1.
const WHERE: &[u8] = b"\x1b[6n";
const HERE: &[u8] = b"\x1b[1;1R";

/// What a shell run on a terminal left behind.
pub struct Run {
    /// Everything the shell wrote to the terminal.
    pub transcript: Vec<u8>,
    pub status: Option<ExitStatus>,
}

/// Runs `cmd` on a new terminal (stdin always; stdout and stderr unless
/// given files); types the lines of `input` (with Enter), one each time
/// the editor starts reading one.
pub fn run(mut cmd: Command, input: &str, stdout: Option<File>, stderr: Option<File>) -> Run {
    let (master, slave) = open();
    let dup = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    cmd.stdin(dup(&slave));
    cmd.stdout(stdout.map(Stdio::from).unwrap_or_else(|| dup(&slave)));
    cmd.stderr(stderr.map(Stdio::from).unwrap_or_else(|| dup(&slave)));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(slave);
    let mut lines: VecDeque<String> = input.lines().map(|l| format!("{l}\r")).collect();
    let mut writer = master.try_clone().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut reader = master;
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        // Fails (EIO) once every process on the terminal is gone.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut transcript = Vec::new();
    let (mut reading, mut asked) = (0, 0);
    let start = Instant::now();
    let mut exited: Option<(ExitStatus, Instant)> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => {
                transcript.extend_from_slice(&chunk);
                let count =
                    |seq: &[u8]| transcript.windows(seq.len()).filter(|w| *w == seq).count();
                for _ in asked..count(WHERE) {
                    let _ = writer.write_all(HERE);
                }
                asked = count(WHERE);
                for _ in reading..count(READING) {
                    if let Some(line) = lines.pop_front() {
                        let _ = writer.write_all(line.as_bytes());
                    }
                }
                reading = count(READING);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if exited.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some((status, Instant::now()));
            }
        }
        // Something the shell left behind may hold the terminal open.
        if exited.is_some_and(|(_, at)| at.elapsed() > Duration::from_secs(1)) {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the shell did not exit; it showed:\n{}",
                String::from_utf8_lossy(&transcript)
            );
        }
    }
    let status = match exited {
        Some((s, _)) => Some(s),
        None => child.wait().ok(),
    };
    Run { transcript, status }
}

fn open() -> (File, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let size = libc::winsize {
        ws_row: 50,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors; no name buffer or termios.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here.
    unsafe { (File::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

/// The lines a terminal showed, without escape sequences and redraws: for
/// each line, what is left after its last carriage return.
pub fn plain_lines(transcript: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(transcript);
    let mut clean = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters, then a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\u{7}' => {}
            _ => clean.push(c),
        }
    }
    clean
        .split('\n')
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            l.rsplit('\r').next().unwrap_or(l).to_string()
        })
        .collect()
}
