// The Go reference for bench/fastcgi.sh: the hello response from a FastCGI responder
// written with the standard library's net/http/fcgi, listening on a unix socket.
//
//	go build -o hello_fcgi bench/hello_fcgi.go
//	./hello_fcgi /path/to/hello_fcgi.sock
//
// It answers every request with the same status, headers and body as examples/hello.rs
// ("200 OK", text/plain; charset=utf-8, Content-Length 14, "Hello, world!\n"). One
// difference is net/http/fcgi's and cannot be turned off: it always adds a Date header
// to the FastCGI response (nginx then passes that Date on instead of adding its own, so
// the HTTP response a client sees has the same header lines either way).
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"os/signal"
	"syscall"
)

const body = "Hello, world!\n"

func hello(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Content-Length"] = []string{"14"}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hello_fcgi SOCKET_PATH")
		os.Exit(2)
	}
	path := os.Args[1]
	os.Remove(path) // a stale socket file from an earlier run
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello_fcgi:", err)
		os.Exit(1)
	}
	// SIGTERM/SIGINT: close the listener (which removes the socket file) and exit 0.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ln.Close()
		fmt.Fprintln(os.Stderr, "hello_fcgi: stopped")
		os.Exit(0)
	}()
	fmt.Fprintf(os.Stderr, "hello_fcgi: serving FastCGI on unix:%s\n", path)
	if err := fcgi.Serve(ln, http.HandlerFunc(hello)); err != nil {
		fmt.Fprintln(os.Stderr, "hello_fcgi:", err)
		os.Exit(1)
	}
}
