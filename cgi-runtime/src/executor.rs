//! The tokio runtime that `async` handlers and tower services run on (feature `tokio`).
//!
//! One current-thread runtime for the whole process, built the first time something async
//! runs, so a script whose handler is not async never builds it.
//!
//! - CGI, the terminal, the test kit: the thread that answers calls `Runtime::block_on`,
//!   which drives the runtime's I/O and timers while it waits.
//! - FastCGI and SCGI: every worker thread polls its own request's future at once (so
//!   requests run concurrently, one per worker), and a thread of the runtime's own sits in
//!   `Runtime::block_on` to drive the I/O and timers of them all, and the tasks they spawn.
//!   A resource made during one request (a client, a pool in a `static`) belongs to that
//!   one runtime and serves every later request, whichever worker answers it.

use std::future::Future;
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};
use std::thread;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::response::{IntoResponse, Response};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Set before FastCGI or SCGI workers start: the runtime then gets a thread that drives it.
static CONCURRENT: AtomicBool = AtomicBool::new(false);
static DRIVER: Once = Once::new();

thread_local! {
    /// The runtime of the server a handler service runs under (`from_handler`), lent to
    /// the blocking thread that answers: async handlers run on it, with the server's
    /// other resources, rather than on this process's own.
    static LENT: std::cell::RefCell<Option<Handle>> = const { std::cell::RefCell::new(None) };
}

/// Runs `work` with async handlers answering on `handle`'s runtime; for a blocking thread
/// of that runtime.
pub(crate) fn on_handle<R>(handle: Handle, work: impl FnOnce() -> R) -> R {
    LENT.with(|lent| *lent.borrow_mut() = Some(handle));
    let result = panic::catch_unwind(panic::AssertUnwindSafe(work));
    LENT.with(|lent| *lent.borrow_mut() = None);
    result.unwrap_or_else(|payload| panic::resume_unwind(payload))
}

/// Says that from now on several threads answer requests at once (FastCGI, SCGI).
pub(crate) fn serve_concurrently() {
    CONCURRENT.store(true, Ordering::Release);
}

fn runtime() -> &'static Runtime {
    let runtime = RUNTIME.get_or_init(|| {
        Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("cannot start the tokio runtime: {error}"))
    });
    if CONCURRENT.load(Ordering::Acquire) {
        DRIVER.call_once(|| {
            // While this thread holds the runtime, the workers' `block_on` poll their own
            // futures, and this one drives the I/O and timers they wait for.
            let spawned = thread::Builder::new()
                .name("cgi-runtime".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()));
            if let Err(error) = spawned {
                panic!("cannot start the tokio runtime's thread: {error}");
            }
        });
    }
    runtime
}

/// Runs `future` to completion on the process's runtime, on this thread. What
/// `#[cgi::main] async fn` calls: its generated `main` is never inside a runtime.
///
/// # Panics
///
/// Inside a tokio runtime (tokio does not nest them), and if the runtime cannot start.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// Whether this thread is inside a tokio runtime (a `#[tokio::main]` or `#[tokio::test]`),
/// where [`block_on`] would panic.
pub(crate) fn inside_runtime() -> bool {
    Handle::try_current().is_ok()
}

/// Answers with the future `make` returns, on the runtime lent by [`on_handle`], else on
/// the process's runtime: on this thread, or, inside another runtime (`cgi::test::TestRequest::call` in a `#[tokio::test]`), on a
/// thread of its own, since tokio does not nest runtimes.
pub(crate) fn answer<C, Fut>(make: C) -> Response
where
    C: FnOnce() -> Fut + Send,
    Fut: Future,
    Fut::Output: IntoResponse,
{
    if let Some(handle) = LENT.with(|lent| lent.borrow().clone()) {
        return handle.block_on(make()).into_response();
    }
    let answer = move || block_on(make()).into_response();
    if !inside_runtime() {
        return answer();
    }
    thread::scope(|scope| match scope.spawn(answer).join() {
        Ok(response) => response,
        // The core catches it, as if it had happened on this thread.
        Err(payload) => panic::resume_unwind(payload),
    })
}

/// Runs `work` outside any tokio runtime: here, or on a thread of its own when this thread
/// is inside one (a `main` under `#[tokio::main]` that calls `cgi::run`).
pub(crate) fn outside_runtime<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if !inside_runtime() {
        return work();
    }
    thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(payload) => panic::resume_unwind(payload),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futures_run_to_completion_with_timers_and_spawned_tasks() {
        let answer = block_on(async {
            let task = tokio::spawn(async { 40 });
            task.await.unwrap() + 2
        });
        assert_eq!(answer, 42);
    }

    #[test]
    fn inside_a_runtime_the_answer_comes_from_another_thread() {
        let outer = Builder::new_current_thread().build().unwrap();
        let response = outer.block_on(async { answer(|| async { "from inside" }) });
        assert_eq!(response.body().as_bytes(), Some(&b"from inside"[..]));
        let value = outer.block_on(async { outside_runtime(|| block_on(async { 7 })) });
        assert_eq!(value, 7);
    }
}
