"""A server that closes the connection in the middle of its GraphQL answer is a
GraphQLError naming it (a `health` finding), never a traceback (seen in CI under load:
ChunkedEncodingError escaped `wandb-kit health --deep`)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from wandb_local_kit.server import client


class _BreaksOff(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b'20a\r\n{"data":')  # promises 522 bytes, sends 8, then closes
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_an_answer_that_breaks_off_is_a_graphql_error():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _BreaksOff)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        with pytest.raises(client.GraphQLError) as err:
            client.graphql(client.session(), url, "local-" + "k" * 40, "{ viewer { id } }")
        assert "broke off" in str(err.value)
        assert "k" * 40 not in str(err.value)
    finally:
        httpd.shutdown()
        httpd.server_close()
