"""Shared test helpers: sign snapshots the way the admin does, with an independent Ed25519
implementation (``cryptography``), and read the shared vectors from ``tests/vectors/``."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Optional

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "vectors"
DEMO = ROOT / "examples" / "demo-snapshot.json"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Publisher:
    """A signing key, as the admin holds one."""

    def __init__(self, kid: str = "test-publisher", seed: Optional[bytes] = None) -> None:
        self.kid = kid
        self.key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()

    @property
    def jwk(self) -> dict[str, str]:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    @property
    def jwks(self) -> str:
        return json.dumps({"keys": [self.jwk]})

    def sign(self, snapshot: dict[str, Any], aud: str = "server", **header: Any) -> str:
        protected = {
            "alg": "EdDSA",
            "typ": "edgeflag-snapshot+jws",
            "kid": self.kid,
            "env": snapshot.get("environment"),
            "ver": snapshot.get("version"),
            "aud": aud,
            **header,
        }
        signing_input = f"{b64url(json.dumps(protected).encode())}.{b64url(json.dumps(snapshot).encode())}"
        signature = self.key.sign(signing_input.encode())
        return f"{signing_input}.{b64url(signature)}"


def demo(version: int = 1, environment: str = "production", default: Optional[str] = None) -> dict[str, Any]:
    """The demo snapshot; `default` sets new-checkout's default rule."""
    doc = json.loads(DEMO.read_text())
    doc["environment"] = environment
    doc["version"] = version
    if default is not None:
        for flag in doc["flags"]:
            if flag["key"] == "new-checkout":
                flag["defaultRule"] = {"variation": default}
    return doc


def conformance_dir() -> Path:
    return Path(os.environ.get("EDGEFLAG_CONFORMANCE_DIR", ROOT / "target" / "conformance"))


@pytest.fixture
def publisher() -> Publisher:
    return Publisher()
