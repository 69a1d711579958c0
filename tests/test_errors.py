"""The Feathers error table and its JSON round trip."""

from __future__ import annotations

import pytest

from backend import errors

TABLE = {
    "BadRequest": 400, "NotAuthenticated": 401, "PaymentError": 402, "Forbidden": 403, "NotFound": 404,
    "MethodNotAllowed": 405, "NotAcceptable": 406, "Timeout": 408, "Conflict": 409, "Gone": 410,
    "LengthRequired": 411, "PayloadTooLarge": 413, "Unprocessable": 422, "TooManyRequests": 429,
    "GeneralError": 500, "NotImplemented": 501, "BadGateway": 502, "Unavailable": 503,
}


def test_table_is_complete() -> None:
    assert {name: cls.code for name, cls in errors.ERRORS.items()} == TABLE
    assert errors.ERRORS["NotAuthenticated"].class_name == "not-authenticated"
    assert errors.ERRORS["GeneralError"].class_name == "general-error"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_json_round_trip(name: str) -> None:
    err = errors.ERRORS[name]("boom", data={"x": 1}, errors={"f": "bad"})
    payload = err.to_json()
    assert payload == {"name": name, "message": "boom", "code": TABLE[name], "className": err.class_name,
                       "data": {"x": 1}, "errors": {"f": "bad"}}
    back = errors.FeathersError.from_json(payload)
    assert type(back) is type(err) and back.to_json() == payload


def test_unexpected_exceptions_hide_internals() -> None:
    out = errors.convert(KeyError("secret internals")).to_json()
    assert out == {"name": "GeneralError", "message": "Internal server error", "code": 500,
                   "className": "general-error"}
