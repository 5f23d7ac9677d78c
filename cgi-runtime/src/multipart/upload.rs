//! `Upload`: a received file, spooled to a temporary file that is deleted unless kept.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file the client uploaded, already received into a temporary file (in
/// [`std::env::temp_dir`]: `TMPDIR`, else `/tmp`), readable by this process's user only.
/// The temporary file is gone when the `Upload` is dropped, unless
/// [`persist`](Upload::persist) kept it. On Linux it never has a name (`O_TMPFILE`): a
/// signal or a crash mid-upload (Apache sends SIGTERM to a CGI script that takes too
/// long) leaves nothing in the temporary directory.
///
/// The name the client sent is untrusted: it may hold `../`, `C:\`, control characters or
/// be long. [`safe_file_name`](Upload::safe_file_name) gives a name fit for the file
/// system, but storing files under names you choose is safer still.
///
/// ```
/// use cgi::{MultipartForm, Html};
///
/// #[derive(serde::Deserialize)]
/// struct Caption { caption: String }
///
/// fn receive(form: MultipartForm<Caption>) -> Result<Html<String>, cgi::Error> {
///     let photo = form.file("photo").ok_or(cgi::Error::new(cgi::StatusCode::UNPROCESSABLE_ENTITY, "Choose a photo."))?;
///     Ok(Html(format!(
///         "<p>{}: {} bytes of {}</p>",
///         cgi::html::escape(&form.fields.caption),
///         photo.size(),
///         cgi::html::escape(photo.content_type().unwrap_or("?")),
///     )))
/// }
///
/// let body = cgi::test::MultipartBody::new()
///     .text("caption", "Sunset")
///     .file("photo", "s.jpg", "image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]);
/// let response = cgi::test::TestRequest::post("/").multipart(body).call(receive);
/// assert_eq!(response.text(), "<p>Sunset: 6 bytes of image/jpeg</p>");
/// ```
#[derive(Debug)]
pub struct Upload {
    file_name: Option<String>,
    content_type: Option<String>,
    size: u64,
    temp: TempFile,
}

impl Upload {
    pub(crate) fn new(
        file_name: Option<String>,
        content_type: Option<String>,
        size: u64,
        temp: TempFile,
    ) -> Self {
        Upload {
            file_name,
            content_type,
            size,
            temp,
        }
    }

    /// The file name the client sent, as sent (untrusted).
    ///
    /// ```
    /// # let upload = cgi::test::upload("../../etc/passwd", b"x");
    /// assert_eq!(upload.file_name(), Some("../../etc/passwd"));
    /// ```
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The client's file name made safe to use in a directory: its last path component
    /// (after `/` or `\`), without control characters, at most 255 bytes, and never empty,
    /// `.`, `..` or hidden (a leading dot is replaced). `None` if nothing usable is left.
    ///
    /// ```
    /// # let upload = cgi::test::upload("C:\\Users\\ada\\..\\.report\u{7}.pdf", b"x");
    /// assert_eq!(upload.safe_file_name().as_deref(), Some("_report.pdf"));
    /// # let upload = cgi::test::upload("../..", b"x");
    /// assert_eq!(upload.safe_file_name(), None);
    /// ```
    pub fn safe_file_name(&self) -> Option<String> {
        let base = self.file_name.as_deref()?.rsplit(['/', '\\']).next()?;
        let mut name: String = base.chars().filter(|c| !c.is_control()).collect();
        if name.is_empty() || name.chars().all(|c| c == '.') {
            return None;
        }
        if name.starts_with('.') {
            name.replace_range(..1, "_");
        }
        while name.len() > 255 {
            name.pop();
        }
        Some(name)
    }

