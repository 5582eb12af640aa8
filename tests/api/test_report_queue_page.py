"""The offline report queue (``static/js/queue.js``) in real Chromium: the module is imported
in a page the app serves and driven over the browser's own localStorage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser import launch

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def page(live_server: str) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/login")
            yield page
        finally:
            browser.close()


def run(page: Page, body: str) -> Any:
    """``body`` as an async function of ``q`` (the module) and ``s`` (an emptied localStorage)."""
    return page.evaluate(
        f"""async () => {{
            const q = await import("/static/js/queue.js");
            const s = window.localStorage;
            s.clear();
            {body}
        }}"""
    )


def test_a_report_is_a_point_feature_with_a_uuid(page: Page) -> None:
    out = run(
        page,
        """return [
            q.newReport({ lon: 18.01041234, lat: 59.27861234, category: "brand", severity: 3,
                          note: "  rök  ", accuracyM: 12, now: new Date("2026-01-02T20:00:00Z") }),
            q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1, note: "   " }),
            q.uuid4({ getRandomValues: a => crypto.getRandomValues(a) }),
        ];""",
    )
    first, second, fallback = out
    assert first["geometry"] == {"type": "Point", "coordinates": [18.010412, 59.278612]}
    props = dict(first["properties"])
    assert UUID4.match(props.pop("id"))
    assert props == {
        "category": "brand",
        "observed_at": "2026-01-02T20:00:00.000Z",
        "severity": 3,
        "description": "rök",
        "accuracy_m": 12,
    }
    assert "description" not in second["properties"] and "accuracy_m" not in second["properties"]
    assert second["properties"]["id"] != first["properties"]["id"]
    assert UUID4.match(fallback)  # without crypto.randomUUID (plain http)


def test_the_queue_keeps_each_report_once_and_in_order(page: Page) -> None:
    out = run(
        page,
        """const key = q.queueKey(7);
        const a = q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1 });
        const b = q.newReport({ lon: 18, lat: 59.3, category: "klotter", severity: 2 });
        q.enqueue(s, key, a);
        q.enqueue(s, key, b);
        q.enqueue(s, key, a);  // pressed twice: still one
        const ids = q.readQueue(s, key).map(i => i.feature.properties.id);
        s.setItem(q.queueKey(8), "{not json");
        return { key, ids, expected: [a.properties.id, b.properties.id],
                 other: q.readQueue(s, q.queueKey(8)), raw: JSON.parse(s.getItem(key)).length };""",
    )
    assert out["key"] == "nattvandring.pending.7"
    assert out["ids"] == out["expected"] and out["raw"] == 2
    assert out["other"] == []  # a broken entry reads as empty, never throws


def test_flush_sends_oldest_first_and_stops_at_the_first_that_must_wait(page: Page) -> None:
    out = run(
        page,
        """const key = q.queueKey(1);
        const reports = [1, 2, 3, 4].map(n =>
            q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1, note: "r" + n }));
        reports.forEach(r => q.enqueue(s, key, r));
        const sent = [];
        // r1 stored, r2 refused (a 422), r3 no network: r3 and r4 wait.
        const send = async f => {
            sent.push(f.properties.description);
            if (f.properties.description === "r1") return "stored";
            if (f.properties.description === "r2") return "refused";
            throw new TypeError("Failed to fetch");
        };
        const offline = await q.flush(s, key, send, { online: false });
        const first = await q.flush(s, key, send);
        const left = q.readQueue(s, key).map(i => i.feature.properties.description);
        const sentFirst = sent.slice();
        const second = await q.flush(s, key, async () => "stored");
        const ids = reports.map(r => r.properties.id);
        return { offline, first, left, sentFirst, second, ids,
                 after: q.readQueue(s, key).length };""",
    )
    ids = out["ids"]
    assert out["offline"] == {"stored": [], "refused": [], "waiting": 4}
    assert out["sentFirst"] == ["r1", "r2", "r3"]  # nothing was sent while offline
    assert out["first"] == {"stored": [ids[0]], "refused": [ids[1]], "waiting": 2}
    assert out["left"] == ["r3", "r4"]
    assert out["second"] == {"stored": [ids[2], ids[3]], "refused": [], "waiting": 0}
    assert out["after"] == 0
