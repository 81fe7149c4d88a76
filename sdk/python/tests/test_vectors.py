"""Every shared vector (``tests/vectors/``) through the Python package's public API.

Each file's snapshot is signed and given to ``Client`` as its bootstrap, so verification runs
too; every case is evaluated with ``evaluate`` (typed when the case says so) or
``evaluate_all`` at the case's time, through the client's ``clock``. Contexts go in as the
Python values the JSON holds (a string context is refused by the client, as the engine
refuses it). Suppressions come from ``tests/vectors/suppressions.json`` under ``python``;
the totals go to the conformance directory as ``python.json``.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import VECTORS, Publisher, conformance_dir
from edgeflag import Client, EvaluationDetails

RUNTIME = "python"
DEFAULT_NOW = 1_795_608_000_000


def same(a: Any, b: Any) -> bool:
    """JSON equality with numbers compared as doubles, and bools never equal to numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def result(details: EvaluationDetails) -> dict[str, Any]:
    out = details.to_dict()
    out.pop("errorMessage", None)
    return out


def run_case(client: Client, case: dict[str, Any]) -> str | None:
    if case.get("all"):
        got = {key: result(d) for key, d in client.evaluate_all(case["context"]).items()}
        expected = case["expectAll"]
    else:
        got = result(client.evaluate(case["flag"], case["context"], case.get("type")))
        expected = case["expect"]
    return None if same(got, expected) else f"expected {json.dumps(expected)}, got {json.dumps(got)}"


def warnings_match(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> bool:
    def fits(e: dict[str, Any], a: dict[str, Any]) -> bool:
        return e["kind"] == a["kind"] and e["key"] == a["key"] and ("path" not in e or e["path"] == a["path"])

    return all(any(fits(e, a) for a in actual) for e in expected) and all(
        any(fits(e, a) for e in expected) for a in actual
    )


def test_every_vector_passes_through_the_python_client() -> None:
    publisher = Publisher("vectors")
    index = json.loads((VECTORS / "index.json").read_text())
    suppressions = json.loads((VECTORS / "suppressions.json").read_text()).get(RUNTIME, [])
    suppressed = {(s["file"], s["case"]) for s in suppressions}
    counts = {"passed": 0, "failed": 0, "suppressed": 0, "total": 0}
    failures: list[str] = []
    now = [DEFAULT_NOW]
    for name in index["files"]:
        doc = json.loads((VECTORS / name).read_text())
        client = Client(
            jwks=publisher.jwks,
            bootstrap=publisher.sign(doc["snapshot"]),
            clock=lambda: now[0],
        )
        if not warnings_match(doc.get("expectWarnings", []), client.warnings):
            failures.append(f"{name}: load warnings {client.warnings}")
        for case in doc["cases"]:
            counts["total"] += 1
            now[0] = case.get("now", DEFAULT_NOW)
            try:
                problem = run_case(client, case)
            except Exception as error:  # a raise is a failed case, not a crashed run
                problem = f"raised {error!r}"
            is_suppressed = (name, case["name"]) in suppressed
            if problem is None and not is_suppressed:
                counts["passed"] += 1
            elif problem is not None and is_suppressed:
                counts["suppressed"] += 1
            else:
                counts["failed"] += 1
                failures.append(f"{name} / {case['name']}: {problem or 'passes but is suppressed'}")
        client.close()
    out = conformance_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{RUNTIME}.json").write_text(json.dumps({"runtime": RUNTIME, **counts}) + "\n")
    print(f"{RUNTIME} vectors: {counts}")
    assert failures == []
    assert counts["passed"] > 500, counts
