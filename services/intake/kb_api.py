"""Knowledge-base routes (intake): articles, their approval, search, and typical cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from services.intake import knowledge
from services.intake.schemas import ArticleDetail, ArticleHits, ArticleList
from shared.events.catalogue import Category
from shared.pagination import MAX_PAGE
from shared.policy import Caller
from shared.runtime import Session
from shared.types import Instant, Strict

router = APIRouter(prefix="/v1/kb", tags=["knowledge base"])
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class NewArticle(Strict):
    id: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]+$")] | None = None
    question: Annotated[str, Field(min_length=2, max_length=500)]
    answer: Text
    category: Category | None = None
    keywords: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=30
    )
    department: Annotated[str, Field(min_length=1, max_length=50)]
    valid_from: Instant | None = None
    valid_to: Instant | None = None


class ArticleEdit(Strict):
    question: Annotated[str, Field(min_length=2, max_length=500)] | None = None
    answer: Text | None = None
    category: Category | None = None
    keywords: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(
        default=None, max_length=30
    )
    department: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    valid_from: Instant | None = None
    valid_to: Instant | None = None


class Review(Strict):
    note: Annotated[str, Field(max_length=1000)] | None = None


class CaseProposal(Strict):
    request_id: Annotated[str, Field(min_length=1, max_length=36)]
    answer: Annotated[str, Field(min_length=10, max_length=5000, description="how it was resolved, reviewed")]
    title: Annotated[str, Field(min_length=2, max_length=500)] | None = None


@router.get("/search", response_model=ArticleHits)
async def search(
    session: Session,
    principal: Caller,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    category: Category | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Published, currently valid articles and cases, best match first."""
    return {"items": await knowledge.search(session, q, limit=limit, category=category)}


@router.get("/articles", response_model=ArticleList)
async def list_articles(
    session: Session,
    principal: Caller,
    status: Literal["draft", "pending", "published", "retired"] | None = None,
    kind: Literal["article", "case"] | None = None,
    department: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Articles and cases, most recently changed first (keyset pages on an index of change
    time and id; by status, what waits for approval)."""
    return await knowledge.list_articles(
        session, status=status, kind=kind, department=department, cursor=cursor, limit=limit
    )


@router.post("/articles", status_code=201, response_model=ArticleDetail, response_model_exclude_unset=True)
async def create_article(body: NewArticle, session: Session, principal: Caller) -> dict[str, Any]:
    values = body.model_dump(exclude={"id"})
    return await knowledge.create_article(session, principal, values, body.id)


@router.get("/articles/{article_id}", response_model=ArticleDetail, response_model_exclude_unset=True)
async def get_article(article_id: str, session: Session, principal: Caller) -> dict[str, Any]:
    """The article with every version (who changed what, who approved, when)."""
    return await knowledge.get_article(session, article_id, with_versions=True)


@router.put("/articles/{article_id}", response_model=ArticleDetail, response_model_exclude_unset=True)
async def edit_article(
    article_id: str, body: ArticleEdit, session: Session, principal: Caller
) -> dict[str, Any]:
    """A new version, back to draft: it is offered again once a supervisor approves it."""
    return await knowledge.edit_article(session, principal, article_id, body.model_dump())


@router.post(
    "/articles/{article_id}/{action}", response_model=ArticleDetail, response_model_exclude_unset=True
)
async def transition(
    article_id: str,
    action: Literal["submit", "approve", "reject", "retire"],
    session: Session,
    principal: Caller,
    body: Review | None = None,
) -> dict[str, Any]:
    return await knowledge.transition(session, principal, article_id, action, body.note if body else None)


@router.post("/cases", status_code=201, response_model=ArticleDetail, response_model_exclude_unset=True)
async def propose_case(body: CaseProposal, session: Session, principal: Caller) -> dict[str, Any]:
    """Propose a resolved request as a typical case; personal data is removed, and a
    supervisor approves it before agents see it."""
    return await knowledge.propose_case(session, principal, body.request_id, body.answer, body.title)
