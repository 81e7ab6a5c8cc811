"""The app's server start on a port another program holds: one line, and never that program's address."""

from __future__ import annotations

import http.server
import subprocess
import threading

import pytest

from experiments.app import server


@pytest.fixture
def other_program():
    """A plain HTTP server answering 200 on a free local port: (host, port, url)."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>another program</html>")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield host, port, f"http://{host}:{port}/"
    httpd.shutdown()
    httpd.server_close()


def _never_started(*args, **kwargs):
    raise AssertionError("the server must not be started on a port in use")


def test_port_in_use_tells_a_held_port_from_a_free_one(other_program):
    host, port, _ = other_program
    assert server.port_in_use(host, port)
    assert not server.port_in_use(host, server.free_port(host))


def test_serve_on_a_held_port_says_so_in_one_line_and_starts_nothing(other_program, monkeypatch, capsys):
    host, port, url = other_program
    monkeypatch.setattr(subprocess, "Popen", _never_started)
    assert server.serve(host, port) == 1
    out, err = capsys.readouterr()
    assert url not in out  # before, the other program's address was printed as the app's
    assert err.strip().count("\n") == 0
    assert f"port {port} on {host} is in use by another program" in err and "--port" in err


def test_running_server_on_a_held_port_raises_before_starting(other_program, monkeypatch):
    host, port, _ = other_program
    monkeypatch.setattr(subprocess, "Popen", _never_started)
    with pytest.raises(RuntimeError, match=f"port {port} .* in use"):
        with server.running_server(host, port):
            pass


def test_wait_until_up_refuses_a_page_that_is_not_the_app(other_program):
    _, _, url = other_program

    class Running:  # a server process still starting
        returncode = None

        def poll(self):
            return None

    with pytest.raises(RuntimeError, match="another program answers"):
        server.wait_until_up(url, Running(), timeout_s=5.0)


def test_a_solara_page_is_recognised_and_a_plain_one_is_not():
    assert server._is_the_app(b'<script src="/_solara/cdn/solara-vuetify-app.js"></script>')
    assert not server._is_the_app(b"<html>another program</html>")
