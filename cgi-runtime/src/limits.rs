//! The limits a request must stay within.

use std::time::Duration;

/// How much a request may send, and how long cgikit waits for what it discards.
///
/// The defaults suit a form-handling script: a 2 MiB body. For uploads, raise `max_body`;
/// the multipart limits (parts, fields, file and field sizes, part headers) have defaults
/// that keep memory small whatever the body. `#[cgi::main(max_body = N)]`
/// sets [`max_body`](Limits::max_body) for a script; [`cgi::run_with`](crate::run_with) takes a
/// whole `Limits`.
///
/// Each limit has a setter (`max_body(n)`, by value, for chaining) and a getter named
/// after it with `get_` (`get_max_body()`), as `std::process::Command` names its own.
///
/// ```
/// let limits = cgi::Limits::default().max_body(64 * 1024);
/// assert_eq!(limits.get_max_body(), 64 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct Limits {
    max_body: u64,
    drain_cap: u64,
    drain_timeout: Duration,
    max_parts: usize,
    max_fields: usize,
    max_file_size: u64,
    max_field_size: u64,
    max_part_headers: usize,
}

impl Limits {
    /// The default body limit: 2 MiB.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::DEFAULT_MAX_BODY, cgi::Limits::default().get_max_body());
    /// ```
    pub const DEFAULT_MAX_BODY: u64 = 2 * 1024 * 1024;

    /// The largest request body, in bytes, that extractors will read. A larger
    /// `CONTENT_LENGTH` is answered with `413 Content Too Large`.
    ///
    /// ```
    /// let limits = cgi::Limits::default().max_body(1024);
    /// # assert_eq!(limits.get_max_body(), 1024);
    /// ```
    #[must_use]
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// How many bytes of a rejected body (too large, or without a length) are read and
    /// discarded before answering. Servers such as nginx + fcgiwrap turn an answer given
    /// before the body was consumed into a `502`, so cgikit drains first, up to this cap.
    ///
    /// ```
    /// let limits = cgi::Limits::default().drain_cap(1 << 20);
    /// # assert_eq!(limits.get_drain_cap(), 1 << 20);
    /// ```
    #[must_use]
    pub fn drain_cap(mut self, bytes: u64) -> Self {
        self.drain_cap = bytes;
        self
    }

    /// How long draining a rejected body may take. Some hosts hand the script the client's
    /// socket, which never ends; past this time cgikit answers anyway.
    ///
    /// ```
    /// let limits = cgi::Limits::default().drain_timeout(std::time::Duration::from_secs(1));
    /// # assert_eq!(limits.get_drain_timeout().as_secs(), 1);
    /// ```
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Uploads: the most parts a multipart body may have (default 100).
    ///
    /// ```
    /// let limits = cgi::Limits::default().max_parts(10);
    /// # assert_eq!(limits.get_max_parts(), 10);
    /// ```
    #[must_use]
    pub fn max_parts(mut self, parts: usize) -> Self {
        self.max_parts = parts;
        self
    }

    /// Uploads: the most text (non-file) fields a [`MultipartForm`](crate::MultipartForm)
    /// accepts (default 100).
    ///
    /// ```
    /// let limits = cgi::Limits::default().max_fields(20);
    /// # assert_eq!(limits.get_max_fields(), 20);
    /// ```
    #[must_use]
    pub fn max_fields(mut self, fields: usize) -> Self {
        self.max_fields = fields;
        self
    }

    /// Uploads: the largest single file, in bytes (default: only `max_body` limits it).
    ///
    /// ```
    /// let limits = cgi::Limits::default().max_body(100 << 20).max_file_size(10 << 20);
    /// # assert_eq!(limits.get_max_file_size(), 10 << 20);
    /// ```
    #[must_use]
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Uploads: the largest field read into memory (a text field, or
    /// [`Field::bytes`](crate::Field::bytes)), in bytes (default 64 KiB). Files go to disk.
    ///
    /// ```
    /// let limits = cgi::Limits::default().max_field_size(1 << 20);
    /// # assert_eq!(limits.get_max_field_size(), 1 << 20);
    /// ```
    #[must_use]
    pub fn max_field_size(mut self, bytes: u64) -> Self {
        self.max_field_size = bytes;
        self
    }

    /// Uploads: the largest header block of one part, in bytes (default 8 KiB).
    ///
    /// ```
    /// let limits = cgi::Limits::default().max_part_headers(4096);
    /// # assert_eq!(limits.get_max_part_headers(), 4096);
    /// ```
    #[must_use]
    pub fn max_part_headers(mut self, bytes: usize) -> Self {
        self.max_part_headers = bytes;
        self
    }

    /// The most parts of a multipart body.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::default().get_max_parts(), 100);
    /// ```
    pub fn get_max_parts(&self) -> usize {
        self.max_parts
    }

    /// The most text fields of a multipart form.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::default().get_max_fields(), 100);
    /// ```
    pub fn get_max_fields(&self) -> usize {
        self.max_fields
    }

    /// The largest uploaded file.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::default().get_max_file_size(), u64::MAX);
    /// ```
    pub fn get_max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// The largest field read into memory.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::default().get_max_field_size(), 64 * 1024);
    /// ```
    pub fn get_max_field_size(&self) -> u64 {
        self.max_field_size
    }

    /// The largest part header block.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::default().get_max_part_headers(), 8 * 1024);
    /// ```
    pub fn get_max_part_headers(&self) -> usize {
        self.max_part_headers
    }

    /// The body limit in bytes.
    ///
    /// ```
    /// assert_eq!(cgi::Limits::default().get_max_body(), 2 * 1024 * 1024);
    /// ```
    pub fn get_max_body(&self) -> u64 {
        self.max_body
    }

    /// The drain cap in bytes.
    ///
    /// ```
    /// assert!(cgi::Limits::default().get_drain_cap() >= cgi::Limits::DEFAULT_MAX_BODY);
    /// ```
    pub fn get_drain_cap(&self) -> u64 {
        self.drain_cap
    }

    /// The drain timeout.
    ///
    /// ```
    /// assert!(cgi::Limits::default().get_drain_timeout().as_secs() > 0);
    /// ```
    pub fn get_drain_timeout(&self) -> Duration {
        self.drain_timeout
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: Self::DEFAULT_MAX_BODY,
            drain_cap: 16 * 1024 * 1024,
            drain_timeout: Duration::from_secs(5),
            max_parts: 100,
            max_fields: 100,
            max_file_size: u64::MAX,
            max_field_size: 64 * 1024,
            max_part_headers: 8 * 1024,
        }
    }
}
