"""Rebuild: replay `requests.lifecycle` from the beginning into a fresh projection and compare
it with the live fact table (there must be no difference), and the kept counts with a recount.

    python -m services.kpi.rebuild [--resume] [--workers N]   # `make kpi-rebuild`; also POST /v1/rebuild

A year of a big city's events does not fit in memory, and a replay of hours must survive being
stopped, so the rebuild works in a folder of its own (`KPI_REBUILD_DIR`) in three steps:

1. spill: the topic is read up to the end offsets seen when the rebuild began, and each event
   the fold reads is appended, as it came, to one of N bucket files chosen by its request (the
   message key, which the relay sets to the request's id): a request's events all land in one
   bucket. Every `checkpoint_every` events
   the files are flushed and the checkpoint records each partition's position and each file's
   size; a resumed rebuild cuts the files back to those sizes and reads on from there.
2. live: the live fact rows are streamed from the database into the same buckets.
3. fold: each bucket on its own, a request at a time (decoded, each event id once, folded),
   then compared with its live rows, in `workers` processes side by side; a bucket done is
   recorded in the checkpoint.

N is chosen so that a bucket holds about `KPI_REBUILD_BUCKET_EVENTS` events: that, not the
topic, is what one fold keeps in memory. The folder is removed when the rebuild has answered.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import gc
import hashlib
import json
import logging
import math
import multiprocessing
import os
import pickle
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.kpi import store
from services.kpi.domain.facts import FOLDED, FOLDED_TYPES, Fact, fold_all
from shared.db import create_engine, session_factory
from shared.errors import ApiError
from shared.events.catalogue import InvalidEvent, UnknownEventType, decode
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

# step ("spill", "live", "fold"), done, out of
Progress = Callable[[str, int, int], None]

CHECKPOINT = "checkpoint.json"
# Each spilled event: its key's length and its length, then the key and the event's bytes.
_HEAD = struct.Struct(">HI")
_LIVE_CHUNK = 5_000
MIN_BUCKETS = 8  # fact rows pickled together into a bucket's live file


class RebuildRunning(ApiError):
    def __init__(self) -> None:
        super().__init__(
            "a rebuild of this projection is running; wait for its answer",
            status=409,
            code="rebuild_running",
        )


@dataclass
class Checkpoint:
    topic: str
    buckets: int
    end: dict[str, int]  # partition -> its end offset when the rebuild began
    position: dict[str, int]  # partition -> the next offset to spill
    sizes: list[int]  # bytes of each bucket's event file that the positions account for
    events_read: int = 0
    spilled: bool = False
    requests_live: int | None = None  # set once the live rows are in the buckets
    folded: dict[str, dict[str, Any]] = field(default_factory=dict)  # bucket -> what it found

    def save(self, work: Path) -> None:
        temporary = work / (CHECKPOINT + ".tmp")
        temporary.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(temporary, work / CHECKPOINT)  # never half a checkpoint

    @classmethod
    def load(cls, work: Path) -> Checkpoint | None:
        try:
            return cls(**json.loads((work / CHECKPOINT).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


def work_folder(settings: Settings) -> Path:
    """This projection's rebuild folder: one per broker, topic and database, so two platforms on
    one machine do not share it."""
    if settings.kpi_rebuild_dir:
        return Path(settings.kpi_rebuild_dir)
    source = "|".join((settings.kafka_bootstrap, settings.lifecycle_topic, settings.database_url("kpi")))
    return Path(tempfile.gettempdir()) / f"kpi-rebuild-{hashlib.sha1(source.encode()).hexdigest()[:12]}"


def bucket_of(request_id: bytes, buckets: int) -> int:
    return zlib.crc32(request_id) % buckets


def _events_file(work: Path, bucket: int) -> Path:
    return work / f"events-{bucket}.bin"


def _live_file(work: Path, bucket: int) -> Path:
    return work / f"live-{bucket}.pickle"


# --- 1. spill ---------------------------------------------------------------------------


async def _spill(
    settings: Settings,
    work: Path,
    checkpoint: Checkpoint | None,
    progress: Progress | None,
    checkpoint_every: int,
) -> Checkpoint:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        topic = settings.lifecycle_topic
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        begin = await consumer.beginning_offsets(partitions) if partitions else {}
        end = await consumer.end_offsets(partitions) if partitions else {}
        if checkpoint is None or not _still_valid(checkpoint, topic, end):
            total = sum(end[tp] - begin[tp] for tp in partitions)
            # At least a few buckets, so that folding processes share the work evenly.
            buckets = max(MIN_BUCKETS, math.ceil(total / settings.kpi_rebuild_bucket_events))
            checkpoint = Checkpoint(
                topic=topic,
                buckets=buckets,
                end={str(tp.partition): end[tp] for tp in partitions},
                position={str(tp.partition): begin[tp] for tp in partitions},
                sizes=[0] * buckets,
            )
            _clear(work)
            checkpoint.save(work)
        if checkpoint.spilled:
            return checkpoint
        if not partitions:
            checkpoint.spilled = True
            checkpoint.save(work)
            return checkpoint
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, checkpoint.position[str(tp.partition)])
        await _read_to_end(consumer, partitions, work, checkpoint, progress, checkpoint_every)
        return checkpoint
    finally:
        try:
            await consumer.stop()
        except asyncio.CancelledError:
            # aiokafka's coordinator can raise this on close after the broker restarted;
            # swallow it unless this task itself is being cancelled.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise


def _still_valid(checkpoint: Checkpoint, topic: str, end: dict[TopicPartition, int]) -> bool:
    """A checkpoint of this topic as it still is: the same partitions, none shorter than the
    checkpoint's end (a broker that lost its topics starts the rebuild afresh)."""
    ends = {str(tp.partition): offset for tp, offset in end.items()}
    return (
        checkpoint.topic == topic
        and set(ends) == set(checkpoint.end)
        and all(ends[p] >= checkpoint.end[p] for p in ends)
    )


