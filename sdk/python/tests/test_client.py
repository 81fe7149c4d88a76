"""The client offline, from signed bootstraps: typed getters and details, defaults on errors,
contexts, evaluate-all, updates and change callbacks, refusals, and the package's typing."""

from __future__ import annotations

import base64
import importlib.resources
import json
import threading

import pytest

import edgeflag
from conftest import Publisher, b64url, demo
from edgeflag import Client, Context, EdgeflagError

STAFF = {"targetingKey": "user-2", "email": "ada@example.com"}
VISITOR = {"targetingKey": "user-2", "email": "bob@example.org"}


@pytest.fixture
def client(publisher: Publisher) -> Client:
    return Client(jwks=publisher.jwks, bootstrap=publisher.sign(demo(1)), environment="production")


def test_typed_getters_and_details(client: Client) -> None:
    assert client.get_boolean_value("new-checkout", False, STAFF) is True
    details = client.get_boolean_details("new-checkout", False, STAFF)
    assert (details.flag_key, details.value, details.variant, details.reason) == (
        "new-checkout",
        True,
        "on",
        "TARGETING_MATCH",
    )
    assert (details.rule_id, details.rule_index, details.flag_version, details.error_code) == ("staff", 0, 3, None)
    apps = {"targetingKey": "user-1", "appVersion": "4.10.1"}
    assert client.get_integer_value("search-results-per-page", 7, apps) == 25
    assert client.get_float_value("search-results-per-page", 7.0, apps) == 25.0
    assert isinstance(client.get_float_value("search-results-per-page", 7.0, apps), float)
    assert client.get_object_value("pricing-page", {}, VISITOR) == {"highlight": None, "layout": "table"}
    banner = client.get_string_details("checkout-banner", "dflt", {"targetingKey": "user-1"})
    assert (banner.reason, banner.failed_prerequisite, banner.value) == ("DISABLED", "new-checkout", "")


def test_errors_are_data_with_the_default(client: Client) -> None:
    missing = client.get_boolean_details("no-such-flag", True, STAFF)
    assert (missing.value, missing.reason, missing.error_code) == (True, "ERROR", "FLAG_NOT_FOUND")
    assert "no-such-flag" in missing.error_message
    mismatch = client.get_string_details("new-checkout", "dflt", STAFF)
    assert (mismatch.value, mismatch.error_code) == ("dflt", "TYPE_MISMATCH")
    assert client.get_string_value("new-checkout", "dflt", STAFF) == "dflt"
    refused = client.get_boolean_details("new-checkout", False, {"targetingKey": 42})
    assert (refused.value, refused.error_code) == (False, "INVALID_CONTEXT")
    odd = client.get_boolean_details("new-checkout", False, {"at": {1, 2}})
    assert odd.error_code == "INVALID_CONTEXT" and "set" in odd.error_message
    huge = client.get_boolean_details("new-checkout", False, {"at": 10**400})
    assert huge.error_code == "INVALID_CONTEXT" and "too large" in huge.error_message
    untyped = client.evaluate("no-such-flag", STAFF)
    assert (untyped.value, untyped.error_code) == (None, "FLAG_NOT_FOUND")
    assert client.evaluate("new-checkout", "a string").error_code == "INVALID_CONTEXT"
    with pytest.raises(ValueError):
        client.evaluate("new-checkout", STAFF, "json")


def test_contexts_prebuilt_or_converted(client: Client) -> None:
    ctx = Context(targeting_key="user-2", email="ada@example.com")
    assert ctx.targeting_key == "user-2"
    assert client.get_boolean_value("new-checkout", False, ctx) is True
    assert client.get_boolean_value("new-checkout", False, Context(STAFF)) is True
    nested = {"targetingKey": "user-1", "plan": "beta", "address": {"country": "DE"}}
    assert client.evaluate("new-checkout", nested).rule_id == "beta-in-europe"
    with pytest.raises(ValueError):
        Context({"targetingKey": 7})


