"""Organisations: `GET/POST /api/v1/organisations`, `GET/PATCH /api/v1/organisations/{id}`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
