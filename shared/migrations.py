"""Create each service's database and migrate it with Alembic.

python -m shared.migrations upgrade [service ...]     # create if missing, then upgrade head
python -m shared.migrations revision <service> "msg"  # autogenerate a new revision
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from shared.settings import SERVICES, Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(service: str, s: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(ROOT / "shared" / "alembic"))
    cfg.set_main_option("version_locations", str(ROOT / "services" / service / "migrations" / "versions"))
    cfg.set_main_option("service", service)
    cfg.set_main_option("sqlalchemy.url", s.database_url(service).replace("%", "%%"))
    return cfg


async def _server_connection(url: str) -> asyncpg.Connection:
    """A connection to the server's `postgres` database, to create or drop `url`'s database."""
    u = make_url(url)
    return await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        database="postgres",
    )


async def create_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist; True if created."""
    name = make_url(url).database
    conn = await _server_connection(url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')  # the name comes from our own settings
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    conn = await _server_connection(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


def upgrade(services: list[str] | None, s: Settings) -> None:
    for service in services or list(SERVICES):
        asyncio.run(create_database(s.database_url(service)))
        command.upgrade(alembic_config(service, s), "head")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"upgrade", "revision"}:
        print(__doc__)
        return 2
    settings = get_settings()  # a command line: the process's settings, read here once
    if argv[0] == "upgrade":
        upgrade(argv[1:] or None, settings)
        return 0
    service, message = argv[1], argv[2]
    asyncio.run(create_database(settings.database_url(service)))
    command.revision(alembic_config(service, settings), message=message, autogenerate=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
