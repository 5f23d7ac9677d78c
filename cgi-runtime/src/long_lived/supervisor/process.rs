//! The pool's processes: started, watched and killed through the kernel's own calls.
//!
//! std's `Command` would do, but it makes every program import some 38 more C functions
//! (`posix_spawnp` and its attribute setters, `fork`, `execvp`, `waitpid`, `kill`,
//! `socketpair`...), which the dynamic loader binds at every start: about 23,000
//! instructions added to each CGI request, a script's main cost. `syscall`, which std
//! already imports (for futexes), reaches the same calls for nothing. So this file is
//! Linux only, for the architectures whose call numbers it lists.
//!
//! The child between `clone` and `execve` is a copy of a multi-threaded process with only
//! the calling thread: it must not allocate or take a lock. It makes system calls only,
//! on memory prepared before the `clone`.
//!
//! Elsewhere ([`SUPPORTED`] is false) every call fails with `Unsupported`.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_long};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// Whether this platform has the pool: Linux, on the architectures whose system call
/// numbers are listed below.
pub(crate) const SUPPORTED: bool = cfg!(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
));

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
unsafe extern "C" {
    fn syscall(number: c_long, ...) -> c_long;
}

/// One system call with up to five arguments (the kernel ignores those it does not take).
///
/// # Safety
///
/// As for the call itself: pointers among the arguments must be valid for it.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
unsafe fn call(number: c_long, args: [c_long; 5]) -> c_long {
    // SAFETY: passed on to the caller.
    unsafe { syscall(number, args[0], args[1], args[2], args[3], args[4]) }
}

/// Elsewhere no call is made: every one fails, and [`SUPPORTED`] says why first.
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
unsafe fn call(_number: c_long, _args: [c_long; 5]) -> c_long {
    -1
}

