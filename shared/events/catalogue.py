"""The typed event catalogue: one pydantic model per event type and version.

`decode` turns raw bytes from the broker into (envelope, typed data). Unknown types and
payloads that do not match their model raise, so a consumer dead-letters them instead of
applying half of them. JSON Schemas and the AsyncAPI document are generated from these
models (`make docs`), never written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.events.envelope import Envelope
from shared.masking import mask_text, mask_value

# Free text people or staff wrote: whatever service builds the event, phone numbers, ID
# numbers, e-mail addresses and introduced names are masked before it is written (the
# receiving service masks the person's own name and address with shared.masking first).
FreeText = Annotated[str, AfterValidator(mask_text)]
FreeParams = Annotated[dict[str, Any], AfterValidator(mask_value)]

Channel = Literal["hotline", "web", "app", "wechat", "weibo", "email", "window", "letter", "open311"]
Category = Literal["consultation", "suggestion", "complaint", "help", "repair", "business"]
Urgency = Literal["normal", "urgent"]
Outcome = Literal["resolved", "partially_resolved", "explained", "cannot_resolve"]
Rating = Literal["satisfied", "basically_satisfied", "unsatisfied", "no_response"]
ClockName = Literal["accept", "first_contact", "resolve", "feedback", "revisit", "supervision"]
Step = Literal["investigate", "plan", "implement", "other"]
Audience = Literal["requester", "first_responder", "handler", "department_head", "supervisors"]


class UnknownEventType(Exception):
    """No model is registered for this (type, version)."""


class InvalidEvent(Exception):
    """The bytes are not an envelope, or the payload does not match its model."""


class EventData(BaseModel):
    """Base of every payload model; subclasses declare their `TYPE` and `VERSION`."""

    model_config = ConfigDict(extra="allow", frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]


E = TypeVar("E", bound=EventData)
CATALOGUE: dict[tuple[str, int], type[EventData]] = {}


def event_model(type_: str, version: int = 1) -> Callable[[type[E]], type[E]]:
    """Register a payload model under (type, version)."""

    def register(cls: type[E]) -> type[E]:
        key = (type_, version)
        if key in CATALOGUE:
            raise RuntimeError(f"event {type_} v{version} registered twice")
        cls.TYPE = type_
        cls.VERSION = version
        CATALOGUE[key] = cls
        return cls

    return register


class FirstResponder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["staff", "channel"]
    id: str


class Due(BaseModel):
    """Due times of the five clocks; a clock that does not apply is null."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    accept: AwareDatetime | None = None
    first_contact: AwareDatetime | None = None
    resolve: AwareDatetime | None = None
    feedback: AwareDatetime | None = None
    revisit: AwareDatetime | None = None


