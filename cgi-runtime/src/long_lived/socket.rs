//! Where a long-lived process listens: TCP or Unix sockets, its own or inherited on fd 0.
//!
//! Only what std offers, chosen to import few C functions: every symbol a program
//! imports costs each start-up a lookup, and CGI starts once per request. So addresses
//! are parsed, never resolved (no `getaddrinfo`), and connections are read and written
//! as files (`read`/`write`, which every program imports, rather than `recv`/`send`).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::patience::is_timeout;
use super::polling_writer::HangUp;

/// A listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    socket: Listening,
    /// Passed on standard input rather than bound by this process. Such a socket is often
    /// shared with other processes: spawn-fcgi `-F N` starts N processes on one socket, and
    /// a supervised pool hands one listener to every child. So this process only ever
    /// accepts on it, never changes it (see [`Listener::stop_listening`]).
    inherited: bool,
}

#[derive(Debug)]
enum Listening {
    Tcp(TcpListener),
    Unix {
        listener: UnixListener,
        path: PathBuf,
        /// The file this process created (device and inode), which it removes on a clean
        /// stop if it is still there; `None` for a socket a process manager passed.
        created: Option<(u64, u64)>,
    },
}

impl Listener {
    /// Binds `address`: `ip:port` or `unix:/path`; a unix socket with `socket_mode`'s
    /// permissions if given (else the umask's), from the moment its file exists.
    pub(crate) fn bind(address: &str, socket_mode: Option<u32>) -> io::Result<Listener> {
        let Some(path) = address.strip_prefix("unix:") else {
            let address: SocketAddr = address.parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "give an IP address and port (127.0.0.1:9000, [::1]:9000) or unix:/path",
                )
            })?;
            return TcpListener::bind(address).map(|listener| Listener {
                socket: Listening::Tcp(listener),
                inherited: false,
            });
        };
        let path = PathBuf::from(path);
        // A socket file left there (by a killed process, or by the previous version
        // during a deploy, which then finishes its requests) is replaced; any other file
        // is not.
        if std::fs::metadata(&path).is_ok_and(|metadata| metadata.file_type().is_socket()) {
            std::fs::remove_file(&path)?;
        }
        let listener = match socket_mode {
            None => UnixListener::bind(&path)?,
            Some(mode) => {
                let listener = super::socket_mode::with_mode(mode, || UnixListener::bind(&path))?;
                // A default ACL on the directory overrides the umask.
                let got = std::fs::metadata(&path)?.mode() & 0o7777;
                if got != mode {
                    let _ = std::fs::remove_file(&path);
                    return Err(io::Error::other(format!(
                        "the socket was created with mode {got:o}, not {mode:o} (a default ACL \
                         on its directory decides its mode)"
                    )));
                }
                listener
            }
        };
        let created = std::fs::metadata(&path)
            .ok()
            .map(|file| (file.dev(), file.ino()));
        Ok(Listener {
            socket: Listening::Unix {
                listener,
                path,
                created,
            },
            inherited: false,
        })
    }

    /// The listening socket a process manager passed on standard input (FastCGI's
    /// `FCGI_LISTENSOCK_FILENO`), if that is what standard input is: a socket with no
    /// peer (FastCGI 1.0 §2.2: `getpeername` fails with `ENOTCONN`).
    pub(crate) fn inherited() -> Option<Listener> {
        Listener::from_inherited(io::stdin().as_fd().try_clone_to_owned().ok()?)
    }

    /// [`Listener::inherited`] for a copy of the descriptor.
    fn from_inherited(fd: OwnedFd) -> Option<Listener> {
        let probe = TcpStream::from(fd);
        match probe.peer_addr() {
            Err(error) if error.kind() == io::ErrorKind::NotConnected => {}
            // A pipe, a terminal, a file, or a connected socket (mod_cgid's stdin).
            _ => return None,
        }
        let tcp = TcpListener::from(OwnedFd::from(probe));
        let socket = if tcp.local_addr().is_ok() {
            Listening::Tcp(tcp)
        } else {
            let unix = UnixListener::from(OwnedFd::from(tcp));
            let path = unix.local_addr().ok()?.as_pathname()?.to_owned();
            Listening::Unix {
                listener: unix,
                path,
                // The process manager made it and removes it.
                created: None,
            }
        };
        Some(Listener {
            socket,
            inherited: true,
        })
    }

    /// Makes `accept` give up after `timeout` (a `WouldBlock` error), so that a worker
    /// waiting for a connection notices a stop. (Linux applies `SO_RCVTIMEO` to `accept`;
    /// macOS and the BSDs do not, so there a stop waits for one more connection per
    /// worker. std offers the option on streams only, hence the stream view.)
    pub(crate) fn set_accept_timeout(&self, timeout: Duration) -> io::Result<()> {
        TcpStream::from(self.fd()?).set_read_timeout(Some(timeout))
    }

    /// A copy of the socket's descriptor, for the calls std offers on streams only (and
    /// for the processes of a pool, which each get one).
    pub(crate) fn fd(&self) -> io::Result<OwnedFd> {
        match &self.socket {
            Listening::Tcp(listener) => listener.as_fd().try_clone_to_owned(),
            Listening::Unix { listener, .. } => listener.as_fd().try_clone_to_owned(),
        }
    }

    pub(crate) fn accept(&self) -> io::Result<Stream> {
        let socket = match &self.socket {
            Listening::Tcp(listener) => {
                let (stream, _) = listener.accept()?;
                // Records and answers are written whole; Nagle would only delay them.
                stream.set_nodelay(true)?;
                Socket::Tcp(stream)
            }
            Listening::Unix { listener, .. } => Socket::Unix(listener.accept()?.0),
        };
        let fd = match &socket {
            Socket::Tcp(stream) => stream.as_fd().try_clone_to_owned()?,
            Socket::Unix(stream) => stream.as_fd().try_clone_to_owned()?,
        };
        Ok(Stream {
            socket,
            io: Io(Arc::new(File::from(fd))),
        })
    }

    /// Stops this process's listening, as a stop begins. A socket it bound is shut down:
    /// new connections are refused from now on (on Linux), so that the web server can try
    /// another backend, and the workers waiting in `accept` wake up.
    ///
    /// An inherited socket is left as it is, TCP or Unix: the other processes sharing it
    /// keep accepting (shutting it down would stop `accept` in all of them), and a process
    /// manager may pass it to the next process. This process just stops accepting (its
    /// workers look at the stop between accepts) and closes its descriptors as it exits:
    /// standard input, which std takes to be open for as long as the process runs, cannot
    /// be closed before (replacing it would take `dup2`, one more C import at every start).
    /// Connections meanwhile wait in the socket's queue for a process that accepts.
    pub(crate) fn stop_listening(&self) {
        if self.inherited {
            return;
        }
        if let Ok(fd) = self.fd() {
            let _ = TcpStream::from(fd).shutdown(Shutdown::Read);
        }
    }

    /// Removes the socket file this process created, unless another process has put its
    /// own there since (the next version, during a deploy).
    pub(crate) fn remove_file(&self) {
        if let Listening::Unix {
            path,
            created: Some(created),
            ..
        } = &self.socket
        {
            let current = std::fs::metadata(path)
                .ok()
                .map(|file| (file.dev(), file.ino()));
            if current == Some(*created) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.socket {
            Listening::Tcp(listener) => match listener.local_addr() {
                Ok(address) => write!(f, "{address}"),
                Err(_) => f.write_str("a TCP socket"),
            },
            Listening::Unix { path, .. } => write!(f, "unix:{}", path.display()),
        }
    }
}

