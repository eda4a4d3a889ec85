"""Fixtures: the central on SQLite and on a private PostgreSQL (both always run)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend_sync import chain
from backend_sync.central.service import Central
from backend_sync.pgserver import PrivatePostgres
from cardlib.crypto import Algorithm
from cardlib.keys import IssuerKeys
from tests.backend_sync.support import make_central

_db_names = itertools.count(1)


@pytest.fixture(scope="session")
def issuer_keys() -> IssuerKeys:
    return IssuerKeys.generate(Algorithm.TDES)


@pytest.fixture(scope="session")
def central_signing_key() -> ec.EllipticCurvePrivateKey:
    return chain.generate_key()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres().start()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    pg: PrivatePostgres = request.getfixturevalue("postgres")
    return pg.create_database(f"t{next(_db_names)}")


@pytest.fixture
def central(
    db_url: str, issuer_keys: IssuerKeys, central_signing_key: ec.EllipticCurvePrivateKey
) -> Iterator[Central]:
    c = make_central(db_url, issuer_keys, central_signing_key)
    yield c
    c.engine.dispose()
