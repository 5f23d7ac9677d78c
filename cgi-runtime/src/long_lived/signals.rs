//! SIGTERM and SIGINT, received by one thread that waits for them (`sigwait`), so that a
//! stop is ordinary code (set a flag, wake the workers) rather than a signal handler.
//!
//! Four C functions the C library every Rust program on Unix links already has; no crate
//! for them.

#![allow(unsafe_code)]

use std::ffi::c_int;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
#[cfg(any(target_os = "linux", target_os = "android"))]
const SIG_BLOCK: c_int = 0;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SIG_BLOCK: c_int = 1;

/// Large and aligned enough for every `sigset_t` (glibc and musl: 128 bytes; macOS: 4;
/// the BSDs: 16); only the C library reads or writes it.
#[repr(C, align(8))]
struct SignalSet([u8; 128]);

unsafe extern "C" {
    fn sigemptyset(set: *mut SignalSet) -> c_int;
    fn sigaddset(set: *mut SignalSet, signal: c_int) -> c_int;
    fn pthread_sigmask(how: c_int, set: *const SignalSet, old: *mut SignalSet) -> c_int;
    fn sigwait(set: *const SignalSet, signal: *mut c_int) -> c_int;
}

fn termination_set() -> SignalSet {
    let mut set = SignalSet([0; 128]);
    // SAFETY: `set` is a valid, writable `sigset_t`-sized buffer (see `SignalSet`), and
    // SIGINT and SIGTERM are valid signal numbers.
    unsafe {
        sigemptyset(&mut set);
        sigaddset(&mut set, SIGINT);
        sigaddset(&mut set, SIGTERM);
    }
    set
}

/// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts after, so
/// that only [`wait_for_termination`] receives them. Call before starting any thread.
/// (Child processes do not inherit this: `std::process::Command` resets the mask.)
pub(crate) fn block_termination() -> bool {
    let set = termination_set();
    // SAFETY: `set` was initialised by `sigemptyset`/`sigaddset`; a null old set is allowed.
    unsafe { pthread_sigmask(SIG_BLOCK, &set, std::ptr::null_mut()) == 0 }
}

/// Waits until SIGTERM or SIGINT arrives (they must be blocked, see [`block_termination`]).
pub(crate) fn wait_for_termination() -> c_int {
    let set = termination_set();
    let mut signal: c_int = 0;
    loop {
        // SAFETY: `set` is initialised and `signal` is a valid place for the result.
        if unsafe { sigwait(&set, &mut signal) } == 0 {
            return signal;
        }
    }
}

/// The signal's name, for the log.
pub(crate) fn name(signal: c_int) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