    /// The part's `Content-Type`, as sent (untrusted).
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"x");
    /// assert_eq!(upload.content_type(), Some("application/octet-stream"));
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The size in bytes.
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"hello");
    /// assert_eq!(upload.size(), 5);
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    /// A path to open the temporary file by, in this process. On Linux the file has no
    /// name (so nothing is left behind whatever ends the process): this is
    /// `/proc/self/fd/N`, valid in this process only, while the `Upload` lives. Give another
    /// program the file through [`open`](Upload::open) or a [`persist`](Upload::persist)ed
    /// copy.
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"hello");
    /// assert_eq!(std::fs::read(upload.path()).unwrap(), b"hello");
    /// ```
    pub fn path(&self) -> &Path {
        &self.temp.path
    }

    /// Opens the temporary file to read it.
    ///
    /// ```
    /// use std::io::Read;
    /// # let upload = cgi::test::upload("a.txt", b"hello");
    /// let mut text = String::new();
    /// upload.open().unwrap().read_to_string(&mut text).unwrap();
    /// assert_eq!(text, "hello");
    /// ```
    ///
    /// # Errors
    ///
    /// If the file cannot be opened.
    pub fn open(&self) -> io::Result<File> {
        File::open(&self.temp.path)
    }

    /// Keeps the file as `destination`: a hard link (no copy) on the same file system, a
    /// copy across file systems. An existing file there is replaced.
    ///
    /// ```
    /// # let upload = cgi::test::upload("a.txt", b"kept");
    /// let destination = std::env::temp_dir().join(format!("cgikit-doc-{}.txt", std::process::id()));
    /// upload.persist(&destination).unwrap();
    /// assert_eq!(std::fs::read(&destination).unwrap(), b"kept");
    /// # std::fs::remove_file(destination).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the file can be neither renamed nor copied there; it is then still deleted.
    pub fn persist(mut self, destination: impl AsRef<Path>) -> io::Result<()> {
        self.temp.persist(destination.as_ref())
    }
}

/// A temporary file only this process's user can read, that cannot outlive the process:
/// on Linux it has no name at all (`O_TMPFILE`, or else unlinked the moment it is made),
/// so a signal, a crash or `kill -9` mid-upload leaves nothing behind; the kernel frees it
/// when the last descriptor closes. Elsewhere it has a name and is deleted on drop.
#[derive(Debug)]
pub(crate) struct TempFile {
    file: File,
    /// A name to open it by: `/proc/self/fd/N` for a file without one.
    path: PathBuf,
    /// Made with `O_TMPFILE`: it can be given a name (linked) by `persist`.
    linkable: bool,
    /// It has a name of its own, to delete on drop (not on Linux).
    named: bool,
}

impl TempFile {
    /// Creates the file in [`std::env::temp_dir`].
    pub(crate) fn create() -> io::Result<TempFile> {
        let directory = std::env::temp_dir();
        #[cfg(target_os = "linux")]
        if let Some(file) = anonymous::open(&directory)? {
            return Ok(TempFile::without_name(file, true));
        }
        let (file, path) = create_named(&directory)?;
        if cfg!(target_os = "linux") {
            // No O_TMPFILE here (an old kernel, a file system without it): the name goes
            // at once, leaving a window of one system call.
            fs::remove_file(&path)?;
            return Ok(TempFile::without_name(file, false));
        }
        Ok(TempFile {
            file,
            path,
            linkable: false,
            named: true,
        })
    }

    fn without_name(file: File, linkable: bool) -> TempFile {
        #[cfg(unix)]
        let path = PathBuf::from(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&file)
        ));
        #[cfg(not(unix))]
        let path = PathBuf::new();
        TempFile {
            file,
            path,
            linkable,
            named: false,
        }
    }

    /// The open file, to write the upload into.
    pub(crate) fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Gives the file the name `destination`: a link where the file system allows it
    /// (no copy), a copy otherwise.
    fn persist(&mut self, destination: &Path) -> io::Result<()> {
        if self.named {
            if fs::rename(&self.path, destination).is_ok() {
                self.named = false;
                return Ok(());
            }
        } else if self.linkable {
            #[cfg(target_os = "linux")]
            if anonymous::link(&self.path, destination)? {
                return Ok(());
            }
        }
        // A copy, private as the temporary was, written beside the destination and then
        // renamed over it: whole or not at all.
        let mut source = File::open(&self.path)?;
        let directory = destination.parent().unwrap_or(Path::new("."));
        let (mut copy, beside) = create_named(directory)?;
        let copied = io::copy(&mut source, &mut copy)
            .and_then(|_| copy.flush())
            .and_then(|()| fs::rename(&beside, destination));
        if copied.is_err() {
            let _ = fs::remove_file(&beside);
        }
        copied
    }
}

