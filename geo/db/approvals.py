"""The planner's decision on a reported walk: approve it (paid once under the agreement that
covers it), reject it, or, as an admin, withdraw an approval (DESIGN.md decision 6).

- **The covering agreement** is the one whose period (inclusive) holds the walk's local date
  (``walk_money.local_date``: the day it starts in its area's time zone, so a walk from 23:00 to
  01:00 belongs to the day it starts) and whose parties include the walk's organisation or the
  organisation it is part of. When two match, the one that starts last wins (an extension
  signed while the old agreement still ran).
- **Four eyes**: nobody approves or rejects a walk they reported (`OwnWalk`), nor a walk of
  their own organisation, of the organisation theirs is part of, or of one part of theirs
  (`OwnClub`).
- **Paid once**: the walk's row is locked (``FOR UPDATE``) for the decision, so concurrent
  approvals queue; the first writes the ledger payment, the others find the walk approved and
  answer with the same approval. ``UNIQUE (walk_id, approval_no, kind)`` backs that up in the
  table. A per-walk agreement writes one payment of its ``rate_sek``; a grant writes nothing
  (the grant is paid as a whole); no agreement: approved, flagged ``outside_agreement``, unpaid.
- **Withdrawal** writes a reversal row (−amount) and puts the walk back to ``reported``; its
  ``approval_no`` stays, so the next approval is a new payment with a key of its own.

Every decision writes an audit row. Library code: each change runs in ``conn.transaction()``.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from geo.db.audit import write_audit
from geo.db.walks import Actor, get_walk, walk_row
from geo.errors import (
    AgreementDoesNotCover,
    NattvandringError,
    NotApproved,
    NotFound,
    NotReported,
    OwnClub,
    OwnWalk,
)

FLAGS = ("short_of_walkers", "before_signed", "outside_agreement")

# The agreements covering a walk, the one that starts last first. ``%(agreement_id)s`` narrows
# it to one agreement (an explicit choice must cover the walk all the same).
_COVERING = """
SELECT a.id, a.name, a.kind, a.compensation, a.rate_sek
FROM walk_money m
JOIN organisations o ON o.id = m.organisation_id
JOIN agreements a ON m.local_date BETWEEN a.starts_on AND a.ends_on
WHERE m.walk_id = %(walk_id)s
  AND EXISTS (SELECT 1 FROM agreement_parties p
              WHERE p.agreement_id = a.id AND p.organisation_id IN (o.id, o.part_of_id))
  AND (%(agreement_id)s::bigint IS NULL OR a.id = %(agreement_id)s::bigint)
