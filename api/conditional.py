"""Conditional GETs: weak ETags made from what decides an answer, and ``If-None-Match``.

A list the situation map polls (`api.routers.deviations`) is personal data and ``no-store``, so
no browser or proxy cache revalidates it: the page keeps the ETag itself and sends it back.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import threading
import time
from collections import OrderedDict
from typing import NamedTuple


def etag_for(*parts: object) -> str:
    """A weak ETag (``W/"…"``) of ``parts``: everything that decides the answer (a change
    counter, the query, who is asking), so that two answers share an ETag only when they are
    the same.

    >>> query = [("area", "solberga")]
    >>> etag_for("deviations", 7, query) == etag_for("deviations", 7, query)
    True
    >>> etag_for("deviations", 7) == etag_for("deviations", 8)
    False
    """
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    # Weak: the same list may go out compressed or not (byte-for-byte equality is not promised).
    return f'W/"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110 13.1.2:
    ``W/`` is ignored; a list of tags).

    ``*`` matches nothing here: a list checks its query only when it builds the answer, so a
    304 is given only for a tag that a valid answer had (a bad query stays a 4xx).

    >>> matches('W/"a1", "b2"', 'W/"b2"')
    True
    >>> matches(None, 'W/"b2"'), matches('"c3"', 'W/"b2"'), matches("*", 'W/"b2"')
    (False, False, False)
    """
    if not if_none_match:
        return False
    want = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == want for tag in if_none_match.split(","))


class BodyCache:
    """The last bodies sent, by ETag: while the counter in an ETag is current, every client that
    asks with the same query and visibility gets the same bytes, so they are built once.

    An ETag names everything that decides its body, so a cached body is never another viewer's
    or another query's, and a change makes a new ETag (the old entry just ages out). Bounded by
    ``max_bytes`` (least recently used first out); thread-safe (sync endpoints run in threads).
    """

    def __init__(self, *, max_bytes: int = 32_000_000, max_body_bytes: int = 4_000_000) -> None:
        self.max_bytes = max_bytes
        self.max_body_bytes = max_body_bytes
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get(etag)
            if body is not None:
                self._bodies.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_body_bytes:
            return
        with self._lock:
            old = self._bodies.pop(etag, None)
            if old is not None:
                self._size -= len(old)
            self._bodies[etag] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)


class FreshAnswer(NamedTuple):
    """An answer built once: when its build began (before the list's version was read), its
    tag, its body and the body gzipped (for clients that take it: compressed once per answer,
    not once per request)."""

    made: float
    etag: str
    body: bytes
    gzipped: bytes


