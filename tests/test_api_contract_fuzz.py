"""Every API operation fuzzed against its own contract with schemathesis (issue 13, §3).

Schemathesis reads ``/api/v1/openapi.json`` of an app holding the demo data and sends each
operation a bounded, seeded number of generated requests — valid ones (positive) and ones
that break the schema (negative) — as a user who holds every role, through a real API token.
Every answer must be:

- never a 5xx;
- a status the operation declares, with the declared content type and a body its schema allows;
- for a request that breaks the schema, a refusal (4xx);
- for every refusal, the JSON error body (``error`` and ``message``) the API promises.

``API_FUZZ_EXAMPLES`` raises the number of examples per operation and mode for a longer run
(``API_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/test_api_contract_fuzz.py``). All failures are
listed at the end, one block per operation.
"""
from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi import checks as openapi_checks

from tests.factories_demo import demo_with_superuser

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
#: An operation that answers a refusal no faster than this has a problem worth a look on its own.
SLOW_SECONDS = 5.0


class ErrorBodyMissing(Failure):
    """A 4xx answer without the API's JSON error body."""

    def __init__(self, *, operation: str, status: int, body: str) -> None:
        self.operation = operation
        self.status = status
        self.body = body
        self.title = "Refusal without the JSON error body"
        self.message = f"{status} answer must carry {{'error', 'message'}} as JSON; got: {body[:200]!r}"
        self.code = "error_body"
        self.case_id = None
        self.severity = None

    @property
    def _unique_key(self) -> str:
        return f"{self.operation}:{self.status}"


def refusal_has_error_body(ctx, response, case) -> bool | None:
    """A 4xx carries ``{"error": str, "message": str}`` (what every API client reads to tell the user)."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - any undecodable body is the failure this check reports
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str)
            and body["message"].strip()):
        raise ErrorBodyMissing(operation=case.operation.label, status=response.status_code,
                               body=response.text if hasattr(response, "text") else "")
    return True


CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    refusal_has_error_body,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, demo_template):
    """(app, token): the demo data and ``fuzzer``, a user with every role."""
    with demo_with_superuser(tmp_path_factory.mktemp("fuzz"), demo_template, "fuzzer") as found:
        yield found


def _run_operation(operation, token: str) -> str | None:
    """Fuzz one operation; the failure report, or None."""
    strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                         operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=EXAMPLES * 2, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        fuzz()
    except BaseException as exc:  # noqa: BLE001 - schemathesis reports through exception groups
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return f"{operation.label}\n{exc}"
    return None


def test_every_operation_keeps_its_contract(fuzzed):
    app, token = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers={"Authorization": f"Bearer {token}"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the document lost operations"
    failures = [report for op in operations if (report := _run_operation(op, token))]
    assert not failures, f"{len(failures)} operation(s) broke their contract:\n\n" + "\n\n".join(failures)


def test_the_fuzzer_reports_a_broken_contract(fuzzed):
    """The harness can fail: an answer outside the declared schema is caught."""
    app, token = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers={"Authorization": f"Bearer {token}"})
    me = next(r.ok() for r in schema.get_all_operations() if r.ok().label == "GET /me")
    me.definition.raw["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "object", "required": ["not_a_field"], "properties": {"not_a_field": {"type": "integer"}}}
    assert _run_operation(me, token) is not None


def test_a_refusal_without_the_error_body_is_reported(fuzzed):
    """The error-body check can fail: a 4xx that is not ``{"error", "message"}`` JSON is a failure, a proper one passes."""
    app, token = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers={"Authorization": f"Bearer {token}"})
    me = next(r.ok() for r in schema.get_all_operations() if r.ok().label == "GET /me")
    case = me.Case()

    class Answer:
        def __init__(self, status, text):
            self.status_code, self.text = status, text

        def json(self):
            return json.loads(self.text)

    with pytest.raises(ErrorBodyMissing):
        refusal_has_error_body(None, Answer(400, "<html>bad request</html>"), case)
    with pytest.raises(ErrorBodyMissing):
        refusal_has_error_body(None, Answer(404, '{"error": "not_found", "message": ""}'), case)
    assert refusal_has_error_body(None, Answer(400, '{"error": "bad_request", "message": "参数有误。"}'), case)
    assert refusal_has_error_body(None, Answer(200, "{}"), case) is None
