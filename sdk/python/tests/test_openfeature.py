"""The OpenFeature provider through ``openfeature-sdk``'s own client: values and details,
errors as OpenFeature error codes with the caller's default, change events, and a provider
that starts its own client (or fails to)."""

from __future__ import annotations

from typing import Iterator

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent
from openfeature.exception import ErrorCode, ProviderFatalError
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus

from conftest import Publisher, demo
from edgeflag import Client
from edgeflag.openfeature import EdgeflagProvider

STAFF = EvaluationContext("user-2", {"email": "ada@example.com"})


@pytest.fixture(autouse=True)
def fresh_api() -> Iterator[None]:
    yield
    api.clear_providers()
    api.clear_hooks()


def test_resolves_through_the_openfeature_client(publisher: Publisher) -> None:
    client = Client(jwks=publisher.jwks, bootstrap=publisher.sign(demo(1)))
    api.set_provider_and_wait(EdgeflagProvider(client))
    flags = api.get_client()
    assert flags.get_boolean_value("new-checkout", False, STAFF) is True
    details = flags.get_boolean_details("new-checkout", False, STAFF)
    assert (details.value, details.variant, details.reason) == (True, "on", Reason.TARGETING_MATCH)
    assert details.flag_metadata == {"flagVersion": 3, "ruleId": "staff"}
    apps = EvaluationContext("user-1", {"appVersion": "4.10.1"})
    assert flags.get_integer_value("search-results-per-page", 7, apps) == 25
    assert flags.get_float_value("search-results-per-page", 7.0, apps) == 25.0
    assert flags.get_object_value("pricing-page", {}, apps) == {"highlight": None, "layout": "table"}
    missing = flags.get_boolean_details("no-such-flag", True, STAFF)
    assert (missing.value, missing.error_code, missing.reason) == (True, ErrorCode.FLAG_NOT_FOUND, Reason.ERROR)
    mismatch = flags.get_string_details("new-checkout", "dflt", STAFF)
    assert (mismatch.value, mismatch.error_code) == ("dflt", ErrorCode.TYPE_MISMATCH)


def test_a_new_snapshot_is_a_configuration_change(publisher: Publisher) -> None:
    client = Client(jwks=publisher.jwks, bootstrap=publisher.sign(demo(1)))
    api.set_provider_and_wait(EdgeflagProvider(client))
    changed = []
    api.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, lambda details: changed.append(details.flags_changed))
    client.update(publisher.sign(demo(2, default="on")))
    assert changed == [["new-checkout"]]


def test_the_provider_starts_its_own_client_or_reports_it_fatal(publisher: Publisher, tmp_path) -> None:
    path = tmp_path / "snapshot.jws"
    path.write_text(publisher.sign(demo(1)))
    api.set_provider_and_wait(EdgeflagProvider(jwks=publisher.jwks, bootstrap_file=str(path)))
    assert api.get_client().get_provider_status() == ProviderStatus.READY
    assert api.get_client().get_boolean_value("new-checkout", False, STAFF) is True
    with pytest.raises(ProviderFatalError):
        api.set_provider_and_wait(EdgeflagProvider(jwks=Publisher("other").jwks, bootstrap_file=str(path)))
    flags = api.get_client()
    assert flags.get_provider_status() in {ProviderStatus.FATAL, ProviderStatus.ERROR}
    assert flags.get_boolean_value("new-checkout", False, STAFF) is False
    with pytest.raises(TypeError):
        EdgeflagProvider(Client(jwks=publisher.jwks, bootstrap_file=str(path)), url="http://x")
