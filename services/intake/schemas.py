"""What intake's routes take and answer, declared for the OpenAPI document (and checked on the
way out by FastAPI's response models): clients and fuzzers can rely on every shape here.

The submission itself (`Submission`, domain/submission.py) is validated by the service, which
answers the contract's 422 naming each field; the route declares its schema with
`shared.openapi.json_body` so the document still says what it takes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.intake.domain.submission import Material
from shared.answers import Free, Moment
from shared.events.catalogue import Channel
from shared.types import Strict

# --- bodies the routes parse with pydantic -------------------------------------------------


class AnswerBody(Strict):
    answer: Annotated[str, Field(min_length=1, max_length=5000)]
    article_id: Annotated[str, Field(max_length=100)] | None = None


class MergeBody(Strict):
    into_request_id: Annotated[str, Field(min_length=1, max_length=36)]
    reason: Annotated[str, Field(max_length=500)] | None = None


class WithdrawBody(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ChaseBody(Strict):
    note: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class ReceiptBody(Strict):
    status: Literal["delivered", "failed"] = "delivered"


class CatalogMaterial(Strict):
    code: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    mandatory: bool = True
    media_types: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list)
    max_size: int | None = Field(default=None, ge=1)


class CatalogEntry(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    deadline_class: Annotated[str, Field(max_length=100)] | None = None
    materials: list[CatalogMaterial] = Field(default_factory=list, max_length=50)
    active: bool = True


class NewChannelKey(Strict):
    channel: Channel
    label: Annotated[str, Field(max_length=100)] | None = None


class SupplementBody(Strict):
    """Materials added to an incomplete one-window request (a later one replaces an earlier
    one of the same code)."""

    materials: list[Material] = Field(default_factory=list, max_length=50)


# --- answers ------------------------------------------------------------------------------


class FirstResponder(BaseModel):
    kind: str = Field(description="`agent`, `window` or `channel`")
    id: str


class MissingMaterial(BaseModel):
    code: str
    name: str
    reason: str = Field(description="`missing`, `wrong_type`, `too_large`, …")


class SuggestedArticle(BaseModel):
    id: str
    kind: str
    question: str
    rank: float


class SubmitAnswer(BaseModel):
    id: str
    state: str
    category: str
    urgency: str
    missing_materials: list[MissingMaterial]
    first_responder: FirstResponder
    suggested_articles: list[SuggestedArticle] | None = Field(
        default=None, description="for a consultation: the knowledge base's best answers"
    )


class RequestView(BaseModel):
    """A request as staff see it: free texts and contact masked (the text as written is the
    audited `GET /v1/requests/{id}/text`)."""

    id: str
    state: str
    channel: str
    external_id: str | None
    title: str | None
    content: str
    category: str
    urgency: str
    classification_rules: list[Any]
    topic: str | None
    area: str | None
    business_type: str | None
    materials: list[dict[str, Any]]
    missing_materials: list[dict[str, Any]]
    anonymous: bool
    requester_ref: str | None
    contact_masked: str | None
    first_responder: FirstResponder
    lead_department: str | None
    merged_into: str | None
    answer: str | None
    submitted_at: str
    received_at: str


class RequestPage(BaseModel):
    items: list[RequestView]
    next_cursor: str | None


class StateAnswer(BaseModel):
    id: str
    state: str


class MergeAnswer(StateAnswer):
    merged_into: str
    reason: str | None


class ChaseAnswer(BaseModel):
    id: str
    department: str | None
    chase_count: int
    event_id: str


class Duplicate(BaseModel):
    id: str
    state: str
    content: str
    matter: str | None
    lead_department: str | None
    lead_department_name: str | None
    received_at: str
    similarity: float
    reasons: list[str]


class DuplicatesAnswer(BaseModel):
    request_id: str
    window_days: int
    items: list[Duplicate]


class RequesterAnswer(BaseModel):
    request_id: str
    anonymous: bool
    requester: dict[str, Any] | None = Field(description="name, phone, email, address, … as given")


class FullTextAnswer(BaseModel):
    request_id: str
    title: str | None
    content: str
    topic: str | None
    area: str | None
    address: str | None


class PersonalDataRead(BaseModel):
    request_id: str
    reader_id: str
    reader_role: str
    what: str = Field(description="`requester` or `text`")
    purpose: str
    at: str


class PersonalDataReadPage(BaseModel):
    items: list[PersonalDataRead]
    next_cursor: str | None


class CatalogView(BaseModel):
    code: str
    version: int
    name: str
    description: str | None
    deadline_class: str | None
    materials: list[dict[str, Any]]
    active: bool


class CatalogPage(BaseModel):
    items: list[CatalogView]
    next_cursor: str | None


class MaterialStored(BaseModel):
    sha256: str
    size: int
    media_type: str


class ChannelKeyCreated(BaseModel):
    key_id: str
    channel: str
    api_key: str = Field(description="shown once; stored only as a hash")


class ChannelKeyView(BaseModel):
    key_id: str
    channel: str
    label: str | None
    active: bool
    created_at: str


class ChannelKeyPage(BaseModel):
    items: list[ChannelKeyView]
    next_cursor: str | None


class ChannelKeyRevoked(BaseModel):
    key_id: str
    active: bool


class WhoAmI(BaseModel):
    channel: str


class Purged(BaseModel):
    purged: int


# --- the knowledge base ----------------------------------------------------------------------


class Article(BaseModel):
    id: str
    kind: str = Field(description="`article` or `case` (a typical case from a resolved request)")
    status: str = Field(description="`draft`, `pending`, `published` or `retired`")
    version: int
    question: str
    answer: str
    category: str | None
    keywords: list[str]
    department: str | None
    valid_from: Moment | None
    valid_to: Moment | None
    source_request_id: str | None
    note: str | None
    created_by: str | None
    approved_by: str | None
    updated_at: Moment


class ArticleVersion(BaseModel):
    version: int
    status: str
    action: str = Field(description="create, edit, submit, approve, reject or retire")
    snapshot: Free
    by: str
    note: str | None
    at: Moment


class ArticleDetail(Article):
    versions: list[ArticleVersion] | None = None


class ArticleHit(Article):
    rank: float


class ArticleHits(BaseModel):
    items: list[ArticleHit]


class ArticleList(BaseModel):
    items: list[Article]
    next_cursor: str | None
