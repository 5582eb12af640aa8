"""Approval over real HTTP (`nattvandring serve`, its own committed database): twenty planners'
clicks at once pay a walk once, and the planners' walks page approves, rejects and approves the
checked walks in headless Chromium, saying the answer in Swedish."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import Browser

from geo.db import connection
from tests.api.ledger_data import STOCKHOLM, agree, make_org, reported_walk, tag
from tests.api.test_walks_pages import _bearer, _sign_in, _user, rows

DISTRICT = "Hägersten-Älvsjö stadsdelsförvaltning"
CONCURRENT = 20


def test_twenty_concurrent_approvals_pay_the_walk_once(live_server: str, live_db_url: str) -> None:
    t = tag()
    club_name = f"Samtidiga klubben {t}"
    with connection.connect(live_db_url, autocommit=True) as conn:
        club = make_org(conn, club_name)
        agree(
            conn,
            f"IOP samtidigt {t}",
            parties=[club],
            starts_on=date(2031, 9, 1),
            ends_on=date(2031, 12, 31),
        )
    reporter = _user(live_db_url, "walker", club_name, "Rapportör")
    planner = _user(live_db_url, "planner", DISTRICT, "Planerare")
    with connection.connect(live_db_url, autocommit=True) as conn:
        walk_id = reported_walk(
            conn,
            club,
            datetime(2031, 10, 3, 21, tzinfo=STOCKHOLM),
            reporter_id=reporter["id"],
        )
    headers = _bearer(live_server, planner)
    barrier = threading.Barrier(CONCURRENT)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def click() -> None:
        # Each thread its own client, so its own connection to the server.
        with httpx.Client(base_url=live_server, headers=headers, timeout=120) as c:
            barrier.wait()
            r = c.post(f"/api/v1/walks/{walk_id}/approve")
        with lock:
            answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=click) for _ in range(CONCURRENT)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    assert len(answers) == CONCURRENT
    assert {status for status, _ in answers} <= {200, 409}, answers
    approvals = [body["approval"] for status, body in answers if status == 200]
    assert approvals, answers
    assert all(a == approvals[0] for a in approvals)
    assert approvals[0]["status"] == "paid" and approvals[0]["amount_sek"] == 1700
    assert rows(
        live_db_url,
        "SELECT approval_no, kind, amount_sek FROM ledger_entries WHERE walk_id = %s",
        walk_id,
    ) == [(1, "payment", 1700)]
    assert rows(
        live_db_url,
        "SELECT count(*) FROM audit_log WHERE action = 'walk.approve' AND subject = %s",
        str(walk_id),
    ) == [(1,)]


def _text(s: str) -> str:
    """Swedish number formatting puts a no-break space between thousands."""
    return re.sub(r"\s", " ", s).strip()


def test_the_planner_approves_rejects_and_approves_the_checked_walks_on_the_page(
    browser: Browser, live_server: str, live_db_url: str
) -> None:
    t = tag()
    club_name, other_name = f"Sidklubben {t}", f"Avtalslösa klubben {t}"
    agreement = f"IOP nattvandring test {t}"
    today = datetime.now(STOCKHOLM).date()
    with connection.connect(live_db_url, autocommit=True) as conn:
        club = make_org(conn, club_name)
        other = make_org(conn, other_name)
        agree(
            conn,
            agreement,
            parties=[club],
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=30),
        )
    reporter = _user(live_db_url, "walker", club_name, "Rapportör")
    planner = _user(live_db_url, "planner", DISTRICT, f"Planerare {t}")
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=3)
    walks: dict[str, str] = {}
    with connection.connect(live_db_url, autocommit=True) as conn:
        for i, (name, org, who) in enumerate(
            (
                ("single", club, reporter["id"]),
                ("reject", club, reporter["id"]),
                ("bulk_paid", club, reporter["id"]),
                ("bulk_outside", other, reporter["id"]),
                ("own", club, planner["id"]),
            )
        ):
            walk_id = reported_walk(
                conn, org, start + timedelta(minutes=i), reporter_id=who, hours=1
            )
            walks[name] = str(walk_id)
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, timezone_id="Europe/Stockholm"
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, live_server, "/plan/walks", planner, "body[data-walks]")
        local_start = start.astimezone(STOCKHOLM).date()
        if local_start < today - timedelta(days=today.weekday()):  # started last week
            page.click("[data-shift='-1']")
        listed = f"#nv-walks-list [data-walk='{walks['single']}']"
        page.wait_for_selector(listed)

        # One walk: "Godkänn", the answer in Swedish, one payment.
        page.click(listed)
        page.wait_for_selector(
            f"#nv-walk-detail[data-loaded='{walks['single']}']", state="attached"
        )
        page.click("#nv-walk-detail button.nv-approve")
        page.wait_for_selector(".nv-decision[data-decision='approved']", state="attached")
        answer = _text(page.inner_text(".nv-decision-answer"))
        assert answer == f"Godkänd – 1 700 kr enligt {agreement}"
        ledger = "SELECT approval_no, kind, amount_sek FROM ledger_entries WHERE walk_id = %s"
        assert rows(live_db_url, ledger, walks["single"]) == [(1, "payment", 1700)]
        status = "SELECT status, reject_reason FROM walks WHERE id = %s"
        assert rows(live_db_url, status, walks["single"]) == [("approved", None)]

        # "Avslå" with the reason typed in the page.
        page.click(f"#nv-walks-list [data-walk='{walks['reject']}']")
        page.wait_for_selector(
            f"#nv-walk-detail[data-loaded='{walks['reject']}']", state="attached"
        )
        page.click("#nv-walk-detail button.nv-reject")
        reason = f"Passet gick inte enligt polisen {uuid.uuid4().hex[:4]}"
        page.fill("#nv-walk-detail .nv-reject-form textarea", reason)
        page.click("#nv-walk-detail .nv-reject-form button[type=submit]")
        page.wait_for_selector(".nv-decision[data-decision='rejected']", state="attached")
        assert _text(page.inner_text(".nv-decision-answer")) == f"Avslagen: {reason}"
        assert rows(live_db_url, status, walks["reject"]) == [("rejected", reason)]
        assert rows(live_db_url, ledger, walks["reject"]) == []

        # Four eyes: the planner reported this one; the page says why, in Swedish.
        page.click(f"#nv-walks-list [data-walk='{walks['own']}']")
        page.wait_for_selector(f"#nv-walk-detail[data-loaded='{walks['own']}']", state="attached")
        page.click("#nv-walk-detail button.nv-approve")
        page.wait_for_selector(".nv-decision-answer.nv-error")
        assert "Du har själv återrapporterat passet" in page.inner_text(".nv-decision-answer")
        assert rows(live_db_url, status, walks["own"]) == [("reported", None)]

        # The checked walks at once: one paid, one outside every agreement.
        for name in ("bulk_paid", "bulk_outside"):
            page.check(f"#nv-walks-list [data-check='{walks[name]}']")
        assert page.inner_text("#nv-bulk-approve") == "Godkänn markerade (2)"
        page.click("#nv-bulk-approve")
        page.wait_for_selector("#nv-bulk-result.nv-ok")
        assert _text(page.inner_text("#nv-bulk-result")) == (
            "2 godkända (1 betalda, 1 utanför avtal)"
        )
        assert rows(live_db_url, ledger, walks["bulk_paid"]) == [(1, "payment", 1700)]
        assert rows(live_db_url, ledger, walks["bulk_outside"]) == []
        assert rows(live_db_url, status, walks["bulk_outside"]) == [("approved", None)]
        page.click(f"#nv-walks-list [data-walk='{walks['bulk_outside']}']")
        page.wait_for_selector(
            f"#nv-walk-detail[data-loaded='{walks['bulk_outside']}']", state="attached"
        )
        assert _text(page.inner_text(".nv-decision-answer")) == (
            "Godkänd men utanför avtal – betalas inte"
        )
        # Approved walks have no checkbox any more.
        assert page.locator(f"[data-check='{walks['bulk_paid']}']").count() == 0
        assert errors == []
    finally:
        context.close()
