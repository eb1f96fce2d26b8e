"""Schemathesis (a tool nobody here wrote) sends what the OpenAPI spec allows, and much it does
not, to every endpoint of the app in-process, signed in as an admin operator: no answer is a 500.

Bounded: a fixed number of examples per operation and generation mode (data the spec allows,
and data it does not), derandomised, so the run is repeatable and takes seconds. Schemathesis'
own pytest loader (`from_fixture`) does not run under pytest 9, so the operations' Hypothesis
strategies are driven directly. Signing out (DELETE /api/v1/operators/session) is left out, or
it would end the session the other operations are exercised with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
from ca_http_support import share_service_keys, sign_in
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import update

from ca_server.db import Operator
from ca_server.http import HttpSettings, create_app
from ca_server.instance import Instance

# Examples per operation, and how many operations each mode must reach (in negative mode an
# operation whose only input is a string path parameter has nothing to make invalid).
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
OPERATIONS = {GenerationMode.POSITIVE: 18, GenerationMode.NEGATIVE: 8}
# The protocol endpoints take raw DER: send what schemathesis makes as binary.
schemathesis.serializer.alias("application/ocsp-request", "application/octet-stream")
schemathesis.serializer.alias("application/timestamp-query", "application/octet-stream")


@pytest.fixture
def ca_app(sqlite_instance: Instance) -> FastAPI:
    share_service_keys(sqlite_instance)
    return create_app(sqlite_instance, HttpSettings(ocsp_poll=dt.timedelta(0)))


@pytest.fixture
def admin_headers(
    ca_app: FastAPI, sqlite_instance: Instance, demo: dict[str, Any]
) -> dict[str, str]:
    with sqlite_instance.db.transaction() as session:
        session.execute(update(Operator).values(role="admin"))
    with TestClient(ca_app) as client:
        return sign_in(client, demo["psc_operator_auth"].open())


SKIPPED = {("DELETE", "/api/v1/operators/session")}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_input_makes_the_ca_answer_500(
    ca_app: FastAPI, admin_headers: dict[str, str], mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", ca_app)
    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])

        try:
            no_server_error()
        except Unsatisfiable:
            # Nothing in the operation can be made invalid (a lone string path parameter).
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        exercised.append(operation.label)
    assert len(exercised) >= OPERATIONS[mode], exercised
