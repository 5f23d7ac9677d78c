//! Every web-server configuration in README.md and the crate documentation (src/lib.rs),
//! run as written by a real server.
//!
//! A snippet is a fenced block whose language is `apache`, `lighttpd` or `nginx`, right
//! after a marker line `<!-- deployment-test: KIND -->` (an HTML comment: invisible in the
//! rendered README and docs). An unmarked block of those languages fails the test, so no
//! snippet goes untested. Each one is put, unchanged, into a configuration that holds only
//! what every configuration must have and nothing about CGI or FastCGI: a listening port
//! on 127.0.0.1, a pid file, an error log, a document root, the user to run as (when the
//! test runs as root) and, for Apache, an MPM and `Require` (mod_authz_core) with the usual
//! `Require all denied` at `/`. So a snippet that only works on top of a distribution's
//! stock configuration (a module it does not load, a directory it does not open) fails.
//!
//! The one change made to a snippet: the places it names on the machine move into the
//! test's own directory (`/usr/lib/cgi-bin/` → `LAB/lib/cgi-bin/`, outside the document
//! root `LAB/www/` as on a real machine; `/run/` → `LAB/run/`), and each backend's TCP
//! address (`127.0.0.1:9000`, `10.0.0.11:9000`...) → `127.0.0.1` on a free port. nginx's
//! `include fastcgi_params` finds the file nginx ships, copied beside the configuration,
//! and an nginx `upstream` block goes where nginx wants it, beside the `server` block.
//!
//! What each KIND starts besides the server, and where the script is:
//!
//! | KIND | the script | URL prefix |
//! |---|---|---|
//! | `apache-cgi`, `lighttpd-cgi` | `/usr/lib/cgi-bin/greet`, run by the server | `/cgi-bin/greet` |
//! | `nginx-fcgiwrap` | the same, run by fcgiwrap on `/run/fcgiwrap.socket` | `/cgi-bin/greet` |
//! | `nginx-fastcgi`, `nginx-scgi` | `greet --fastcgi`/`--scgi unix:/run/greet/greet.sock` | `/greet` |
//! | `lighttpd-fastcgi` | `/usr/lib/cgi-bin/greet`, started by lighttpd (`bin-path`) | `/greet` |
//! | `apache-fastcgi` | `greet --fastcgi 127.0.0.1:9000` | `/greet` |
//! | `nginx-upstream` | `greet --fastcgi` on `10.0.0.11:9000` and on `10.0.0.12:9000` | `/greet` |
//!
//! The program installed as `greet` is the `env` example, which shows the variables it got:
//! a request for `PREFIX/extra?name=Ada` (`PREFIX?name=Ada` where the snippet does not
//! split the path) with a `Proxy` header must answer 200 with `SCRIPT_NAME` the prefix,
//! `PATH_INFO` `/extra`, `QUERY_STRING` `name=Ada`, and no `HTTP_PROXY`. With several
//! backends, the first is then stopped and requests must still be answered, by the others.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::{
    Kind, Lab, Running, as_server_user, available, free_port, is_root, release_examples,
    start_nginx, try_http,
};

/// A marked block of configuration, where it was found, and what it is.
#[derive(Debug)]
struct Snippet {
    /// `README.md:123`
    place: String,
    kind: String,
    language: String,
    text: String,
}

/// The files whose snippets are tested, and their text as a reader sees it (the crate
/// docs without their `//!`).
fn documents() -> Vec<(&'static str, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let lib = fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let crate_docs = lib
        .lines()
        .map(|line| match line.trim_start().strip_prefix("//!") {
            Some(doc) => doc.strip_prefix(' ').unwrap_or(doc),
            // Keeps the line numbers; never a fence or a marker.
            None => "",
        })
        .collect::<Vec<_>>()
        .join("\n");
    vec![("README.md", readme), ("src/lib.rs", crate_docs)]
}

const SERVER_LANGUAGES: [&str; 3] = ["apache", "lighttpd", "nginx"];
const MARKER: &str = "<!-- deployment-test: ";

