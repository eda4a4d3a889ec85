"""The on-disk print queue: nothing lost, nothing printed twice unmarked.

Every document is stored (SQLite through SQLAlchemy 2, WAL, synchronous FULL)
before it is printed. A job moves ``pending`` -> ``printing`` -> ``done``; a
failure puts it in ``failed`` with the printer's status. Failed jobs are retried
when the printer is ready again, with a 重印 / REPRINT mark at the top, and printed
at most once more per failure. A job found in ``printing`` on start (power cut
while sending) may have printed: it is treated as failed after sending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Boolean, DateTime, Integer, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from drivers.printer.document import Align, Document, Rule
from drivers.printer.document import Text as TextBlock
from drivers.printer.errors import PrintFailed
from drivers.printer.printer import Printer

REPRINT_MARK = "*** 重印 REPRINT ***"


class JobState(StrEnum):
    PENDING = "pending"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"


class _Base(DeclarativeBase):
    pass


class _JobRow(_Base):
    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(80), index=True)
    document: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    reprinted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_problem: Mapped[str] = mapped_column(String(200), default="")
    printed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class QueuedJob:
    """A read-only view of one job."""

    id: int
    kind: str
    reference: str
    state: JobState
    attempts: int
    failures: int
    reprinted: bool
    last_problem: str
    document: Document


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PrintQueue:
    """Jobs stored in a SQLite file; :meth:`run` prints what is due on a printer."""

    def __init__(self, path: Path | str, *, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self._engine = _sqlite_engine(Path(path))
        _Base.metadata.create_all(self._engine)
        self._clock = clock
        with Session(self._engine) as session, session.begin():
            for row in session.scalars(
                select(_JobRow).where(_JobRow.state == JobState.PRINTING.value)
            ):
                row.state = JobState.FAILED.value
                row.failures += 1
                row.last_problem = "interrupted while printing"

    def close(self) -> None:
        """Release the database."""
        self._engine.dispose()

    def submit(self, document: Document) -> int:
        """Store ``document`` as a pending job; returns the job id."""
        with Session(self._engine) as session, session.begin():
            row = _JobRow(
                created_at=self._clock(),
                kind=document.kind,
                reference=document.reference,
                document=document.to_json(),
                state=JobState.PENDING.value,
                attempts=0,
                failures=0,
                reprinted=False,
                last_problem="",
            )
            session.add(row)
            session.flush()
            return row.id

    def jobs(self, state: JobState | None = None) -> list[QueuedJob]:
        """Jobs in id order, optionally only those in ``state``."""
        query = select(_JobRow).order_by(_JobRow.id)
        if state is not None:
            query = query.where(_JobRow.state == state.value)
        with Session(self._engine) as session:
            return [_view(row) for row in session.scalars(query)]

    def job(self, job_id: int) -> QueuedJob:
        """One job by id (``KeyError`` if unknown)."""
        with Session(self._engine) as session:
            row = session.get(_JobRow, job_id)
            if row is None:
                raise KeyError(job_id)
            return _view(row)

    def run(self, printer: Printer) -> list[QueuedJob]:
        """Print due jobs (pending and failed, oldest first) until one fails.

        Returns the jobs this call touched, in their new state. A failed job stays
        first in line: receipts come out in the order they were made.
        """
        touched: list[QueuedJob] = []
        while (job_id := self._next_due()) is not None:
            document, mark = self._begin(job_id)
            if mark:
                stamp = self._clock().astimezone(dt.timezone(dt.timedelta(hours=8)))
                document = document.with_blocks_before(
                    TextBlock(REPRINT_MARK, align=Align.CENTER, bold=True),
                    TextBlock(stamp.strftime("%Y-%m-%d %H:%M:%S"), align=Align.CENTER),
                    Rule("="),
                )
            try:
                printer.print_document(document)
            except PrintFailed as exc:
                touched.append(self._finish(job_id, failure=",".join(exc.status.problems())))
                break
            except BaseException as exc:
                # Anything else (a bug, KeyboardInterrupt) may have sent part of the job:
                # it stays due, and its reprint is marked.
                self._finish(job_id, failure=f"error: {type(exc).__name__}")
                raise
            touched.append(self._finish(job_id, failure=None, marked=mark))
        return touched

    # -- state transitions, each its own committed transaction ---------------------
    def _next_due(self) -> int | None:
        with Session(self._engine) as session:
            return session.scalars(
                select(_JobRow.id)
                .where(_JobRow.state.in_((JobState.PENDING.value, JobState.FAILED.value)))
                .order_by(_JobRow.id)
                .limit(1)
            ).first()

    def _begin(self, job_id: int) -> tuple[Document, bool]:
        with Session(self._engine) as session, session.begin():
            row = session.get_one(_JobRow, job_id)
            row.state = JobState.PRINTING.value
            row.attempts += 1
            return Document.from_json(row.document), row.failures > 0

    def _finish(self, job_id: int, *, failure: str | None, marked: bool = False) -> QueuedJob:
        with Session(self._engine) as session, session.begin():
            row = session.get_one(_JobRow, job_id)
            if failure is None:
                row.state = JobState.DONE.value
                row.printed_at = self._clock()
                row.reprinted = marked
            else:
                row.state = JobState.FAILED.value
                row.failures += 1
                row.last_problem = failure[:200]
            session.flush()
            return _view(row)


def _view(row: _JobRow) -> QueuedJob:
    return QueuedJob(
        id=row.id,
        kind=row.kind,
        reference=row.reference,
        state=JobState(row.state),
        attempts=row.attempts,
        failures=row.failures,
        reprinted=row.reprinted,
        last_problem=row.last_problem,
        document=Document.from_json(row.document),
    )


def _sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE, not pysqlite's lazy BEGIN:
        # the kiosk UI thread and the printing worker may both write.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