/// What a failed call returned, as an error.
fn checked(result: c_long) -> io::Result<c_long> {
    if result >= 0 {
        Ok(result)
    } else if SUPPORTED {
        Err(io::Error::last_os_error())
    } else {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// System call numbers (`asm/unistd_64.h`; the generic table for the others).
#[cfg(target_arch = "x86_64")]
mod number {
    use std::ffi::c_long;
    pub(super) const SOCKETPAIR: c_long = 53;
    pub(super) const CLONE: c_long = 56;
    pub(super) const EXECVE: c_long = 59;
    pub(super) const WAIT4: c_long = 61;
    pub(super) const KILL: c_long = 62;
    pub(super) const FCNTL: c_long = 72;
    pub(super) const EXIT_GROUP: c_long = 231;
    pub(super) const DUP3: c_long = 292;
}

#[cfg(not(target_arch = "x86_64"))]
mod number {
    use std::ffi::c_long;
    pub(super) const DUP3: c_long = 24;
    pub(super) const FCNTL: c_long = 25;
    pub(super) const EXIT_GROUP: c_long = 94;
    pub(super) const KILL: c_long = 129;
    pub(super) const SOCKETPAIR: c_long = 199;
    pub(super) const CLONE: c_long = 220;
    pub(super) const EXECVE: c_long = 221;
    pub(super) const WAIT4: c_long = 260;
}

const SIGCHLD: c_long = 17;
const SIGKILL: c_long = 9;
const WNOHANG: c_long = 1;
const F_GETFD: c_long = 1;
const F_SETFD: c_long = 2;
const AF_UNIX: c_long = 1;
const SOCK_STREAM: c_long = 1;
const SOCK_CLOEXEC: c_long = 0o2_000_000;
/// The exit status of a child that could not run the program (as shells report it).
pub(crate) const COULD_NOT_RUN: i32 = 127;

/// A connected pair of Unix stream sockets, each closed on `exec`.
pub(crate) fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: socketpair(2) writes two descriptors into the array it is given, which
    // lives until the call returns.
    checked(unsafe {
        call(
            number::SOCKETPAIR,
            [
                AF_UNIX,
                SOCK_STREAM | SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr() as c_long,
                0,
            ],
        )
    })?;
    // SAFETY: both descriptors were just created and belong to no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Whether `fd` is an open descriptor of this process (before taking it over: std's
/// `OwnedFd` must own an open one).
pub(crate) fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD reads the descriptor's flags and changes nothing.
    unsafe { call(number::FCNTL, [fd as c_long, F_GETFD, 0, 0, 0]) >= 0 }
}

/// What a new process runs: the program, its arguments (the first is its name), and its
/// environment as `NAME=value` strings.
#[derive(Debug)]
pub(crate) struct Program {
    pub(crate) path: CString,
    pub(crate) args: Vec<CString>,
    pub(crate) env: Vec<CString>,
}

/// A process this one started, reaped once it ends.
#[derive(Debug)]
pub(crate) struct Process {
    pid: i32,
    ended: Option<ExitStatus>,
}

impl Process {
    /// Starts `program` with `stdin` as its standard input and `inherited` left open
    /// under the same number (every other descriptor this process opened through std is
    /// closed on `exec`); standard output and error are this process's.
    pub(crate) fn spawn(
        program: &Program,
        stdin: BorrowedFd<'_>,
        inherited: BorrowedFd<'_>,
    ) -> io::Result<Process> {
        let args = null_terminated(&program.args);
        let env = null_terminated(&program.env);
        let path: &CStr = &program.path;
        let (stdin, inherited) = (stdin.as_raw_fd(), inherited.as_raw_fd());
        // SAFETY: clone(2) with only the exit signal set is fork(2). glibc's fork handlers
        // do not run, so the child touches nothing they would have reset: below, it only
        // makes system calls on the descriptors and the arrays made above (which stay
        // alive: the parent owns them, the child's copy is never freed), then `execve`
        // replaces it or `exit_group` ends it.
        let pid = checked(unsafe { call(number::CLONE, [SIGCHLD, 0, 0, 0, 0]) })?;
        if pid == 0 {
            // SAFETY: system calls only (see above). dup3 gives the new standard input
            // without close-on-exec; F_SETFD 0 takes it off the inherited descriptor.
            unsafe {
                if stdin == 0 || call(number::DUP3, [stdin as c_long, 0, 0, 0, 0]) >= 0 {
                    call(number::FCNTL, [inherited as c_long, F_SETFD, 0, 0, 0]);
                    call(
                        number::EXECVE,
                        [
                            path.as_ptr() as c_long,
                            args.as_ptr() as c_long,
                            env.as_ptr() as c_long,
                            0,
                            0,
                        ],
                    );
                }
                loop {
                    call(number::EXIT_GROUP, [COULD_NOT_RUN as c_long, 0, 0, 0, 0]);
                }
            }
        }
        Ok(Process {
            pid: pid as i32,
            ended: None,
        })
    }

    pub(crate) fn id(&self) -> u32 {
        self.pid as u32
    }

    /// How it ended, if it has; reaps it (once it has, its id may be reused by another
    /// process: [`Process::kill`] no longer signals it).
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.ended.is_some() {
            return Ok(self.ended);
        }
        let mut status: c_int = 0;
        // SAFETY: wait4(2) writes the status into the integer it is given; no usage
        // structure is asked for.
        let result = checked(unsafe {
            call(
                number::WAIT4,
                [
                    c_long::from(self.pid),
                    &mut status as *mut c_int as c_long,
                    WNOHANG,
                    0,
                    0,
                ],
            )
        });
        match result {
            Ok(0) => Ok(None),
            Ok(_) => {
                self.ended = Some(ExitStatus::from_raw(status));
                Ok(self.ended)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Ends it at once (SIGKILL), unless it has ended and been reaped already.
    pub(crate) fn kill(&self) -> io::Result<()> {
        if self.ended.is_some() {
            return Ok(());
        }
        // SAFETY: kill(2) on a child not reaped yet: the id is still this child's.
        checked(unsafe { call(number::KILL, [c_long::from(self.pid), SIGKILL, 0, 0, 0]) }).map(drop)
    }
}

/// The pointers `execve` takes: one per string, then a null pointer.
fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|string| string.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::time::{Duration, Instant};

    fn shell(script: &str) -> Program {
        Program {
            path: CString::new("/bin/sh").unwrap(),
            args: ["sh", "-c", script]
                .iter()
                .map(|arg| CString::new(*arg).unwrap())
                .collect(),
            env: vec![CString::new("MARK=from-the-parent").unwrap()],
        }
    }

    fn wait(process: &mut Process) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = process.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "still running");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_child_gets_its_stdin_the_inherited_descriptor_and_its_environment() {
        let (mine, theirs) = socket_pair().unwrap();
        let input = tempfile_with("what stdin holds");
        let number = theirs.as_raw_fd();
        let mut process = Process::spawn(
            &shell(&format!(
                "read line; echo \"$line|$MARK\" >&{number}; exit 7"
            )),
            input.as_fd(),
            theirs.as_fd(),
        )
        .unwrap();
        drop(theirs);
        let mut said = String::new();
        File::from(mine).read_to_string(&mut said).unwrap();
        assert_eq!(said, "what stdin holds|from-the-parent\n");
        assert_eq!(wait(&mut process).code(), Some(7));
        // Reaped once: asking again gives the same answer, and kill is harmless.
        assert_eq!(process.try_wait().unwrap().and_then(|s| s.code()), Some(7));
        process.kill().unwrap();
    }

    #[test]
    fn a_killed_child_ends_by_sigkill_and_a_missing_program_by_127() {
        let (_mine, theirs) = socket_pair().unwrap();
        let input = tempfile_with("");
        let mut sleeper =
            Process::spawn(&shell("sleep 30"), input.as_fd(), theirs.as_fd()).unwrap();
        assert!(sleeper.try_wait().unwrap().is_none());
        sleeper.kill().unwrap();
        assert_eq!(wait(&mut sleeper).signal(), Some(9));

        let mut missing = shell("");
        missing.path = CString::new("/nonexistent/program").unwrap();
        let mut process = Process::spawn(&missing, input.as_fd(), theirs.as_fd()).unwrap();
        assert_eq!(wait(&mut process).code(), Some(COULD_NOT_RUN));
    }

    fn tempfile_with(text: &str) -> File {
        let path = std::env::temp_dir().join(format!(
            "cgikit-process-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, format!("{text}\n")).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }
}
