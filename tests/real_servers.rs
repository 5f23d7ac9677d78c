//! Real web servers run the built examples: Apache httpd 2.4 (event MPM + mod_cgid),
//! lighttpd 1.4 (mod_cgi) and nginx + fcgiwrap, each from a minimal configuration of its
//! own (tests/real_servers/*.conf), started on a free 127.0.0.1 port and stopped again by
//! pid.
//!
//! Then the same scripts as long-lived processes (FastCGI and SCGI): nginx -> FastCGI and
//! nginx -> SCGI (each script started by the test with `--fastcgi`/`--scgi` on a Unix
//! socket), lighttpd mod_fastcgi starting each script itself (`bin-path`: a listening
//! socket on its standard input), and Apache mod_proxy_fcgi (each script started by the
//! test with `--fastcgi 127.0.0.1:0`, the port read from its first stderr line). The
//! processes the test starts are stopped by pid too, and must then exit cleanly (status 0,
//! `<script>: stopped`); those lighttpd starts must be gone once lighttpd is. And nginx
//! reaching a unix socket of another user through `--socket-mode` (502 without it).
//!
//! Run just these: `cargo test --test real_servers` (add `-- --nocapture` to see the
//! per-server timings and any skip message).
//!
//! What they need:
//! - the Debian packages `apache2`, `lighttpd`, `nginx-light` (or any nginx),
//!   `fcgiwrap` and `curl`; `setpriv` and `pgrep`/`kill` (packages `util-linux`, `procps`).
//!   Nothing more for FastCGI and SCGI: mod_proxy_fcgi comes with `apache2`, nginx's
//!   FastCGI and SCGI modules with every nginx Debian builds, and Debian's lighttpd has
//!   mod_fastcgi built in.
//!   A server that is missing is SKIPPED with a loud message naming the package, except
//!   under `CI=true`, where it is a failure;
//! - loopback only, no network. When run as root (as CI does), each server drops to
//!   `www-data` for the scripts, exactly as the recipe does: the lab directory under
//!   `/tmp` is world-traversable and the scripts are copied into its `www/cgi-bin/`;
//! - `cargo`: the examples are built in release mode first (`CARGO`, set by `cargo test`,
//!   into this test's own target directory), since release binaries are what gets
//!   deployed.
//!
//! Every server gets the same cases (the `CASES` table); where a server differs by design,
//! the case asserts what that server does and says so in a comment. The long-lived kinds
//! also get `LONG_LIVED_CASES` (one process answers a panic and then the next request).
//! The lab directory (`/tmp/cgikit-<server>.<random>`) is removed when the test ends; if a
//! case fails, the tail of every server log is printed first.

mod support;
// Every server configuration in README.md and the crate docs, run as written.
#[path = "real_servers/deployment_snippets.rs"]
mod deployment_snippets;

use std::fmt::Write as _;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use support::{dechunk, free_port};

/// The examples (and fixture) copied into each server's `cgi-bin/`, with the name they
/// get there.
const SCRIPTS: [(&str, &str); 7] = [
    ("greet", "greet"),
    ("env", "env"),
    ("guestbook", "guestbook"),
    ("upload", "upload"),
    ("redirects", "redirects"),
    ("fixture_server_probe", "server_probe"),
    ("axum_app", "axum_app"),
];

/// The examples among [`SCRIPTS`] that belong to the `cgikit-examples-tokio` package (they
/// need cgikit's `tokio` feature and axum).
const TOKIO_EXAMPLES: [&str; 1] = ["axum_app"];

/// The only environment the servers start with (the recipe's `env -i PATH=...`): nothing
/// of the test runner's environment (`CI`, `RUST_BACKTRACE`...) reaches the scripts.
const SERVER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// fcgiwrap's `-c`. The recipe preforks 4, but a SIGTERM to the parent leaves preforked
/// workers running; once stopped by pid they are orphans that only init reaps (on this
/// machine about a second later; in a container whose PID 1 does not reap, never). One
/// process forks nothing but the scripts, exits cleanly on SIGTERM, and is reaped here;
/// the cases run one at a time anyway. With more, `Running::stop` stops the workers.
const FCGIWRAP_PROCESSES: u32 = 1;

/// How long one HTTP exchange may take before the case fails.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

// =======================================================================================
// The servers
// =======================================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Apache,
    Lighttpd,
    Nginx,
    /// nginx -> FastCGI: the test starts each script with `--fastcgi unix:...`.
    NginxFastcgi,
    /// lighttpd mod_fastcgi: lighttpd starts each script (`bin-path`).
    LighttpdFastcgi,
    /// Apache mod_proxy_fcgi: the test starts each script with `--fastcgi 127.0.0.1:0`.
    ApacheFcgi,
    /// nginx -> SCGI: the test starts each script with `--scgi unix:...`.
    NginxScgi,
}

/// How the test starts the scripts of a long-lived kind.
#[derive(Debug, Clone, Copy)]
struct Backends {
    /// `--fastcgi` or `--scgi`.
    option: &'static str,
    /// The protocol's name in the process's first stderr line.
    protocol: &'static str,
    /// A TCP port of its own choice (`127.0.0.1:0`), else `unix:<lab>/run/<script>.sock`.
    tcp: bool,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Apache => "apache",
            Kind::Lighttpd => "lighttpd",
            Kind::Nginx => "nginx",
            Kind::NginxFastcgi => "nginx-fastcgi",
            Kind::LighttpdFastcgi => "lighttpd-fastcgi",
            Kind::ApacheFcgi => "apache-fcgi",
            Kind::NginxScgi => "nginx-scgi",
        }
    }

    /// What must be installed: (file, Debian package that provides it).
    fn needs(self) -> Vec<(&'static str, &'static str)> {
        let apache = [
            ("/usr/sbin/apache2", "apache2"),
            ("/usr/lib/apache2/modules/mod_mpm_event.so", "apache2"),
        ];
        let mut needs = match self {
            Kind::Apache => vec![
                ("/usr/lib/apache2/modules/mod_cgid.so", "apache2"),
                ("/usr/lib/apache2/modules/mod_env.so", "apache2"),
            ],
            Kind::ApacheFcgi => vec![
                ("/usr/lib/apache2/modules/mod_proxy.so", "apache2"),
                ("/usr/lib/apache2/modules/mod_proxy_fcgi.so", "apache2"),
                ("/usr/lib/apache2/modules/mod_setenvif.so", "apache2"),
            ],
            Kind::Lighttpd => vec![
                ("/usr/sbin/lighttpd", "lighttpd"),
                ("/usr/lib/lighttpd/mod_cgi.so", "lighttpd"),
            ],
            // Built into Debian's lighttpd (1.4.69: no mod_fastcgi.so); a lighttpd without
            // it says so in lighttpd_stdout.log and the start fails.
            Kind::LighttpdFastcgi => vec![("/usr/sbin/lighttpd", "lighttpd")],
            Kind::Nginx => vec![
                ("/usr/sbin/nginx", "nginx-light"),
                ("/etc/nginx/fastcgi_params", "nginx-common"),
                ("/usr/sbin/fcgiwrap", "fcgiwrap"),
            ],
            Kind::NginxFastcgi => vec![
                ("/usr/sbin/nginx", "nginx-light"),
                ("/etc/nginx/fastcgi_params", "nginx-common"),
            ],
            Kind::NginxScgi => vec![
                ("/usr/sbin/nginx", "nginx-light"),
                ("/etc/nginx/scgi_params", "nginx-common"),
            ],
        };
        if matches!(self, Kind::Apache | Kind::ApacheFcgi) {
            needs.splice(0..0, apache);
        }
        // Processes the test starts itself drop to www-data with it when root.
        if self == Kind::Nginx || self.backends().is_some() {
            needs.push(("/usr/bin/setpriv", "util-linux"));
        }
        needs.extend([
            ("/usr/bin/curl", "curl"),
            ("/usr/bin/pgrep", "procps"),
            ("/usr/bin/kill", "procps"),
        ]);
        needs
    }

    /// The scripts as processes the test starts, for the kinds that have them.
    fn backends(self) -> Option<Backends> {
        let (option, protocol, tcp) = match self {
            Kind::NginxFastcgi => ("--fastcgi", "FastCGI", false),
            Kind::ApacheFcgi => ("--fastcgi", "FastCGI", true),
            Kind::NginxScgi => ("--scgi", "SCGI", false),
            Kind::Apache | Kind::Lighttpd | Kind::Nginx | Kind::LighttpdFastcgi => return None,
        };
        Some(Backends {
            option,
            protocol,
            tcp,
        })
    }

    /// One process answers request after request (FastCGI, SCGI).
    fn long_lived(self) -> bool {
        !matches!(self, Kind::Apache | Kind::Lighttpd | Kind::Nginx)
    }

    /// Where the script's stderr (a panic's message) ends up.
    fn script_log(self) -> &'static str {
        match self {
            // mod_cgid copies script stderr into the ErrorLog (AH01215).
            Kind::Apache => "apache_error.log",
            // server.breakagelog.
            Kind::Lighttpd => "lighttpd_cgi_stderr.log",
            // fcgiwrap -f sends it to nginx as FastCGI stderr: "FastCGI sent in stderr".
            Kind::Nginx => "nginx_error.log",
            // The processes lighttpd starts inherit its own stderr (not server.errorlog).
            Kind::LighttpdFastcgi => "lighttpd_stdout.log",
            // The process's own stderr (never FCGI_STDERR), which the test sends to
            // logs/<script>_stderr.log.
            Kind::NginxFastcgi | Kind::ApacheFcgi | Kind::NginxScgi => "server_probe_stderr.log",
        }
    }
}