async def _read_to_end(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    work: Path,
    checkpoint: Checkpoint,
    progress: Progress | None,
    checkpoint_every: int,
) -> None:
    total = sum(checkpoint.end.values())
    paths = [_events_file(work, b) for b in range(checkpoint.buckets)]
    files: list[IO[bytes]] = [path.open("r+b" if path.exists() else "w+b") for path in paths]
    try:
        for file, size in zip(files, checkpoint.sizes, strict=True):
            file.truncate(size)  # what was written after the last checkpoint is read again
            file.seek(size)
        since = 0
        # Read to the end offsets seen at the start, then on until a fetch comes back empty:
        # some brokers report a high watermark short of a multi-record batch's last record.
        while True:
            # A fetch is never more than a checkpoint's worth: what a stop reads again.
            batches = await consumer.getmany(timeout_ms=1000, max_records=min(20_000, checkpoint_every))
            for tp, messages in batches.items():
                for message in messages:
                    if _folded_or_unknown(message.headers):
                        raw = message.value or b""
                        key = message.key or _request_id_of(raw)
                        out = files[bucket_of(key, checkpoint.buckets)]
                        out.write(_HEAD.pack(len(key), len(raw)))
                        out.write(key)
                        out.write(raw)
                if messages:
                    checkpoint.position[str(tp.partition)] = messages[-1].offset + 1
                    checkpoint.events_read += len(messages)
                    since += len(messages)
            done = not batches and all(
                [await consumer.position(tp) >= checkpoint.end[str(tp.partition)] for tp in partitions]
            )
            if since >= checkpoint_every or done:
                checkpoint.spilled = done
                _commit_files(files, checkpoint)
                checkpoint.save(work)
                since = 0
                if progress:
                    progress("spill", checkpoint.events_read, total)
            if done:
                return
    finally:
        for file in files:
            file.close()


def _commit_files(files: list[IO[bytes]], checkpoint: Checkpoint) -> None:
    for b, file in enumerate(files):
        file.flush()
        os.fsync(file.fileno())
        checkpoint.sizes[b] = file.tell()


def _folded_or_unknown(headers: Any) -> bool:
    """An event the fold ignores (its type in the relay's header) is passed over unparsed."""
    for name, value in headers or ():
        if name == "type":
            return bool(value.decode("utf-8", "replace") in FOLDED_TYPES)
    return True


def _request_id_of(raw: bytes) -> bytes:
    """A message without a key (not one the relay sent): its request, read from its body."""
    try:
        return str(json.loads(raw).get("request_id", "")).encode()
    except (ValueError, AttributeError):
        return b""


def _clear(work: Path) -> None:
    for path in work.iterdir():
        if path.name != ".lock":
            path.unlink()


# --- 2. live ----------------------------------------------------------------------------


