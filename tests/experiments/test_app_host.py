"""``carry-unwind app --host``: a host that is well-formed but cannot be listened on (no such address,
no such name, another machine's address) is refused in one line naming --host, before the server starts,
instead of the server failing and the command blaming the port."""

from __future__ import annotations

import pytest

from experiments.app import server
from experiments.cli import app as app_command
from experiments.cli import main
from experiments.cli.common import EXIT_USAGE


def _never_served(*args, **kwargs):
    raise AssertionError("a bad --host must not start the server")


@pytest.mark.parametrize(
    "host",
    [
        "999.1.1.1",  # the reviewer's case: passes the name syntax, fails as the server starts
        "1.2.3",  # not four numbers (the resolver would read it as 1.2.0.3)
        "256.0.0.1",
        "no-such-host.invalid",  # RFC 6761: never resolves
        "192.0.2.1",  # TEST-NET-1: a valid address, but not this machine's
    ],
)
def test_a_host_that_cannot_be_listened_on_is_one_line_naming_host(capsys, monkeypatch, host):
    monkeypatch.setattr(app_command, "serve", _never_served)
    status = main(["app", "--host", host])
    err = capsys.readouterr().err
    assert status == EXIT_USAGE, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"carry-unwind: error: --host = {host!r} is not allowed; ")
    assert "0.0.0.0" in lines[0] and "port" not in lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0"])
def test_hosts_of_this_machine_pass_and_reach_the_server(monkeypatch, host):
    assert server.host_problem(host) is None
    reached = []
    monkeypatch.setattr(app_command, "serve", lambda *a: reached.append(a) or 0)
    monkeypatch.setattr(app_command, "require_extra", lambda *a, **k: None)
    assert main(["app", "--host", host]) == 0
    assert reached and reached[0][0] == host


def test_host_problem_says_what_is_wrong():
    assert "not an IP address" in server.host_problem("999.1.1.1")
    assert "not an address of this machine" in server.host_problem("192.0.2.1")
    assert "no host of that name" in server.host_problem("no-such-host.invalid")