/// One connection from the web server.
#[derive(Debug)]
pub(crate) struct Stream {
    /// For the socket's own calls: timeouts, shutdown.
    socket: Socket,
    /// For reading and writing, shared by the request's body, the answer and the close.
    io: Io,
}

#[derive(Debug)]
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// A handle to read and write the connection with.
    pub(crate) fn io(&self) -> Io {
        self.io.clone()
    }

    /// Makes every blocking read and write give up after `poll` (a `WouldBlock` error),
    /// so that the connection can look at its limits and at the stop in between.
    pub(crate) fn set_poll_timeout(&self, poll: Duration) -> io::Result<()> {
        match &self.socket {
            Socket::Tcp(stream) => {
                stream.set_read_timeout(Some(poll))?;
                stream.set_write_timeout(Some(poll))
            }
            Socket::Unix(stream) => {
                stream.set_read_timeout(Some(poll))?;
                stream.set_write_timeout(Some(poll))
            }
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match &self.socket {
            Socket::Tcp(stream) => stream.shutdown(how),
            Socket::Unix(stream) => stream.shutdown(how),
        }
    }

    /// Closes after the answer without losing it: a socket closed with unread input
    /// resets the connection, and the web server may then drop the answer it has not read
    /// yet. So the write side is closed first, and what is left is read and thrown away
    /// until the server closes too (bounded by `cap` bytes and `timeout`; the socket's
    /// polling timeout paces the reads).
    pub(crate) fn linger_close(mut self, cap: u64, timeout: Duration) {
        if self.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let deadline = std::time::Instant::now() + timeout;
        let mut left = cap;
        let mut scratch = [0u8; 8192];
        while left > 0 && std::time::Instant::now() < deadline {
            match self.io.read(&mut scratch) {
                Ok(0) => break,
                Ok(read) => left = left.saturating_sub(read as u64),
                Err(error) if is_timeout(&error) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

/// A connection read and written as a file, with single reads and writes only (the
/// vectored ones would import `readv`). Shared rather than duplicated: one descriptor
/// for the whole connection.
#[derive(Debug, Clone)]
pub(crate) struct Io(Arc<File>);

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl io::Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl HangUp for Io {
    fn hang_up(&self) {
        // std offers `shutdown` on its socket types only; the call is the same for TCP
        // and unix sockets.
        if let Ok(fd) = self.0.as_fd().try_clone_to_owned() {
            let _ = TcpStream::from(fd).shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_and_unix_addresses_bind_and_show_themselves() {
        let tcp = Listener::bind("127.0.0.1:0", None).unwrap();
        assert!(tcp.to_string().starts_with("127.0.0.1:"), "{tcp}");
        let port = tcp.to_string().rsplit_once(':').unwrap().1.to_owned();
        let _client = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        assert!(matches!(
            tcp.accept(),
            Ok(Stream {
                socket: Socket::Tcp(_),
                ..
            })
        ));
        // Once it stops listening, connections are refused.
        tcp.stop_listening();
        let refused = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        // Names are not looked up: resolving would import getaddrinfo into every script.
        let error = Listener::bind("localhost:0", None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);

        let dir = std::env::temp_dir().join(format!("cgikit-socket-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.sock");
        let address = format!("unix:{}", path.display());
        let unix = Listener::bind(&address, None).unwrap();
        assert_eq!(unix.to_string(), address);
        // A socket file already there is replaced (a killed process's, or the previous
        // version's during a deploy)...
        drop(unix);
        let again = Listener::bind(&address, None).unwrap();
        // ...but nothing else is.
        let not_a_socket = dir.join("notes.txt");
        std::fs::write(&not_a_socket, "keep me").unwrap();
        let error = Listener::bind(&format!("unix:{}", not_a_socket.display()), None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(std::fs::read_to_string(&not_a_socket).unwrap(), "keep me");
        std::fs::remove_file(&not_a_socket).unwrap();
        let _client = UnixStream::connect(&path).unwrap();
        assert!(matches!(
            again.accept(),
            Ok(Stream {
                socket: Socket::Unix(_),
                ..
            })
        ));
        // With an accept timeout, a worker waiting for a connection gets to look up.
        again.set_accept_timeout(Duration::from_millis(20)).unwrap();
        let error = again.accept().unwrap_err();
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{error:?}"
        );
        // The previous process, stopping, leaves the new one's file alone...
        let next = Listener::bind(&address, None).unwrap();
        again.remove_file();
        assert!(path.exists());
        // ...which removes it when it stops.
        next.remove_file();
        assert!(!path.exists());
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn a_stop_leaves_an_inherited_listener_to_the_processes_sharing_it() {
        // A process manager's socket, and this process's copy of it (spawn-fcgi `-F 2`
        // forks two processes on one socket): `sibling` plays the other process.
        let sibling = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = sibling.local_addr().unwrap();
        let inherited =
            Listener::from_inherited(OwnedFd::from(sibling.try_clone().unwrap())).unwrap();
        assert!(inherited.inherited);
        assert_eq!(inherited.to_string(), address.to_string());
        inherited.stop_listening();
        drop(inherited);
        // The sibling still takes connections, the one queued meanwhile included.
        let _queued = TcpStream::connect(address).unwrap();
        let _later = TcpStream::connect(address).unwrap();
        sibling.accept().unwrap();
        sibling.accept().unwrap();

        let dir = std::env::temp_dir().join(format!("cgikit-shared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.sock");
        let _ = std::fs::remove_file(&path);
        let unix_sibling = UnixListener::bind(&path).unwrap();
        let inherited =
            Listener::from_inherited(OwnedFd::from(unix_sibling.try_clone().unwrap())).unwrap();
        assert_eq!(inherited.to_string(), format!("unix:{}", path.display()));
        inherited.stop_listening();
        inherited.remove_file();
        drop(inherited);
        assert!(
            path.exists(),
            "the process manager's socket file was removed"
        );
        let _client = UnixStream::connect(&path).unwrap();
        unix_sibling.accept().unwrap();
        std::fs::remove_file(&path).unwrap();
        let _ = std::fs::remove_dir(&dir);

        // Anything else on standard input is no listener: a connected socket (mod_cgid
        // hands the script one), a file.
        let connected = TcpStream::connect(address).unwrap();
        assert!(Listener::from_inherited(OwnedFd::from(connected)).is_none());
        let file = File::open("/dev/null").unwrap();
        assert!(Listener::from_inherited(OwnedFd::from(file)).is_none());
    }
}
