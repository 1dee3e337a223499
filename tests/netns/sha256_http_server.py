"""The netns tier's HTTP server (tests/netns/proxied.hpp, test_soak.cpp): GET
serves the files of DIRECTORY; PUT reads the body and answers its sha256 (hex
and a newline), so an upload is checked end to end without storing it.

Unlike `python3 -m http.server`, it listens with a backlog of 256, not 5: a
hundred connections at once overflowed the accept queue, the kernel dropped
their SYNs, and on a loaded machine a proxy's upstream connect could run out
of its 10 s before the SYN it retransmitted was taken.

Usage: sha256_http_server.py DIRECTORY ADDRESS PORT
"""
import functools
import hashlib
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "-1"))
        if length < 0:
            self.send_error(411)
            return
        digest, left = hashlib.sha256(), length
        while left:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        if left:
            self.log_message('"PUT %s" body ended %d of %d bytes short', self.path, left, length)
            self.close_connection = True
            return
        body = (digest.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen()'s backlog


directory, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
Server((address, port), functools.partial(Handler, directory=directory)).serve_forever()
