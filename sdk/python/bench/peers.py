"""Edgeflag's Python package against other server SDKs that evaluate locally, in one process.

Every SDK gets the same flag, bootstrapped offline (no network, no events, no metrics):
``new-checkout`` is a boolean whose rule serves ``true`` to emails ending in ``@example.com``
and splits everyone else 50/50 by user key. Timed: one evaluation *with details* for a user
the rule matches, and for one the split decides, with the context passed on each call the way
each SDK takes it; then loading 1,000 such flags from a bootstrap. Run (after
``cargo xtask python-wheel`` and ``pip install`` of the wheel and ``bench/requirements.txt``)::

    python sdk/python/bench/peers.py

Peers: ``UnleashClient`` (its engine is Yggdrasil, Rust, through FFI), ``launchdarkly-server-sdk``
(its file data source) and ``growthbook`` (features given to the constructor).
"""

from __future__ import annotations

import base64
import json
import logging
import platform
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import edgeflag

logging.disable(logging.CRITICAL)
STAFF = {"targetingKey": "user-2", "email": "ada@example.com"}
VISITOR = {"targetingKey": "user-7", "email": "bob@example.org"}
TMP = Path(tempfile.mkdtemp(prefix="edgeflag-bench-"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- Edgeflag -------------------------------------------------------------------------------

KEY = Ed25519PrivateKey.generate()
JWKS = json.dumps(
    {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "kid": "bench",
                "x": b64url(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
            }
        ]
    }
)


def edgeflag_flag(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "version": 1,
        "type": "boolean",
        "enabled": True,
        "variations": [{"key": "on", "value": True}, {"key": "off", "value": False}],
        "offVariation": "off",
        "rules": [
            {
                "id": "staff",
                "conditions": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}],
                "serve": {"variation": "on"},
            }
        ],
        "defaultRule": {"rollout": {"variations": [{"variation": "on", "weight": 50000}, {"variation": "off", "weight": 50000}]}},
    }


def edgeflag_token(keys: list[str], version: int = 1) -> str:
    snapshot = {
        "schemaVersion": 1,
        "environment": "bench",
        "version": version,
        "generatedAt": "2026-11-25T12:00:00Z",
        "flags": [edgeflag_flag(k) for k in keys],
    }
    header = {"alg": "EdDSA", "typ": "edgeflag-snapshot+jws", "kid": "bench", "env": "bench", "ver": version, "aud": "server"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(snapshot).encode())}"
    return f"{signing_input}.{b64url(KEY.sign(signing_input.encode()))}"


def edgeflag_client(keys: list[str]) -> edgeflag.Client:
    return edgeflag.Client(jwks=JWKS, bootstrap=edgeflag_token(keys), refresh_interval=0)


# --- Unleash (Yggdrasil through FFI) ---------------------------------------------------------


