"""A load generator that plays the channel adapters and the hotline agents.

A realistic mix: several channels (hotline and window through an agent's staff token, the
others through their channel API keys), a spread of categories and areas, a few urgent
requests, some business applications missing a material (they become `incomplete`), and some
duplicates (an adapter sending the same message twice: the same channel + external_id).

Used by `make bench` (the pipeline figures), by the fault suite (the burst) and by
`make demo`, which feeds the running platform at a gentle rate:

    python bench/loadgen.py --rate 1                  # until Ctrl-C, against make run's ports
    python bench/loadgen.py --rate 20 --seconds 60    # a minute at 20 requests/s
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.intake.seed import dev_key  # noqa: E402
from shared.auth import issue_staff_token  # noqa: E402

# (channel, weight): the hotline still carries most of a centre's requests.
CHANNEL_MIX = [
    ("hotline", 40),
    ("web", 12),
    ("app", 15),
    ("wechat", 15),
    ("weibo", 4),
    ("email", 5),
    ("window", 6),
    ("open311", 3),
]
AGENT_CHANNELS = {"hotline", "window"}
AREAS = ["东城街道", "西城街道", "南湖街道", "北苑街道", "高新区", "滨江新区"]
# (what people say, weight): repairs and complaints dominate, consultations follow.
CONTENT_MIX = [
    ("{area}小区路灯坏了好几天，晚上很黑，请尽快维修", 14),
    ("{area}主干道有个大坑，电动车容易摔倒", 8),
    ("{area}工地夜间施工噪音很大，影响休息", 12),
    ("{area}垃圾好几天没人清运，气味很大", 10),
    ("{area}停水一整天了，也没有通知", 8),
    ("{area}物业不作为，电梯经常坏", 7),
    ("{area}有商户占道经营，人行道走不通", 6),
    ("请问灵活就业人员怎么缴纳社保？", 8),
    ("请问居住证办理需要哪些材料？", 6),
    ("孩子入学需要准备什么证明？", 5),
    ("建议在{area}公交站增加遮雨棚", 4),
    ("投诉{area}某餐馆油烟扰民，多次反映没有解决", 6),
    ("{area}老人独居，行动不便，需要帮助", 3),
    ("The street light outside my building in {area} has been broken for a week", 3),
]
URGENT_CONTENT = [
    "{area}楼道里燃气泄漏，气味很大，请马上派人",
    "{area}居民楼起火了，有人被困",
    "{area}有电线掉在地上，有触电危险",
]


@dataclass
class Submission:
    headers: dict[str, str]
    body: dict[str, Any]
    kind: str  # normal, urgent, incomplete, duplicate


@dataclass
class Results:
    sent: int = 0
    created: int = 0
    duplicates_answered: int = 0
    incomplete: int = 0
    retried: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)  # every request answered for, new or not
    latencies_ms: list[float] = field(default_factory=list)
    # request id → when its POST began (time.monotonic()), for created requests that route
    sent_at: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "created": self.created,
            "duplicates_answered": self.duplicates_answered,
            "incomplete": self.incomplete,
            "retried": self.retried,
            "errors": self.errors,
        }


class LoadGenerator:
    def __init__(
        self,
        intake_url: str,
        *,
        seed: int = 1,
        urgent_share: float = 0.03,
        incomplete_share: float = 0.04,
        duplicate_share: float = 0.05,
        agent_token: str | None = None,
    ) -> None:
        self.intake_url = intake_url.rstrip("/")
        self.rng = random.Random(seed)
        self.urgent_share = urgent_share
        self.incomplete_share = incomplete_share
        self.duplicate_share = duplicate_share
        self.agent_token = agent_token or issue_staff_token("agent-loadgen", "agent")
        self._sent: list[Submission] = []

    def next_submission(self) -> Submission:
        rng = self.rng
        if self._sent and rng.random() < self.duplicate_share:
            again = rng.choice(self._sent[-200:])  # an adapter re-sending a recent message
            return Submission(again.headers, again.body, "duplicate")
        channel = rng.choices([c for c, _ in CHANNEL_MIX], [w for _, w in CHANNEL_MIX])[0]
        if channel in AGENT_CHANNELS:
            headers = {"Authorization": f"Bearer {self.agent_token}"}
        else:
            headers = {"X-API-Key": dev_key(channel)}
        area = rng.choice(AREAS)
        body: dict[str, Any] = {
            "channel": channel,
            "external_id": f"lg-{uuid.UUID(int=rng.getrandbits(128))}",
            "area": area,
            "requester": {
                "phone": f"13{rng.randint(0, 999_999_999):09d}",
                "name": rng.choice("王李张刘陈杨"),
            },
        }
        roll = rng.random()
        if roll < self.urgent_share:
            kind = "urgent"
            body["content"] = rng.choice(URGENT_CONTENT).format(area=area)
        elif roll < self.urgent_share + self.incomplete_share:
            kind = "incomplete"
            body["content"] = "申请办理居住证"
            body["business_type"] = "residence_permit"
            body["materials"] = [{"code": "id_card", "media_type": "application/pdf"}]  # lease, photo missing
        else:
            kind = "normal"
            text = rng.choices([t for t, _ in CONTENT_MIX], [w for _, w in CONTENT_MIX])[0]
            body["content"] = text.format(area=area)
        submission = Submission(headers, body, kind)
        self._sent.append(submission)
        return submission

    async def send(
        self,
        client: httpx.AsyncClient,
        submission: Submission,
        results: Results,
        retries: int = 5,
        scheduled: float | None = None,
    ) -> None:
        """Submit as an adapter does: on a timeout, a 429 or a 5xx, send the same message again
        (same channel and external id: the platform answers the first result, never twice).
        Latency counts from `scheduled` (when the message was due to go out), so time spent
        waiting for a free connection is counted too, as an open-loop load test must."""
        began = time.monotonic() if scheduled is None else scheduled
        results.sent += 1
        failure = ""
        for attempt in range(retries + 1):
            if attempt:
                results.retried += 1
                await asyncio.sleep(min(2.0 * attempt, 5.0))
            try:
                response = await client.post(
                    f"{self.intake_url}/v1/requests", json=submission.body, headers=submission.headers
                )
            except httpx.HTTPError as exc:
                failure = type(exc).__name__
                continue
            if response.status_code == 429 or response.status_code >= 500:
                failure = str(response.status_code)
                continue
            break
        else:
            results.errors[failure] = results.errors.get(failure, 0) + 1
            return
        results.latencies_ms.append((time.monotonic() - began) * 1000)
        if response.status_code in (200, 201):
            answer = response.json()
            results.ids.add(answer["id"])
            if response.status_code == 200:
                results.duplicates_answered += 1
                return
            results.created += 1
            if answer.get("state") == "incomplete":
                results.incomplete += 1
            else:
                results.sent_at[answer["id"]] = began
        else:
            key = str(response.status_code)
            results.errors[key] = results.errors.get(key, 0) + 1

    async def run(
        self,
        rate: float,
        seconds: float | None,
        *,
        results: Results | None = None,
        max_in_flight: int = 32,
        client: httpx.AsyncClient | None = None,
    ) -> Results:
        """Offer `rate` requests per second (open loop) for `seconds` (None: until cancelled).

        At most `max_in_flight` requests are on the wire at once; the rest wait here, in order.
        Keep it modest: httpx's connection pool scans every connection on each request, so a
        pool of hundreds costs the generator more CPU than the platform under test."""
        results = results or Results()
        own_client = client is None
        client = client or httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=max_in_flight, keepalive_expiry=5.0)
        )
        in_flight = asyncio.Semaphore(max_in_flight)
        tasks: set[asyncio.Task[None]] = set()

        async def one(submission: Submission, scheduled: float) -> None:
            async with in_flight:
                await self.send(client, submission, results, scheduled=scheduled)

        try:
            began = time.monotonic()
            i = 0
            while seconds is None or i < rate * seconds:
                task = asyncio.create_task(one(self.next_submission(), time.monotonic()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
                await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            if own_client:
                await client.aclose()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--intake", default="http://127.0.0.1:8001", help="intake's base URL")
    parser.add_argument("--rate", type=float, default=1.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=None, help="how long (default: until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    generator = LoadGenerator(args.intake, seed=args.seed if args.seed is not None else int(time.time()))
    results = Results()
    print(f"feeding {args.intake} at {args.rate}/s; Ctrl-C to stop", file=sys.stderr)

    async def report() -> None:
        while True:
            await asyncio.sleep(10)
            print(results.summary(), file=sys.stderr)

    async def go() -> None:
        reporter = asyncio.create_task(report())
        try:
            await generator.run(args.rate, args.seconds, results=results)
        finally:
            reporter.cancel()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        pass
    print(results.summary())


if __name__ == "__main__":
    main()