def test_evaluate_all_and_listing(client: Client) -> None:
    everything = client.evaluate_all(VISITOR)
    assert sorted(everything) == ["checkout-banner", "new-checkout", "pricing-page", "search-results-per-page"]
    assert everything["pricing-page"].value == {"highlight": None, "layout": "table"}
    assert everything["new-checkout"].to_dict()["reason"] in {"SPLIT", "DEFAULT", "TARGETING_MATCH"}
    listing = {f["key"]: f for f in client.flags()}
    assert listing["new-checkout"]["type"] == "boolean" and listing["new-checkout"]["version"] == 3
    assert (client.version, client.environment, client.warnings) == (1, "production", [])


def test_updates_announce_changes_and_refusals_keep_the_snapshot(publisher: Publisher, client: Client) -> None:
    seen = []
    client.on_change(seen.append)
    change = client.update(publisher.sign(demo(2, default="on")))
    assert change is not None and (change.version, change.previous_version, change.flags) == (2, 1, ["new-checkout"])
    assert [c.version for c in seen] == [2]
    assert client.get_boolean_value("new-checkout", False, VISITOR) is True
    assert client.update(publisher.sign(demo(2, default="on"))) is None
    for token, code in [
        (publisher.sign(demo(1, default="off")), "STALE_SNAPSHOT"),
        (publisher.sign(demo(3, default="off"), aud="client"), "WRONG_SNAPSHOT"),
        (publisher.sign(demo(3, environment="staging", default="off")), "WRONG_SNAPSHOT"),
        (Publisher("stranger").sign(demo(3, default="off")), "UNKNOWN_KEY"),
        ("not.a.jws", "MALFORMED"),
    ]:
        with pytest.raises(EdgeflagError) as refused:
            client.update(token)
        assert refused.value.code == code, refused.value
    header, payload, signature = publisher.sign(demo(3, default="off")).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["flags"][0]["enabled"] = not forged["flags"][0]["enabled"]
    with pytest.raises(EdgeflagError) as refused:
        client.update(f"{header}.{b64url(json.dumps(forged).encode())}.{signature}")
    assert refused.value.code == "BAD_SIGNATURE"
    assert client.version == 2 and client.get_boolean_value("new-checkout", False, VISITOR) is True


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_failing_callback_does_not_stop_the_others(publisher: Publisher, client: Client) -> None:
    seen = []

    def broken(change: edgeflag.Change) -> None:
        raise RuntimeError("listener bug")

    client.on_change(broken)
    listener = client.on_change(lambda c: seen.append(c.version))
    client.update(publisher.sign(demo(2)))
    assert client.remove_listener(listener) is True
    client.update(publisher.sign(demo(3)))
    assert seen == [2]


def test_construction_errors_raise(publisher: Publisher, tmp_path) -> None:
    with pytest.raises(EdgeflagError) as no_keys:
        Client(bootstrap=publisher.sign(demo(1)))
    assert no_keys.value.code == "CONFIG"
    with pytest.raises(EdgeflagError) as wrong:
        Client(jwks=Publisher("other").jwks, bootstrap=publisher.sign(demo(1)))
    assert wrong.value.code == "UNKNOWN_KEY"
    with pytest.raises(EdgeflagError) as missing:
        Client(jwks=publisher.jwks, bootstrap_file=tmp_path / "nope.jws")
    assert missing.value.code == "BOOTSTRAP"
    path = tmp_path / "snapshot.jws"
    path.write_text(publisher.sign(demo(4)))
    with Client(jwks=json.loads(publisher.jwks), bootstrap_file=path) as client:
        assert client.version == 4
        with pytest.raises(EdgeflagError) as offline:
            client.refresh()
        assert offline.value.code == "CONFIG"
    assert client.closed
    assert client.get_boolean_value("new-checkout", False, STAFF) is True, "a closed client still evaluates"
    with pytest.raises(ValueError):
        Client(jwks=publisher.jwks, bootstrap=publisher.sign(demo(1)), refresh_interval=-1)


def test_evaluations_from_many_threads(client: Client) -> None:
    results: list[bool] = []

    def work() -> None:
        results.extend(client.get_boolean_value("new-checkout", False, STAFF) for _ in range(500))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 2000


def test_the_package_is_typed() -> None:
    files = importlib.resources.files("edgeflag")
    assert files.joinpath("py.typed").is_file()
    assert "def get_boolean_details" in files.joinpath("_edgeflag.pyi").read_text()
    assert edgeflag.__version__
