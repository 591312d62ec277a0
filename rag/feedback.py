"""Served answers and their 👍/👎 in SQLite, written by a background thread: never blocks an answer.

Each answer the server sends gets an id (`Answer.id`); the row keeps what the user saw (question,
history, answer text, citations, short answer, refusal, related passages, index generation, time),
so a share link (/a/<id>) shows it as stored and feedback can become an evaluation question
(`rag feedback export`).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter

from rag.errors import RagError
from rag.models import Answer, Citation, ShortAnswer
from rag.settings import Settings

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16}$")
MAX_COMMENT_CHARS = 2000
QUEUE_LIMIT = 10_000  # answers waiting to be written; beyond it new ones are dropped (and logged)
PRUNE_EVERY = 200  # inserts between two checks of the table size
BATCH_LIMIT = 500  # answers written in one transaction at most
WAIT_S = 5.0  # longest a feedback or a read waits for the writer

T = TypeVar("T")
CITATIONS = TypeAdapter(list[Citation])
Job = Callable[[sqlite3.Connection], None]

ANSWER_COLUMNS = (
    "id, created, question, history, answer, citations, short_answer, refused, notice, "
    "generation, related"
)
PLACES = ",".join("?" * len(ANSWER_COLUMNS.split(",")))
# Columns added after the first release, with their types: an older database gains them on open.
LATER_COLUMNS = {"related": "TEXT"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    short_answer TEXT,
    refused INTEGER NOT NULL,
    notice TEXT NOT NULL,
    generation TEXT,
    related TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY REFERENCES answers(id) ON DELETE CASCADE,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredAnswer:
    """One served answer as it was stored, with its feedback if any."""

    id: str
    created: str
    question: str
    history: list[dict[str, str]]
    answer: str
    citations: list[Citation]
    short_answer: ShortAnswer | None
    refused: bool
    notice: str
    generation: str | None
    rating: Rating | None = None
    comment: str = ""
    rated: str | None = None
    related: list[Citation] = field(default_factory=list)  # a refusal's related passages


@dataclass(frozen=True, slots=True)
class Pending:
    """An answer waiting to be written; serialized on the writer thread, off the request's path."""

    id: str
    created: str
    asked: str | None
    history: list[dict[str, str]]
    answer: Answer
    generation: str | None

    def row(self) -> tuple[Any, ...]:
        answer = self.answer
        return (
            self.id,
            self.created,
            self.asked if self.asked is not None else answer.question,
            json.dumps(self.history, ensure_ascii=False),
            answer.answer,
            CITATIONS.dump_json(answer.citations).decode(),
            answer.short_answer.model_dump_json() if answer.short_answer else None,
            int(answer.refused),
            answer.notice,
            self.generation,
            CITATIONS.dump_json(answer.related).decode() if answer.related else None,
        )