/// A new file with an unpredictable name; `create_new` refuses to follow a link someone
/// planted at that name.
fn create_named(directory: &Path) -> io::Result<(File, PathBuf)> {
    let random = RandomState::new();
    for attempt in 0u64..64 {
        let mut hasher = random.build_hasher();
        hasher.write_u64(attempt);
        let path = directory.join(format!(
            "cgikit-upload-{}-{:016x}",
            std::process::id(),
            hasher.finish()
        ));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary file name",
    ))
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.named {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Files without a name, on Linux: `O_TMPFILE`, and `linkat` to give one a name.
#[cfg(target_os = "linux")]
mod anonymous {
    use std::ffi::{CString, c_char, c_int};
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`), whose value depends on the architecture.
    #[cfg(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "riscv64",
        target_arch = "loongarch64",
        target_arch = "s390x"
    ))]
    const O_TMPFILE: Option<c_int> = Some(0o20_200_000);
    #[cfg(any(
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    ))]
    const O_TMPFILE: Option<c_int> = Some(0o20_040_000);
    #[cfg(not(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "riscv64",
        target_arch = "loongarch64",
        target_arch = "s390x",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    )))]
    const O_TMPFILE: Option<c_int> = None;

    const AT_FDCWD: c_int = -100;
    const AT_SYMLINK_FOLLOW: c_int = 0x400;
    /// The errors that say "no O_TMPFILE here" rather than "cannot write here".
    const NOT_SUPPORTED: [i32; 3] = [
        95, // EOPNOTSUPP: the file system has no O_TMPFILE
        21, // EISDIR: a kernel older than 3.11 reads it as O_DIRECTORY
        22, // EINVAL
    ];

    // std has no `linkat` with AT_SYMLINK_FOLLOW, the one way to name an O_TMPFILE file
    // without privileges; only a binary that persists uploads imports it.
    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn linkat(
            old_directory: c_int,
            old_path: *const c_char,
            new_directory: c_int,
            new_path: *const c_char,
            flags: c_int,
        ) -> c_int;
    }

    /// A file without a name in `directory`, readable and writable by this user only;
    /// `None` where the kernel or the file system has no `O_TMPFILE`.
    pub(super) fn open(directory: &Path) -> io::Result<Option<File>> {
        let Some(flags) = O_TMPFILE else {
            return Ok(None);
        };
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(flags)
            .mode(0o600)
            .open(directory);
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(error)
                if error
                    .raw_os_error()
                    .is_some_and(|code| NOT_SUPPORTED.contains(&code)) =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Names the `O_TMPFILE` file open at `proc_path` (`/proc/self/fd/N`) `destination`,
    /// replacing what is there: linked under a new name beside it, then renamed over it.
    /// `false` when the file systems differ (the caller copies).
    pub(super) fn link(proc_path: &Path, destination: &Path) -> io::Result<bool> {
        let directory = destination.parent().unwrap_or(Path::new("."));
        let file_name = destination.file_name().unwrap_or_default();
        let beside = directory.join(format!(
            ".{}.cgikit-{}",
            file_name.to_string_lossy(),
            std::process::id()
        ));
        let _ = fs::remove_file(&beside);
        let (Ok(old), Ok(new)) = (
            CString::new(proc_path.as_os_str().as_bytes()),
            CString::new(beside.as_os_str().as_bytes()),
        ) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a path holds a NUL byte",
            ));
        };
        #[allow(unsafe_code)]
        // SAFETY: both pointers are NUL-terminated strings that outlive the call, which
        // only reads them; the descriptors are AT_FDCWD. linkat is in every libc Linux has.
        let result = unsafe {
            linkat(
                AT_FDCWD,
                old.as_ptr(),
                AT_FDCWD,
                new.as_ptr(),
                AT_SYMLINK_FOLLOW,
            )
        };
        if result != 0 {
            let error = io::Error::last_os_error();
            // EXDEV: another file system; the caller copies.
            return if error.raw_os_error() == Some(18) {
                Ok(false)
            } else {
                Err(error)
            };
        }
        if let Err(error) = fs::rename(&beside, destination) {
            let _ = fs::remove_file(&beside);
            return Err(error);
        }
        Ok(true)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn persisting_links_the_nameless_file_instead_of_copying_it() {
        let upload = crate::multipart::test_upload("a.txt", b"kept");
        let temporary = fs::metadata(upload.path()).unwrap();
        assert_eq!(temporary.nlink(), 0, "the temporary has no name");
        let directory = std::env::temp_dir();
        let destination = directory.join(format!("cgikit-persist-link-{}", std::process::id()));
        fs::write(&destination, "an older file, replaced").unwrap();
        upload.persist(&destination).unwrap();
        let kept = fs::metadata(&destination).unwrap();
        assert_eq!(
            kept.ino(),
            temporary.ino(),
            "the same file, linked: no copy"
        );
        assert_eq!(kept.nlink(), 1);
        assert_eq!(kept.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&destination).unwrap(), b"kept");
        let beside = directory.join(format!(
            ".cgikit-persist-link-{}.cgikit-{}",
            std::process::id(),
            std::process::id()
        ));
        assert!(
            !beside.exists(),
            "the name it was linked under first is gone"
        );
        fs::remove_file(destination).unwrap();
    }
}