ORDER BY a.starts_on DESC, a.id DESC
LIMIT 1
"""


def covering_agreement(
    conn: psycopg.Connection, walk_id: uuid.UUID, *, agreement_id: int | None = None
) -> dict[str, Any] | None:
    """The agreement an approval of the walk pays under (None when none covers it).

    With ``agreement_id``, that agreement if it covers the walk, else `AgreementDoesNotCover`.
    """
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(_COVERING, {"walk_id": walk_id, "agreement_id": agreement_id})
        .fetchone()
    )
    if row is None and agreement_id is not None:
        known = conn.execute("SELECT name FROM agreements WHERE id = %s", (agreement_id,))
        name = known.fetchone()
        raise AgreementDoesNotCover(
            f"agreement {agreement_id} ({name[0]}) does not cover the walk: its period must "
            "hold the walk's date and its parties the walk's organisation"
            if name
            else f"there is no agreement {agreement_id}",
            field="agreement_id",
        )
    return row


def check_four_eyes(conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor) -> None:
    """Refuse a decision on a walk the actor reported, or of the actor's own organisation
    (the walk's organisation, the one it is part of, or one that is part of the actor's)."""
    row = conn.execute(
        """
        SELECT r.reporter_id, w.organisation_id, o.part_of_id,
               (SELECT part_of_id FROM organisations WHERE id = %s)
        FROM walks w JOIN organisations o ON o.id = w.organisation_id
        LEFT JOIN walk_reports r ON r.walk_id = w.id
        WHERE w.id = %s
        """,
        (actor.organisation_id, walk_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    reporter_id, org_id, parent_id, actor_parent_id = row
    if reporter_id is not None and reporter_id == actor.user_id:
        raise OwnWalk("you reported this walk: another planner must approve or reject it")
    if actor.organisation_id in (org_id, parent_id) or actor_parent_id == org_id:
        raise OwnClub(
            "the walk belongs to your own organisation: a planner of another organisation must "
            "approve or reject it"
        )


def approval_of(conn: psycopg.Connection, walk_id: uuid.UUID) -> dict[str, Any]:
    """The current approval of an approved walk as the API's Approval object."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            """
            SELECT w.status, to_json(w.approved_at) #>> '{}' AS approved_at,
                   u.id AS approver_id, u.display_name,
                   ag.id AS agreement_id, ag.name, ag.kind, ag.compensation,
                   m.short_of_walkers, m.before_signed, m.outside_agreement,
                   (SELECT l.amount_sek FROM ledger_entries l
                    WHERE l.walk_id = w.id AND l.approval_no = w.approval_no
                      AND l.kind = 'payment') AS amount_sek
            FROM walks w JOIN walk_money m ON m.walk_id = w.id
            LEFT JOIN users u ON u.id = w.approved_by
            LEFT JOIN agreements ag ON ag.id = w.agreement_id
            WHERE w.id = %s
            """,
            (walk_id,),
        )
        .fetchone()
    )
    if row is None:
        raise NotFound(f"no walk {walk_id}")
    if row["status"] != "approved":
        raise NotApproved(f"the walk is {row['status']}, not approved")
    agreement = None
    status = "outside_agreement"
    if row["agreement_id"] is not None:
        agreement = {k: row[k] for k in ("name", "kind", "compensation")}
        agreement = {"id": row["agreement_id"], **agreement}
        status = "grant" if row["compensation"] == "grant" else "paid"
    return {
        "status": status,
        "agreement": agreement,
        "amount_sek": int(row["amount_sek"] or 0),
        "flags": [f for f in FLAGS if row[f]],
        "approved_by": {"id": row["approver_id"], "display_name": row["display_name"]},
        # Rendered as the walk's JSON renders it (json_build_object in geo.db.walks): the two
        # answers name one instant with the same text (Python's isoformat keeps trailing zeros).
        "approved_at": row["approved_at"],
    }


def _approve_locked(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, agreement_id: int | None
) -> dict[str, Any]:
    """The approval, inside the caller's transaction (the walk's row locked here)."""
    stored = walk_row(conn, walk_id)  # FOR UPDATE: concurrent approvals of the walk queue here
    check_four_eyes(conn, walk_id, actor)
    if stored["status"] == "approved":
        return approval_of(conn, walk_id)  # a retry, or another planner was first: same answer
    if stored["status"] != "reported":
        raise NotReported(f"the walk is {stored['status']}: only a reported walk can be approved")
    agreement = covering_agreement(conn, walk_id, agreement_id=agreement_id)
    approval_no = stored["approval_no"] + 1
    conn.execute(
        "UPDATE walks SET status = 'approved', agreement_id = %s, approved_by = %s, "
        "approved_at = now(), approval_no = %s, version = version + 1, updated_at = now() "
        "WHERE id = %s",
        (agreement and agreement["id"], actor.user_id, approval_no, walk_id),
    )
    if agreement is not None and agreement["compensation"] == "per_walk":
        conn.execute(
            "INSERT INTO ledger_entries (walk_id, approval_no, kind, agreement_id, amount_sek, "
            "user_id, synthetic) VALUES (%s, %s, 'payment', %s, %s, %s, %s)",
            (
                walk_id,
                approval_no,
                agreement["id"],
                agreement["rate_sek"],
                actor.user_id,
                stored["synthetic"],
            ),
        )
    approval = approval_of(conn, walk_id)
    write_audit(
        conn,
        user_id=actor.user_id,
        action="walk.approve",
        subject=str(walk_id),
        details={
            "approval_no": approval_no,
            "status": approval["status"],
            "agreement_id": agreement and agreement["id"],
            "amount_sek": approval["amount_sek"],
            "explicit_agreement": agreement_id is not None,
        },
    )
    return approval


def approve(
    conn: psycopg.Connection,
    walk_id: uuid.UUID,
    actor: Actor,
    *,
    agreement_id: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Approve a reported walk: the walk (as JSON, with sign-ups) and its approval.

    An approved walk answers with its approval unchanged (a retried or concurrent approval);
    `NotReported` for any other status, `OwnWalk`/`OwnClub` for the four eyes.
    """
    with conn.transaction():
        approval = _approve_locked(conn, walk_id, actor, agreement_id)
    return get_walk(conn, walk_id, all_names=True), approval


