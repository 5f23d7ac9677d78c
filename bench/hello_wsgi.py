#!/usr/bin/python3
"""Reference point for bench/startup.sh: the hello script as a Python WSGI app under CGI.

It answers with the same bytes as examples/hello.rs, through the standard library's
wsgiref.handlers.CGIHandler (what a `#!/usr/bin/python3` CGI script would use).
"""

from wsgiref.handlers import CGIHandler

BODY = b"Hello, world!\n"


def app(environ, start_response):
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(BODY))),
        ],
    )
    return [BODY]


if __name__ == "__main__":
    CGIHandler().run(app)
