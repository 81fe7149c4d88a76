"""An OpenFeature provider for ``openfeature-sdk``: the Edgeflag client behind OpenFeature's API.

.. code-block:: python

    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from edgeflag.openfeature import EdgeflagProvider

    api.set_provider(EdgeflagProvider(url="https://flags.example.com", server_key=key))
    client = api.get_client()
    client.get_boolean_value("new-checkout", False, EvaluationContext("user-2", {"email": "ada@example.com"}))

Engine errors are raised as OpenFeature's exceptions (``FlagNotFoundError``, ``TypeMismatchError``,
…), which the OpenFeature client turns into the default value with the error code, as its
contract asks of providers. A newer snapshot is announced as ``PROVIDER_CONFIGURATION_CHANGED``
with the changed flags.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode, ProviderFatalError
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from ._edgeflag import Change, Client, EdgeflagError, EvaluationDetails

__all__ = ["EdgeflagProvider"]

_REASONS = {reason.value: reason for reason in Reason}


def _context(evaluation_context: EvaluationContext | None) -> dict[str, typing.Any] | None:
    if evaluation_context is None:
        return None
    attributes = dict(evaluation_context.attributes)
    if evaluation_context.targeting_key is not None:
        attributes["targetingKey"] = evaluation_context.targeting_key
    return attributes


def _resolution(details: EvaluationDetails) -> FlagResolutionDetails[typing.Any]:
    if details.error_code is not None:
        raise ErrorCode.to_exception(ErrorCode(details.error_code), details.error_message or "")
    metadata: dict[str, typing.Any] = {}
    if details.flag_version is not None:
        metadata["flagVersion"] = details.flag_version
    if details.rule_id is not None:
        metadata["ruleId"] = details.rule_id
    return FlagResolutionDetails(
        value=details.value,
        reason=_REASONS.get(details.reason, details.reason),
        variant=details.variant,
        flag_metadata=metadata,
    )


class EdgeflagProvider(AbstractProvider):
    """Evaluates locally with an Edgeflag ``Client``.

    Pass a started ``client``, or the ``Client`` options (``url``, ``server_key``, ``jwks``,
    ``bootstrap_file``, …) and the provider starts one in ``initialize``; a client that cannot
    start makes the provider's status ``FATAL``.
    """

    def __init__(self, client: Client | None = None, **client_options: typing.Any) -> None:
        super().__init__()
        if client is not None and client_options:
            raise TypeError("give a started client or client options, not both")
        self._client = client
        self._options = client_options
        self._listener: int | None = None
        if client is not None:
            self._listen(client)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise ProviderFatalError("the provider has not been initialized")
        return self._client

    def get_metadata(self) -> Metadata:
        return Metadata(name="edgeflag")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        if self._client is not None:
            return
        try:
            self._client = Client(**self._options)
        except EdgeflagError as error:
            raise ProviderFatalError(f"{error.code}: {error}") from error
        self._listen(self._client)

    def shutdown(self) -> None:
        if self._client is not None:
            if self._listener is not None:
                self._client.remove_listener(self._listener)
            if self._options:
                # Only a client this provider started is this provider's to close.
                self._client.close()

    def _listen(self, client: Client) -> None:
        def changed(change: Change) -> None:
            self.emit_provider_configuration_changed(ProviderEventDetails(flags_changed=list(change.flags)))

        self._listener = client.on_change(changed)

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return _resolution(self.client.get_boolean_details(flag_key, default_value, _context(evaluation_context)))

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return _resolution(self.client.get_string_details(flag_key, default_value, _context(evaluation_context)))

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return _resolution(self.client.get_integer_details(flag_key, default_value, _context(evaluation_context)))

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return _resolution(self.client.get_float_details(flag_key, default_value, _context(evaluation_context)))

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[typing.Any] | Mapping[str, typing.Any],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[typing.Any] | Mapping[str, typing.Any]]:
        return _resolution(self.client.get_object_details(flag_key, default_value, _context(evaluation_context)))