class MissingMaterial(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str
    reason: str


# --- intake -------------------------------------------------------------------------


@event_model("request.received")
class RequestReceived(EventData):
    channel: Channel
    category: Category
    urgency: Urgency
    topic: FreeText | None = None
    area: FreeText | None = None
    business_type: str | None = None
    requester_ref: str | None = None
    contact_masked: str | None = None
    first_responder: FirstResponder
    submitted_at: AwareDatetime
    anonymous: bool = False
    classification_rule: str | None = None
    # What the request says, with phone numbers, e-mail addresses and ID numbers masked.
    title: FreeText | None = None
    content: FreeText | None = None
    name_masked: str | None = None
    # One-window business with missing materials: not to be routed before it is supplemented.
    awaiting_materials: bool = False


@event_model("request.incomplete")
class RequestIncomplete(EventData):
    missing: list[MissingMaterial] = Field(min_length=1)
    paused_from: AwareDatetime


@event_model("request.supplemented")
class RequestSupplemented(EventData):
    materials: list[str]
    paused_from: AwareDatetime
    paused_until: AwareDatetime


@event_model("request.answered_at_intake")
class RequestAnsweredAtIntake(EventData):
    answer: FreeText = Field(min_length=1)
    agent_id: str
    article_id: str | None = None


@event_model("request.merged")
class RequestMerged(EventData):
    into_request_id: str


@event_model("request.withdrawn")
class RequestWithdrawn(EventData):
    reason: FreeText


@event_model("request.chased")
class RequestChased(EventData):
    """催办: the first responder chased a request they own; the lead department's head is told."""

    department: str | None = None
    chased_by: str
    note: str | None = None
    chase_count: int = Field(ge=1)


@event_model("request.merge_released")
class RequestMergeReleased(EventData):
    """The primary a request was merged into ended without handling it (withdrawn, answered
    at intake): the duplicate goes back to handling, the earliest as the new primary."""

    former_primary_id: str
    new_primary_id: str | None = None


NotificationChannel = Literal[
    "hotline", "web", "app", "wechat", "weibo", "email", "window", "letter", "open311", "internal"
]


@event_model("request.personal_data_purged")
class RequestPersonalDataPurged(EventData):
    """Intake anonymised the request's personal data after its retention period."""

    fields: list[str]
    closed_at: AwareDatetime


@event_model("notification.sent")
class NotificationSent(EventData):
    notification_id: str
    channel: NotificationChannel
    template: str
    audience: Audience | None = None


@event_model("notification.delivered")
class NotificationDelivered(EventData):
    notification_id: str
    channel: NotificationChannel
    status: Literal["delivered", "failed"] = "delivered"


@event_model("notification.outbound")
class NotificationOutbound(EventData):
    """On `requests.notifications` only: a message for a channel adapter, with where to
    deliver it. The one event that carries contact data; the topic is for adapters."""

    notification_id: str
    channel: NotificationChannel
    destination: dict[str, Any]
    template: str
    language: str
    text: str


# --- routing ------------------------------------------------------------------------


DecidedBy = Literal["rule", "model", "dispatcher", "manual", "returned", "fallback", "reopened", "escalated"]


class DispatchAlternative(BaseModel):
    """One of the model's top departments for a request, with its best matter."""

    department: str
    matter: str | None = None
    confidence: float = Field(ge=0, le=1)


@event_model("request.routed")
class RequestRouted(EventData):
    lead_department: str
    co_departments: list[str] = Field(default_factory=list)
    rule_id: str | None = None
    due: Due
    excluded_departments: list[str] = Field(default_factory=list)
    urgency: Urgency = "normal"
    category: Category | None = None
    # When each clock's warning falls due (the policy's warning fraction of its time).
    warn_at: Due | None = None
    # Content-based dispatch: the matter (事项) it went under, what decided (an admin's
    # rule, the model, a dispatcher, ...), and for the model its version, confidence and
    # top-3 alternatives; `dispatch_review`: urgent and uncertain, sent at once and shown
    # to the dispatcher. `urgent_rule`: what made it urgent, where routing did.
    matter: str | None = None
    decided_by: DecidedBy | None = None
    model_version: int | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    alternatives: list[DispatchAlternative] = Field(default_factory=list)
    dispatch_review: bool = False
    urgent_rule: str | None = None


@event_model("request.rerouted")
class RequestRerouted(RequestRouted):
    pass


@event_model("request.due_recomputed")
class RequestDueRecomputed(EventData):
    """The calendar changed (e.g. the State Council notice for a year was entered): the due
    times of the clocks not yet due, counted again. `previous` is what they were."""

    due: Due
    previous: Due
    warn_at: Due | None = None
    previous_warn_at: Due | None = None
    reason: str


@event_model("request.escalated")
class RequestEscalated(EventData):
    to_department: str
    reason: FreeText
    returns: int = Field(ge=0)


# --- handling -----------------------------------------------------------------------


@event_model("request.accepted")
class RequestAccepted(EventData):
    department: str
    handler_id: str


@event_model("request.contacted")
class RequestContacted(EventData):
    department: str
    handler_id: str
    how: str


@event_model("request.progressed")
class RequestProgressed(EventData):
    department: str
    handler_id: str
    step: Step
    note: FreeText


@event_model("request.returned")
class RequestReturned(EventData):
    department: str
    reason: FreeText = Field(min_length=1)
    # The returning department's word on where it belongs (a training label for dispatch).
    belongs_to_department: str | None = None


@event_model("request.extension_requested")
class RequestExtensionRequested(EventData):
    department: str
    clock: ClockName
    requested_due: AwareDatetime
    reason: FreeText
    extension_id: str | None = None  # what the head decides on (POST /v1/extensions/{id}/decision)


@event_model("request.extension_decided")
class RequestExtensionDecided(EventData):
    department: str
    clock: ClockName
    approved: bool
    new_due: AwareDatetime | None
    decided_by: str
    extension_id: str | None = None
    note: str | None = None


@event_model("request.paused")
class RequestPaused(EventData):
    """The department waits on the person (e.g. for information): its clocks stop running."""

    department: str
    reason: FreeText


@event_model("request.resumed")
class RequestResumed(EventData):
    """The wait is over: the clocks run again, their due times moved by the time it lasted."""

    department: str
    due: Due


@event_model("request.due_changed")
class RequestDueChanged(EventData):
    """The request's current due and warning times after a clock moved (an approved
    extension, a pause that ended): the clocks that count from the moved one (feedback from
    resolve, the return visit from feedback) moved with it, on the business calendar.
    Routing computes it from `request.extension_decided` / `request.resumed`; every view
    (case, queue, overdue, at-risk, KPI facts, timeline, followup) takes these times."""

    department: str
    due: Due
    warn_at: Due | None = None
    reason: Literal["extension", "pause"]


@event_model("request.co_opinion_added")
class RequestCoOpinionAdded(EventData):
    department: str
    opinion: FreeText


@event_model("request.resolved")
class RequestResolved(EventData):
    department: str
    handler_id: str
    outcome: Outcome
    reply: FreeText = Field(min_length=1)
    # Resolved without every co-handler's opinion: the lead's recorded reason, and whose were missing.
    override_reason: FreeText | None = None
    missing_opinions: list[str] = Field(default_factory=list)


@event_model("request.sla_warning")
class RequestSlaWarning(EventData):
    department: str
    clock: ClockName
    due: AwareDatetime
    handler_id: str | None = None  # who has the case, to be told (the head and supervisors too)
    order_id: str | None = None  # the supervision order, for clock "supervision"


@event_model("request.sla_breached")
class RequestSlaBreached(EventData):
    department: str
    clock: ClockName
    due: AwareDatetime
    handler_id: str | None = None
    order_id: str | None = None


@event_model("request.supervised")
class RequestSupervised(EventData):
    order_id: str
    department: str
    instructions: FreeText
    due: AwareDatetime


@event_model("request.supervision_answered")
class RequestSupervisionAnswered(EventData):
    """The department answered a supervision order (督办回复)."""

    order_id: str
    department: str
    answer: str
    answered_by: str
    on_time: bool
    issued_by: str | None = None  # the supervisor who issued the order (told of the answer)


# --- followup -----------------------------------------------------------------------


@event_model("request.feedback_given")
class RequestFeedbackGiven(EventData):
    channel: Channel
    by: str
    department: str | None = None


@event_model("request.rated")
class RequestRated(EventData):
    rating: Rating
    score: int | None = Field(default=None, ge=1, le=5)
    comment: FreeText | None = None


@event_model("request.reopened")
class RequestReopened(EventData):
    department: str
    reason: FreeText
    reopen_count: int = Field(ge=1)


@event_model("request.revisit_scheduled")
class RequestRevisitScheduled(EventData):
    revisit_id: str
    due: AwareDatetime


@event_model("request.revisited")
class RequestRevisited(EventData):
    revisit_id: str
    outcome: Literal["solved", "recurred", "unreachable"]


@event_model("request.closed")
class RequestClosed(EventData):
    reason: FreeText


@event_model("notification.requested")
class NotificationRequested(EventData):
    template: str
    params: FreeParams = Field(default_factory=dict)
    audience: list[Audience] = Field(min_length=1)
    # Internal audiences: the department concerned and the staff ids to reach, if known.
    department: str | None = None
    recipients: list[str] = Field(default_factory=list)
    # Who is reached as which audience (each is worded for its audience); one message per
    # staff member per event even when they belong to two audiences.
    recipients_by_audience: dict[str, list[str]] = Field(default_factory=dict)


# --- staff evaluation (好差评) -------------------------------------------------------

StaffRatingLevel = Literal[
    "very_satisfied", "satisfied", "basically_satisfied", "unsatisfied", "very_unsatisfied"
]
RectificationOutcome = Literal["rectified", "explained", "disputed"]


@event_model("staff.rated")
class StaffRated(EventData):
    """A person rated the staff member who served them (window, hotline, …). The comment
    stays in followup's database: it may hold personal data."""

    rating_id: str
    staff_id: str
    department: str
    channel: Channel
    level: StaffRatingLevel
    reasons: list[str] = Field(default_factory=list)
    bad: bool
    service_ref: str
    rated_at: AwareDatetime
    rectification_due: AwareDatetime | None = None


@event_model("staff.rectification_decided")
class StaffRectificationDecided(EventData):
    rating_id: str
    staff_id: str
    department: str
    outcome: RectificationOutcome
    counts_against_staff: bool  # an undisputed bad rating counts in the staff KPIs
    on_time: bool


# --- kpi ----------------------------------------------------------------------------


@event_model("kpi.period_scored")
class KpiPeriodScored(EventData):
    period: str
    scores: dict[str, float]


@event_model("kpi.department_flagged")
class KpiDepartmentFlagged(EventData):
    department: str
    periods: list[str]


# Every event class of the catalogue: what each consumer either handles or deliberately ignores.
EVENT_CLASSES: frozenset[type[EventData]] = frozenset(CATALOGUE.values())


def decode(raw: bytes | str) -> tuple[Envelope, EventData]:
    """Parse and type an event; raise UnknownEventType or InvalidEvent, never half-apply."""
    try:
        # Parsed and validated in one pass (pydantic-core), about half the cost of
        # json.loads followed by model_validate: every consumer and the rebuild pay it.
        envelope = Envelope.model_validate_json(raw)
    except (ValueError, ValidationError) as exc:
        raise InvalidEvent(f"not a valid envelope: {exc}") from exc
    model = CATALOGUE.get((envelope.type, envelope.version))
    if model is None:
        raise UnknownEventType(f"unknown event type {envelope.type} v{envelope.version}")
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid {envelope.type} v{envelope.version} payload: {exc}") from exc
    return envelope, data


def dump_data(data: EventData) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude_none=False)
