//! `RemoteAddr`: who sent the request.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::StatusCode;

use super::FromRequestParts;
use crate::rejection::RemoteAddrRejection;
use crate::request::Request;

/// The client's address (`REMOTE_ADDR`) and port (`REMOTE_PORT`, which Python's server
/// does not send). It is the immediate peer: behind a proxy, the proxy's address.
///
/// ```
/// use cgi::RemoteAddr;
///
/// fn who(addr: RemoteAddr) -> String {
///     format!("{} (port {:?})", addr.ip, addr.port)
/// }
///
/// let response = cgi::test::TestRequest::get("/").var("REMOTE_ADDR", "2001:db8::7").var("REMOTE_PORT", "443").call(who);
/// assert_eq!(response.text(), "2001:db8::7 (port Some(443))");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoteAddr {
    /// The IP address.
    pub ip: IpAddr,
    /// The port, when the server passed one.
    pub port: Option<u16>,
}

impl RemoteAddr {
    /// The address as a socket address, when the port is known.
    ///
    /// ```
    /// let addr = cgi::RemoteAddr { ip: [5, 6, 7, 8].into(), port: Some(54321) };
    /// assert_eq!(addr.socket_addr().unwrap().to_string(), "5.6.7.8:54321");
    /// ```
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.port.map(|port| SocketAddr::new(self.ip, port))
    }
}

/// `5.6.7.8:54321`, `[2001:db8::7]:443`, or the bare IP without a port.
impl fmt::Display for RemoteAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.socket_addr() {
            Some(socket) => socket.fmt(f),
            None => self.ip.fmt(f),
        }
    }
}

impl FromRequestParts for RemoteAddr {
    type Rejection = RemoteAddrRejection;

    fn from_request_parts(request: &Request) -> Result<Self, Self::Rejection> {
        match request.remote_addr() {
            Some(ip) => Ok(RemoteAddr {
                ip,
                port: request.remote_port(),
            }),
            None => Err(RemoteAddrRejection::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server did not set a valid REMOTE_ADDR (RFC 3875 §4.1.8).".into(),
            )),
        }
    }
}
