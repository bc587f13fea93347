"""What KPI's routes answer, declared for the OpenAPI document (and checked on the way out
by FastAPI's response models). The figures are defined in docs/kpi.md; a ratio is always
its numerator, denominator and rate (none when the denominator is 0). Times the service
answers as datetimes are `Moment`s, so they read as they did before the models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from shared.answers import Free, Moment


class Ratio(BaseModel):
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator, 4 places; none when it is 0")


class ReturnsRatio(Ratio):
    count: int = Field(description="returns (退单) in the period; the ratio is of requests returned")


class DepartmentCounts(BaseModel):
    routed: int
    accepted: int
    resolved: int
    feedback_given: int
    rated: int
    closed: int
    overdue_open: int
    excluded_merged_or_withdrawn: int
    chased: int


class DepartmentFigures(BaseModel):
    department: str
    period: str
    counts: DepartmentCounts
    acceptance_timeliness: Ratio
    on_time_resolution: Ratio
    feedback_timeliness: Ratio
    handling_accuracy: Ratio
    satisfaction: Ratio
    mean_score: float | None
    returns: ReturnsRatio
    reopen_rate: Ratio
    revisit_rate: Ratio
    score: float | None = Field(description="the weighted score, 0–100; none when no rate had a denominator")
    matter: str | None = Field(
        default=None, description="asked by matter: the figures of the requests dispatched under it"
    )


class MatterFigures(DepartmentFigures):
    """A matter's figures (事项): those of a department's, over the requests dispatched under
    the matter, of one department or (department none) of every department together."""

    matter: str = Field(description="the matter's code in the dispatch catalogue")
    name: str | None = Field(description="its name in the catalogue; none if routing was unreachable")
    department: str | None = Field(  # type: ignore[assignment]
        description="the department the figures are of; none: every department together"
    )


class MatterRef(BaseModel):
    code: str
    name: str | None


class MatterPage(BaseModel):
    period: str
    department: str | None = Field(description="the department the figures are of; none: every department")
    items: list[MatterFigures]
    next_cursor: str | None


class ArticleResolutions(BaseModel):
    with_article: int
    without_article: int


class OrganisationFigures(BaseModel):
    period: str
    received: int
    first_contact_resolution: Ratio
    first_contact_resolution_by_article: ArticleResolutions
    volume: dict[str, dict[str, int]] = Field(description="requests by channel, category and area")


class KpiAnswer(BaseModel):
    period: str
    items: list[DepartmentFigures]
    organisation: OrganisationFigures | None = Field(
        default=None, description="when no department was asked for (heads see only their own)"
    )
    matter: MatterRef | None = Field(default=None, description="the matter asked for (`matter=`)")
    matter_total: MatterFigures | None = Field(
        default=None, description="asked by matter with no department: every department together"
    )


class RankedDepartment(BaseModel):
    rank: int | None = Field(description="none for a department without a score")
    department: str
    score: float | None


class Ranking(RankedDepartment):
    pass_line: float
    passed: bool | None
    acceptance_timeliness: float | None
    on_time_resolution: float | None
    feedback_timeliness: float | None
    handling_accuracy: float | None
    satisfaction: float | None


class RankingAnswer(BaseModel):
    period: str
    items: list[Ranking]


class Flag(BaseModel):
    department: str
    period: str = Field(description="the last period of the streak under the pass line")
    periods: list[str]
    pass_line: float
    flagged_at: str


class FlagPage(BaseModel):
    items: list[Flag]
    next_cursor: str | None


class HotCount(BaseModel):
    key: str
    count: int
    previous: int = Field(description="the count in the previous period")
    growth: float = Field(description="(count - previous) / max(previous, 1)")


class HotList(BaseModel):
    most: list[HotCount]
    fastest_growing: list[HotCount]


class HotMatterArea(HotCount):
    matter: str
    area: str


class HotMatterAreaList(BaseModel):
    most: list[HotMatterArea]
    fastest_growing: list[HotMatterArea]


class Repeated(BaseModel):
    requester_ref: str
    topic: str | None
    requests: int


class Hotspots(BaseModel):
    period: str
    previous: str
    topics: HotList
    areas: HotList
    matters: HotList
    matters_in_areas: HotMatterAreaList
    repeated: list[Repeated] = Field(description="the same person on the same topic more than once")


class RequestFacts(BaseModel):
    """A request's fact row (times as ISO 8601)."""

    request_id: str
    state: str
    channel: str | None
    category: str | None
    urgency: str | None
    topic: str | None
    area: str | None
    matter: str | None
    requester_ref: str | None
    received_at: str | None
    lead_department: str | None
    co_departments: list[str]
    routed_at: str | None
    accept_due: str | None
    accepted_at: str | None
    first_contact_due: str | None
    contacted_at: str | None
    resolve_due: str | None
    resolve_due_original: str | None
    resolved_at: str | None
    outcome: str | None
    feedback_due: str | None
    feedback_at: str | None
    rating: str | None
    score: int | None
    rated_at: str | None
    returns: int
    returned_by: list[str]
    reopens: int
    revisit_outcome: str | None
    overturned: bool
    answered_at_intake: bool
    first_responder: str | None
    answered_by: str | None
    answer_article: str | None
    handler_id: str | None
    closed_at: str | None
    excluded: str | None
    chases: int
    last_event_at: str | None
    events: int


class TimelineEvent(BaseModel):
    id: str
    type: str
    occurred_at: str
    producer: str
    actor: dict[str, Any]
    data: dict[str, Any]


class Timeline(BaseModel):
    request_id: str
    state: str
    lead_department: str | None
    events: list[TimelineEvent]


class PeriodClosed(BaseModel):
    period: str
    ranking: list[Annotated[Ranking | RankedDepartment, Field(union_mode="left_to_right")]] = Field(
        description="each department's rank and score (with its rates when closed now)",
    )
    flagged: list[str] = Field(description="departments flagged by this close")
    flags: list[str] | None = Field(default=None, description="closed before: the departments flagged then")
    already_closed: bool


class Rebuilt(BaseModel):
    events_read: int
    requests_live: int
    requests_rebuilt: int
    differences: int
    examples: list[Free]
    count_differences: int
    count_examples: list[Free]
    counts_repaired: bool
    buckets: int = Field(description="how many parts the replay was folded in (each in memory on its own)")
    resumed: bool = Field(description="whether it went on from an interrupted rebuild's checkpoint")


class FirstContactResolutions(BaseModel):
    total: int
    with_article: int
    without_article: int
    share_of_received: Ratio


class ServiceRatings(BaseModel):
    total: int
    by_level: dict[str, int]
    satisfaction: Ratio


class BadRatings(BaseModel):
    total: int
    counted: int
    disputed: int
    rectifications_decided: int
    rectified_on_time: Ratio
    open: int


class EvaluationView(BaseModel):
    score: float
    text: str
    by: str
    at: Moment


class Evaluations(BaseModel):
    self_: EvaluationView | None = Field(alias="self")
    superior: EvaluationView | None


class StaffFigures(BaseModel):
    staff_id: str
    period: str
    received_as_first_responder: int
    first_contact_resolutions: FirstContactResolutions
    cases_handled: int
    on_time: Ratio
    request_satisfaction: Ratio
    service_ratings: ServiceRatings
    bad_ratings: BadRatings
    department: str | None
    evaluations: Evaluations


class EvaluationSaved(BaseModel):
    staff_id: str
    period: str
    kind: str
    score: float
    text: str
    by: str
