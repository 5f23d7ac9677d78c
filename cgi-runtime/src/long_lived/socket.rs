//! Where a long-lived process listens: TCP or Unix sockets, its own or inherited on fd 0.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix {
        listener: UnixListener,
        path: PathBuf,
        /// Whether this process created the file, and so removes it on a clean stop.
        owned: bool,
    },
}

impl Listener {
    /// Binds `address`: `host:port` or `unix:/path`. A Unix socket file that nobody
    /// answers on (left by a process that was killed) is replaced.
    pub(crate) fn bind(address: &str) -> io::Result<Listener> {
        let Some(path) = address.strip_prefix("unix:") else {
            return TcpListener::bind(address).map(Listener::Tcp);
        };
        let path = PathBuf::from(path);
        let listener = match UnixListener::bind(&path) {
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
                if UnixStream::connect(&path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("another process serves {}", path.display()),
                    ));
                }
                std::fs::remove_file(&path)?;
                UnixListener::bind(&path)?
            }
            result => result?,
        };
        Ok(Listener::Unix {
            listener,
            path,
            owned: true,
        })
    }

    /// The listening socket a process manager passed on standard input (FastCGI's
    /// `FCGI_LISTENSOCK_FILENO`), if that is what standard input is: a socket with no
    /// peer (FastCGI 1.0 §2.2: `getpeername` fails with `ENOTCONN`).
    pub(crate) fn inherited() -> Option<Listener> {
        let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
        let probe = TcpStream::from(fd);
        match probe.peer_addr() {
            Err(error) if error.kind() == io::ErrorKind::NotConnected => {}
            // A pipe, a terminal, a file, or a connected socket (mod_cgid's stdin).
            _ => return None,
        }
        let tcp = TcpListener::from(OwnedFd::from(probe));
        if tcp.local_addr().is_ok() {
            return Some(Listener::Tcp(tcp));
        }
        let unix = UnixListener::from(OwnedFd::from(tcp));
        let path = unix.local_addr().ok()?.as_pathname()?.to_owned();
        Some(Listener::Unix {
            listener: unix,
            path,
            // The process manager made it and removes it.
            owned: false,
        })
    }

    pub(crate) fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept()?;
                // Records and answers are written whole; Nagle would only delay them.
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Listener::Unix { listener, .. } => Ok(Stream::Unix(listener.accept()?.0)),
        }
    }

    /// Connects to this listener, which wakes a worker blocked in `accept`.
    pub(crate) fn knock(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(listener) => {
                let mut address = listener.local_addr()?;
                if address.ip().is_unspecified() {
                    address.set_ip(match address {
                        SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                        SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                    });
                }
                TcpStream::connect_timeout(&address, Duration::from_secs(1)).map(drop)
            }
            Listener::Unix { path, .. } => UnixStream::connect(path).map(drop),
        }
    }

    /// Removes the socket file this process created.
    pub(crate) fn remove_file(&self) {
        if let Listener::Unix {
            path, owned: true, ..
        } = self
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listener::Tcp(listener) => match listener.local_addr() {
                Ok(address) => write!(f, "{address}"),
                Err(_) => f.write_str("a TCP socket"),
            },
            Listener::Unix { path, .. } => write!(f, "unix:{}", path.display()),
        }
    }
}

/// One connection from the web server.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(stream) => Stream::Tcp(stream.try_clone()?),
            Stream::Unix(stream) => Stream::Unix(stream.try_clone()?),
        })
    }

    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.set_read_timeout(timeout),
            Stream::Unix(stream) => stream.set_read_timeout(timeout),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.shutdown(how),
            Stream::Unix(stream) => stream.shutdown(how),
        }
    }

    /// Closes after the answer without losing it: a socket closed with unread input
    /// resets the connection, and the web server may then drop the answer it has not read
    /// yet. So the write side is closed first, and what is left is read and thrown away
    /// until the server closes too (bounded by `cap` bytes and `timeout`).
    pub(crate) fn linger_close(mut self, cap: u64, timeout: Duration) {
        if self.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let _ = self.set_read_timeout(Some(timeout));
        let deadline = std::time::Instant::now() + timeout;
        let mut left = cap;
        let mut scratch = [0u8; 8192];
        while left > 0 && std::time::Instant::now() < deadline {
            match self.read(&mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(read) => left = left.saturating_sub(read as u64),
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.read(buf),
            Stream::Unix(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.write(buf),
            Stream::Unix(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_and_unix_addresses_bind_and_show_themselves() {
        let tcp = Listener::bind("127.0.0.1:0").unwrap();
        assert!(tcp.to_string().starts_with("127.0.0.1:"), "{tcp}");
        tcp.knock().unwrap();
        assert!(matches!(tcp.accept(), Ok(Stream::Tcp(_))));

        let dir = std::env::temp_dir().join(format!("cgikit-socket-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.sock");
        let address = format!("unix:{}", path.display());
        let unix = Listener::bind(&address).unwrap();
        assert_eq!(unix.to_string(), address);
        // A second process on the same path is refused while the first answers...
        let error = Listener::bind(&address).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        // ...and a file nobody answers on any more is replaced.
        drop(unix);
        let again = Listener::bind(&address).unwrap();
        again.knock().unwrap();
        assert!(matches!(again.accept(), Ok(Stream::Unix(_))));
        again.remove_file();
        assert!(!path.exists());
        let _ = std::fs::remove_dir(&dir);
    }
}
