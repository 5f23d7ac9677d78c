//! Nothing here: this package holds cgikit's examples and tests that need its `tokio`
//! feature and axum (`examples/`, `tests/`), apart from the root package so that the
//! root's examples compile neither.
