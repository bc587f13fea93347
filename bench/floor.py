"""The floor of an HTTP service on this machine and this stack: a FastAPI endpoint served
by uvicorn that does nothing but the single-row insert of the raw loop (one asyncpg
connection per request from a pool, autocommit), measured by the same client as intake.

Intake does that insert plus authentication, validation, classification, masking, the
idempotency check and the outbox row in one transaction; no FastAPI service can do better
than this endpoint, so `floor / raw` bounds what `intake / raw` can reach here.

    python -m uvicorn bench.floor:app --port 28010   # FLOOR_DATABASE_URL=postgresql://...
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import Body, FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["FLOOR_DATABASE_URL"], min_size=4, max_size=10)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id text primary key, body jsonb)")
    app.state.pool = pool
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/v1/requests", status_code=201)
async def submit(body: dict[str, Any] = Body(...)) -> dict[str, str]:
    request_id = str(uuid.uuid4())
    async with app.state.pool.acquire() as conn:
        await conn.execute("INSERT INTO bench_floor VALUES ($1, $2)", request_id, json.dumps(body))
    return {"id": request_id}