/// True when everything `kind` needs is installed. Otherwise says loudly what is missing
/// and returns false, or fails the test under `CI=true`.
fn available(kind: Kind) -> bool {
    let mut missing: Vec<(&str, &str)> = kind
        .needs()
        .into_iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .collect();
    missing.dedup_by_key(|(_, package)| *package);
    if missing.is_empty() {
        return true;
    }
    let mut packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();
    packages.sort_unstable();
    packages.dedup();
    let files: Vec<&str> = missing.iter().map(|(path, _)| *path).collect();
    let message = format!(
        "\n################################################################################\n\
         ## real_servers: {name} tests NOT RUN: missing {files}\n\
         ## install the Debian package(s): apt-get install --no-install-recommends {packages}\n\
         ################################################################################",
        name = kind.name(),
        files = files.join(", "),
        packages = packages.join(" "),
    );
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{message}\n(CI=true: a missing server is a failure, not a skip)");
    }
    support::not_run(&message);
    false
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A fresh, world-traversable directory under `/tmp` (like `mktemp -d` + `chmod 755`),
/// removed on drop: `www/cgi-bin/` (the scripts), `conf/`, and `logs/`, `run/`, `data/`
/// writable by the servers' unprivileged user (lighttpd opens its logs after dropping to
/// www-data; the guestbook writes to `data/`).
struct Lab {
    dir: PathBuf,
    /// Written into `www/other`, to know that the server answering is this lab's.
    token: String,
}

impl Lab {
    fn new(kind: Kind) -> Lab {
        for attempt in 0..100 {
            let token = random_hex(attempt);
            // Short: Apache's ScriptSock must stay under ~100 characters.
            let dir = PathBuf::from(format!("/tmp/cgikit-{}.{token}", kind.name()));
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => panic!("creating {}: {error}", dir.display()),
            }
            let lab = Lab { dir, token };
            lab.setup();
            return lab;
        }
        panic!("no free lab directory name under /tmp");
    }

    fn setup(&self) {
        set_mode(&self.dir, 0o755);
        for sub in ["www", "www/cgi-bin", "conf"] {
            fs::create_dir_all(self.dir.join(sub)).expect("lab directory");
            set_mode(&self.dir.join(sub), 0o755);
        }
        for sub in ["logs", "run", "data"] {
            fs::create_dir_all(self.dir.join(sub)).expect("lab directory");
            set_mode(&self.dir.join(sub), 0o1777);
        }
        let other = self.dir.join("www/other");
        fs::write(&other, format!("OTHER PAGE {}\n", self.token)).expect("www/other");
        set_mode(&other, 0o644);
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn add_script(&self, binary: &Path, name: &str) {
        let target = self.path("www/cgi-bin").join(name);
        fs::copy(binary, &target)
            .unwrap_or_else(|error| panic!("copying {}: {error}", binary.display()));
        set_mode(&target, 0o755);
    }

    /// The config template `name` (tests/real_servers/) with the lab's paths and `port`.
    fn write_config(&self, name: &str, template: &str, port: u16) -> PathBuf {
        self.write_config_with(name, template, port, &[])
    }

    /// The same, with more `@NAME@` placeholders filled in.
    fn write_config_with(
        &self,
        name: &str,
        template: &str,
        port: u16,
        more: &[(String, String)],
    ) -> PathBuf {
        let mut text = template
            .replace("@LAB@", &self.dir.to_string_lossy())
            .replace("@PORT@", &port.to_string());
        for (placeholder, value) in more {
            text = text.replace(placeholder, value);
        }
        assert!(
            !text.contains("@PORT") && !text.contains("@LAB"),
            "{name}: a placeholder is left unfilled"
        );
        let path = self.path("conf").join(name);
        fs::write(&path, text).expect("writing a config");
        path
    }

    fn log(&self, name: &str) -> File {
        File::create(self.path("logs").join(name)).expect("creating a log file")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            eprintln!(
                "real_servers: could not remove {}: {error}",
                self.dir.display()
            );
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|error| panic!("chmod {mode:o} {}: {error}", path.display()));
}

/// `n` bytes' worth of hex that differs between calls and processes.
fn random_hex(salt: u64) -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// One process the test started, stopped by its pid.
struct Running {
    name: &'static str,
    child: Child,
    children: Children,
    /// A cgikit process serving FastCGI or SCGI, with its stderr log: once stopped, it
    /// must have exited with status 0 and `<name>: stopped` as its last stderr line.
    clean_stop: Option<PathBuf>,
}

/// What becomes of a process's children when it is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Children {
    /// None to speak of (the servers' own workers go with them).
    Theirs,
    /// fcgiwrap: its preforked workers outlive a SIGTERM to it, so they are looked up by
    /// parent pid (`pgrep -P`) and stopped too (never by name).
    Stop,
    /// lighttpd with `bin-path`: it stops the FastCGI processes it started itself. They
    /// are looked up by parent pid before the SIGTERM, and must be gone soon after
    /// lighttpd; any left over is a failure, and gets its SIGTERM by pid here.
    MustExit,
}

impl Running {
    fn spawn(name: &'static str, command: Command, log: File) -> Result<Running, String> {
        Running::spawn_with_env(name, command, log, &[])
    }

