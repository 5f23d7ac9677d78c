//! SIGTERM and SIGINT: a handler that only records the signal; the workers, which poll
//! every quarter of a second anyway, see it and stop taking connections.
//!
//! One C function, `signal`, which std already imports (every symbol a program imports
//! costs each start-up, CGI ones included, a lookup; `sigaction`'s struct differs between
//! platforms). glibc's and the BSDs' `signal` restart interrupted calls, which the
//! polling does not mind.

#![allow(unsafe_code)]

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
/// `SIG_DFL`: the default action (for SIGTERM and SIGINT, ending the process).
const DEFAULT_ACTION: usize = 0;

/// Set by the first SIGTERM or SIGINT.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);
static RECEIVED: AtomicI32 = AtomicI32::new(0);

unsafe extern "C" {
    fn signal(signal: c_int, handler: usize) -> usize;
}

/// `SIG_IGN`: a signal the process was started ignoring (`nohup`, `cmd &` in a script).
const IGNORE: usize = 1;

extern "C" fn on_termination(received: c_int) {
    // Only async-signal-safe work here: atomics, and `signal` itself (POSIX lists it).
    RECEIVED.store(received, Ordering::Relaxed);
    STOP.store(true, Ordering::Release);
    // A second signal ends the process at once.
    // SAFETY: restoring the default action of a signal we handle.
    unsafe { signal(received, DEFAULT_ACTION) };
}

/// Makes SIGTERM and SIGINT set [`STOP`] instead of ending the process.
pub(crate) fn stop_on_termination() {
    for received in [SIGTERM, SIGINT] {
        // SAFETY: `on_termination` is an `extern "C" fn(c_int)` that only does
        // async-signal-safe work; an ignored signal is put back as it was.
        unsafe {
            if signal(received, on_termination as extern "C" fn(c_int) as usize) == IGNORE {
                signal(received, IGNORE);
            }
        }
    }
}

/// The signal that asked for the stop, for the log.
pub(crate) fn received() -> &'static str {
    match RECEIVED.load(Ordering::Relaxed) {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
