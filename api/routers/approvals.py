"""Approval of reported walks and the ledger: approve, reject, withdraw, `GET /api/v1/ledger`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