/// Every marked snippet; `Err` lists the blocks of a server language without a marker, and
/// markers not followed by such a block.
fn snippets() -> Result<Vec<Snippet>, Vec<String>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (file, text) in documents() {
        let lines: Vec<&str> = text.lines().collect();
        let mut index = 0;
        let mut pending: Option<(usize, String)> = None;
        while index < lines.len() {
            let line = lines[index].trim();
            if let Some(kind) = line
                .strip_prefix(MARKER)
                .and_then(|rest| rest.strip_suffix(" -->"))
            {
                if let Some((at, kind)) = pending.replace((index + 1, kind.to_owned())) {
                    problems.push(format!(
                        "{file}:{at}: marker {kind:?} without a block after it"
                    ));
                }
                index += 1;
                continue;
            }
            let Some(info) = line.strip_prefix("```") else {
                if !line.is_empty()
                    && let Some((at, kind)) = pending.take()
                {
                    problems.push(format!(
                        "{file}:{at}: marker {kind:?} without a block after it"
                    ));
                }
                index += 1;
                continue;
            };
            let language = info.split([' ', ',']).next().unwrap_or("").to_owned();
            let start = index + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].trim().starts_with("```") {
                end += 1;
            }
            let body = lines[start..end].join("\n") + "\n";
            match (pending.take(), SERVER_LANGUAGES.contains(&language.as_str())) {
                (Some((_, kind)), true) => found.push(Snippet {
                    place: format!("{file}:{}", index + 1),
                    kind,
                    language,
                    text: body,
                }),
                (Some((at, kind)), false) => problems.push(format!(
                    "{file}:{at}: marker {kind:?} before a ```{language} block, not a server's"
                )),
                (None, true) => problems.push(format!(
                    "{file}:{}: a ```{language} block without a `{MARKER}KIND -->` line before it: \
                     every server snippet is tested (see tests/real_servers/deployment_snippets.rs)",
                    index + 1
                )),
                (None, false) => {}
            }
            index = end + 1;
        }
        if let Some((at, kind)) = pending {
            problems.push(format!(
                "{file}:{at}: marker {kind:?} without a block after it"
            ));
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

/// What a KIND needs: its server, the script's URL prefix, how the script runs.
#[derive(Debug, Clone, Copy)]
struct Recipe {
    kind: Kind,
    prefix: &'static str,
    backend: Backend,
    /// Whether the snippet splits `PATH_INFO` off the path.
    splits_path_info: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// The server runs `/usr/lib/cgi-bin/greet` itself (CGI, or lighttpd's `bin-path`).
    Server,
    /// fcgiwrap on `/run/fcgiwrap.socket` runs it.
    Fcgiwrap,
    /// `greet OPTION ADDRESS`, started by the test, once per address.
    Processes(&'static str, &'static [&'static str]),
}

fn recipe(name: &str) -> Option<Recipe> {
    let (kind, prefix, backend, splits_path_info) = match name {
        "apache-cgi" => (Kind::Apache, "/cgi-bin/greet", Backend::Server, true),
        "lighttpd-cgi" => (Kind::Lighttpd, "/cgi-bin/greet", Backend::Server, true),
        "nginx-fcgiwrap" => (Kind::Nginx, "/cgi-bin/greet", Backend::Fcgiwrap, true),
        "nginx-fastcgi" => (
            Kind::NginxFastcgi,
            "/greet",
            Backend::Processes("--fastcgi", &["unix:/run/greet/greet.sock"]),
            true,
        ),
        "nginx-scgi" => (
            Kind::NginxScgi,
            "/greet",
            Backend::Processes("--scgi", &["unix:/run/greet/greet.sock"]),
            true,
        ),
        "lighttpd-fastcgi" => (Kind::LighttpdFastcgi, "/greet", Backend::Server, true),
        "apache-fastcgi" => (
            Kind::ApacheFcgi,
            "/greet",
            Backend::Processes("--fastcgi", &["127.0.0.1:9000"]),
            true,
        ),
        "nginx-upstream" => (
            Kind::NginxFastcgi,
            "/greet",
            Backend::Processes("--fastcgi", &["10.0.0.11:9000", "10.0.0.12:9000"]),
            false,
        ),
        _ => return None,
    };
    Some(Recipe {
        kind,
        prefix,
        backend,
        splits_path_info,
    })
}

/// Where `/usr/lib/cgi-bin` moves, in the lab: outside its document root (`www/`), so that
/// a server that ignores the snippet's alias cannot find the script there by accident.
const SCRIPT_DIR: &str = "lib/cgi-bin";

/// The snippet with the machine's places moved into the lab, and each backend's TCP
/// address (`(address, port)` in `tcp`) to a free port on 127.0.0.1.
fn relocate(text: &str, lab: &Lab, tcp: &[(&str, u16)]) -> String {
    let mut text = relocate_paths(text, lab);
    for (address, port) in tcp {
        text = text.replace(address, &format!("127.0.0.1:{port}"));
    }
    text
}

fn relocate_paths(text: &str, lab: &Lab) -> String {
    text.replace("/usr/lib/cgi-bin", &lab.path(SCRIPT_DIR).to_string_lossy())
        .replace("/run/", &format!("{}/", lab.path("run").display()))
}

/// The configuration around a snippet: what every configuration of that server has, and
/// nothing about running scripts.
fn wrap(language: &str, snippet: &str, lab: &Lab, port: u16) -> String {
    let lab_dir = lab.path("").display().to_string();
    let lab_dir = lab_dir.trim_end_matches('/');
    let root = is_root();
    match language {
        "apache" => format!(
            "ServerRoot \"{lab_dir}/conf\"\n\
             ServerName 127.0.0.1\n\
             Listen 127.0.0.1:{port}\n\
             PidFile {lab_dir}/run/apache.pid\n\
             DefaultRuntimeDir {lab_dir}/run\n\
             ErrorLog {lab_dir}/logs/apache_error.log\n\
             LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n\
             LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n\
             {user}\
             DocumentRoot \"{lab_dir}/www\"\n\
             <Directory />\n  Require all denied\n</Directory>\n\
             # ---- the snippet\n{snippet}",
            user = if root {
                "User www-data\nGroup www-data\n"
            } else {
                ""
            },
        ),
        "lighttpd" => format!(
            "server.bind = \"127.0.0.1\"\n\
             server.port = {port}\n\
             server.document-root = \"{lab_dir}/www\"\n\
             server.errorlog = \"{lab_dir}/logs/lighttpd_error.log\"\n\
             server.pid-file = \"{lab_dir}/run/lighttpd.pid\"\n\
             {user}\
             # ---- the snippet\n{snippet}",
            user = if root {
                "server.username = \"www-data\"\nserver.groupname = \"www-data\"\n"
            } else {
                ""
            },
        ),
        "nginx" => {
            let (upstreams, rest) = split_upstreams(snippet);
            nginx_config(lab_dir, &upstreams, &rest, port, root)
        }
        other => panic!("no wrapper for {other}"),
    }
}

/// The `upstream NAME { ... }` blocks of an nginx snippet (they belong in `http`, beside
/// the `server` block), and the rest (which goes in the `server` block).
fn split_upstreams(snippet: &str) -> (String, String) {
    let (mut upstreams, mut rest) = (String::new(), String::new());
    let mut depth = 0usize;
    for line in snippet.lines() {
        if depth > 0 || line.trim_start().starts_with("upstream ") {
            upstreams.push_str(line);
            upstreams.push('\n');
            depth += line.matches('{').count();
            depth -= line.matches('}').count().min(depth);
        } else {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    (upstreams, rest)
}

fn nginx_config(lab_dir: &str, upstreams: &str, snippet: &str, port: u16, root: bool) -> String {
    format!(
        "daemon off;\n\
             pid {lab_dir}/run/nginx.pid;\n\
             error_log {lab_dir}/logs/nginx_error.log info;\n\
             {user}\
             events {{}}\n\
             http {{\n\
             access_log {lab_dir}/logs/nginx_access.log;\n\
             client_body_temp_path {lab_dir}/run/nginx_body;\n\
             fastcgi_temp_path {lab_dir}/run/nginx_fcgi;\n\
             proxy_temp_path {lab_dir}/run/nginx_proxy;\n\
             uwsgi_temp_path {lab_dir}/run/nginx_uwsgi;\n\
             scgi_temp_path {lab_dir}/run/nginx_scgi;\n\
             {upstreams}\
             server {{\n\
             listen 127.0.0.1:{port};\n\
             root {lab_dir}/www;\n\
             # ---- the snippet\n{snippet}\
             }}\n}}\n",
        user = if root { "user www-data;\n" } else { "" },
    )
}

/// Runs one snippet: the lab, the script, the backend, the server, one request. `Err`
/// says what went wrong, with the configuration and the logs.
fn run_snippet(snippet: &Snippet) -> Result<(), String> {
    let recipe = recipe(&snippet.kind)
        .ok_or_else(|| format!("{}: unknown kind {:?}", snippet.place, snippet.kind))?;
    let lab = Lab::new(recipe.kind);
    // The `env` example under the snippet's name: it shows the variables it received.
    let script = lab.path(SCRIPT_DIR).join("greet");
    fs::create_dir_all(lab.path(SCRIPT_DIR)).expect("the lab's cgi-bin");
    for dir in ["lib", SCRIPT_DIR] {
        super::set_mode(&lab.path(dir), 0o755);
    }
    fs::copy(release_examples().join("env"), &script).expect("the script");
    super::set_mode(&script, 0o755);
    let mut processes: Vec<Running> = Vec::new();
    let mut backends = 0;
    let outcome = (|| {
        let port = free_port();
        let addresses: &[&str] = match recipe.backend {
            Backend::Processes(_, addresses) => addresses,
            Backend::Server | Backend::Fcgiwrap => &[],
        };
        let tcp: Vec<(&str, u16)> = addresses
            .iter()
            .filter(|address| !address.starts_with("unix:"))
            .map(|address| (*address, free_port()))
            .collect();
        let text = relocate(&snippet.text, &lab, &tcp);
        // Directories the snippet's sockets go in, as a package would have made them.
        for socket_dir in ["run/greet", "run/lighttpd"] {
            fs::create_dir_all(lab.path(socket_dir)).map_err(|error| error.to_string())?;
            super::set_mode(&lab.path(socket_dir), 0o1777);
        }
        match recipe.backend {
            Backend::Server => {}
            Backend::Fcgiwrap => {
                let socket = lab.path("run/fcgiwrap.socket");
                let mut command = as_server_user(Path::new("/usr/sbin/fcgiwrap"));
                command
                    .args(["-f", "-c", "1", "-s"])
                    .arg(format!("unix:{}", socket.display()));
                let mut fcgiwrap =
                    Running::spawn("fcgiwrap", command, lab.log("fcgiwrap_stderr.log"))?;
                fcgiwrap.children = super::Children::Stop;
                processes.push(fcgiwrap);
                wait_for(|| socket.exists(), "fcgiwrap's socket")?;
            }
            Backend::Processes(option, addresses) => {
                for (index, address) in addresses.iter().enumerate() {
                    let address = relocate(address, &lab, &tcp);
                    let mut command = as_server_user(&script);
                    command.arg(option).arg(&address);
                    let log = lab.path(&format!("logs/greet{index}_stderr.log"));
                    let file = fs::File::create(&log).map_err(|error| error.to_string())?;
                    let mut process = Running::spawn("greet", command, file)?;
                    process.clean_stop = Some(log.clone());
                    processes.push(process);
                    backends += 1;
                    wait_for(
                        || fs::read_to_string(&log).is_ok_and(|text| text.contains(" serving ")),
                        "greet to listen",
                    )?;
                }
            }
        }
        if snippet.language == "nginx" {
            for params in ["fastcgi_params", "scgi_params"] {
                fs::copy(
                    Path::new("/etc/nginx").join(params),
                    lab.path("conf").join(params),
                )
                .map_err(|error| format!("copying /etc/nginx/{params}: {error}"))?;
            }
        }
        let config = wrap(&snippet.language, &text, &lab, port);
        let conf = lab.path("conf").join(format!("{}.conf", snippet.language));
        fs::write(&conf, &config).map_err(|error| error.to_string())?;
        let server = match snippet.language.as_str() {
            "apache" => {
                let mut command = Command::new("/usr/sbin/apache2");
                command.arg("-f").arg(&conf).arg("-DFOREGROUND");
                Running::spawn("apache2", command, lab.log("apache_stdout.log"))?
            }
            "lighttpd" => {
                let mut command = Command::new("/usr/sbin/lighttpd");
                command.arg("-D").arg("-f").arg(&conf);
                let mut lighttpd =
                    Running::spawn("lighttpd", command, lab.log("lighttpd_stdout.log"))?;
                if recipe.kind == Kind::LighttpdFastcgi {
                    lighttpd.children = super::Children::MustExit;
                }
                lighttpd
            }
            _ => start_nginx(&lab, &conf)?,
        };
        processes.push(server);
        let target = if recipe.splits_path_info {
            format!("{}/extra?name=Ada", recipe.prefix)
        } else {
            format!("{}?name=Ada", recipe.prefix)
        };
        let mut expected = vec![
            format!("<tr><th>SCRIPT_NAME</th><td>{}</td></tr>", recipe.prefix),
            "<tr><th>QUERY_STRING</th><td>name=Ada</td></tr>".to_owned(),
        ];
        if recipe.splits_path_info {
            expected.push("<tr><th>PATH_INFO</th><td>/extra</td></tr>".to_owned());
        }
        let answers = |processes: &mut Vec<Running>| -> Result<(), String> {
            let proxy = [("Proxy", "http://evil:1")];
            let deadline = Instant::now() + Duration::from_secs(15);
            let reply = loop {
                if let Some(error) = processes.iter_mut().find_map(Running::exited) {
                    return Err(error);
                }
                match try_http(port, "GET", &target, &proxy, None) {
                    Ok(reply) => break reply,
                    Err(error) if Instant::now() > deadline => {
                        return Err(format!("GET {target}: {error}"));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(50)),
                }
            };
            let page = reply.text();
            let missing: Vec<&String> = expected
                .iter()
                .filter(|row| !page.contains(row.as_str()))
                .collect();
            if reply.status != 200 || !missing.is_empty() || page.contains("<th>HTTP_PROXY</th>") {
                return Err(format!(
                    "GET {target} answered {} (expected 200 with {missing:?} and no HTTP_PROXY):\n{page}",
                    reply.status
                ));
            }
            Ok(())
        };
        answers(&mut processes)
            .map_err(|error| format!("{error}\n---- the configuration:\n{config}"))?;
        if backends > 1 {
            // One machine stops: the others answer every request, whichever nginx tries
            // first.
            let problems = processes.remove(0).stop();
            if !problems.is_empty() {
                return Err(problems.join("\n"));
            }
            for _ in 0..4 {
                answers(&mut processes).map_err(|error| {
                    format!(
                        "with the first backend stopped: {error}\n---- the configuration:\n{config}"
                    )
                })?;
            }
        }
        Ok(())
    })();
    let mut problems = Vec::new();
    while let Some(mut process) = processes.pop() {
        problems.extend(process.stop());
    }
    let logs = log_tails(&lab);
    match outcome {
        Ok(()) if problems.is_empty() => Ok(()),
        Ok(()) => Err(format!("stopping: {}\n{logs}", problems.join("\n"))),
        Err(error) => Err(format!("{error}\n{logs}")),
    }
}

fn wait_for(condition: impl Fn() -> bool, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        if Instant::now() > deadline {
            return Err(format!("waited 10 s for {what}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn log_tails(lab: &Lab) -> String {
    let mut tails = String::new();
    let mut paths: Vec<_> = fs::read_dir(lab.path("logs"))
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    paths.sort();
    for path in paths {
        let text = String::from_utf8_lossy(&fs::read(&path).unwrap_or_default()).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        tails.push_str(&format!("==== {} ====\n", path.display()));
        for line in &lines[lines.len().saturating_sub(20)..] {
            tails.push_str(line);
            tails.push('\n');
        }
    }
    tails
}

/// Runs the snippets of `language` whose servers are installed.
fn run_language(language: &str) {
    let snippets = snippets().unwrap_or_else(|problems| panic!("{}", problems.join("\n")));
    let mut failures = Vec::new();
    let mut ran = 0;
    for snippet in snippets
        .iter()
        .filter(|snippet| snippet.language == language)
    {
        let Some(recipe) = recipe(&snippet.kind) else {
            failures.push(format!(
                "{}: unknown kind {:?}",
                snippet.place, snippet.kind
            ));
            continue;
        };
        if !available(recipe.kind) {
            continue;
        }
        ran += 1;
        if let Err(error) = run_snippet(snippet) {
            failures.push(format!("{} ({}):\n{error}", snippet.place, snippet.kind));
        }
    }
    eprintln!(
        "deployment snippets: {language}: {ran} run, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_server_snippet_is_marked_with_a_known_kind() {
    let snippets = snippets().unwrap_or_else(|problems| panic!("{}", problems.join("\n")));
    for snippet in &snippets {
        assert!(
            recipe(&snippet.kind).is_some(),
            "{}: unknown kind {:?}",
            snippet.place,
            snippet.kind
        );
        let server = snippet.kind.split('-').next().unwrap_or("");
        assert_eq!(
            server, snippet.language,
            "{}: a {} marker on a ```{} block",
            snippet.place, snippet.kind, snippet.language
        );
    }
    let mut kinds: Vec<String> = snippets
        .iter()
        .map(|snippet| {
            format!(
                "{} {}",
                snippet.place.split(':').next().unwrap_or(""),
                snippet.kind
            )
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    // The README's CGI recipes and FastCGI example; the crate docs' CGI recipes and every
    // long-lived one.
    assert_eq!(
        kinds,
        [
            "README.md apache-cgi",
            "README.md lighttpd-cgi",
            "README.md nginx-fastcgi",
            "README.md nginx-fcgiwrap",
            "src/lib.rs apache-cgi",
            "src/lib.rs apache-fastcgi",
            "src/lib.rs lighttpd-cgi",
            "src/lib.rs lighttpd-fastcgi",
            "src/lib.rs nginx-fastcgi",
            "src/lib.rs nginx-fcgiwrap",
            "src/lib.rs nginx-scgi",
            "src/lib.rs nginx-upstream",
        ]
    );
}

#[test]
fn apache_snippets_run_as_written() {
    run_language("apache");
}

#[test]
fn lighttpd_snippets_run_as_written() {
    run_language("lighttpd");
}

#[test]
fn nginx_snippets_run_as_written() {
    run_language("nginx");
}
