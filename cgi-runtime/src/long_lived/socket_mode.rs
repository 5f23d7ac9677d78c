//! `--socket-mode`: a unix socket file that has the mode asked for from the moment it
//! exists. `bind` creates the file with the umask's mode (`0777 & !umask`), so changing
//! the mode afterwards leaves a moment in which whoever checks or connects sees the
//! umask's; setting the umask around `bind`, as php-fpm does, leaves none.
//!
//! std has no `umask`, and every C function a program imports costs each start-up a
//! lookup (CGI starts once per request). On Linux the umask is set through `syscall`,
//! which std imports already; elsewhere through `umask` itself.

#![allow(unsafe_code)]

/// Runs `bind` under the umask that gives a new file exactly `mode` (at most `0o777`),
/// then puts the previous umask back.
///
/// The umask belongs to the process, not the thread: this runs before the workers start
/// (and `cgi::run` is documented to come first in `main`), so no other thread creates
/// files meanwhile.
pub(crate) fn with_mode<T>(mode: u32, bind: impl FnOnce() -> T) -> T {
    let previous = set_umask(0o777 & !mode);
    let bound = bind();
    set_umask(previous);
    bound
}

// The number of the `umask` system call, where it is known here.
#[cfg(all(
    target_os = "linux",
    target_arch = "x86_64",
    target_pointer_width = "64"
))]
const SYS_UMASK: std::ffi::c_long = 95;
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "riscv32",
        target_arch = "loongarch64"
    )
))]
const SYS_UMASK: std::ffi::c_long = 166;
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "arm",
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "sparc64"
    )
))]
const SYS_UMASK: std::ffi::c_long = 60;

#[cfg(all(
    target_os = "linux",
    any(
        all(target_arch = "x86_64", target_pointer_width = "64"),
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "riscv32",
        target_arch = "loongarch64",
        target_arch = "x86",
        target_arch = "arm",
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "sparc64"
    )
))]
fn set_umask(mask: u32) -> u32 {
    unsafe extern "C" {
        fn syscall(number: std::ffi::c_long, ...) -> std::ffi::c_long;
    }
    // SAFETY: `umask` takes a mode and returns the previous one; it cannot fail and
    // touches no memory.
    let previous = unsafe { syscall(SYS_UMASK, std::ffi::c_long::from(mask)) };
    previous as u32 & 0o777
}

#[cfg(not(all(
    target_os = "linux",
    any(
        all(target_arch = "x86_64", target_pointer_width = "64"),
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "riscv32",
        target_arch = "loongarch64",
        target_arch = "x86",
        target_arch = "arm",
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "sparc64"
    )
)))]
fn set_umask(mask: u32) -> u32 {
    unsafe extern "C" {
        // `mode_t` is 16 bits on some systems: the argument goes in a full register,
        // and only the permission bits of the result are kept.
        fn umask(mask: u32) -> u32;
    }
    // SAFETY: as above; `umask` is POSIX, in every C library.
    unsafe { umask(mask) & 0o777 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn umask_in_proc() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("Umask:"))
            .unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    /// The umask is the process's, and the unit tests run on parallel threads that may
    /// create files: here it is only ever set to the value it has. Other values are
    /// tested by the subprocess tests (`--socket-mode`).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_mode_asked_for_is_the_umask_during_bind_and_it_is_put_back() {
        let current = umask_in_proc();
        let during = with_mode(0o777 & !current, umask_in_proc);
        assert_eq!(during, current);
        assert_eq!(set_umask(current), current);
        assert_eq!(umask_in_proc(), current);
    }
}
