//! One run of the script as a CGI child process: the request body streamed to its standard
//! input through one bounded buffer, its standard output collected up to a limit, its
//! standard error passed on to the terminal and kept for the inspector.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inspector::{Capture, StderrLines};

/// How much the body is copied by: the only buffer a request body ever takes here.
const CHUNK: usize = 64 * 1024;

/// How long the last lines of standard error may take to arrive once the child has exited.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// What one run gave.
#[derive(Debug)]
pub(crate) struct Finished {
    /// The script's output, up to the limit given to [`run`].
    pub(crate) stdout: Vec<u8>,
    /// The output went past the limit: the child was killed.
    pub(crate) too_long: bool,
    pub(crate) status: io::Result<ExitStatus>,
    pub(crate) stdin: Capture,
    pub(crate) stderr: Arc<StderrLines>,
    pub(crate) elapsed: Duration,
}

/// Runs `script` with exactly `vars` as its environment, copies `body` to its standard
/// input and collects at most `max_output` bytes of its standard output.
///
/// `body` is read to its end even when the child stops reading (it answered early, or
/// never reads): the client has sent it, and the connection is only usable for the next
/// request once it is consumed. Memory stays at one chunk whatever the body's size.
pub(crate) fn run(
    script: &Path,
    vars: Vec<(OsString, OsString)>,
    body: &mut dyn Read,
    max_output: usize,
) -> io::Result<Finished> {
    let started = Instant::now();
    let spawned = Command::new(script)
        .env_clear()
        .envs(vars)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            feed(body, None);
            return Err(error);
        }
    };
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = Arc::new(StderrLines::default());
    if let Some(pipe) = child.stderr.take() {
        let lines = Arc::clone(&stderr);
        // Not joined: a grandchild may keep the pipe open after the script has exited.
        std::thread::spawn(move || pass_on_stderr(pipe, &lines));
    }
    // The body is fed from this thread (tiny_http's body reader cannot move to another);
    // the output is read on another at the same time, so that neither pipe fills up while
    // the other waits.
    let (stdin_capture, (stdout, too_long, status)) = std::thread::scope(|scope| {
        let collector = scope.spawn(move || collect(stdout, &mut child, max_output));
        let captured = feed(body, stdin);
        (
            captured,
            collector
                .join()
                .expect("the output collector does not panic"),
        )
    });
    stderr.wait_end(STDERR_GRACE);
    Ok(Finished {
        stdout,
        too_long,
        status,
        stdin: stdin_capture,
        stderr,
        elapsed: started.elapsed(),
    })
}

/// Copies `body` to `stdin` (if any) one chunk at a time, keeping the first bytes for the
/// inspector; once the child stops reading, reads the rest of the body and drops it.
fn feed(body: &mut dyn Read, mut stdin: Option<ChildStdin>) -> Capture {
    let mut capture = Capture::default();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let read = match body.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                capture.error = Some(error.to_string());
                break;
            }
        };
        capture.push(&chunk[..read]);
        if let Some(pipe) = &mut stdin
            && pipe.write_all(&chunk[..read]).is_err()
        {
            // The script exited or closed its input: what is left is drained.
            stdin = None;
        }
    }
    capture
}

/// Reads the child's output up to `max_output` bytes (killing it past that), then waits
/// for it.
fn collect(
    mut stdout: ChildStdout,
    child: &mut Child,
    max_output: usize,
) -> (Vec<u8>, bool, io::Result<ExitStatus>) {
    let mut output = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    let mut too_long = false;
    loop {
        match stdout.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) if output.len() + read > max_output => {
                too_long = true;
                let _ = child.kill();
                break;
            }
            Ok(read) => output.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    drop(stdout);
    (output, too_long, child.wait())
}

/// Passes the script's standard error on to this server's (the terminal: the script's
/// error log) as it comes, and keeps its lines for the inspector.
fn pass_on_stderr(mut pipe: impl Read, lines: &StderrLines) {
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => {
                let _ = io::stderr().write_all(&chunk[..read]);
                lines.push(&chunk[..read]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    lines.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<(OsString, OsString)> {
        vec![("SCRIPT".into(), script.into())]
    }

    /// `/bin/sh -c "$SCRIPT"`, through a tiny wrapper: `run` takes a program and its
    /// environment, as it runs the script itself.
    fn run_sh(script: &str, body: &mut dyn Read, max_output: usize) -> Finished {
        let dir = std::env::temp_dir().join(format!(
            "cgikit-child-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let wrapper = dir.join("run.sh");
        std::fs::write(&wrapper, "#!/bin/sh\nexec /bin/sh -c \"$SCRIPT\"\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let finished = run(&wrapper, sh(script), body, max_output).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        finished
    }

    #[test]
    fn the_body_reaches_the_child_and_is_kept_in_part() {
        let body: Vec<u8> = (0..3 * CHUNK + 17).map(|index| index as u8).collect();
        let finished = run_sh("cat", &mut io::Cursor::new(&body), usize::MAX);
        assert_eq!(finished.stdout, body);
        assert_eq!(finished.stdin.total, body.len() as u64);
        assert_eq!(
            finished.stdin.kept,
            body[..super::super::inspector::KEPT_STDIN]
        );
        assert!(finished.status.unwrap().success());
    }

    #[test]
    fn a_child_that_never_reads_still_gets_its_body_drained() {
        let mut body = io::Cursor::new(vec![b'x'; 8 << 20]);
        let finished = run_sh("echo done; echo oops >&2", &mut body, usize::MAX);
        assert_eq!(finished.stdout, b"done\n");
        // Every byte was read from the client, none kept beyond the inspector's share.
        assert_eq!(body.position(), 8 << 20);
        assert_eq!(finished.stdin.total, 8 << 20);
        let (lines, _) = finished.stderr.snapshot();
        assert_eq!(lines, ["oops"]);
    }

    #[test]
    fn output_past_the_limit_kills_the_child() {
        let finished = run_sh("yes", &mut io::empty(), 1 << 20);
        assert!(finished.too_long);
        assert!(finished.stdout.len() <= 1 << 20);
        assert!(!finished.status.unwrap().success());
    }

    #[test]
    fn a_missing_program_is_an_error_after_the_body_is_drained() {
        let mut body = io::Cursor::new(vec![b'x'; 200_000]);
        let result = run(
            Path::new("/nonexistent/cgikit-script"),
            Vec::new(),
            &mut body,
            usize::MAX,
        );
        assert!(result.is_err());
        assert_eq!(body.position(), 200_000);
    }
}
