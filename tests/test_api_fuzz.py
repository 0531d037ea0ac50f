"""schemathesis against the API's own OpenAPI document, signed in as each role: whatever it
generates from the schema (valid and invalid), the API never answers 5xx, every status it gives is one
the document declares, and every body conforms to the documented schema. The number of examples per
operation is bounded so CI stays fast (HUIQIAN_FUZZ_EXAMPLES raises it for a deeper local run)."""

from __future__ import annotations

import contextlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("HUIQIAN_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = {
    "officer": ("榆树市", "housing", "officer"),
    "supervisor": ("长春市", "supervision", "supervisor"),
    "auditor": ("吉林省", "supervision", "auditor"),
    "admin": ("吉林省", "supervision", "admin"),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_fuzzed_requests_never_fail_the_server_or_the_schema(app, api_as, people, driver, role: str) -> None:
    driver.new_case(2, "榆树市")
    driver.new_case(7, "舒兰市")
    user = people.user(*ROLES[role])
    token = api_as(user).token
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/session" and operation.method.upper() == "DELETE":
            continue  # signing out would only end a session this test does not use

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case) -> None:  # noqa: ANN001
            nonlocal tried
            tried += 1
            response = case.call(headers={"Authorization": f"Bearer {token}", "X-Requested-With": "fuzz"})
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report at once
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {exc}"[:600])
                raise

        with contextlib.suppress(Exception):  # each failure is recorded in `failures` above
            run()
    assert tried > 0
    assert not failures, "\n".join(failures)
