/* The C reference for bench/throughput.sh: the hello response, with one write. */
#include <unistd.h>

int main(void) {
    static const char response[] =
        "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nHello, world!\n";
    return write(1, response, sizeof response - 1) == (ssize_t)(sizeof response - 1) ? 0 : 1;
}
