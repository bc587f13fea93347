"""Who may call what: one declared table (service × method × route → roles and scope), used
by every service through the `authorized` dependency. A route missing from the table is
refused to everybody (and the route-enumeration test fails), so a new endpoint cannot slip
out without a policy.

Scopes say what the service code then narrows down (answering 404 outside it, so another
department's request does not even seem to exist):
  any             the role sees everything the endpoint offers
  own_department  handler and dept_head: only requests their department leads or co-handles
  own_channel     channel adapters: only requests that came in through their channel

A department-scoped rule may also say where the route finds the request it acts on
(`request_at="path.request_id"` or `"body.request_id"`): `authorized` then checks the scope
itself, before the route runs, against the departments the service says take part in that
request (lead and co-handling, see `install_request_scope`), and answers 404 outside it.
Routes whose rule names no request narrow by the caller's `scoped_to` / `sees(...)`, which
`authorized` sets from the rule (lists, queues, a decision on another department's row), so
no route writes down again which roles a department scope narrows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Request

from shared.auth import Principal, Role, authenticate
from shared.errors import Forbidden, NotFound

Scope = Literal["any", "own_department", "own_channel"]


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    scope: Scope = "any"
    # Where the route names the request it acts on ("path.<param>" or "body.<field>"), so
    # that `authorized` checks the department scope itself; None: the route narrows it.
    request_at: str | None = None

    def __post_init__(self) -> None:
        if self.request_at is not None:
            place, _, name = self.request_at.partition(".")
            if place not in ("path", "body") or not name or self.scope != "own_department":
                raise ValueError(
                    f"request_at {self.request_at!r}: path.<name> or body.<name>, own_department"
                )


def rule(*roles: Role, scope: Scope = "any", request_at: str | None = None) -> Rule:
    return Rule(frozenset(roles), scope, request_at)


STAFF: tuple[Role, ...] = ("agent", "handler", "dept_head", "supervisor", "admin", "ops", "dispatcher")
DEPT: tuple[Role, ...] = ("handler", "dept_head")  # the roles a department scope narrows
OVERSIGHT: tuple[Role, ...] = ("dept_head", "supervisor", "admin", "ops")

POLICY: dict[str, dict[tuple[str, str], Rule]] = {
    "intake": {
        ("POST", "/v1/requests"): rule("channel", "agent", scope="own_channel"),
        ("GET", "/v1/requests"): rule(*STAFF, scope="own_department"),
        ("GET", "/v1/requests/{request_id}"): rule("channel", *STAFF, scope="own_department"),
        ("POST", "/v1/requests/{request_id}/supplements"): rule("channel", "agent", scope="own_channel"),
        ("POST", "/v1/requests/{request_id}/answer"): rule("agent"),
        ("POST", "/v1/requests/{request_id}/merge"): rule("agent", "dispatcher", "supervisor", "admin"),
        ("GET", "/v1/requests/{request_id}/likely-duplicates"): rule(
            "agent", "dispatcher", "supervisor", "admin"
        ),
        ("POST", "/v1/requests/{request_id}/withdraw"): rule("channel", "agent", scope="own_channel"),
        # 催办: only the request's first responder (checked in the code).
        ("POST", "/v1/requests/{request_id}/chase"): rule("channel", "agent", scope="own_channel"),
        ("GET", "/v1/requests/{request_id}/requester"): rule("agent", "supervisor", "admin"),
        ("GET", "/v1/requests/{request_id}/text"): rule("agent", "supervisor", "admin"),
        ("GET", "/v1/personal-data-reads"): rule("supervisor", "admin"),
        ("POST", "/v1/notifications/{notification_id}/receipt"): rule(
            "channel", "admin", scope="own_channel"
        ),
        ("GET", "/v1/catalog"): rule("channel", *STAFF),
        ("GET", "/v1/catalog/{code}"): rule("channel", *STAFF),
        ("PUT", "/v1/catalog/{code}"): rule("admin"),
        ("POST", "/v1/materials"): rule("channel", "agent"),
        ("GET", "/v1/channel-keys/whoami"): rule("channel"),
        ("POST", "/v1/channel-keys"): rule("admin"),
        ("GET", "/v1/channel-keys"): rule("admin"),
        ("DELETE", "/v1/channel-keys/{key_id}"): rule("admin"),
        ("POST", "/v1/retention/purge"): rule("admin"),
        # Knowledge base: everyone on staff reads; editors (the owning department's head,
        # admins) and approvers (supervisors) are checked against the article in the code.
        ("GET", "/v1/kb/search"): rule("channel", *STAFF),
        ("GET", "/v1/kb/articles"): rule(*STAFF),
        ("GET", "/v1/kb/articles/{article_id}"): rule(*STAFF),
        ("POST", "/v1/kb/articles"): rule("dept_head", "admin"),
        ("PUT", "/v1/kb/articles/{article_id}"): rule("dept_head", "admin"),
        ("POST", "/v1/kb/articles/{article_id}/{action}"): rule(
            "agent", "handler", "dept_head", "supervisor", "admin"
        ),
        # Department staff propose only their own department's requests as typical cases.
        ("POST", "/v1/kb/cases"): rule(
            "agent", *DEPT, "supervisor", scope="own_department", request_at="body.request_id"
        ),
    },
    "routing": {
        ("GET", "/v1/departments"): rule(*STAFF),
        ("POST", "/v1/departments"): rule("admin"),
        ("PUT", "/v1/departments/{code}"): rule("admin"),
        ("GET", "/v1/rules"): rule(*STAFF),
        ("POST", "/v1/rules"): rule("admin"),
        ("PUT", "/v1/rules/{rule_id}"): rule("admin"),
        ("GET", "/v1/sla-policies"): rule(*STAFF),
        ("PUT", "/v1/sla-policies"): rule("admin"),
        ("GET", "/v1/calendar/days/{day}"): rule(*STAFF),
        ("PUT", "/v1/calendar/days/{day}"): rule("admin"),
        ("POST", "/v1/calendar/due"): rule(*STAFF),
        ("POST", "/v1/calendar/time-left"): rule(*STAFF),
        ("GET", "/v1/calendar/years"): rule(*STAFF),
        ("GET", "/v1/calendar/years/{year}"): rule(*STAFF),
        ("PUT", "/v1/calendar/years/{year}"): rule("admin"),
        ("GET", "/v1/assignments/{request_id}"): rule(
            *STAFF, scope="own_department", request_at="path.request_id"
        ),
        # The coordinating department's staff, or supervisors (the command checks which is the
        # coordinating department; the scope says whom it narrows).
        ("POST", "/v1/assignments/{request_id}"): rule(*DEPT, "supervisor", "admin", scope="own_department"),
        ("GET", "/v1/staff"): rule(*STAFF),
        ("GET", "/v1/staff/{staff_id}"): rule(*STAFF),
        ("PUT", "/v1/staff/{staff_id}"): rule("admin"),
        # The dispatch catalogue: everyone on staff reads it, admins edit (every change audited).
        ("GET", "/v1/matters"): rule(*STAFF),
        ("GET", "/v1/matters/{code}"): rule(*STAFF),
        ("GET", "/v1/matters/{code}/versions"): rule(*STAFF),
        ("POST", "/v1/matters"): rule("admin"),
        ("PUT", "/v1/matters/{code}"): rule("admin"),
        ("POST", "/v1/matters/{code}/retire"): rule("admin"),
        ("POST", "/v1/matter-suggestions"): rule(*STAFF),
        # The dispatcher's queue (待派单): dispatchers of the coordination office, supervisors.
        ("GET", "/v1/dispatch-queue"): rule("dispatcher", "supervisor", "admin"),
        ("POST", "/v1/dispatch-queue/{request_id}/dispatch"): rule("dispatcher", "supervisor", "admin"),
        ("GET", "/v1/dispatch-models"): rule("dispatcher", "supervisor", "admin", "ops"),
        ("POST", "/v1/dispatch-models"): rule("admin", "ops"),
    },
    "handling": {
        ("GET", "/v1/cases"): rule(*DEPT, scope="own_department"),
        ("GET", "/v1/cases/{request_id}"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/accept"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/contact"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/progress"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/resolve"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/return"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/opinions"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/pause"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/resume"): rule(*DEPT, scope="own_department"),
        ("POST", "/v1/cases/{request_id}/extensions"): rule(*DEPT, scope="own_department"),
        ("GET", "/v1/extensions"): rule(*DEPT, "supervisor", scope="own_department"),
        ("POST", "/v1/extensions/{extension_id}/decision"): rule(
            "dept_head", "supervisor", scope="own_department"
        ),
        ("POST", "/v1/supervision-orders"): rule("supervisor"),
        ("GET", "/v1/supervision-orders"): rule(*OVERSIGHT, "handler", scope="own_department"),
        ("POST", "/v1/supervision-orders/{order_id}/answer"): rule(*DEPT, scope="own_department"),
        ("GET", "/v1/overdue"): rule(*OVERSIGHT, scope="own_department"),
        ("GET", "/v1/at-risk"): rule(*OVERSIGHT, scope="own_department"),
    },
    "followup": {
        ("POST", "/v1/requests/{request_id}/feedback"): rule(*DEPT, "agent", scope="own_department"),
        ("POST", "/v1/requests/{request_id}/rating"): rule("channel", "agent", scope="own_channel"),
        ("POST", "/v1/requests/{request_id}/close"): rule("agent", "supervisor", "admin"),
        ("GET", "/v1/revisits"): rule("agent", "supervisor", "admin", "ops"),
        ("POST", "/v1/revisits/{revisit_id}/outcome"): rule("agent", "supervisor"),
        ("GET", "/v1/staff-ratings/reasons"): rule("channel", *STAFF),
        ("POST", "/v1/staff-ratings"): rule("channel", "agent"),
        # A head sees and decides their own department's (narrowed in the code).
        ("GET", "/v1/rectifications"): rule("dept_head", "supervisor", "admin", scope="own_department"),
        ("POST", "/v1/rectifications/{rectification_id}/outcome"): rule(
            "dept_head", "supervisor", scope="own_department"
        ),
    },
    "kpi": {
        ("GET", "/v1/kpis"): rule(*OVERSIGHT, scope="own_department"),
        # Figures by matter (事项): a head reads their own department's only.
        ("GET", "/v1/kpis/matters"): rule(*OVERSIGHT, scope="own_department"),
        ("GET", "/v1/rankings"): rule(*OVERSIGHT),
        ("GET", "/v1/accountability"): rule(*OVERSIGHT),
        ("GET", "/v1/hotspots"): rule(*OVERSIGHT),
        ("GET", "/v1/requests/{request_id}/facts"): rule(*OVERSIGHT, scope="own_department"),
        ("GET", "/v1/requests/{request_id}/timeline"): rule(*STAFF, scope="own_department"),
        ("POST", "/v1/periods/{period}/close"): rule("supervisor", "admin"),
        ("POST", "/v1/rebuild"): rule("admin", "ops"),
        # The member, their head and supervisors: narrowed in the code to exactly those.
        ("GET", "/v1/staff/{staff_id}/kpis"): rule("agent", "handler", "dept_head", "supervisor", "admin"),
        ("PUT", "/v1/staff/{staff_id}/evaluations/{period}/{kind}"): rule(
            "agent", "handler", "dept_head", "supervisor"
        ),
    },
}

# Open to everybody by design: health, readiness, metrics, the API description, and Open311
# (whose POST carries its own api_key, checked in the route, as the GeoReport spec says).
PUBLIC_PREFIXES = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/open311/",
    "/console",  # static files and where the APIs are; the APIs themselves need a token
)


def rule_for(service: str, method: str, path: str) -> Rule | None:
    return POLICY.get(service, {}).get((method, path))


# How a service finds the departments that take part in a request (its lead and co-handling
# departments), or None if it knows no such request.
RequestDepartments = Callable[[Request, str], Awaitable[Collection[str] | None]]


def install_request_scope(app: FastAPI, departments_of: RequestDepartments) -> None:
    """A service whose policy has rules with `request_at` says here how it finds a request's
    departments; `authorized` asks it for those routes."""
    app.state.request_departments = departments_of


async def _named_request(request: Request, where: str) -> str | None:
    place, _, name = where.partition(".")
    value: object
    if place == "path":
        value = request.path_params.get(name)
    else:
        try:
            body = await request.json()  # Starlette keeps it; the route's validation reads it again
        except ValueError:
            return None  # the route's own validation says what is wrong with the body
        value = body.get(name) if isinstance(body, dict) else None
    return (value.strip() or None) if isinstance(value, str) else None


async def _check_request_scope(request: Request, principal: Principal, where: str) -> None:
    request_id = await _named_request(request, where)
    if request_id is None:
        return  # no request named: the route's validation refuses the body
    departments_of: RequestDepartments | None = getattr(request.app.state, "request_departments", None)
    if departments_of is None:
        raise RuntimeError("a rule names a request but the service installed no request scope")
    departments = await departments_of(request, request_id)
    if departments is None or principal.department not in departments:
        # Another department's request does not even seem to exist.
        raise NotFound(f"no request {request_id}")


async def authorized(request: Request) -> Principal:
    """FastAPI dependency: the caller, if the policy table lets their role call this route."""
    principal = await authenticate(request)
    route = request.scope.get("route")
    service = request.app.state.runtime.name
    found = rule_for(service, request.method, getattr(route, "path", ""))
    if found is None:
        raise Forbidden("this endpoint has no access policy")
    if principal.role not in found.roles:
        raise Forbidden(f"role {principal.role} may not call this endpoint")
    if found.scope == "own_department" and principal.role in DEPT:
        if not principal.department:
            raise Forbidden("a department-scoped role needs a department in its token")
        # The route's code narrows what it reads and changes by `scoped_to` / `sees`, so the
        # scope is what this table says, never a role list written again in a route.
        principal = replace(principal, scoped_to=principal.department)
        if found.request_at is not None:
            await _check_request_scope(request, principal, found.request_at)
    return principal


# The caller as a route dependency: authenticated and let through by the policy table (which
# also holds every route's role and department checks; nothing else is promised by the name).
Caller = Annotated[Principal, Depends(authorized)]
