"""The schema probe: schemathesis against the live central on uvicorn, a bounded
number of generated requests per operation (valid and invalid ones; the admin
operations with the admin token, so their inputs are reached): never a server
error, never a status code the OpenAPI schema does not list for the operation,
every answer shaped as documented.

Sizes: ``CIVICARD_PROBE_EXAMPLES`` examples per operation and mode (default 15),
about 20-30 s on SQLite. ``--slow`` adds the same probe on PostgreSQL; for a
longer run, set the variable higher.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend_sync.central.service import Central
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import ADMIN, ThreadServer, asn_of, enroll, make_central

EXAMPLES = int(os.environ.get("CIVICARD_PROBE_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]
)
def live_central(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    issuer_keys: IssuerKeys,
    central_signing_key: ec.EllipticCurvePrivateKey,
) -> Iterator[str]:
    from backend_sync.central import registry

    tmp: Path = tmp_path_factory.mktemp("probe")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'central.db'}"
    else:  # the same probe on PostgreSQL (stricter about text): under --slow
        url = request.getfixturevalue("postgres").create_database("probe")
    central: Central = make_central(url, issuer_keys, central_signing_key)
    # Something to find: an enrolled terminal and a registered card.
    enroll(central, "320500000001")
    registry.register_card(central, asn=asn_of(1), algorithm=0, key_version=1)
    with ThreadServer(central) as srv:
        yield srv.url
    central.engine.dispose()


@pytest.fixture(scope="module")
def central_schema(live_central: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_central}/openapi.json")


def _probe(strategy: Any, headers: dict[str, str] | None) -> Callable[[], None]:
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def probe(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)

    return probe  # type: ignore[no-any-return]


def test_no_server_error_no_undocumented_status(central_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    operations = [r.ok() for r in central_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 14
    for op in operations:
        admin = op.path.startswith("/v1/admin")
        headers = {"Authorization": f"Bearer {ADMIN}"} if admin else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            probe = _probe(op.as_strategy(generation_mode=mode), headers)
            try:
                probe()
            except Unsatisfiable:
                # No invalid input exists (no parameters, or any string is valid).
                assert mode is GenerationMode.NEGATIVE, op.path
            except Exception as exc:  # collect every operation's failure, then report
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}): {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
