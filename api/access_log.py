"""The access log written off the event loop.

uvicorn logs one line per request (``uvicorn.access``) with a handler that writes to stderr in
the thread that logs: the event loop, which then waits for a ``write`` per request. At a
Friday-night peak (issue 18: hundreds of polls a second per process) that was a fifth of the
loop's time (py-spy of a worker under ``bench/peak.py``'s 10,000 walkers). Here the access
logger's handlers move behind a queue: the loop only puts the record there, and one thread
writes the lines, in order, with uvicorn's own handlers and formatter.

Lines still in the queue when the process dies abruptly are lost (a shutdown writes them all);
the audit log of personal data is the database's (``audit_log``), not this one.
"""

from __future__ import annotations

import logging
import queue
from logging.handlers import QueueHandler, QueueListener

ACCESS_LOGGER = "uvicorn.access"


class _RecordQueueHandler(QueueHandler):
    """Puts the record itself on the queue: uvicorn's access formatter needs its ``args``
    (`QueueHandler.prepare` would format them into the message and drop them)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class OffLoopAccessLog:
    """While started, the access logger's handlers run in a thread of their own."""

    def __init__(self, logger_name: str = ACCESS_LOGGER) -> None:
        self.logger = logging.getLogger(logger_name)
        self._handlers: list[logging.Handler] = []
        self._listener: QueueListener | None = None

    def start(self) -> None:
        """Move the logger's handlers behind a queue (nothing to do without handlers)."""
        if self._listener is not None or not self.logger.handlers:
            return
        self._handlers = list(self.logger.handlers)
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._listener = QueueListener(records, *self._handlers, respect_handler_level=True)
        self._listener.start()
        for handler in self._handlers:
            self.logger.removeHandler(handler)
        self.logger.addHandler(_RecordQueueHandler(records))

    def stop(self) -> None:
        """Write what is queued and give the logger its handlers back."""
        if self._listener is None:
            return
        for handler in list(self.logger.handlers):
            if isinstance(handler, _RecordQueueHandler):
                self.logger.removeHandler(handler)
        self._listener.stop()
        self._listener = None
        for handler in self._handlers:
            self.logger.addHandler(handler)
        self._handlers = []
