"""The Python package against the real thing: the admin binary publishing to the built Worker on
local workerd (``sdk/testing/stack.mjs``, started as the end-to-end suite starts them). An edit in
the admin reaches the client's background refresh thread; a signing-key rotation is followed
through the edge's JWKS; a snapshot tampered with in flight is refused and the last good one keeps
serving.

Needs the built Worker, the admin binary and the Worker package's node; ``cargo xtask test sdks``
provides all three (``EDGEFLAG_ADMIN_BIN``, ``EDGEFLAG_NODE``).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from conftest import ROOT
from edgeflag import Change, Client, EdgeflagError

VISITOR = {"targetingKey": "user-2", "email": "bob@example.org"}
STAFF = {"targetingKey": "user-1", "email": "ada@example.com"}


def required(path: Path, what: str) -> Path:
    assert path.exists(), f"{what} is missing at {path}: run this test through `cargo xtask test sdks`"
    return path


class Stack:
    def __init__(self) -> None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        admin = Path(os.environ.get("EDGEFLAG_ADMIN_BIN", target / "debug" / "edgeflag"))
        node = Path(os.environ.get("EDGEFLAG_NODE", ROOT / "edge-worker" / "node_modules" / ".bin" / "node"))
        required(ROOT / "edge-worker" / "build" / "worker" / "shim.mjs", "the built Worker")
        self.process = subprocess.Popen(
            [str(required(node, "node 22 (edge-worker's npm install)")), str(ROOT / "sdk" / "testing" / "stack.mjs")],
            env={**os.environ, "EDGEFLAG_ADMIN_BIN": str(required(admin, "the admin binary"))},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the stack exited before it was ready (its error is above)"
        self.info: dict[str, Any] = json.loads(line)

    def __getitem__(self, field: str) -> str:
        return self.info[field]

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the stack stops when its input closes
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def request(self, method: str, url: str, body: Any = None, token: Optional[str] = None) -> Any:
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers)) as res:
            text = res.read().decode()
        return json.loads(text) if text.startswith(("{", "[")) else text

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self.request(method, f"{self['admin']}{path}", body if body is not None else {}, self["token"])

    def target(self, default_variation: str) -> None:
        rules = [{"id": "staff", "conditions": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}], "serve": {"variation": "on"}}]
        body = {"enabled": True, "offVariation": "off", "rules": rules, "defaultRule": {"variation": default_variation}}
        self.admin("PUT", f"/v1/projects/{self['project']}/flags/{self['flag']}/environments/{self['environment']}", body)

    def tamper(self, on: bool) -> None:
        self.request("POST", f"{self['edge']}/__tamper", b"on" if on else b"off")

    def edge_kids(self) -> list[str]:
        return [k["kid"] for k in self.request("GET", f"{self['edge']}/.well-known/jwks.json")["keys"]]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    running = Stack()
    yield running
    running.stop()


def wait_for(events: "queue.Queue[Any]", wanted: Callable[[Any], bool], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no such event within 20 s")
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            continue
        if wanted(event):
            return event


def test_follows_the_admin_through_the_worker_and_refuses_tampering(stack: Stack) -> None:
    flag = stack["flag"]
    client = Client(stack["edge"], stack["serverKey"], environment=stack["edgeEnvironment"], refresh_interval=0.1)
    events: "queue.Queue[Any]" = queue.Queue()
    client.on_change(events.put)
    client.on_error(events.put)
    details = client.get_boolean_details(flag, False, STAFF)
    assert (details.value, details.reason, details.rule_id) == (True, "TARGETING_MATCH", "staff")
    assert client.get_boolean_value(flag, True, VISITOR) is False
    # A client that never polls: only the Worker's event stream can tell it of an edit.
    live = Client(stack["edge"], stack["serverKey"], environment=stack["edgeEnvironment"], refresh_interval=0)
    live_events: "queue.Queue[Any]" = queue.Queue()
    live.on_change(live_events.put)

    # An edit in the admin reaches the client's refresh thread.
    before = client.version
    stack.target("on")
    change = wait_for(events, lambda e: isinstance(e, Change) and flag in e.flags)
    assert change.version > before and change.previous_version == before
    assert client.get_boolean_value(flag, False, VISITOR) is True
    streamed = wait_for(live_events, lambda e: isinstance(e, Change) and flag in e.flags)
    assert streamed.version == change.version
    assert live.get_boolean_value(flag, False, VISITOR) is True
    live.close()

    # The signing key rotates; the client fetches the edge's JWKS again and follows.
    kids_before = stack.edge_kids()
    new_kid = stack.admin("POST", "/v1/signing-keys/rotate")["kid"]
    assert new_kid not in kids_before
    stack.target("off")
    wait_for(events, lambda e: isinstance(e, Change) and flag in e.flags)
    assert client.get_boolean_value(flag, True, VISITOR) is False
    assert new_kid in stack.edge_kids()

    # Tampered in flight: refused, reported, and the last good snapshot keeps serving.
    stack.tamper(True)
    held = client.version
    stack.target("on")
    refused = wait_for(events, lambda e: isinstance(e, EdgeflagError))
    assert refused.code == "BAD_SIGNATURE", refused
    assert client.version == held
    assert client.get_boolean_value(flag, True, VISITOR) is False
    with pytest.raises(EdgeflagError):
        client.refresh()
    stack.tamper(False)
    wait_for(events, lambda e: isinstance(e, Change) and flag in e.flags)
    assert client.get_boolean_value(flag, False, VISITOR) is True
    client.close()
