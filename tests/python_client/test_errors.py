"""The client's error table stays equal to the server's, and error answers become typed exceptions."""

from __future__ import annotations

import pytest

from backend import errors as server_errors
from python_client import errors


def test_table_equals_the_servers() -> None:
    ours = {name: (cls.code, cls.class_name) for name, cls in errors.ERRORS.items()}
    theirs = {name: (cls.code, cls.class_name) for name, cls in server_errors.ERRORS.items()}
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(server_errors.ERRORS))
def test_every_server_error_is_rebuilt_with_its_class(name: str) -> None:
    payload = server_errors.ERRORS[name]("boom", data={"x": 1}, errors={"f": "bad"}).to_json()
    err = errors.error_from_json(payload)
    assert type(err) is errors.ERRORS[name]
    assert err.to_json() == payload
    assert isinstance(err, errors.FeathersError) and isinstance(err, errors.PlumeError)


def test_answers_that_are_not_feathers_json_follow_the_status() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    err = errors.error_from_response(502, html, "Bad Gateway")
    assert type(err) is errors.BadGateway and "502 Bad Gateway" in err.message
    assert type(errors.error_from_response(418, b"", "I'm a teapot")) is errors.BadRequest
    assert type(errors.error_from_response(599, b"{not json")) is errors.GeneralError
    assert type(errors.error_from_response(404, b'{"message": "gone"}')) is errors.NotFound
    unknown = errors.error_from_json({"name": "SomethingNew", "message": "m", "code": 409})
    assert type(unknown) is errors.Conflict and unknown.message == "m"


def test_transport_errors_are_also_their_feathers_kin() -> None:
    assert issubclass(errors.ConnectionFailed, errors.Unavailable)
    assert issubclass(errors.RequestTimeout, errors.Timeout)
    for cls in (errors.ConnectionFailed, errors.RequestTimeout):
        assert issubclass(cls, errors.TransportError)
        assert cls.__name__ not in errors.ERRORS


def test_the_clients_own_errors_are_their_feathers_kin() -> None:
    """Errors the client finds in an answer: caught as the Feathers class whose meaning they share."""
    assert issubclass(errors.NoPlumeServer, errors.BadRequest) and errors.NoPlumeServer.code == 400
    assert issubclass(errors.ConversionFailed, errors.Unprocessable)
    assert issubclass(errors.ConversionTimeout, errors.Timeout)
    for cls in (errors.NoPlumeServer, errors.ConversionFailed, errors.ConversionTimeout):
        assert cls.__name__ not in errors.ERRORS and not issubclass(cls, errors.TransportError)
    failed = errors.ConversionFailed("boom", {"tfjs": {"status": "error", "error": "bad"}})
    assert str(failed) == "ConversionFailed (422): boom" and failed.conversions["tfjs"]["error"] == "bad"
