"""The answer writer: answers in, outcomes out (``AnswerWriter``), written in batches where
the database takes them best: SQLite on the server's loop with the synchronous driver
(``SqliteWriter``), PostgreSQL on a thread with an event loop and connections of its own
(``WriterThread``).

A member's answer waits in a queue on the server's loop. Lanes take what waits, a batch at
a time, and write it: the batch's read, the engine's rules (``rituals.ports.AnswerRules``:
pure, no I/O), its write; each future is settled on its own loop. One lane runs while
answers trickle in; more (up to ``lanes``) when they queue up.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec
from sqlalchemy import Connection, Engine, Result, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rituals.ports import Accepted, AnswerIn, AnswerNotStored, AnswerRules, Outcome, SameAs, Saved
from storage.db import LOCK_WAIT_SECONDS, _sqlite_pragmas, autocommit_connection, create_engine

if TYPE_CHECKING:
    from storage.answers.rows import AnswerRows

log = logging.getLogger(__name__)

T = TypeVar("T")


def _generic_plans(dbapi_connection: Any, _record: Any) -> None:
    """Generic plans on the answer writer's PostgreSQL connections. Given an array of ids,
    the planner planned the answer read anew at every batch (custom plans): half a
    millisecond of the database's time for a tenth of a millisecond's read. Set once a
    connection is made, not as a startup parameter, which a connection pooler such as
    PgBouncer refuses unless told to ignore it; where the setting is refused, the
    connection keeps the default plan choice."""
    try:
        dbapi_connection.run_async(lambda conn: conn.execute("SET plan_cache_mode = force_generic_plan"))
    except Exception as err:  # an old server or a pooler in the way: slower, not wrong
        log.warning("answer writer: plan_cache_mode not set (%s); PostgreSQL chooses its plans", err)


class WriterConnection:
    """A synchronous connection with the awaitable ``execute`` and ``scalar`` of an
    ``AsyncConnection``: the statement runs at once, on the caller's thread."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        return self.conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self.conn.execute(statement, parameters).scalar()


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    """The driver begins no transaction of its own, and a locked database answers at once
    (``SqliteWriter.transaction`` waits for the lock without stopping the loop)."""
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def _locked(err: OperationalError) -> bool:
    return getattr(err.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class SqliteWriter:
    """SQLite's answers, written on the server's loop with the synchronous driver.

    A batch runs from ``BEGIN IMMEDIATE`` to ``COMMIT`` without giving the loop up: a few
    milliseconds of SQLite's own work, each statement at once. (On a thread of its own, as
    PostgreSQL's, each of a batch's SQLite calls let go of Python's GIL and waited to get
    it back from the busy loop: a batch took tens of milliseconds and the acks waited with
    it; ``docs/benchmarks.md``.) The transaction holds the write lock from its first read:
    what a batch reads (is the round open? who is in the team?) stays true until it
    commits. While another connection holds the lock (one of this loop's own transactions,
    between two of its statements, or another process) the loop goes on and the
    ``BEGIN IMMEDIATE`` is tried again."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_sync_engine(make_url(url).set(drivername="sqlite"), hide_parameters=True)
        event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "connect", _no_busy_wait)

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        return await work

    @asynccontextmanager
    async def transaction(self, *, autocommit: bool = False) -> AsyncIterator[WriterConnection]:
        """One transaction holding the write lock, committed on success and rolled back on
        error. ``autocommit`` is PostgreSQL's: SQLite's is one transaction all the same."""
        conn = await self._begin()
        try:
            yield WriterConnection(conn)
            conn.commit()
        finally:
            conn.close()  # rolls back what was not committed

    async def _begin(self) -> Connection:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + LOCK_WAIT_SECONDS  # as the server's other connections wait
        pause = 0.001
        while True:
            conn = self.engine.connect()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return conn
            except OperationalError as err:
                conn.close()
                if not _locked(err) or loop.time() >= give_up:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def dispose(self) -> None:
        self.engine.dispose()


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class WriterThread:
    """PostgreSQL's answers, written on a thread of their own, with an event loop and an
    async engine of their own (asyncpg connections belong to the loop that made them).

    Work given to ``run`` (a batch of answers: its reads, checks and writes) runs there
    whole: one trip from the server's event loop and back. On the server's loop each
    statement's round trip waited for that busy loop to come round; under load a batch of
    answers spent most of its time waiting. The database and its settings are the same as
    the server's own engine's."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ritme-writer", daemon=True)
        self.thread.start()

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the writer's thread and wait for its outcome."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    @asynccontextmanager
    async def transaction(self, *, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success and rolls back on error; only inside work
        given to ``run``. ``autocommit``: no transaction around the statements, each commits
        on its own, without the BEGIN and COMMIT round trips."""
        if threading.current_thread() is not self.thread:
            raise RuntimeError("WriterThread.transaction runs only inside WriterThread.run")
        if self.engine is None:
            # A batch's answers go as one JSON document: msgspec writes it in a fraction of json's time.
            self.engine = create_engine(self.url, pool_size=3, max_overflow=2, json_serializer=_json_text)
            event.listen(self.engine.sync_engine, "connect", _generic_plans)
        if autocommit:
            async with autocommit_connection(self.engine) as conn:
                yield conn
            return
        async with self.engine.begin() as conn:
            yield conn

    async def dispose(self) -> None:
        async def close() -> None:  # the connections belong to the writer's thread
            if self.engine is not None:
                await self.engine.dispose()

        await self.run(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join, 10)
        if not self.thread.is_alive():
            self.loop.close()


ANSWER_BATCH = 200  # answers written together at most
LANE_BACKLOG = 8  # answers waiting behind the running lanes before one more starts


def _settle(outcomes: list[tuple[asyncio.Future[Any], object]]) -> None:
    """Settle futures from any thread, each on its own loop, with one wake-up per loop: a
    result, or an exception to raise."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], object]]] = {}
    for done, outcome in outcomes:
        by_loop.setdefault(done.get_loop(), []).append((done, outcome))

    def settle(some: list[tuple[asyncio.Future[Any], object]]) -> None:
        for done, outcome in some:
            if done.done():
                continue
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)

    for loop, some in by_loop.items():
        loop.call_soon_threadsafe(settle, some)