async def _spill_live(settings: Settings, work: Path, checkpoint: Checkpoint) -> None:
    buckets = checkpoint.buckets
    files = [_live_file(work, b).open("wb") for b in range(buckets)]
    chunks: list[list[Fact]] = [[] for _ in range(buckets)]
    live = 0
    engine = create_engine(settings.database_url("kpi"), settings)
    try:
        async with session_factory(engine)() as session:
            async for fact in store.stream_facts(session):
                live += 1
                b = bucket_of(fact.request_id.encode(), buckets)
                chunks[b].append(fact)
                if len(chunks[b]) >= _LIVE_CHUNK:
                    pickle.dump(chunks[b], files[b], protocol=pickle.HIGHEST_PROTOCOL)
                    chunks[b] = []
        for b, chunk in enumerate(chunks):
            if chunk:
                pickle.dump(chunk, files[b], protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for file in files:
            file.close()
        await engine.dispose()
    checkpoint.requests_live = live
    checkpoint.save(work)


# --- 3. fold ----------------------------------------------------------------------------


def fold_bucket(work: str, bucket: int, compare: bool = True) -> dict[str, Any]:
    """One bucket's requests folded from their events and compared with their live rows
    (top level: a worker process runs it)."""
    # Many objects kept until the comparison and no cycles among them: the cyclic collector
    # would rescan them over and over (a third of the fold's time).
    gc.disable()
    try:
        rebuilt: dict[str, Fact] = {}
        data, by_key = _spilled_events(_events_file(Path(work), bucket))
        # A request at a time (its events share the key): decoded, each event id once, folded,
        # and its events dropped before the next request's are decoded.
        for spans in by_key.values():
            by_request: dict[str, dict[str, Any]] = {}
            for start, end in spans:
                _collect(by_request, data[start:end])
            for rid, events in by_request.items():
                rebuilt[rid] = fold_all(rid, events.values())
        del data, by_key
        if not compare:
            return {"requests_rebuilt": len(rebuilt), "requests_live": 0, "differences": 0, "examples": []}
        live: dict[str, Fact] = {}
        path = _live_file(Path(work), bucket)
        if path.exists():
            with path.open("rb") as file:
                while True:
                    try:
                        chunk: list[Fact] = pickle.load(file)  # our own file, written by step 2
                    except EOFError:
                        break
                    live.update((f.request_id, f) for f in chunk)
        found = differences(live, rebuilt)
        return {
            "requests_rebuilt": len(rebuilt),
            "requests_live": len(live),
            "differences": len(found),
            "examples": found[:20],
        }
    finally:
        gc.enable()


def _spilled_events(path: Path) -> tuple[bytes, dict[bytes, list[tuple[int, int]]]]:
    """A bucket file's bytes and where each key's events lie in it, in the order spilled."""
    by_key: dict[bytes, list[tuple[int, int]]] = {}
    if not path.exists():
        return b"", by_key
    data = path.read_bytes()
    at, size = 0, len(data)
    while at < size:
        key_length, length = _HEAD.unpack_from(data, at)
        at += _HEAD.size
        key = data[at : at + key_length]
        at += key_length
        by_key.setdefault(key, []).append((at, at + length))
        at += length
    return data, by_key


def _collect(by_request: dict[str, dict[str, Any]], raw: bytes) -> None:
    try:
        envelope, data = decode(raw)
    except (InvalidEvent, UnknownEventType):
        return  # the live consumer dead-lettered it too
    if type(data) in FOLDED:  # each event id once, as the inbox does
        by_request.setdefault(envelope.request_id, {})[str(envelope.id)] = (envelope, data)


async def _fold(
    work: Path, checkpoint: Checkpoint, workers: int, progress: Progress | None, *, compare: bool = True
) -> None:
    waiting = [b for b in range(checkpoint.buckets) if str(b) not in checkpoint.folded]

    def record(bucket: int, result: dict[str, Any]) -> None:
        checkpoint.folded[str(bucket)] = result
        checkpoint.save(work)
        if progress:
            progress("fold", len(checkpoint.folded), checkpoint.buckets)

    if workers <= 1 or len(waiting) <= 1:
        for b in waiting:
            record(b, await asyncio.to_thread(fold_bucket, str(work), b, compare))
        return
    loop = asyncio.get_running_loop()
    # Fresh interpreters (spawn), not forks of one running an event loop and its connections.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:

        async def one(bucket: int) -> tuple[int, dict[str, Any]]:
            return bucket, await loop.run_in_executor(pool, fold_bucket, str(work), bucket, compare)

        for next_done in asyncio.as_completed([one(b) for b in waiting]):
            record(*await next_done)


def differences(live: dict[str, Fact], rebuilt: dict[str, Fact]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for request_id in sorted(set(live) | set(rebuilt)):
        a, b = live.get(request_id), rebuilt.get(request_id)
        if a == b:
            continue
        if a is None or b is None:
            found.append({"request_id": request_id, "only_in": "rebuilt" if a is None else "live"})
            continue
        fields = {
            k: {"live": _show(v), "rebuilt": _show(getattr(b, k))}
            for k, v in a.__dict__.items()
            if getattr(b, k) != v
        }
        found.append({"request_id": request_id, "fields": fields})
    return found


def _show(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# --- the whole -----------------------------------------------------------------------------


class _Locked:
    """The folder's lock: one rebuild of a projection at a time (a second is refused)."""

    def __init__(self, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self._file = (work / ".lock").open("w")

    def __enter__(self) -> None:
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._file.close()
            raise RebuildRunning() from exc

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


async def replay(
    settings: Settings,
    progress: Progress | None = None,
    *,
    workers: int = 1,
    resume: bool = False,
    checkpoint_every: int = 100_000,
    compare: bool = True,
    work: Path | None = None,
) -> tuple[Checkpoint, bool, Path]:
    """Steps 1–3 in the folder (resuming from its checkpoint if asked and it is still valid):
    the checkpoint with every bucket's result, whether it resumed, and the folder."""
    work = work or work_folder(settings)
    work.mkdir(parents=True, exist_ok=True)
    earlier = Checkpoint.load(work) if resume else None
    checkpoint = await _spill(settings, work, earlier, progress, checkpoint_every)
    resumed = earlier is not None and earlier is checkpoint
    if compare and checkpoint.requests_live is None:
        await _spill_live(settings, work, checkpoint)
    await _fold(work, checkpoint, workers, progress, compare=compare)
    return checkpoint, resumed, work


async def rebuild(
    settings: Settings,
    progress: Progress | None = None,
    *,
    repair_counts: bool = False,
    resume: bool = False,
    workers: int = 1,
    checkpoint_every: int = 100_000,
) -> dict[str, Any]:
    """Compare the replay with the live fact rows, and the kept counts with a recount of the
    live rows (`repair_counts` rewrites the counts to the recount)."""
    work = work_folder(settings)
    with _Locked(work):
        checkpoint, resumed, _ = await replay(
            settings, progress, workers=workers, resume=resume, checkpoint_every=checkpoint_every, work=work
        )
        engine = create_engine(settings.database_url("kpi"), settings)
        try:
            async with session_factory(engine)() as session:
                counted = await store.recount(session, repair=repair_counts)
                await session.commit()
        finally:
            await engine.dispose()
        folded = checkpoint.folded.values()
        examples = sorted((e for r in folded for e in r["examples"]), key=lambda e: str(e["request_id"]))
        result = {
            "events_read": checkpoint.events_read,
            "requests_live": sum(r["requests_live"] for r in folded),
            "requests_rebuilt": sum(r["requests_rebuilt"] for r in folded),
            "differences": sum(r["differences"] for r in folded),
            "examples": examples[:20],
            "count_differences": len(counted),
            "count_examples": counted[:20],
            "counts_repaired": repair_counts and bool(counted),
            "buckets": checkpoint.buckets,
            "resumed": resumed,
        }
        _clear(work)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted rebuild from its checkpoint"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes folding buckets")
    parser.add_argument("--repair-counts", action="store_true", help="rewrite the kept counts to the recount")
    args = parser.parse_args()

    def show(step: str, done: int, of: int) -> None:
        print(f"\r  {step}: {done:,} of {of:,}        ", end="", file=sys.stderr, flush=True)

    try:
        result = asyncio.run(
            rebuild(
                get_settings(),
                show,
                repair_counts=args.repair_counts,
                resume=args.resume,
                workers=args.workers,
            )
        )
    except RebuildRunning as exc:
        print(exc, file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(
        f"events read {result['events_read']:,} in {result['buckets']} buckets"
        f"{' (resumed)' if result['resumed'] else ''}; requests live {result['requests_live']:,}, "
        f"rebuilt {result['requests_rebuilt']:,}; differences {result['differences']}"
    )
    for example in result["examples"]:
        print("  ", example)
    print(f"count differences {result['count_differences']}")
    for example in result["count_examples"]:
        print("  ", example)
    return 0 if result["differences"] == 0 and result["count_differences"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