def approve_many(
    conn: psycopg.Connection, walk_ids: list[uuid.UUID], actor: Actor
) -> list[dict[str, Any]]:
    """Approve several walks, each on its own (one refused walk does not stop the others).

    The result per walk, in the order given: ``{"id", "status"}`` with the approval's status,
    or ``{"id", "status": "refused", "code", "detail"}``. Walks are locked in id order, so two
    overlapping bulk approvals cannot deadlock.
    """
    results: dict[uuid.UUID, dict[str, Any]] = {}
    for walk_id in sorted(set(walk_ids)):
        try:
            with conn.transaction():
                approval = _approve_locked(conn, walk_id, actor, None)
            results[walk_id] = {"id": str(walk_id), "status": approval["status"]}
        except NattvandringError as exc:
            results[walk_id] = {
                "id": str(walk_id),
                "status": "refused",
                "code": exc.code or ("not_found" if isinstance(exc, NotFound) else "refused"),
                "detail": str(exc),
            }
    return [results[w] for w in dict.fromkeys(walk_ids)]


def reject(
    conn: psycopg.Connection, walk_id: uuid.UUID, actor: Actor, *, reason: str
) -> dict[str, Any]:
    """Reject a reported walk with a reason: it is never paid (a retry returns it unchanged)."""
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        check_four_eyes(conn, walk_id, actor)
        if stored["status"] == "rejected":
            return get_walk(conn, walk_id, all_names=True)
        if stored["status"] != "reported":
            raise NotReported(
                f"the walk is {stored['status']}: only a reported walk can be rejected"
            )
        conn.execute(
            "UPDATE walks SET status = 'rejected', rejected_by = %s, rejected_at = now(), "
            "reject_reason = %s, version = version + 1, updated_at = now() WHERE id = %s",
            (actor.user_id, reason, walk_id),
        )
        write_audit(
            conn,
            user_id=actor.user_id,
            action="walk.reject",
            subject=str(walk_id),
            details={"reason": reason},
        )
    return get_walk(conn, walk_id, all_names=True)


def withdraw_approval(
    conn: psycopg.Connection, walk_id: uuid.UUID, *, user_id: int, reason: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Withdraw an approval (admins): a reversal of its payment, the walk ``reported`` again.

    The walk and the reversal row (None when the approval paid nothing: a grant, or outside
    every agreement). `NotApproved` when the walk is not approved.
    """
    with conn.transaction():
        stored = walk_row(conn, walk_id)
        if stored["status"] != "approved":
            raise NotApproved(
                f"the walk is {stored['status']}: only an approved walk's approval can be withdrawn"
            )
        reversal = (
            conn.cursor(row_factory=dict_row)
            .execute(
                """
                INSERT INTO ledger_entries (walk_id, approval_no, kind, agreement_id, amount_sek,
                                            user_id, reason, synthetic)
                SELECT walk_id, approval_no, 'reversal', agreement_id, -amount_sek, %s, %s,
                       synthetic
                FROM ledger_entries
                WHERE walk_id = %s AND approval_no = %s AND kind = 'payment'
                RETURNING id, approval_no, agreement_id, amount_sek
                """,
                (user_id, reason, walk_id, stored["approval_no"]),
            )
            .fetchone()
        )
        conn.execute(
            "UPDATE walks SET status = 'reported', agreement_id = NULL, approved_by = NULL, "
            "approved_at = NULL, version = version + 1, updated_at = now() WHERE id = %s",
            (walk_id,),
        )
        write_audit(
            conn,
            user_id=user_id,
            action="walk.withdraw_approval",
            subject=str(walk_id),
            details={
                "reason": reason,
                "approval_no": stored["approval_no"],
                "agreement_id": stored["agreement_id"],
                "reversed_sek": reversal["amount_sek"] if reversal else 0,
            },
        )
    return get_walk(conn, walk_id, all_names=True), reversal
