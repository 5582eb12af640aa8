"""The follow-up's files, shared by ``GET /api/v1/follow-up`` and ``nattvandring follow-up``
so that both make the same ones: JSON, CSV or PDF of the follow-up, and the PDF of a
programme's summary. Every file made is audited (``follow_up.export``) with its SHA-256.

The figures are aggregates (walks, walker-nights, costs per group): no walker is named.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from geo.db import audit
from geo.db.follow_up import Query, follow_up, local_day
from geo.db.follow_up_summary import programme_summary
from geo.db.guarded import Connections
from geo.errors import InvalidParameter
from geo.geometry import DEFAULT_TIME_ZONE
from geo.inputs.walks import period_value
from maps.follow_up_csv import follow_up_csv
from maps.follow_up_pdf import follow_up_pdf, summary_pdf

FORMATS = ("json", "csv", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str
    media_type: str
    sha256: str
    audit_id: int
    data: dict[str, Any]


def today() -> date:
    """Today in the programme's wall clock (a reporting date passes at local midnight)."""
    return datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()


def make_query(
    *,
    by: str = "agreement",
    since: str | None = None,
    until: str | None = None,
    organisation: str | None = None,
    area: str | None = None,
) -> Query:
    """The follow-up's parameters as the walks API takes them (a date, or a datetime with its
    zone, which counts as its local date)."""
    return Query(
        by=by,
        since=local_day(period_value(since, "since")),
        until=local_day(period_value(until, "until"), "until"),
        organisation=organisation or None,
        area=area or None,
    )


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidParameter(
            f"format must be one of {', '.join(FORMATS)}; got {fmt!r}", field="format"
        )


def _audited(
    db: Connections,
    content: bytes,
    *,
    fmt: str,
    filename: str,
    user_id: int | None,
    subject: str,
    details: dict[str, Any],
    data: dict[str, Any],
) -> Export:
    digest = hashlib.sha256(content).hexdigest()
    with db.connection() as conn:
        audit_id = audit.write_audit(
            conn,
            user_id=user_id,  # None: the operator at the CLI without --user
            action="follow_up.export",
            subject=subject,
            details={
                **details,
                "format": fmt,
                "file": filename,
                "sha256": digest,
                "bytes": len(content),
                "synthetic": bool(data.get("synthetic")),
            },
        )
    return Export(content, filename, MEDIA_TYPES[fmt], digest, audit_id, data)


def export(db: Connections, q: Query, *, fmt: str, user_id: int | None, via: str) -> Export:
    """The follow-up as a file (``json``, ``csv`` or ``pdf``), audited. Read, made and audited
    in separate steps: no connection is held while the file is made (`api.heavy`)."""
    check_format(fmt)
    with db.connection() as conn:
        result = follow_up(conn, q, today=today())
    if fmt == "csv":
        content = follow_up_csv(result).encode("utf-8")
    elif fmt == "pdf":
        content = follow_up_pdf(result)
    else:
        content = json.dumps(result, ensure_ascii=False, indent=1).encode("utf-8")
    parts = [q.by, q.area or "", q.since.isoformat() if q.since else "", str(q.until or "")]
    stem = "-".join(p for p in parts if p)
    filename = f"uppfoljning-{stem}.{fmt}"
    return _audited(
        db,
        content,
        fmt=fmt,
        filename=filename,
        user_id=user_id,
        subject=q.area or "",
        details={
            "what": "follow_up",
            "via": via,
            "by": q.by,
            "since": result["since"],
            "until": result["until"],
            "organisation": q.organisation,
            "area": q.area,
            "rows": len(result["rows"]),
            "total_sek": result["total_sek"],
        },
        data=result,
    )


def summary_export(
    db: Connections, *, area: str, user_id: int | None, via: str, fmt: str = "pdf"
) -> Export:
    """The programme summary of ``area`` as a one-page PDF (or JSON), audited."""
    if fmt not in ("json", "pdf"):
        raise InvalidParameter(f"format must be json or pdf; got {fmt!r}", field="format")
    with db.connection() as conn:
        summary = programme_summary(conn, area=area, today=today())
    if fmt == "pdf":
        content = summary_pdf(summary)
    else:
        content = json.dumps(summary, ensure_ascii=False, indent=1).encode("utf-8")
    return _audited(
        db,
        content,
        fmt=fmt,
        filename=f"sammanstallning-{area}.{fmt}",
        user_id=user_id,
        subject=area,
        details={
            "what": "summary",
            "via": via,
            "area": area,
            "agreements": len(summary["agreements"]),
            "total_sek": summary["totals"]["all"]["cost_sek"],
        },
        data=summary,
    )
