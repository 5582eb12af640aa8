"""The access log is written off the event loop (`api.access_log`), with uvicorn's formatter."""

from __future__ import annotations

import io
import logging
import threading

from uvicorn.logging import AccessFormatter

from api.access_log import OffLoopAccessLog


class _Threads(logging.Handler):
    """Notes the thread each record is handled in."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.threads.append(threading.current_thread().name)


def test_access_lines_are_written_in_order_by_a_thread_of_their_own_and_all_at_stop() -> None:
    logger = logging.getLogger("nv-test-access")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    out = io.StringIO()
    stream = logging.StreamHandler(out)
    stream.setFormatter(
        AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    )
    threads = _Threads()
    logger.addHandler(stream)
    logger.addHandler(threads)
    access = OffLoopAccessLog("nv-test-access")
    try:
        access.start()
        assert stream not in logger.handlers and threads not in logger.handlers
        for i in range(200):
            # As uvicorn logs a request: the parts in the record's args.
            logger.info(
                '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/v1/x?i={i}", "1.1", 200
            )
        access.stop()
        lines = out.getvalue().splitlines()
        assert lines == [
            f'127.0.0.1:5000 - "GET /api/v1/x?i={i} HTTP/1.1" 200 OK' for i in range(200)
        ]
        assert len(threads.threads) == 200
        assert threading.current_thread().name not in set(threads.threads)
        # The logger has its own handlers again, and writes in the caller's thread.
        assert logger.handlers == [stream, threads]
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/after", "1.1", 204)
        assert (
            out.getvalue().splitlines()[-1]
            == '127.0.0.1:5000 - "GET /after HTTP/1.1" 204 No Content'
        )
        assert threads.threads[-1] == threading.current_thread().name
    finally:
        access.stop()
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def test_a_logger_without_handlers_is_left_alone() -> None:
    logger = logging.getLogger("nv-test-access-none")
    access = OffLoopAccessLog("nv-test-access-none")
    access.start()
    assert logger.handlers == []
    access.stop()
    assert logger.handlers == []