def unleash_features(keys: list[str]) -> dict[str, Any]:
    def feature(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "enabled": True,
            "strategies": [
                {
                    "name": "flexibleRollout",
                    "parameters": {"rollout": "100", "stickiness": "default", "groupId": name},
                    "constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]}],
                },
                {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId", "groupId": name}},
            ],
        }

    return {"version": 1, "features": [feature(k) for k in keys]}


def unleash_client(keys: list[str]) -> Any:
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache
    from UnleashClient.utils import InstanceAllowType

    cache = FileCache("edgeflag-bench", directory=str(TMP / f"unleash-{len(keys)}"))
    cache.bootstrap_from_dict(unleash_features(keys))
    client = UnleashClient(
        url="http://127.0.0.1:9",
        app_name="edgeflag-bench",
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )
    client.initialize_client(fetch_toggles=False)
    return client


def unleash_context(ctx: dict[str, str]) -> dict[str, str]:
    return {"userId": ctx["targetingKey"], "properties": {"email": ctx["email"]}}


# --- LaunchDarkly ----------------------------------------------------------------------------


def launchdarkly_flags(keys: list[str]) -> dict[str, Any]:
    def flag(key: str) -> dict[str, Any]:
        return {
            "key": key,
            "version": 1,
            "on": True,
            "variations": [True, False],
            "offVariation": 1,
            "targets": [],
            "prerequisites": [],
            "rules": [
                {
                    "id": "staff",
                    "clauses": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"], "negate": False}],
                    "variation": 0,
                }
            ],
            "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}},
            "salt": key,
        }

    return {"flags": {k: flag(k) for k in keys}}


def launchdarkly_client(keys: list[str]) -> Any:
    from ldclient.client import LDClient
    from ldclient.config import Config
    from ldclient.integrations import Files

    path = TMP / f"launchdarkly-{len(keys)}.json"
    path.write_text(json.dumps(launchdarkly_flags(keys)))
    config = Config(
        sdk_key="edgeflag-bench",
        update_processor_class=Files.new_data_source(paths=[str(path)]),
        send_events=False,
        diagnostic_opt_out=True,
    )
    return LDClient(config=config, start_wait=5)


def launchdarkly_context(ctx: dict[str, str]) -> Any:
    from ldclient import Context

    return Context.builder(ctx["targetingKey"]).set("email", ctx["email"]).build()


# --- GrowthBook ------------------------------------------------------------------------------


def growthbook_features(keys: list[str]) -> dict[str, Any]:
    def feature(key: str) -> dict[str, Any]:
        return {
            "defaultValue": False,
            "rules": [
                {"id": "staff", "condition": {"email": {"$regex": "@example\\.com$"}}, "force": True},
                {"id": "split", "force": True, "coverage": 0.5, "hashAttribute": "id", "seed": key},
            ],
        }

    return {k: feature(k) for k in keys}


def growthbook_client(keys: list[str], ctx: dict[str, str]) -> Any:
    from growthbook import GrowthBook

    return GrowthBook(attributes=growthbook_context(ctx), features=growthbook_features(keys))


def growthbook_context(ctx: dict[str, str]) -> dict[str, str]:
    return {"id": ctx["targetingKey"], "email": ctx["email"]}


# --- timing ----------------------------------------------------------------------------------


# CPU time of this process (every thread of it), not wall-clock time: the machine these figures
# come from is shared, and time spent descheduled is not the SDK's. On an idle machine the two agree.
CLOCK = time.process_time


def per_call(fn: Callable[[], Any], number: int = 200_000) -> float:
    """The best of five runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5, timer=CLOCK)) / number * 1e6


def once(fn: Callable[[], Any], repeat: int = 5) -> float:
    """The best of `repeat` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = CLOCK()
        fn()
        best = min(best, CLOCK() - started)
    return best * 1e3


def evaluations() -> list[tuple[str, str, float]]:
    keys = ["new-checkout"]
    ef = edgeflag_client(keys)
    un = unleash_client(keys)
    ld = launchdarkly_client(keys)
    rows = []
    for who, ctx in [("rule match", STAFF), ("50/50 split", VISITOR)]:
        gb = growthbook_client(keys, ctx)
        ef_ctx = edgeflag.Context(ctx)
        un_ctx = unleash_context(ctx)
        ld_ctx = launchdarkly_context(ctx)
        if who == "rule match":
            assert ef.get_boolean_details("new-checkout", False, ctx).value is True
            assert un.get_variant("new-checkout", un_ctx)["feature_enabled"] is True
            assert ld.variation_detail("new-checkout", ld_ctx, False).value is True
            assert gb.eval_feature("new-checkout").value is True
        rows += [
            (who, "edgeflag get_boolean_details (dict context)", per_call(lambda: ef.get_boolean_details("new-checkout", False, ctx))),
            (who, "edgeflag get_boolean_details (prebuilt Context)", per_call(lambda: ef.get_boolean_details("new-checkout", False, ef_ctx))),
            (who, "edgeflag get_boolean_value (dict context)", per_call(lambda: ef.get_boolean_value("new-checkout", False, ctx))),
            (who, "UnleashClient get_variant", per_call(lambda: un.get_variant("new-checkout", un_ctx), 50_000)),
            (who, "launchdarkly variation_detail", per_call(lambda: ld.variation_detail("new-checkout", ld_ctx, False), 50_000)),
            (who, "growthbook eval_feature (attributes set once)", per_call(lambda: gb.eval_feature("new-checkout"), 50_000)),
        ]
    un.destroy()
    ld.close()
    return rows


def loading() -> list[tuple[str, float]]:
    keys = [f"flag-{i:04d}" for i in range(1000)]
    token = edgeflag_token(keys)
    ef = edgeflag_client(keys)
    newer = [edgeflag_token(keys, version) for version in range(2, 8)]
    updates = iter(newer)
    features = growthbook_features(keys)

    def growthbook_load() -> None:
        from growthbook import GrowthBook

        GrowthBook(attributes=growthbook_context(STAFF), features=features).eval_feature("flag-0000")

    rows = [
        ("edgeflag Client(bootstrap=…): verify, load, start", once(lambda: edgeflag.Client(jwks=JWKS, bootstrap=token, refresh_interval=0).close())),
        ("edgeflag update(newer snapshot): verify, load, diff", once(lambda: ef.update(next(updates)))),
        ("UnleashClient bootstrap_from_dict + initialize_client", once(lambda: unleash_client(keys).destroy())),
        ("launchdarkly LDClient from a flag file", once(lambda: launchdarkly_client(keys).close())),
        ("growthbook GrowthBook(features=…) + first eval", once(growthbook_load)),
    ]
    return rows


def main() -> None:
    print(
        f"# {platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
        f"edgeflag {edgeflag.__version__}; CPU time per call (time.process_time)"
    )
    print("\n| context | call | µs per call |\n|---|---|---:|")
    for who, name, us in evaluations():
        print(f"| {who} | {name} | {us:.2f} |")
    print("\n| loading 1,000 flags | ms (best of 5) |\n|---|---:|")
    for name, ms in loading():
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