    /// Under a cleared environment: `PATH`, and `env`.
    fn spawn_with_env(
        name: &'static str,
        mut command: Command,
        log: File,
        env: &[(&str, &Path)],
    ) -> Result<Running, String> {
        let stderr = log.try_clone().map_err(|error| error.to_string())?;
        command.env_clear().env("PATH", SERVER_PATH);
        for (key, value) in env {
            command.env(key, value);
        }
        command.stdin(Stdio::null()).stdout(log).stderr(stderr);
        let child = command
            .spawn()
            .map_err(|error| format!("starting {name}: {error}"))?;
        Ok(Running {
            name,
            child,
            children: Children::Theirs,
            clean_stop: None,
        })
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited early ({status})", self.name)),
            Ok(None) => None,
            Err(error) => Some(format!("{}: {error}", self.name)),
        }
    }

    /// SIGTERM by pid (for fcgiwrap, then its workers by pid), and reap it. A process
    /// still there after 10 s gets SIGKILL. Says what went wrong, if anything: a SIGKILL,
    /// children left behind, or a FastCGI/SCGI process that did not stop cleanly.
    fn stop(&mut self) -> Vec<String> {
        let pid = self.child.id();
        let mut problems = Vec::new();
        let status = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                let children = if self.children == Children::Theirs {
                    Vec::new()
                } else {
                    children_of(pid)
                };
                // The parent first: fcgiwrap respawns workers that die before it.
                signal_term(&[pid]);
                if self.children == Children::Stop && !children.is_empty() {
                    thread::sleep(Duration::from_millis(200));
                    signal_term(&children);
                }
                let status = self.reap(&mut problems);
                if self.children == Children::MustExit {
                    problems.extend(await_exit(self.name, &children));
                }
                status
            }
        };
        if let (Some(log), Some(status)) = (&self.clean_stop, status) {
            let text = String::from_utf8_lossy(&fs::read(log).unwrap_or_default()).into_owned();
            let last = text.lines().last().unwrap_or_default();
            let stopped = format!("{}: stopped", self.name);
            if !status.success() || last != stopped {
                problems.push(format!(
                    "{} ({pid}) did not stop cleanly on SIGTERM: {status}, last stderr line {last:?} (expected {stopped:?})",
                    self.name
                ));
            }
        }
        problems
    }

    /// Waits up to 10 s for the process to exit after its SIGTERM, then SIGKILLs it.
    fn reap(&mut self, problems: &mut Vec<String>) -> Option<std::process::ExitStatus> {
        let pid = self.child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Err(error) => {
                    problems.push(format!("{} ({pid}): {error}", self.name));
                    return None;
                }
                Ok(None) if Instant::now() > deadline => {
                    let message = format!("{} ({pid}) ignored SIGTERM: SIGKILL", self.name);
                    eprintln!("real_servers: {message}");
                    problems.push(message);
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// Waits up to 10 s for `pids` (not this process's children: they cannot be reaped here)
/// to be gone; a zombie counts as gone. Those left get SIGTERM, and are reported.
fn await_exit(parent: &str, pids: &[u32]) -> Vec<String> {
    let alive = |pid: &u32| {
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            // pid (comm) STATE ...: the command may hold spaces and parentheses.
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(alive).collect();
        if left.is_empty() {
            return Vec::new();
        }
        if Instant::now() > deadline {
            signal_term(&left);
            return vec![format!(
                "{parent} is stopped, but the processes it started are still running: {left:?} (sent SIGTERM)"
            )];
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The parent pid of `pid` (`/proc/<pid>/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn children_of(pid: u32) -> Vec<u32> {
    Command::new("/usr/bin/pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn signal_term(pids: &[u32]) {
    let mut command = Command::new("/usr/bin/kill");
    command.arg("-TERM");
    command.args(pids.iter().map(u32::to_string));
    let _ = command.stderr(Stdio::null()).status();
}

/// `program`, through `setpriv` to www-data when the test runs as root, as the servers
/// drop to it: fcgiwrap (which runs the scripts as whoever runs it) and the FastCGI and
/// SCGI processes (which must be able to write the guestbook's file, and whose sockets
/// the servers' www-data workers connect to).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("/usr/bin/setpriv");
        command
            .args(["--reuid=www-data", "--regid=www-data", "--init-groups"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_nginx(lab: &Lab, conf: &Path) -> Result<Running, String> {
    let mut command = Command::new("/usr/sbin/nginx");
    command
        .arg("-c")
        .arg(conf)
        .arg("-p")
        .arg(lab.path("conf/"))
        .arg("-e")
        .arg(lab.path("logs/nginx_error.log"));
    Running::spawn("nginx", command, lab.log("nginx_stdout.log"))
}

/// Starts every script as a long-lived process (`--fastcgi ADDR` or `--scgi ADDR`) with
/// its stderr in `logs/<script>_stderr.log`, and waits for each one's first line, which
/// must be exactly `<script>: serving <protocol> on <address> with 16 workers`. Returns
/// the `@PORT_<script>@` placeholders (TCP: the port each process picked).
///
/// The guestbook's file is named in each process's environment (`GUESTBOOK_FILE`): a
/// server's per-request variables (fastcgi_param, SetEnv) never reach it.
fn start_backends(
    lab: &Lab,
    backends: Backends,
    processes: &mut Vec<Running>,
) -> Result<Vec<(String, String)>, String> {
    let guestbook = lab.path("data/guestbook.txt");
    let mut pending = Vec::new();
    for (_, script) in SCRIPTS {
        let address = if backends.tcp {
            "127.0.0.1:0".to_owned()
        } else {
            format!(
                "unix:{}",
                lab.path("run").join(format!("{script}.sock")).display()
            )
        };
        let mut command = as_server_user(&lab.path("www/cgi-bin").join(script));
        command.arg(backends.option).arg(&address);
        let log = lab.path("logs").join(format!("{script}_stderr.log"));
        let file = File::create(&log).map_err(|error| format!("{}: {error}", log.display()))?;
        let mut process =
            Running::spawn_with_env(script, command, file, &[("GUESTBOOK_FILE", &guestbook)])?;
        process.clean_stop = Some(log.clone());
        processes.push(process);
        pending.push((script, address, log));
    }
    let mut placeholders = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some((script, asked, log)) = pending.first() {
        let text = String::from_utf8_lossy(&fs::read(log).unwrap_or_default()).into_owned();
        let Some((line, _)) = text.split_once('\n') else {
            if let Some(process) = processes.iter_mut().find(|process| process.name == *script)
                && let Some(error) = process.exited()
            {
                return Err(format!("{error}: {text}"));
            }
            if Instant::now() > deadline {
                return Err(format!("{script} said nothing within 10 s"));
            }
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        let address = line
            .strip_prefix(&format!("{script}: serving {} on ", backends.protocol))
            .and_then(|rest| rest.strip_suffix(" with 16 workers"))
            .ok_or_else(|| format!("{script}: unexpected first line {line:?}"))?;
        if backends.tcp {
            let port = address
                .strip_prefix("127.0.0.1:")
                .and_then(|port| port.parse::<u16>().ok())
                .filter(|port| *port != 0)
                .ok_or_else(|| format!("{script}: no port in {line:?}"))?;
            placeholders.push((format!("@PORT_{script}@"), port.to_string()));
        } else if address != asked {
            return Err(format!("{script}: asked for {asked}, serves {address}"));
        }
        pending.remove(0);
    }
    Ok(placeholders)
}

/// A server running from its own lab, stopped (by pid) and its lab removed on drop.
struct Server {
    kind: Kind,
    port: u16,
    /// In start order; stopped in reverse (the web server before fcgiwrap or the
    /// FastCGI/SCGI processes it talks to).
    processes: Vec<Running>,
    lab: Lab,
}

impl Server {
    fn start(kind: Kind) -> Server {
        let examples = release_examples();
        let lab = Lab::new(kind);
        for (example, name) in SCRIPTS {
            lab.add_script(&examples.join(example), name);
        }
        let mut server = Server {
            kind,
            port: 0,
            processes: Vec::new(),
            lab,
        };
        // A free port is found by binding :0 and letting go of it; another process may
        // take it in between, so a failed start is retried on another port.
        let mut errors = Vec::new();
        for _ in 0..3 {
            server.port = free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(error) => {
                    let problems = server.stop_all().join("\n");
                    errors.push(format!("{error}\n{problems}\n{}", server.log_tails()));
                }
            }
        }
        panic!(
            "{} did not start:\n{}",
            kind.name(),
            errors.join("\n---- next attempt ----\n")
        );
    }

    fn launch(&mut self) -> Result<(), String> {
        let lab = &self.lab;
        let port = self.port;
        match self.kind {
            Kind::Apache => {
                let conf = lab.write_config(
                    "apache.conf",
                    include_str!("real_servers/apache.conf"),
                    port,
                );
                let mut command = Command::new("/usr/sbin/apache2");
                command.arg("-f").arg(&conf).arg("-DFOREGROUND");
                let log = lab.log("apache_stdout.log");
                self.processes
                    .push(Running::spawn("apache2", command, log)?);
            }
            Kind::Lighttpd => {
                let conf = lab.write_config(
                    "lighttpd.conf",
                    include_str!("real_servers/lighttpd.conf"),
                    port,
                );
                let mut command = Command::new("/usr/sbin/lighttpd");
                command.arg("-D").arg("-f").arg(&conf);
                let log = lab.log("lighttpd_stdout.log");
                self.processes
                    .push(Running::spawn("lighttpd", command, log)?);
            }
            Kind::Nginx => {
                // fcgiwrap first, as www-data when root (it runs the scripts as whoever
                // runs it), under a cleared environment (it passes its own to scripts);
                // -f: script stderr goes to nginx's error_log.
                //
                // Unlike the recipe's `-c 4`, one process (see FCGIWRAP_PROCESSES).
                let socket = lab.path("run/fcgiwrap.sock");
                let _ = fs::remove_file(&socket);
                let mut command = as_server_user(Path::new("/usr/sbin/fcgiwrap"));
                command
                    .args(["-f", "-c", &FCGIWRAP_PROCESSES.to_string(), "-s"])
                    .arg(format!("unix:{}", socket.display()));
                let mut fcgiwrap =
                    Running::spawn("fcgiwrap", command, lab.log("fcgiwrap_stderr.log"))?;
                fcgiwrap.children = Children::Stop;
                self.processes.push(fcgiwrap);
                let deadline = Instant::now() + Duration::from_secs(5);
                while !socket.exists() {
                    if let Some(error) = self.processes[0].exited() {
                        return Err(error);
                    }
                    if Instant::now() > deadline {
                        return Err(format!("fcgiwrap did not create {}", socket.display()));
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                let conf =
                    lab.write_config("nginx.conf", include_str!("real_servers/nginx.conf"), port);
                self.processes.push(start_nginx(lab, &conf)?);
            }
            Kind::NginxFastcgi | Kind::NginxScgi => {
                // The scripts first (their sockets exist once they have said so), then
                // nginx; stopped in reverse: nginx, then each script.
                let backends = self.kind.backends().expect("started by the test");
                start_backends(lab, backends, &mut self.processes)?;
                let conf = if self.kind == Kind::NginxFastcgi {
                    lab.write_config(
                        "nginx-fastcgi.conf",
                        include_str!("real_servers/nginx-fastcgi.conf"),
                        port,
                    )
                } else {
                    lab.write_config(
                        "nginx-scgi.conf",
                        include_str!("real_servers/nginx-scgi.conf"),
                        port,
                    )
                };
                self.processes.push(start_nginx(lab, &conf)?);
            }
            Kind::ApacheFcgi => {
                let backends = self.kind.backends().expect("started by the test");
                let ports = start_backends(lab, backends, &mut self.processes)?;
                let conf = lab.write_config_with(
                    "apache-fcgi.conf",
                    include_str!("real_servers/apache-fcgi.conf"),
                    port,
                    &ports,
                );
                let mut command = Command::new("/usr/sbin/apache2");
                command.arg("-f").arg(&conf).arg("-DFOREGROUND");
                let log = lab.log("apache_stdout.log");
                self.processes
                    .push(Running::spawn("apache2", command, log)?);
            }
            Kind::LighttpdFastcgi => {
                // lighttpd starts the scripts itself, as www-data, before it answers.
                let conf = lab.write_config(
                    "lighttpd-fastcgi.conf",
                    include_str!("real_servers/lighttpd-fastcgi.conf"),
                    port,
                );
                let mut command = Command::new("/usr/sbin/lighttpd");
                command.arg("-D").arg("-f").arg(&conf);
                let log = lab.log("lighttpd_stdout.log");
                let mut lighttpd = Running::spawn("lighttpd", command, log)?;
                lighttpd.children = Children::MustExit;
                self.processes.push(lighttpd);
            }
        }
        self.wait_until_ready()
    }

    /// The pid of the process the test started for `script` (the long-lived kinds but
    /// lighttpd's).
    fn started_pid(&self, script: &str) -> Option<u32> {
        self.processes
            .iter()
            .find(|process| process.name == script)
            .map(|process| process.child.id())
    }

    /// Until `/other` answers with this lab's token (so the answering server is ours, not
    /// whoever else holds the port), or a process exits, or 10 s pass.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for process in &mut self.processes {
                if let Some(error) = process.exited() {
                    return Err(error);
                }
            }
            if let Ok(reply) = try_http(self.port, "GET", "/other", &[], None)
                && reply.status == 200
                && reply.text().contains(&self.lab.token)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer on 127.0.0.1:{} within 10 s",
                    self.kind.name(),
                    self.port
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops every process, the last started first; says what went wrong, if anything.
    fn stop_all(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        while let Some(mut process) = self.processes.pop() {
            problems.extend(process.stop());
        }
        problems
    }

    /// The last lines of every log in the lab.
    fn log_tails(&self) -> String {
        let mut tails = String::new();
        let Ok(entries) = fs::read_dir(self.lab.path("logs")) else {
            return tails;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        paths.sort();
        for path in paths {
            let text = fs::read(&path).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(40);
            let _ = writeln!(tails, "==== {} ====", path.display());
            for line in &lines[from..] {
                let _ = writeln!(tails, "{line}");
            }
        }
        tails
    }

    /// The script log (see [`Kind::script_log`]), polled until it contains `needle`:
    /// servers write it asynchronously. `None` after 5 s.
    fn script_log_with(&self, needle: &str) -> Option<String> {
        let path = self.lab.path("logs").join(self.kind.script_log());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = String::from_utf8_lossy(&fs::read(&path).unwrap_or_default()).into_owned();
            if text.contains(needle) {
                return Some(text);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        try_http(self.port, method, target, headers, body)
            .unwrap_or_else(|error| panic!("{method} {target} on {}: {error}", self.kind.name()))
    }

    fn get(&self, target: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", target, headers, None)
    }

    fn post(&self, target: &str, content_type: &str, body: &[u8], cookie: Option<&str>) -> Reply {
        let mut headers = vec![("Content-Type", content_type)];
        if let Some(cookie) = cookie {
            headers.push(("Cookie", cookie));
        }
        self.request("POST", target, &headers, Some(body))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "real_servers: {} logs ({}):\n{}",
                self.kind.name(),
                self.lab.dir.display(),
                self.log_tails()
            );
        }
        for problem in self.stop_all() {
            eprintln!("real_servers: {}: {problem}", self.kind.name());
        }
        // then `lab` is dropped: the directory goes
    }
}

/// `target/release/examples/`, next to this test's own target directory, with the
/// scripts built (once per test run) when run by cargo.
fn release_examples() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(build_release_examples)
        .clone()
        .unwrap_or_else(|error| panic!("{error}"))
}

fn build_release_examples() -> Result<PathBuf, String> {
    // target/<profile>/deps/real_servers-<hash> → target/
    let test_binary = std::env::current_exe().map_err(|error| error.to_string())?;
    let target_dir = test_binary
        .ancestors()
        .nth(3)
        .ok_or("the test binary lives in target/<profile>/deps")?
        .to_owned();
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut command = Command::new(&cargo);
        command
            // `--workspace`: the fixture is an example of the cgikit-testing package.
            .args([
                "build",
                "--release",
                "--quiet",
                "--workspace",
                "--manifest-path",
            ])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir);
        for (example, _) in SCRIPTS {
            if !TOKIO_EXAMPLES.contains(&example) {
                command.args(["--example", example]);
            }
        }
        // Those of the other package in a build of their own: built together, cargo
        // would give the root package's examples the `tokio` feature too.
        let mut tokio_command = Command::new(cargo);
        tokio_command
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .args(["-p", "cgikit-examples-tokio"]);
        for example in TOKIO_EXAMPLES {
            tokio_command.args(["--example", example]);
        }
        for mut command in [command, tokio_command] {
            let output = command
                .output()
                .map_err(|error| format!("running cargo: {error}"))?;
            if !output.status.success() {
                return Err(format!(
                    "building the release examples failed:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
    }
    let examples = target_dir.join("release/examples");
    for (example, _) in SCRIPTS {
        if !examples.join(example).is_file() {
            return Err(format!(
                "{} is missing: run `cargo build --release --workspace --examples`",
                examples.join(example).display()
            ));
        }
    }
    Ok(examples)
}

/// A release build leaves the development server out: its `--help` must not offer
/// `--serve` (nor `--trace`), and `--serve` says why it is refused. Its lines fit in 80
/// columns and wrapped descriptions stay in their column. (The debug build's `--help` is
/// checked in tests/dev_and_cli.rs; both come from one table, unit-tested in
/// cgi-runtime's command_line.rs.)
#[test]
fn release_build_help_leaves_out_the_development_server() {
    let greet = release_examples().join("greet");
    let output = Command::new(&greet)
        .env_clear()
        .arg("--help")
        .output()
        .expect("run greet --help");
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for offered in [
        "Usage:",
        "greet --fastcgi ADDRESS",
        "-d, --data",
        "--workers N",
    ] {
        assert!(help.contains(offered), "{offered} missing:\n{help}");
    }
    for left_out in ["--serve", "--trace", "_cgi"] {
        assert!(!help.contains(left_out), "{left_out} offered:\n{help}");
    }
    let mut column = None;
    for line in help.lines() {
        assert!(line.len() <= 80, "{line:?} is over 80 columns");
        let indent = line.len() - line.trim_start().len();
        match (indent, line.trim_start().starts_with('-')) {
            // An option row: its description starts after the widest name and a gap.
            (2, true) => {
                column = line[2..].find("  ").map(|gap| {
                    2 + gap + line[2 + gap..].len() - line[2 + gap..].trim_start().len()
                });
            }
            (2.., false) if indent > 2 => {
                if let Some(column) = column {
                    assert_eq!(indent, column, "{line:?} is out of its column:\n{help}");
                }
            }
            _ => column = None,
        }
    }
    let refused = Command::new(&greet)
        .env_clear()
        .arg("--serve")
        .output()
        .expect("run greet --serve");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("greet: --serve is in debug builds only"),
        "{stderr}"
    );
}

// =======================================================================================
// A small HTTP/1.1 client: one request per connection, `Connection: close`
// =======================================================================================

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    /// The body, de-chunked.
    body: Vec<u8>,
    /// Every byte after the header block, as it came over the wire.
    raw_body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the cookie `name` among the `Set-Cookie` headers.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.header_all("set-cookie")
            .into_iter()
            .find_map(|cookie| {
                let pair = cookie.split(';').next()?;
                let (key, value) = pair.split_once('=')?;
                (key.trim() == name).then(|| value.trim().to_owned())
            })
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "status {}", self.status)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        let text = self.text();
        let shown: String = text.chars().take(3000).collect();
        write!(f, "\n{shown}")
    }
}

fn try_http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Reply, String> {
    let address = ("127.0.0.1", port);
    let stream = TcpStream::connect(address).map_err(|error| format!("connect: {error}"))?;
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(HTTP_TIMEOUT)))
        .map_err(|error| error.to_string())?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: cgikit-real-servers\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body.unwrap_or_default());
    // Written by another thread, so that a server answering before it has read the whole
    // body cannot deadlock the test.
    let mut writer = stream.try_clone().map_err(|error| error.to_string())?;
    let writing = thread::spawn(move || writer.write_all(&request));
    let mut raw = Vec::new();
    let mut reader = &stream;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            // An answer followed by a reset (the server closed with unread input).
            Err(error) if !raw.is_empty() && error.kind() == io::ErrorKind::ConnectionReset => {
                break;
            }
            Err(error) => return Err(format!("reading: {error}")),
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    let _ = writing.join();
    parse_http(&raw, method == "HEAD")
}

fn parse_http(raw: &[u8], head: bool) -> Result<Reply, String> {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| format!("no header block in {:?}", String::from_utf8_lossy(raw)))?;
    let head_text = std::str::from_utf8(&raw[..end]).map_err(|error| error.to_string())?;
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let raw_body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked && !head {
        dechunk(&raw_body)?
    } else {
        raw_body.clone()
    };
    Ok(Reply {
        status,
        headers,
        body,
        raw_body,
    })
}

// =======================================================================================
// The cases, the same on every server
// =======================================================================================

type Case = fn(&Server);

const CASES: &[(&str, Case)] = &[
    ("GET with a query (greet)", get_with_query),
    ("HEAD: no body", head_has_no_body),
    (
        "POST form, 303, then GET (guestbook)",
        guestbook_post_redirect_get,
    ),
    ("422: empty name (guestbook)", guestbook_empty_name_is_422),
    (
        "403: POST without the csrf cookie",
        guestbook_without_csrf_cookie_is_403,
    ),
    ("upload with SHA-256 (curl -F)", upload_checksum),
    ("cookies in (HTTP_COOKIE)", cookies_in),
    ("two Set-Cookie headers out", two_set_cookies_out),
    ("redirects 303/302/307/308", client_redirects),
    ("local redirect", local_redirect),
    ("404 from the script", status_404),
    ("413 over max_body, not 502", too_large_is_413),
    (
        "500 on a panic, message in the log",
        panic_is_500_and_logged,
    ),
    ("PATH_INFO", path_info),
    ("httpoxy", httpoxy),
];

/// `axum_app`, an axum Router deployed with `cgi::service::run`, through the same kinds of
/// requests as the examples above. Run on Apache mod_cgid, lighttpd mod_cgi, nginx +
/// fcgiwrap and nginx FastCGI: the configurations route `/cgi-bin/axum_app` there (with
/// nginx's response buffering off, for its server-sent events).
const AXUM_CASES: &[(&str, Case)] = &[
    ("axum_app: GET with a query", axum_query),
    ("axum_app: POST form", axum_form),
    ("axum_app: JSON", axum_json),
    ("axum_app: 404 from its fallback", axum_404),
    ("axum_app: 500 on a panic, message in the log", axum_panic),
    ("axum_app: HEAD keeps the length, no body", axum_head),
    ("axum_app: links carry the script's path", axum_links),
    ("axum_app: server-sent events", axum_events),
];

/// The kinds whose configurations route `/cgi-bin/axum_app`.
fn runs_axum_app(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Apache | Kind::Lighttpd | Kind::Nginx | Kind::NginxFastcgi
    )
}

/// Only for the long-lived kinds (FastCGI, SCGI).
const LONG_LIVED_CASES: &[(&str, Case)] = &[(
    "a panic, then the next requests: one process answers all",
    panic_then_same_process,
)];

fn run_all(kind: Kind) {
    if !available(kind) {
        return;
    }
    let started = Instant::now();
    let mut server = Server::start(kind);
    let up = started.elapsed();
    let mut failures = Vec::new();
    let mut cases = CASES.to_vec();
    if kind.long_lived() {
        cases.extend_from_slice(LONG_LIVED_CASES);
    }
    if runs_axum_app(kind) {
        cases.extend_from_slice(AXUM_CASES);
    }
    for (name, case) in &cases {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| case(&server))) {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(a non-text panic)");
            failures.push(format!("- {name}: {message}"));
        }
    }
    // Stopped here rather than on drop, to know how: every process must go on its
    // SIGTERM, and the FastCGI/SCGI ones cleanly.
    let stopping = Instant::now();
    let problems = server.stop_all();
    let stopped = stopping.elapsed();
    let cases_failed = failures.len();
    failures.extend(
        problems
            .iter()
            .map(|problem| format!("- stopping: {problem}")),
    );
    eprintln!(
        "real_servers: {}: {} cases, {cases_failed} failed, started in {up:.2?}, stopped in {stopped:.2?}{}, total {:.2?}",
        kind.name(),
        cases.len(),
        if problems.is_empty() {
            ""
        } else {
            " (with problems)"
        },
        started.elapsed()
    );
    // On failure, `Server`'s drop prints the tail of every log.
    assert!(
        failures.is_empty(),
        "{} on 127.0.0.1:{}: {cases_failed} of {} cases failed, {} problems stopping:\n{}",
        kind.name(),
        server.port,
        cases.len(),
        problems.len(),
        failures.join("\n")
    );
}

#[test]
fn apache_httpd_mod_cgid() {
    run_all(Kind::Apache);
}

#[test]
fn lighttpd_mod_cgi() {
    run_all(Kind::Lighttpd);
}

#[test]
fn nginx_fcgiwrap() {
    run_all(Kind::Nginx);
}

#[test]
fn nginx_fastcgi() {
    run_all(Kind::NginxFastcgi);
}

#[test]
fn lighttpd_mod_fastcgi_bin_path() {
    run_all(Kind::LighttpdFastcgi);
}

#[test]
fn apache_mod_proxy_fcgi() {
    run_all(Kind::ApacheFcgi);
}

#[test]
fn nginx_scgi() {
    run_all(Kind::NginxScgi);
}

/// nginx's workers run as www-data; the program serving FastCGI on a unix socket runs as
/// another user (`nobody`), in the group `www-data`. Without `--socket-mode` the socket
/// has the umask's mode (755 under umask 022: only its owner may connect) and nginx
/// answers 502; with `--socket-mode 660` the group may connect and the request is
/// answered.
#[test]
fn nginx_reaches_another_users_socket_through_socket_mode() {
    if !available(Kind::NginxFastcgi) {
        return;
    }
    if !is_root() {
        let message = "real_servers: --socket-mode NOT RUN: it needs root, to run nginx's \
                       workers and the program as two users";
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}\n(CI=true: a failure, not a skip)");
        }
        support::not_run(message);
        return;
    }
    let examples = release_examples();
    let lab = Lab::new(Kind::NginxFastcgi);
    lab.add_script(&examples.join("greet"), "greet");
    let port = free_port();
    let conf = lab.write_config(
        "nginx-fastcgi.conf",
        include_str!("real_servers/nginx-fastcgi.conf"),
        port,
    );
    let nginx = start_nginx(&lab, &conf).expect("nginx starts");
    let mut server = Server {
        kind: Kind::NginxFastcgi,
        port,
        processes: vec![nginx],
        lab,
    };
    server.wait_until_ready().expect("nginx answers");
    let socket = server.lab.path("run/greet.sock");
    for (socket_mode, expected_mode, expected_status) in
        [(None, 0o755, 502), (Some("660"), 0o660, 200)]
    {
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg("umask 022 && exec \"$@\"")
            .arg("sh")
            .args([
                "/usr/bin/setpriv",
                "--reuid=nobody",
                "--regid=www-data",
                "--clear-groups",
            ])
            .arg(server.lab.path("www/cgi-bin/greet"))
            .arg("--fastcgi")
            .arg(format!("unix:{}", socket.display()));
        command.args(
            socket_mode
                .map(|mode| ["--socket-mode", mode])
                .iter()
                .flatten(),
        );
        let log = server.lab.path("logs/greet_stderr.log");
        let file = File::create(&log).expect("a log file");
        let mut greet = Running::spawn("greet", command, file).expect("the program starts");
        greet.clean_stop = Some(log.clone());
        server.processes.push(greet);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs::read_to_string(&log).is_ok_and(|text| text.contains(" serving ")) {
            assert!(Instant::now() < deadline, "greet did not start");
            thread::sleep(Duration::from_millis(20));
        }
        let metadata = fs::metadata(&socket).expect("the socket");
        let group = fs::read_to_string("/etc/group")
            .expect("/etc/group")
            .lines()
            .find_map(|line| line.strip_prefix("www-data:x:"))
            .and_then(|rest| rest.split(':').next()?.parse::<u32>().ok())
            .expect("the group www-data");
        assert_eq!(
            (metadata.mode() & 0o777, metadata.gid()),
            (expected_mode, group),
            "--socket-mode {socket_mode:?}"
        );
        let reply = try_http(port, "GET", "/cgi-bin/greet?name=Ada", &[], None).expect("an answer");
        assert_eq!(
            reply.status, expected_status,
            "--socket-mode {socket_mode:?}: {reply:?}"
        );
        if expected_status == 502 {
            let errors = fs::read_to_string(server.lab.path("logs/nginx_error.log"))
                .expect("nginx's error log");
            assert!(errors.contains("(13: Permission denied)"), "{errors}");
        } else {
            assert!(reply.text().contains("<p>Hello, Ada!</p>"), "{reply:?}");
        }
        let mut greet = server.processes.pop().expect("greet");
        let problems = greet.stop();
        assert!(problems.is_empty(), "{problems:?}");
    }
}

fn get_with_query(server: &Server) {
    let reply = server.get(
        "/cgi-bin/greet?name=%3Cb%3EAda%3C%2Fb%3E&greeting=Bonjour",
        &[],
    );
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{reply}"
    );
    let text = reply.text();
    assert!(
        text.contains("<p>Bonjour, &lt;b&gt;Ada&lt;/b&gt;!</p>"),
        "{reply}"
    );
    assert!(!text.contains("<b>Ada"), "unescaped: {reply}");
}

fn head_has_no_body(server: &Server) {
    let reply = server.request("HEAD", "/cgi-bin/greet?name=Ada", &[], None);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{reply}"
    );
    assert!(
        reply.raw_body.is_empty(),
        "a body arrived after HEAD: {:?}",
        String::from_utf8_lossy(&reply.raw_body)
    );
}

/// The guestbook page's csrf token, from its cookie, and the cookie to send back.
fn guestbook_token(server: &Server) -> (String, String) {
    let page = server.get("/cgi-bin/guestbook", &[]);
    assert_eq!(page.status, 200, "{page}");
    let token = page
        .set_cookie("cgikit_csrf")
        .unwrap_or_else(|| panic!("no cgikit_csrf cookie: {page}"));
    assert!(
        page.text()
            .contains(&format!("name=\"csrf_token\" value=\"{token}\"")),
        "the form does not carry the cookie's token: {page}"
    );
    let cookie = format!("cgikit_csrf={token}");
    (token, cookie)
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

const FORM: &str = "application/x-www-form-urlencoded";

fn guestbook_post_redirect_get(server: &Server) {
    let (token, cookie) = guestbook_token(server);
    let message = format!("Signed through {} <{}>", server.kind.name(), random_hex(1));
    let body = form(&[
        ("name", "Ada & <Lovelace>"),
        ("message", &message),
        ("csrf_token", &token),
    ]);
    let reply = server.post("/cgi-bin/guestbook", FORM, &body, Some(&cookie));
    assert_eq!(reply.status, 303, "{reply}");
    assert_eq!(
        reply.header("location"),
        Some("/cgi-bin/guestbook"),
        "{reply}"
    );
    let page = server.get("/cgi-bin/guestbook", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200, "{page}");
    let shown = format!(
        "<h3>Ada &amp; &lt;Lovelace&gt;</h3><p>{}</p>",
        message.replace('<', "&lt;").replace('>', "&gt;")
    );
    assert!(page.text().contains(&shown), "no {shown:?} in {page}");
    // A known token is not set again.
    assert_eq!(page.set_cookie("cgikit_csrf"), None, "{page}");
    // Stored where the server's configuration says (GUESTBOOK_FILE), inside the lab.
    let stored = fs::read_to_string(server.lab.path("data/guestbook.txt")).unwrap_or_default();
    assert!(
        stored.contains("name=Ada+%26+%3CLovelace%3E"),
        "not in the lab's guestbook file: {stored:?}"
    );
}

fn guestbook_empty_name_is_422(server: &Server) {
    let (token, cookie) = guestbook_token(server);
    let body = form(&[
        ("name", "  "),
        ("message", "no name given"),
        ("csrf_token", &token),
    ]);
    let reply = server.post("/cgi-bin/guestbook", FORM, &body, Some(&cookie));
    assert_eq!(reply.status, 422, "{reply}");
    let text = reply.text();
    assert!(text.contains("Name is required."), "{reply}");
    // The form comes back with what was typed.
    assert!(text.contains(">no name given</textarea>"), "{reply}");
}

fn guestbook_without_csrf_cookie_is_403(server: &Server) {
    let (token, _) = guestbook_token(server);
    let body = form(&[
        ("name", "Mallory"),
        ("message", "forged"),
        ("csrf_token", &token),
    ]);
    let reply = server.post("/cgi-bin/guestbook", FORM, &body, None);
    assert_eq!(reply.status, 403, "{reply}");
}

fn upload_checksum(server: &Server) {
    let mut data = vec![0u8; 1 << 20];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut data))
        .expect("reading /dev/urandom");
    let file = server.lab.path("conf/random.bin");
    fs::write(&file, &data).expect("writing the upload");
    let digest: String = Sha256::digest(&data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let answer = server.lab.path("conf/upload-answer.html");
    let output = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--max-time", "30", "-o"])
        .arg(&answer)
        .args(["-w", "%{http_code}", "-F"])
        .arg(format!("files=@{}", file.display()))
        .args(["-F", "note=from curl"])
        .arg(format!("http://127.0.0.1:{}/cgi-bin/upload", server.port))
        .output()
        .expect("running curl");
    let status = String::from_utf8_lossy(&output.stdout).into_owned();
    let text = String::from_utf8_lossy(&fs::read(&answer).unwrap_or_default()).into_owned();
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(status, "200", "{text}");
    let row = format!(
        "<tr><td>files</td><td>random.bin</td><td>1048576</td><td><code>{digest}</code></td></tr>"
    );
    assert!(text.contains(&row), "no {row:?} in {text}");
    assert!(
        text.contains("<tr><td>note</td><td colspan=3>from curl</td></tr>"),
        "{text}"
    );
}

fn cookies_in(server: &Server) {
    let reply = server.get("/cgi-bin/env", &[("Cookie", "a=1; b=2")]);
    assert_eq!(reply.status, 200, "{reply}");
    assert!(
        reply
            .text()
            .contains("<tr><th>HTTP_COOKIE</th><td>a=1; b=2</td></tr>"),
        "{reply}"
    );
}

fn two_set_cookies_out(server: &Server) {
    let reply = server.get("/cgi-bin/server_probe", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.text(), "probe ok, 0 body bytes\n", "{reply}");
    // Two separate headers: not folded into one line with a comma, which would break
    // cookies (a comma may appear in a cookie's Expires date).
    assert_eq!(
        reply.header_all("set-cookie"),
        ["probe_a=1; Path=/", "probe_b=2; Path=/"],
        "{reply}"
    );
}

fn client_redirects(server: &Server) {
    for (path, status) in [
        ("see-other", 303),
        ("found", 302),
        ("temporary", 307),
        ("permanent", 308),
    ] {
        let reply = server.get(&format!("/cgi-bin/redirects/{path}"), &[]);
        assert_eq!(reply.status, status, "/{path}: {reply}");
        // Passed on as the script wrote it (a path; no server makes it absolute).
        assert_eq!(
            reply.header("location"),
            Some("/cgi-bin/redirects/landed"),
            "/{path}: {reply}"
        );
    }
    let landed = server.get("/cgi-bin/redirects/landed", &[]);
    assert_eq!(landed.status, 200, "{landed}");
    assert!(
        landed.text().contains("You arrived with <b>GET</b>"),
        "{landed}"
    );
}

fn local_redirect(server: &Server) {
    let reply = server.get("/cgi-bin/redirects/local", &[]);
    match server.kind {
        // Apache follows a local redirect (RFC 3875 §6.2.2) itself: the client gets the
        // landed page, 200, with no Location; the target runs as a GET.
        Kind::Apache => {
            assert_eq!(reply.status, 200, "{reply}");
            assert_eq!(reply.header("location"), None, "{reply}");
            assert!(
                reply.text().contains("You arrived with <b>GET</b>"),
                "{reply}"
            );
        }
        // mod_proxy_fcgi neither follows it nor makes it a redirect: the client gets the
        // script's answer as it is, 200 with the Location and an empty body (a browser
        // shows an empty page). Apache's mod_proxy_fcgi has no local-redirect handling at
        // all (mod_cgi/mod_cgid's lives in their own handlers).
        Kind::ApacheFcgi => {
            assert_eq!(reply.status, 200, "{reply}");
            assert_eq!(
                reply.header("location"),
                Some("/cgi-bin/redirects/landed"),
                "{reply}"
            );
            assert!(reply.body.is_empty(), "{reply}");
        }
        // lighttpd (cgi.local-redir off, its default; mod_fastcgi has no such option) and
        // nginx (fcgiwrap, FastCGI, SCGI) do not: they turn the bare Location into a 302 to
        // the client, which then fetches the page.
        Kind::Lighttpd
        | Kind::Nginx
        | Kind::NginxFastcgi
        | Kind::LighttpdFastcgi
        | Kind::NginxScgi => {
            assert_eq!(reply.status, 302, "{reply}");
            assert_eq!(
                reply.header("location"),
                Some("/cgi-bin/redirects/landed"),
                "{reply}"
            );
        }
    }
}

fn status_404(server: &Server) {
    let reply = server.get("/cgi-bin/server_probe?status=404", &[]);
    assert_eq!(reply.status, 404, "{reply}");
    assert_eq!(reply.text(), "probe status 404\n", "{reply}");
}

fn too_large_is_413(server: &Server) {
    // 2 MiB against `max_body = 1024`: cgikit drains the body, then answers 413. Without
    // the drain, nginx + fcgiwrap would answer 502 (fcgiwrap fails writing the body).
    // Under FastCGI and SCGI the process reads (and throws away) the rest of the body
    // too, so that the server reads the answer and the connection stays in step.
    let body = vec![b'x'; 2 << 20];
    let reply = server.post(
        "/cgi-bin/server_probe",
        "application/octet-stream",
        &body,
        None,
    );
    assert_eq!(reply.status, 413, "{reply}");
    assert!(
        reply
            .text()
            .contains("The request body is too large: 2097152 bytes"),
        "the 413 is not cgikit's: {reply}"
    );
    // A body within the limit still arrives whole.
    let reply = server.post(
        "/cgi-bin/server_probe",
        "application/octet-stream",
        &[b'y'; 1000],
        None,
    );
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.text(), "probe ok, 1000 body bytes\n", "{reply}");
}

fn panic_is_500_and_logged(server: &Server) {
    let reply = server.get("/cgi-bin/server_probe?panic=1", &[]);
    assert_eq!(reply.status, 500, "{reply}");
    let text = reply.text();
    assert!(
        !text.contains("secret-panic-marker") && !text.contains("panicked"),
        "the panic leaked to the client: {reply}"
    );
    let log = server
        .script_log_with("secret-panic-marker")
        .unwrap_or_else(|| {
            panic!(
                "secret-panic-marker is not in {}:\n{}",
                server.kind.script_log(),
                server.log_tails()
            )
        });
    assert!(
        log.contains("server_probe: panicked at"),
        "the log line is not cgikit's: {log}"
    );
}

fn path_info(server: &Server) {
    let reply = server.get("/cgi-bin/env/extra/path", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    let text = reply.text();
    assert!(
        text.contains("<tr><th>PATH_INFO</th><td>/extra/path</td></tr>"),
        "{reply}"
    );
    assert!(
        text.contains("<tr><th>SCRIPT_NAME</th><td>/cgi-bin/env</td></tr>"),
        "{reply}"
    );
    assert!(
        text.contains("<dt>path info</dt><dd>Some(&quot;/extra/path&quot;)</dd>"),
        "{reply}"
    );
    // And it is the real server that ran the script.
    let software = match server.kind {
        Kind::Apache | Kind::ApacheFcgi => "<tr><th>SERVER_SOFTWARE</th><td>Apache/",
        Kind::Lighttpd | Kind::LighttpdFastcgi => "<tr><th>SERVER_SOFTWARE</th><td>lighttpd/",
        Kind::Nginx | Kind::NginxFastcgi => "<tr><th>SERVER_SOFTWARE</th><td>nginx/",
        // The stock scgi_params sets no SERVER_SOFTWARE (nor GATEWAY_INTERFACE), but `SCGI 1`.
        Kind::NginxScgi => "<tr><th>SCGI</th><td>1</td></tr>",
    };
    assert!(text.contains(software), "{reply}");
    // Without PATH_INFO, no path info. Apache's mod_proxy_fcgi differs by design: the
    // backend URL's path is never empty, so a bare script gets PATH_INFO "/" (see
    // apache-fcgi.conf).
    let bare = server.get("/cgi-bin/env", &[]);
    assert_eq!(bare.status, 200, "{bare}");
    let expected = if server.kind == Kind::ApacheFcgi {
        "<dt>path info</dt><dd>Some(&quot;/&quot;)</dd>"
    } else {
        "<dt>path info</dt><dd>None</dd>"
    };
    assert!(bare.text().contains(expected), "{bare}");
    assert!(
        bare.text()
            .contains("<tr><th>SCRIPT_NAME</th><td>/cgi-bin/env</td></tr>"),
        "{bare}"
    );
}

const NO_HTTP_PROXY: &str = "HTTP_PROXY in this process&#39;s environment</dt><dd>false";

fn httpoxy(server: &Server) {
    let proxy = [("Proxy", "http://evil:1")];
    let reply = server.get("/cgi-bin/env", &proxy);
    assert_eq!(reply.status, 200, "{reply}");
    let text = reply.text();
    assert!(text.contains(NO_HTTP_PROXY), "{reply}");
    // Under FastCGI and SCGI, no meta-variable ever reaches the process's environment,
    // so NO_HTTP_PROXY holds there whatever the server passes.
    match server.kind {
        // Apache and lighttpd drop the `Proxy:` header themselves (mod_proxy_fcgi and
        // mod_fastcgi too).
        Kind::Apache | Kind::Lighttpd | Kind::ApacheFcgi | Kind::LighttpdFastcgi => {
            assert!(!text.contains("<th>HTTP_PROXY</th>"), "{reply}");
        }
        // nginx would pass it; the recipe's `fastcgi_param HTTP_PROXY ""` (`scgi_param`
        // for SCGI) replaces it with an empty value, which cgikit treats as unset (RFC
        // 3875 §4.1): no row.
        Kind::Nginx | Kind::NginxFastcgi | Kind::NginxScgi => {
            assert!(!text.contains("<th>HTTP_PROXY</th>"), "{reply}");
            assert!(!text.contains("evil"), "{reply}");
            // Without that line (/bare-cgi-bin/), the script receives HTTP_PROXY: the
            // request still shows it, and cgikit keeps it out of the process environment.
            let bare = server.get("/bare-cgi-bin/env", &proxy);
            assert_eq!(bare.status, 200, "{bare}");
            let text = bare.text();
            assert!(
                text.contains("<tr><th>HTTP_PROXY</th><td>http://evil:1</td></tr>"),
                "{bare}"
            );
            assert!(text.contains(NO_HTTP_PROXY), "{bare}");
        }
    }
}

fn probe_pid(server: &Server) -> u32 {
    let reply = server.get("/cgi-bin/server_probe?pid=1", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    reply
        .text()
        .strip_prefix("probe pid ")
        .and_then(|pid| pid.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {reply}"))
}

/// The point of FastCGI and SCGI: one process answers request after request, and a panic
/// ends one request, not the process.
fn panic_then_same_process(server: &Server) {
    let pid = probe_pid(server);
    match server.started_pid("server_probe") {
        // The process the test started (setpriv execs it: the same pid).
        Some(started) => assert_eq!(pid, started, "another process answers"),
        // lighttpd's own child, started with `bin-path`.
        None => {
            let lighttpd = server.processes[0].child.id();
            assert_eq!(
                parent_of(pid),
                Some(lighttpd),
                "{pid} is not a process lighttpd ({lighttpd}) started"
            );
        }
    }
    let reply = server.get("/cgi-bin/server_probe?panic=1", &[]);
    assert_eq!(reply.status, 500, "{reply}");
    assert_eq!(probe_pid(server), pid, "the process changed after a panic");
    let reply = server.get("/cgi-bin/server_probe", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.text(), "probe ok, 0 body bytes\n", "{reply}");
    assert_eq!(probe_pid(server), pid, "the process changed");
}

// =======================================================================================
// Several backends behind one nginx `upstream`
// =======================================================================================

/// Two FastCGI backends over TCP (two processes standing for two machines) behind one
/// nginx `upstream`; under load, one is killed with SIGKILL. nginx sends each GET that the
/// dead backend held, or that it would have been given, to the other one: no GET is lost.
#[test]
fn nginx_upstream_resends_gets_to_the_other_backend_when_one_is_killed() {
    if !available(Kind::NginxFastcgi) {
        return;
    }
    const FIXTURE: &str = "fixture_long_lived";
    let binary = support::example(FIXTURE, &[FIXTURE]);
    let lab = Lab::new(Kind::NginxFastcgi);
    let mut backends = StopAll(Vec::new());
    let mut addresses = Vec::new();
    for name in ["backend_a", "backend_b"] {
        let log = lab.path("logs").join(format!("{name}_stderr.log"));
        let file = File::create(&log).expect("a log file");
        let mut command = Command::new(&binary);
        command.args(["--fastcgi", "127.0.0.1:0", "--workers", "4"]);
        let mut process = Running::spawn(FIXTURE, command, file).expect("a backend starts");
        process.clean_stop = Some(log.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        let address = loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if let Some(address) = text
                .lines()
                .next()
                .and_then(|line| line.strip_prefix(&format!("{FIXTURE}: serving FastCGI on ")))
                .and_then(|rest| rest.strip_suffix(" with 4 workers"))
            {
                break address.to_owned();
            }
            assert!(
                process.exited().is_none() && Instant::now() < deadline,
                "{name}: {text}"
            );
            thread::sleep(Duration::from_millis(20));
        };
        backends.0.push(process);
        addresses.push(address);
    }
    let port = free_port();
    let conf = lab.write_config_with(
        "nginx-upstream.conf",
        include_str!("real_servers/nginx-upstream.conf"),
        port,
        &[
            ("@BACKEND_A@".to_owned(), addresses[0].clone()),
            ("@BACKEND_B@".to_owned(), addresses[1].clone()),
        ],
    );
    let mut nginx = StopAll(vec![start_nginx(&lab, &conf).expect("nginx starts")]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !try_http(port, "GET", "/other", &[], None).is_ok_and(|reply| reply.status == 200) {
        assert!(
            nginx.0[0].exited().is_none() && Instant::now() < deadline,
            "nginx did not answer: {}",
            fs::read_to_string(lab.path("logs/nginx_error.log")).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let pid_of = |reply: &Reply| -> u32 {
        reply
            .text()
            .lines()
            .find_map(|line| line.strip_prefix("pid "))
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no pid in {reply}"))
    };
    let [victim, survivor] = [backends.0[0].child.id(), backends.0[1].child.id()];
    // Four clients, 40 GETs each, each request taking 20 ms in the backend: about 1 s
    // of load; the kill comes a third of the way in, with requests on both backends.
    let (answers, killed_at) = thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|client| {
                scope.spawn(move || {
                    (0..40)
                        .map(|index| {
                            let target = format!("/app?sleep_ms=20&client={client}&n={index}");
                            let reply = try_http(port, "GET", &target, &[], None)
                                .unwrap_or_else(|error| panic!("GET {target}: {error}"));
                            (Instant::now(), target, reply)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(300));
        let killed = &mut backends.0[0];
        killed.child.kill().expect("SIGKILL to one backend");
        killed.clean_stop = None;
        let killed_at = Instant::now();
        let answers: Vec<_> = clients
            .into_iter()
            .flat_map(|client| client.join().expect("a client"))
            .collect();
        (answers, killed_at)
    });
    let mut served_by = std::collections::HashMap::new();
    for (_, target, reply) in &answers {
        assert_eq!(
            reply.status,
            200,
            "GET {target} was lost: {reply}\n{}",
            fs::read_to_string(lab.path("logs/nginx_error.log")).unwrap_or_default()
        );
        *served_by.entry(pid_of(reply)).or_insert(0) += 1;
    }
    assert_eq!(answers.len(), 160);
    assert!(
        served_by.get(&victim).is_some_and(|count| *count > 0)
            && served_by.get(&survivor).is_some_and(|count| *count > 0),
        "both backends should have answered before the kill: {served_by:?}"
    );
    // Everything answered some time after the kill came from the survivor.
    for (at, target, reply) in &answers {
        if *at > killed_at + Duration::from_millis(100) {
            assert_eq!(pid_of(reply), survivor, "GET {target}");
        }
    }
    // nginx saw the dead backend fail, and went on with the other one.
    let errors = fs::read_to_string(lab.path("logs/nginx_error.log")).unwrap_or_default();
    assert!(
        errors.contains(&addresses[0]),
        "nginx logged nothing about the killed backend:\n{errors}"
    );
    let mut problems = nginx.stop();
    problems.extend(backends.stop());
    assert!(problems.is_empty(), "{problems:?}");
}

/// Processes the test started, stopped by pid (the last started first) when dropped: a
/// failed assertion leaves none running.
struct StopAll(Vec<Running>);

impl StopAll {
    /// Stops them all; says what went wrong, if anything.
    fn stop(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        while let Some(mut process) = self.0.pop() {
            problems.extend(process.stop());
        }
        problems
    }
}

impl Drop for StopAll {
    fn drop(&mut self) {
        for problem in self.stop() {
            eprintln!("real_servers: {problem}");
        }
    }
}

// =======================================================================================
// axum_app
// =======================================================================================

fn axum_query(server: &Server) {
    let reply = server.get("/cgi-bin/axum_app/search?q=rust&page=2", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.text(), "results for \"rust\", page 2\n", "{reply}");
    let hello = server.get("/cgi-bin/axum_app/hello/Ada", &[]);
    assert_eq!(hello.text(), "Hello, Ada!\n", "{hello}");
}

fn axum_form(server: &Server) {
    let body = form(&[("name", "<b>Ada</b>"), ("message", "héllo")]);
    let reply = server.post("/cgi-bin/axum_app/guestbook", FORM, &body, None);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(
        reply.text(),
        "<p>Thank you, &lt;b&gt;Ada&lt;/b&gt;: 5 characters.</p>\n",
        "{reply}"
    );
}

fn axum_json(server: &Server) {
    let reply = server.get("/cgi-bin/axum_app/api/items/7", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{reply}"
    );
    assert_eq!(reply.text(), r#"{"id":7,"name":"item 7"}"#, "{reply}");
    let missing = server.get("/cgi-bin/axum_app/api/items/0", &[]);
    assert_eq!(missing.status, 404, "{missing}");
}

fn axum_404(server: &Server) {
    let reply = server.get("/cgi-bin/axum_app/no/such/page", &[]);
    assert_eq!(reply.status, 404, "{reply}");
    assert_eq!(reply.text(), "no such page\n", "{reply}");
}

fn axum_panic(server: &Server) {
    let reply = server.get("/cgi-bin/axum_app/boom", &[]);
    assert_eq!(reply.status, 500, "{reply}");
    assert!(!reply.text().contains("boom route"), "leaked: {reply}");
    // The long-lived processes the test starts log to their own file.
    let log = if server.kind.backends().is_some() {
        "axum_app_stderr.log"
    } else {
        server.kind.script_log()
    };
    let path = server.lab.path("logs").join(log);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = String::from_utf8_lossy(&fs::read(&path).unwrap_or_default()).into_owned();
        if text.contains("axum_app: panicked at") && text.contains("the boom route always fails") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no panic line in {log}:\n{}",
            server.log_tails()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn axum_head(server: &Server) {
    let reply = server.request("HEAD", "/cgi-bin/axum_app/api/items/7", &[], None);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{reply}"
    );
    // The GET's length (axum's HEAD answer has an empty body and the declared length);
    // nginx and lighttpd may drop the header of a body-less answer.
    if let Some(length) = reply.header("content-length") {
        assert_eq!(length, "24", "{reply}");
    }
    assert!(reply.raw_body.is_empty(), "a body after HEAD: {reply}");
}

fn axum_links(server: &Server) {
    let reply = server.get("/cgi-bin/axum_app", &[]);
    assert_eq!(reply.status, 200, "{reply}");
    assert!(
        reply
            .text()
            .contains("href=\"/cgi-bin/axum_app/hello/Ada\""),
        "{reply}"
    );
}

/// Three events 200 ms apart. Through Apache mod_cgid and through nginx -> FastCGI with
/// nginx's buffering off, each reaches the client as it is sent. Two hosts hold a CGI
/// script's output back whatever the script does, so there only the whole body is
/// checked: lighttpd buffers a CGI response until it ends (its default
/// `server.stream-response-body = 0`), and fcgiwrap writes through libfcgi's 8 KiB stream
/// buffer, which it flushes only when full or at the end (fcgiwrap issue #36).
fn axum_events(server: &Server) {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connects");
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .expect("a timeout");
    let request = format!(
        "GET /cgi-bin/axum_app/events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        server.port
    );
    (&stream).write_all(request.as_bytes()).expect("sent");
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut arrivals = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match (&stream).read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => {
                raw.extend_from_slice(&buffer[..count]);
                for tick in 1..=3 {
                    let needle = format!("data: tick {tick}");
                    if arrivals.len() < tick
                        && raw
                            .windows(needle.len())
                            .any(|window| window == needle.as_bytes())
                    {
                        arrivals.push(started.elapsed());
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset && !raw.is_empty() => {
                break;
            }
            Err(error) => panic!("reading the events: {error}"),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{text}"
    );
    assert_eq!(arrivals.len(), 3, "{text}");
    if !matches!(server.kind, Kind::Lighttpd | Kind::Nginx) {
        assert!(
            arrivals[2] - arrivals[0] >= Duration::from_millis(300),
            "the events arrived together ({arrivals:?}): {text}"
        );
    }
}
