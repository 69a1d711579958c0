"""The realtime connection's state machine (``python_client.connection.Machine``), without a socket.

Both shells drive it against a real server in ``test_datastore.py`` and ``test_auth.py``; here each
transition is pinned, whichever order the socket's ``connect`` and the server's ``init`` come in.
"""

from __future__ import annotations

from python_client.auth import Credentials
from python_client.connection import Authenticate, Machine, Ready, State
from python_client.errors import NotAuthenticated

REFUSED = {"name": "NotAuthenticated", "message": "Invalid API key", "code": 401, "className": "not-authenticated"}


def test_anonymous_ready_after_connect_and_init_in_either_order() -> None:
    for first, second in (("connected", "init"), ("init", "connected")):
        machine = Machine(Credentials())
        machine.open()
        assert machine.state is State.CONNECTING

        def report(event: str, machine: Machine = machine) -> object:
            return machine.connected() if event == "connected" else machine.init({"auth": False})

        assert report(first) is None
        assert report(second) == Ready() and machine.state is State.READY and machine.lives == 1
    machine = Machine(Credentials())
    machine.open()
    assert machine.connected() is None and machine.state is State.WAITING_INIT


def test_credentials_are_sent_when_the_server_has_auth_on() -> None:
    machine = Machine(Credentials("key-1"))
    machine.open()
    machine.connected()
    assert machine.init({"auth": True}) == Authenticate({"strategy": "api-key", "apiKey": "key-1"})
    assert machine.state is State.AUTHENTICATING
    assert machine.answered(None, {"accessToken": "t"}) == Ready() and machine.auth_error is None
    assert machine.logged_in and machine.logs_out()


def test_a_refused_authentication_is_kept() -> None:
    machine = Machine(Credentials("bad"))
    machine.open()
    machine.connected()
    machine.init({"auth": True})
    assert machine.answered(REFUSED) == Ready()
    assert isinstance(machine.auth_error, NotAuthenticated) and not machine.logged_in


def test_reconnections_authenticate_again_and_close_ends_it() -> None:
    credentials = Credentials()
    machine = Machine(credentials)
    machine.open()
    machine.connected()
    assert machine.init({"auth": True}) == Ready()  # no credentials: anonymous
    credentials.set_token("jwt")
    assert machine.reauthenticate() == Authenticate({"strategy": "jwt", "accessToken": "jwt"})
    machine.answered()
    machine.disconnected("transport close")
    assert machine.state is State.RECONNECTING and machine.reauthenticate() is None
    machine.connected()
    assert machine.init({"auth": True}) == Authenticate({"strategy": "jwt", "accessToken": "jwt"})
    assert machine.lives == 2
    machine.close()
    assert machine.answered() is None and machine.state is State.CLOSED
    machine.disconnected()
    assert machine.state is State.CLOSED and machine.connected() is None