Transactions = Callable[..., AbstractAsyncContextManager["AnswerRows"]]  # (autocommit=...) -> a transaction
Work = Callable[[Transactions], Coroutine[Any, Any, None]]


class AnswerWriter:
    """``rituals.ports.AnswerWriter`` over a store's answer transactions.

    ``run(work)`` runs ``work`` where the store writes answers best (the writer's thread),
    handing it the transactions to use there; ``lanes``: batches written side by side
    (PostgreSQL locks their rows in one order; SQLite has one writer at a time)."""

    def __init__(
        self,
        run: Callable[[Work], Coroutine[Any, Any, None]],
        rules: AnswerRules,
        clock: Callable[[], datetime],
        *,
        lanes: int,
    ) -> None:
        self._run, self._rules, self._clock, self._most = run, rules, clock, lanes
        self._waiting: deque[tuple[AnswerIn, asyncio.Future[Outcome]]] = deque()
        self._lanes: set[asyncio.Task[None]] = set()

    async def submit(self, answer: AnswerIn) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((answer, done))
        self._start_lane()
        return await asyncio.shield(done)  # a caller that goes away does not undo the answer

    async def drain(self, within: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._lanes and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._lanes), timeout=left)  # a lane may start another

    def _start_lane(self) -> None:
        """A lane when none runs, one more when answers queue up behind those that run. A
        lane stops when it finds nothing waiting; once it stops, another starts if answers
        came in after it last looked (they are only added on the server's loop)."""
        lanes = len(self._lanes)
        if lanes and (lanes >= self._most or len(self._waiting) < LANE_BACKLOG):
            return
        lane = asyncio.get_running_loop().create_task(self._run(self._batches), name="ritme-answers")
        lane.add_done_callback(self._stopped)
        self._lanes.add(lane)

    def _stopped(self, lane: asyncio.Task[None]) -> None:
        self._lanes.discard(lane)
        if lane.cancelled() or lane.exception() is not None:
            if not lane.cancelled():
                log.error("the answer writer stopped: %r", lane.exception())
            waiting: list[tuple[asyncio.Future[Any], object]] = []
            while True:  # nothing is acknowledged: each member is asked to try again
                try:
                    waiting.append((self._waiting.popleft()[1], AnswerNotStored()))
                except IndexError:
                    break
            _settle(waiting)
        elif self._waiting:
            self._start_lane()

    async def _batches(self, transaction: Transactions) -> None:
        """Write what waits, a batch at a time, until nothing does (where ``run`` runs it)."""
        while self._waiting:
            batch = [self._waiting.popleft() for _ in range(min(ANSWER_BATCH, len(self._waiting)))]
            try:
                await self._batch(batch, transaction)
            except BaseException:  # cancelled: whatever is not settled yet was not stored
                _settle([(done, AnswerNotStored()) for _answer, done in batch])
                raise

    async def _batch(self, batch: list[tuple[AnswerIn, asyncio.Future[Outcome]]], transaction: Transactions) -> None:
        try:
            outcomes = await self._write([answer for answer, _done in batch], transaction)
        except Exception:
            if len(batch) == 1:
                log.exception("storing an answer failed")
                _settle([(batch[0][1], AnswerNotStored())])
                return
            # One answer the database refuses must not take the others with it.
            log.warning("storing %d answers together failed; storing them one by one", len(batch))
            for answer, done in batch:
                try:
                    outcome = (await self._write([answer], transaction))[0]
                except Exception:
                    log.exception("storing an answer failed")
                    _settle([(done, AnswerNotStored())])
                else:
                    _settle([(done, outcome)])
            return
        _settle([(done, outcome) for (_answer, done), outcome in zip(batch, outcomes, strict=True)])

    async def _write(self, answers: list[AnswerIn], transaction: Transactions) -> list[Outcome | AnswerNotStored]:
        """One batch: the read, the rules, the write (on SQLite one transaction; on
        PostgreSQL a read and a write statement, each committing on its own, or the write
        alone when the batch's rounds are remembered; the write checks what the batch was
        decided on, and the answers decided on what changed are decided again on a fresh
        read). Nothing is written for a refused answer, not even its member."""
        now = self._clock()
        outcomes: list[Outcome | AnswerNotStored] = [AnswerNotStored() for _ in answers]
        todo = list(range(len(answers)))
        async with transaction(autocommit=True) as tx:
            for fresh in (False, True, True):
                try:
                    decided = await self._decide_and_save(tx, [answers[i] for i in todo], now, fresh=fresh)
                except Exception:
                    if not fresh:  # the first pass: the batch is written again one by one (``_batch``)
                        raise
                    # The first pass's answers are written and settled as they are; these few
                    # were not, and their members are asked to try again.
                    log.exception("deciding %d answers again failed", len(todo))
                    break
                again: list[int] = []
                for i, outcome in zip(todo, decided, strict=True):
                    if outcome is Saved.CHANGED:
                        again.append(i)
                    else:
                        outcomes[i] = outcome
                if not (todo := again):
                    break
        stored = sum(1 for o in outcomes if isinstance(o, Outcome) and o.stored)
        # every batch at the peak is a log line on the writer's thread: only refusals at INFO
        (log.info if stored < len(answers) else log.debug)("answers stored: %d of %d", stored, len(answers))
        return outcomes

    async def _decide_and_save(
        self, tx: AnswerRows, answers: list[AnswerIn], now: datetime, *, fresh: bool
    ) -> list[Outcome | AnswerNotStored | Literal[Saved.CHANGED]]:
        """The rules' decisions on the batch's context and the write of those accepted: per
        answer its outcome, or ``Saved.CHANGED`` when what it was decided on changed. A
        refusal decided on what was remembered, or an answer whose remembered round the write
        found closed or gone, is decided again on a fresh read (the member is told why in the
        team's words of now)."""
        ids, people = sorted({a.occurrence_id for a in answers}), [a.actor for a in answers]
        context = await tx.answer_context(ids, people, fresh=fresh)
        decisions = self._rules.check(answers, context.targets, context.in_team, now)
        if context.remembered and any(isinstance(d, Outcome) for d in decisions):
            context = await tx.answer_context(ids, people, fresh=True)
            decisions = self._rules.check(answers, context.targets, context.in_team, now)
        accepted = [(i, d) for i, d in enumerate(decisions) if isinstance(d, Accepted)]
        saved = await tx.save_answers([d.answer for _i, d in accepted], now) if accepted else []
        outcomes: list[Outcome | AnswerNotStored | Literal[Saved.CHANGED] | None] = [
            d if isinstance(d, Outcome) else None for d in decisions
        ]
        for (i, d), how in zip(accepted, saved, strict=True):
            if context.remembered and how is Saved.CLOSED:  # its round gone or closed: told as now
                how = Saved.CHANGED
            outcomes[i] = how if how is Saved.CHANGED else self._rules.outcome(d, how) or AnswerNotStored()
        for i in reversed(range(len(decisions))):  # a later answer is decided before the one it replaced
            if isinstance(same := decisions[i], SameAs):
                outcomes[i] = outcomes[same.index]
        return [o if o is not None else AnswerNotStored() for o in outcomes]
