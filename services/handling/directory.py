"""What handling asks of routing's staff directory (routing owns it): whether the handler a
case is accepted for is a member of the department handling it.

The caller's own subject needs no look-up: their signed token names their department, and
the case is found in that department only. Anyone else named as the handler must be an
active handler or head of that department in the directory. If the directory cannot be
asked, accepting for oneself still works; naming someone else answers 503 with Retry-After
(the case is not accepted for a person nobody could check)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from shared.auth import Principal, issue_staff_token
from shared.errors import ApiError, Unprocessable, field_error
from shared.settings import Settings

log = logging.getLogger(__name__)

HANDLING_ROLES = ("handler", "dept_head")


def _token(s: Settings) -> str:
    # Production sets SERVICE_TOKEN (a client-credentials token from the identity provider).
    return s.service_token or issue_staff_token(
        "handling-service", "ops", ttl=timedelta(minutes=5), settings=s
    )


class DirectoryUnavailable(Exception):
    """Routing's staff directory could not be asked."""


async def staff_member(s: Settings, staff_id: str) -> dict[str, Any] | None:
    """The directory's entry for a staff member, or None if there is no such member
    (asked of routing at the service's ROUTING_URL)."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(
                f"{s.routing_url.rstrip('/')}/v1/staff/{quote(staff_id, safe='')}",
                headers={"Authorization": f"Bearer {_token(s)}"},
            )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        member: dict[str, Any] = response.json()
        return member
    except (httpx.HTTPError, ValueError) as exc:
        raise DirectoryUnavailable(str(exc)) from exc


def _refuse(rule: str, message: str) -> Unprocessable:
    return Unprocessable(f"handler_id: {message}", fields=[field_error("handler_id", rule, message)])


async def check_handler(settings: Settings, principal: Principal, handler_id: str) -> None:
    """Refuse a handler who is not an active handler or head of the caller's department.
    Call it before the case's transaction opens: a remote call never holds a row lock."""
    if handler_id == principal.id:
        return
    try:
        member = await staff_member(settings, handler_id)
    except DirectoryUnavailable as exc:
        log.warning("staff directory not reachable (%s); handler %s cannot be checked", exc, handler_id)
        raise ApiError(
            "cannot check handler_id now (routing's staff directory is not reachable); try again, "
            "or accept the case for yourself",
            status=503,
            code="directory_unavailable",
            headers={"Retry-After": "1"},
        ) from exc
    department = principal.department
    if member is None:
        raise _refuse("known_staff", f"{handler_id} is not in the staff directory")
    if member.get("department") != department:
        raise _refuse(
            "same_department",
            f"{handler_id} is staff of {member.get('department') or 'no department'}, not of {department}",
        )
    if member.get("role") not in HANDLING_ROLES:
        raise _refuse(
            "handling_staff", f"{handler_id} has the role {member.get('role')}, not handler or dept_head"
        )
    if not member.get("active", True):
        raise _refuse("active_staff", f"{handler_id} is no longer active in the directory")