class FreshAnswers:
    """Answers reused for ``fresh_s`` without asking the database, by the query and viewer.

    On a Friday night every poll of the situation map finds a new change counter (thousands of
    walkers report several times a second), so an ETag alone rarely saves work: each poll would
    still read the counter and, mostly, rebuild the list. Within ``fresh_s`` of building an
    answer, the same query from a viewer with the same visibility gets it again (a 304 when it
    names its ETag) without a query.

    A report through this process (`changed`) does not forget the answers, or every report
    would make the next polls rebuild every list (at the peak several times a second): an
    answer begun before it is kept only while it is at most ``changed_s`` old, so that each list
    is rebuilt at most about once every ``changed_s`` while reports pour in and shows a report
    at most ``changed_s`` after it was stored. The reporter alone gets no answer begun before
    their own report (`get`'s ``reader``): they see it in their very next list. Any other write
    through the process (a status, a category, a withdrawal) forgets every answer (`forget`).
    Another worker's reports show at most ``fresh_s`` later; all well within the map's live
    updates of 15 s. ``fresh_s`` 0 turns it off.
    """

    def __init__(
        self,
        fresh_s: float,
        *,
        changed_s: float = 1.0,
        max_entries: int = 512,
        viewer_s: float = 300.0,
        max_viewers: int = 20_000,
    ) -> None:
        self.fresh_s = fresh_s
        self.changed_s = min(changed_s, fresh_s)
        self.max_entries = max_entries
        self.viewer_s = viewer_s
        self.max_viewers = max_viewers
        self._answers: OrderedDict[object, FreshAnswer] = OrderedDict()
        # When a report was last stored through this process, and by whom (a token's digest:
        # the time of its last report), kept for ``fresh_s`` (no answer lives longer).
        self._changed_at = -math.inf
        self._reporters: OrderedDict[bytes, float] = OrderedDict()
        # When the answers were last forgotten: an answer begun before is not kept (`put`).
        self._forgotten_at = -math.inf
        self.builds = 0
        """Answers kept since the start (`put`): what the polls cost in lists built."""
        # Tokens the database accepted within ``viewer_s``, by their digest: what the viewer
        # may see (`api.fast_list` answers their polls without FastAPI or a query). Kept only
        # while this process hears of every change of a sign-in (`geo.db.auth_notices`:
        # ``hears_sign_ins``); ``generation`` counts the times they were forgotten.
        self._viewers: OrderedDict[bytes, tuple[float, object]] = OrderedDict()
        self.hears_sign_ins = False
        self.generation = 0
        self._lock = threading.Lock()

    def get(self, key: object, *, reader: bytes | None = None) -> FreshAnswer | None:
        """The answer held for ``key``, if still fresh; for ``reader`` (the digest of the
        token that asks) not one begun before their own last report."""
        if self.fresh_s <= 0:
            return None
        with self._lock:
            found = self._answers.get(key)
            if found is None:
                return None
            age = time.monotonic() - found.made
            if age > self.fresh_s or (found.made < self._changed_at and age > self.changed_s):
                del self._answers[key]
                return None
            if reader is not None:
                reported = self._reporters.get(reader)
                if reported is not None and found.made < reported:
                    return None
            return found

    def put(
        self,
        key: object,
        etag: str,
        body: bytes,
        *,
        made: float | None = None,
        gzipped: bytes | None = None,
    ) -> FreshAnswer:
        """Keep an answer for ``fresh_s``; returns it. ``made``: when its build began (the
        `time.monotonic` before the list's version was read; now if not given); ``gzipped``:
        the body gzipped, if already made (else made once here)."""
        now = time.monotonic()
        made = now if made is None else made
        if gzipped is None:
            gzipped = gzip.compress(body, 6, mtime=0)
        answer = FreshAnswer(made, etag, body, gzipped)
        if self.fresh_s <= 0:
            return answer
        with self._lock:
            if made < self._forgotten_at:
                return answer  # begun before a change that forgot the answers: not kept
            self.builds += 1
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.max_entries:
                self._answers.popitem(last=False)
        return answer

    def changed(self, *, reporter: bytes | None = None) -> None:
        """A report was stored through this process, by the token of digest ``reporter``: the
        answers begun before are kept at most ``changed_s`` (the reporter's, not at all)."""
        with self._lock:
            now = time.monotonic()
            self._changed_at = now
            if reporter is None:
                return
            self._reporters[reporter] = now
            self._reporters.move_to_end(reporter)
            while self._reporters:
                oldest = next(iter(self._reporters.values()))
                if now - oldest <= self.fresh_s and len(self._reporters) <= self.max_viewers:
                    break
                self._reporters.popitem(last=False)

    def remember_viewer(self, token_digest: bytes, visibility: object, *, generation: int) -> None:
        """The database accepted this token for a viewer of ``visibility`` (the viewer's part of
        an answer's key) in a request that began at ``generation``: kept unless the tokens were
        forgotten since (a change the request may not have seen)."""
        if self.fresh_s <= 0 or self.viewer_s <= 0:
            return
        with self._lock:
            if not self.hears_sign_ins or generation != self.generation:
                return
            self._viewers[token_digest] = (time.monotonic(), visibility)
            self._viewers.move_to_end(token_digest)
            while len(self._viewers) > self.max_viewers:
                self._viewers.popitem(last=False)

    def viewer(self, token_digest: bytes) -> object | None:
        """The visibility of a token the database accepted within ``viewer_s``, else None."""
        with self._lock:
            if not self.hears_sign_ins:
                return None
            found = self._viewers.get(token_digest)
            if found is None:
                return None
            if time.monotonic() - found[0] > self.viewer_s:
                del self._viewers[token_digest]
                return None
            return found[1]

    def forget_viewers(self, *, hearing: bool | None = None) -> None:
        """After a change that may change who may see what (a sign-out, a disabled account, a
        new role) or a lost connection to the notices: every token is checked again."""
        with self._lock:
            self._viewers.clear()
            self.generation += 1
            if hearing is not None:
                self.hears_sign_ins = hearing

    def forget(self) -> None:
        """After a change of deviations other than a report (a status, a category, a
        withdrawal): the next lists ask the database, and no answer begun before is kept."""
        with self._lock:
            self._answers.clear()
            self._forgotten_at = time.monotonic()
