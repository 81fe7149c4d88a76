"""Edgeflag for Python services: flags evaluated in your process from a snapshot the edge signed.

``Client`` fetches the environment's signed server snapshot from the edge, verifies it
against pinned keys or the edge's JWKS, evaluates flags locally with the Edgeflag engine
(the Rust client, through PyO3), and refreshes it on a background thread. Evaluations
never raise and never wait for the network. ``edgeflag.openfeature.EdgeflagProvider``
puts the same client behind the OpenFeature SDK (``pip install edgeflag[openfeature]``).
"""

from ._edgeflag import (
    Change,
    Client,
    Context,
    EdgeflagError,
    EvaluationDetails,
    __version__,
)

__all__ = [
    "Change",
    "Client",
    "Context",
    "EdgeflagError",
    "EvaluationDetails",
    "__version__",
]
