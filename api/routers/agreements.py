"""Agreements: `GET/POST /api/v1/agreements`, `GET/PATCH /api/v1/agreements/{id}`, grant reports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