def add_missing_columns(connection: sqlite3.Connection) -> None:
    """Bring an answers table made by an older version up to date (its rows keep NULLs)."""
    for column, kind in LATER_COLUMNS.items():
        present = {row[1] for row in connection.execute("PRAGMA table_info(answers)")}
        if column in present:
            continue
        try:
            connection.execute(f"ALTER TABLE answers ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError:  # another process added it first
            present = {row[1] for row in connection.execute("PRAGMA table_info(answers)")}
            if column not in present:
                raise


def new_answer_id() -> str:
    """16 url-safe characters (96 random bits): share links cannot be guessed or enumerated."""
    return secrets.token_urlsafe(12)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AnswerLog:
    """The answers store: `record()` returns at once; one thread owns the SQLite connection."""

    def __init__(self, path: Path, max_answers: int = 100_000) -> None:
        self.path = Path(path)
        self.max_answers = max_answers
        # answers to insert, (job, the future of whoever waits for it) pairs; None stops the writer
        self._jobs: queue.Queue[Pending | tuple[Job, Future[Any] | None] | None] = queue.Queue(
            QUEUE_LIMIT
        )
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._inserts = 0

    # -- the writer thread ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(SCHEMA)
        add_missing_columns(connection)
        return connection

    def _run(self) -> None:
        """Drain the queue: consecutive answers are inserted in one transaction (cheap per row)."""
        connection: sqlite3.Connection | None = None
        running = True
        while running:
            batch = [self._jobs.get()]
            while len(batch) < BATCH_LIMIT and batch[-1] is not None:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            answers: list[Pending] = []
            for item in batch:
                if item is None:
                    running = False
                elif isinstance(item, Pending):
                    answers.append(item)
                else:
                    connection = self._insert(connection, answers)
                    answers = []
                    connection = self._do(connection, *item)
            connection = self._insert(connection, answers)
            for _ in batch:
                self._jobs.task_done()
        if connection is not None:
            try:
                self._prune(connection)  # a bounded table also after a short run
            except sqlite3.Error as err:
                log.error("the answer store at %s failed: %s", self.path, err)
            connection.close()

    def _insert(
        self, connection: sqlite3.Connection | None, answers: list[Pending]
    ) -> sqlite3.Connection | None:
        if not answers:
            return connection
        try:
            connection = connection or self._connect()
            with connection:  # one transaction
                connection.execute("BEGIN")
                connection.executemany(
                    f"INSERT INTO answers ({ANSWER_COLUMNS}) VALUES ({PLACES})",
                    [a.row() for a in answers],
                )
            self._inserts += len(answers)
            if self._inserts >= PRUNE_EVERY:
                self._inserts = 0
                self._prune(connection)
        except Exception as err:  # a broken disk must not kill the writer; the answers went out
            log.error("the answer store at %s lost %d answer(s): %s", self.path, len(answers), err)
        return connection

    def _do(
        self, connection: sqlite3.Connection | None, job: Job, waiting: Future[Any] | None
    ) -> sqlite3.Connection | None:
        try:
            connection = connection or self._connect()
            job(connection)
        except Exception as err:
            log.error("the answer store at %s failed: %s", self.path, err)
            if waiting is not None and not waiting.done():
                waiting.set_exception(err)
        return connection

    def _submit(self, job: Job | Pending, waiting: Future[Any] | None = None) -> bool:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="answer-log", daemon=True)
                self._thread.start()
        try:
            self._jobs.put_nowait(job if isinstance(job, Pending) else (job, waiting))
        except queue.Full:
            log.warning("the answer store is behind; an answer was not stored")
            return False
        return True

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the writer thread after everything queued before it; wait for it."""
        result: Future[T] = Future()

        def job(connection: sqlite3.Connection) -> None:
            result.set_result(work(connection))

        if not self._submit(job, result):
            raise RagError("the answer store is busy; try again in a moment")
        try:
            return result.result(timeout=WAIT_S)
        except TimeoutError as err:
            raise RagError("the answer store did not respond in time") from err
        except (sqlite3.Error, OSError) as err:
            raise RagError(f"the answer store failed: {err}") from err

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._jobs.put(None)
            thread.join(timeout=WAIT_S)

    # -- writes -----------------------------------------------------------------------------

    def record(
        self,
        answer: Answer,
        history: list[dict[str, str]],
        generation: str | None,
        asked: str | None = None,
    ) -> str | None:
        """Queue `answer` (to `asked`, as typed) for storing; its id, or None when the queue is
        full. Never blocks."""
        answer_id = new_answer_id()
        pending = Pending(answer_id, _now(), asked, history, answer, generation)
        return answer_id if self._submit(pending) else None

    def _prune(self, connection: sqlite3.Connection) -> None:
        """Keep at most `max_answers` rows: drop the oldest unrated answers first."""
        (count,) = connection.execute("SELECT count(*) FROM answers").fetchone()
        extra = count - self.max_answers
        if extra <= 0:
            return
        for rated in (False, True):
            condition = "" if rated else "WHERE id NOT IN (SELECT answer_id FROM feedback)"
            deleted = connection.execute(
                f"DELETE FROM answers WHERE rowid IN "
                f"(SELECT rowid FROM answers {condition} ORDER BY rowid LIMIT ?)",
                (extra,),
            ).rowcount
            extra -= deleted
            if extra <= 0:
                break
        log.info("answer store pruned to %s answers", self.max_answers)

    def rate(self, answer_id: str, rating: Rating, comment: str = "") -> bool:
        """Store (or replace) the feedback on an answer; False when there is no such answer."""
        comment = comment.strip()[:MAX_COMMENT_CHARS]

        def upsert(connection: sqlite3.Connection) -> bool:
            if connection.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone():
                connection.execute(
                    "INSERT INTO feedback VALUES (?,?,?,?) ON CONFLICT(answer_id) DO UPDATE SET "
                    "rating = excluded.rating, comment = excluded.comment, "
                    "created = excluded.created",
                    (answer_id, rating, comment, _now()),
                )
                return True
            return False

        return ID_PATTERN.match(answer_id) is not None and self._call(upsert)

    def withdraw(self, answer_id: str) -> bool:
        """Delete the feedback on an answer (if any); False when there is no such answer."""

        def delete(connection: sqlite3.Connection) -> bool:
            connection.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))
            found = connection.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,))
            return found.fetchone() is not None

        return ID_PATTERN.match(answer_id) is not None and self._call(delete)

    # -- reads ------------------------------------------------------------------------------

    def get(self, answer_id: str) -> StoredAnswer | None:
        """The stored answer with this id, or None."""
        if not ID_PATTERN.match(answer_id):
            return None
        found = self._call(lambda c: list(_select(c, "WHERE a.id = ?", (answer_id,))))
        return found[0] if found else None

    def rated(self, rating: Rating | None = None) -> list[StoredAnswer]:
        """Answers that got feedback (optionally only 👍 or 👎), oldest first."""
        where = "WHERE f.rating IS NOT NULL" + (" AND f.rating = ?" if rating else "")
        params = (rating,) if rating else ()
        return self._call(lambda c: list(_select(c, where, params)))


SELECT = (
    "SELECT a.id, a.created, a.question, a.history, a.answer, a.citations, a.short_answer, "
    "a.refused, a.notice, a.generation, f.rating, f.comment, f.created, a.related "
    "FROM answers a LEFT JOIN feedback f ON f.answer_id = a.id "
)


def _select(
    connection: sqlite3.Connection, where: str, params: tuple[Any, ...]
) -> Iterator[StoredAnswer]:
    for row in connection.execute(SELECT + where + " ORDER BY a.rowid", params):
        yield StoredAnswer(
            id=row[0],
            created=row[1],
            question=row[2],
            history=json.loads(row[3]),
            answer=row[4],
            citations=[Citation.model_validate(c) for c in json.loads(row[5])],
            short_answer=ShortAnswer.model_validate_json(row[6]) if row[6] else None,
            refused=bool(row[7]),
            notice=row[8],
            generation=row[9],
            rating=row[10],
            comment=row[11] or "",
            rated=row[12],
            related=[Citation.model_validate(c) for c in json.loads(row[13] or "[]")],
        )


def open_answer_log(settings: Settings) -> AnswerLog:
    """The store `settings` name: RAG_FEEDBACK_DB, or feedback.sqlite3 in the index folder."""
    path = settings.feedback_db or settings.index_dir / "feedback.sqlite3"
    return AnswerLog(path, settings.feedback_max_answers)
