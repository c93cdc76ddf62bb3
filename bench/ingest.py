"""Ingest benchmark: API uploads against raw S3 PUTs of the same bytes, and memory on a big file.

One run starts everything it needs as separate processes on loopback ports:

* moto's S3 server (`moto_server`), shared by both paths;
* a throw-away PostgreSQL database on the server at `--admin-url` (dropped at the end), unless
  `--database-url` names an existing one;
* the API itself (`docarchive serve`) with the S3 blob backend.

Then, for each round, a fresh corpus of PDFs of random size (50 KB to 5 MB, seeded sizes,
unique bytes) is

* (raw) PUT straight into a bucket of the same S3 server with the minio SDK, and
* (api) uploaded with `POST /api/v1/documents` (multipart, streamed from disk),

both by N concurrent client threads. Rounds alternate the order (raw/api, api/raw, ...) so
that drift on a shared machine hits both paths alike; the ratio is API throughput over raw PUT
throughput of the same bytes in the same run. CPU time of the client, moto, the API and
PostgreSQL is recorded per batch, to show what the bytes cost and where the cores went.

Then a fresh API process (so that its RSS is not the high-water mark of the rounds) receives
one large file (500 MB by default), streamed, while a thread samples its RSS every 50 ms; the
file is downloaded back (streamed) and its SHA-256 checked, again sampling RSS. The same file
is also PUT raw for a reference speed.

The JSON results and the logs of moto and of the API go to bench/results/ (git-ignored).
`--git-ref REF` runs the API from `git archive REF` rather than the working tree.
MB means 10**6 bytes everywhere, including RSS.

    .venv/bin/python bench/ingest.py            # the documented run (a few minutes)
    .venv/bin/python bench/ingest.py --quick    # smoke run (seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import platform
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import urllib3
from minio import Minio
from psycopg import sql
from sqlalchemy.engine import make_url

MB = 1_000_000
KB = 1_000
MIB = 1024 * 1024
CHUNK = 1 << 20
BIN_DIR = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
APP_PATHS = ("app", "workers", "schemas", "migrations", "pyproject.toml")
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
ACCESS_KEY = "bench-access"
SECRET_KEY = "bench-secret-key"  # noqa: S105 - moto accepts anything
REGION = "us-east-1"
APP_PART_MIB = 16  # DOCARCHIVE_S3_PART_SIZE's default
API_BUCKET = "bench-api"
RAW_BUCKET = "bench-raw"


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    clients: int
    files: int
    rounds: int
    min_bytes: int
    max_bytes: int
    large_bytes: int
    large_raw: bool
    s3_part_mb: int | None
    py_spy: bool
    seed: int
    admin_url: str
    database_url: str | None
    git_ref: str | None
    work_dir: Path | None
    results_dir: Path
    quick: bool


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--files", type=int, default=40, help="files per round (default 40)")
    parser.add_argument("--rounds", type=int, default=20, help="raw/api rounds (default 20)")
    parser.add_argument("--min-kb", type=int, default=50, help="smallest file, KB (default 50)")
    parser.add_argument("--max-mb", type=float, default=5, help="largest file, MB (default 5)")
    parser.add_argument(
        "--large-mb", type=int, default=500, help="big-file upload size, MB; 0 skips (500)"
    )
    parser.add_argument(
        "--no-large-raw", action="store_true", help="skip the raw PUT of the big file"
    )
    parser.add_argument(
        "--s3-part-mb",
        type=int,
        help="set DOCARCHIVE_S3_PART_SIZE (MiB, >= 5) for the API; default: the app's",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="profile the API with py-spy (collapsed stacks next to the JSON);\n"
        "the profiler's overhead makes such a run unfit for the figures",
    )
    parser.add_argument("--seed", type=int, default=20240501, help="seed for the file sizes")
    parser.add_argument(
        "--admin-url",
        default=DEFAULT_ADMIN_URL,
        help=f"PostgreSQL server where a fresh database is created\n(default {DEFAULT_ADMIN_URL})",
    )
    parser.add_argument(
        "--database-url", help="use this existing database instead (not created or dropped)"
    )
    parser.add_argument(
        "--git-ref",
        help="run the API from `git archive REF` of this checkout instead of the working\n"
        "tree (measure a commit while the tree is being edited)",
    )
    parser.add_argument("--work-dir", type=Path, help="parent of the temporary directory")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 clients, 6 files, 1 round, 20 MB"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.files, args.rounds, args.large_mb = 2, 6, 1, 20
        args.max_mb = min(args.max_mb, 1.0)
    if args.clients < 1 or args.files < 1 or args.rounds < 1:
        parser.error("--clients, --files and --rounds must be at least 1")
    if not 5 * KB < args.min_kb * KB <= args.max_mb * MB:
        parser.error("need 5 KB < --min-kb <= --max-mb")
    return Config(
        clients=args.clients,
        files=args.files,
        rounds=args.rounds,
        min_bytes=args.min_kb * KB,
        max_bytes=int(args.max_mb * MB),
        large_bytes=args.large_mb * MB,
        large_raw=not args.no_large_raw,
        s3_part_mb=args.s3_part_mb,
        py_spy=args.py_spy,
        seed=args.seed,
        admin_url=args.admin_url,
        database_url=args.database_url,
        git_ref=args.git_ref,
        work_dir=args.work_dir,
        results_dir=args.results_dir,
        quick=args.quick,
    )


# --------------------------------------------------------------------------- test files


def pdf_header(run_id: str, label: str) -> bytes:
    """A PDF preamble naming the run and the file, so every file's bytes are unique.

    Not a renderable PDF (the stream's length is not declared): the service only sniffs
    `%PDF-` at ingest, and random bytes keep compression and deduplication out of the way.
    """
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        + f"% docarchive ingest benchmark {run_id} {label}\n".encode()
        + b"1 0 obj\n<< /Length 0 >>\nstream\n"
    )


PDF_TRAILER = b"\nendstream\nendobj\n%%EOF\n"


def write_pdf(path: Path, size: int, rng: random.Random, header: bytes) -> str:
    """Write `size` bytes (header, random payload, trailer) in chunks; return the SHA-256."""
    digest = hashlib.sha256()
    payload = size - len(header) - len(PDF_TRAILER)
    with path.open("wb") as handle:
        for part in _pdf_parts(header, payload, rng):
            digest.update(part)
            handle.write(part)
    return digest.hexdigest()


def _pdf_parts(header: bytes, payload: int, rng: random.Random) -> Iterator[bytes]:
    yield header
    while payload > 0:
        chunk = rng.randbytes(min(CHUNK, payload))
        payload -= len(chunk)
        yield chunk
    yield PDF_TRAILER


@dataclass(frozen=True)
class Corpus:
    name: str
    paths: list[Path]

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths)


def make_corpus(directory: Path, name: str, cfg: Config, run_id: str, seed: int) -> Corpus:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for index in range(cfg.files):
        path = directory / f"{name}-{index:03d}.pdf"
        size = rng.randint(cfg.min_bytes, cfg.max_bytes)
        write_pdf(path, size, rng, pdf_header(run_id, path.name))
        paths.append(path)
    return Corpus(name=name, paths=paths)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def running(
    cmd: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` with output to `log`; SIGTERM it (then SIGKILL) when the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[tuple[str, int]]:
    """moto's S3 server in its own process (its own GIL); yields (host:port, pid)."""
    port = free_port()
    cmd = [str(BIN_DIR / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with running(cmd, log=log) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, log, timeout=30)
        yield f"127.0.0.1:{port}", proc.pid


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new database on the server `admin_url` points at, dropped WITH (FORCE) afterwards."""
    name = f"docarchive_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass(frozen=True)
class Services:
    """Where the API finds its dependencies, and which source tree it runs."""

    database_url: str
    s3_endpoint: str
    work: Path
    logs: str
    source: Path | None


@dataclass(frozen=True)
class Api:
    name: str
    url: str
    pid: int


def api_env(cfg: Config, services: Services, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCARCHIVE_")}
    if services.source is not None:
        # Ahead of the editable install's finder, so the snapshot's packages are imported.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(services.source), env.get("PYTHONPATH")) if p
        )
    if cfg.s3_part_mb is not None:
        env["DOCARCHIVE_S3_PART_SIZE"] = str(cfg.s3_part_mb * MIB)
    env.update(
        DOCARCHIVE_DATABASE_URL=services.database_url,
        DOCARCHIVE_BLOB_BACKEND="s3",
        DOCARCHIVE_S3_ENDPOINT=services.s3_endpoint,
        DOCARCHIVE_S3_BUCKET=API_BUCKET,
        DOCARCHIVE_S3_ACCESS_KEY=ACCESS_KEY,
        DOCARCHIVE_S3_SECRET_KEY=SECRET_KEY,
        DOCARCHIVE_S3_SECURE="false",
        DOCARCHIVE_S3_REGION=REGION,
        DOCARCHIVE_DATA_DIR=str(data_dir),
        DOCARCHIVE_MAX_UPLOAD_BYTES=str(600 * MIB),
        DOCARCHIVE_PORT=str(port),
    )
    return env


@contextlib.contextmanager
def api_server(cfg: Config, services: Services, name: str) -> Iterator[Api]:
    """`docarchive serve` in its own process; it migrates the database itself."""
    port = free_port()
    data_dir = services.work / f"{name}-data"
    data_dir.mkdir()
    env = api_env(cfg, services, data_dir, port)
    log = Path(f"{services.logs}-{name}.log")
    cmd = [str(BIN_DIR / "docarchive"), "serve", "--port", str(port)]
    # cwd=work: a developer's .env in the checkout must not leak into the run.
    with running(cmd, log=log, env=env, cwd=services.work) as proc:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=120)
        yield Api(name=name, url=f"http://127.0.0.1:{port}", pid=proc.pid)
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited during the run:\n{tail(log)}")


def git(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, check=True)
    return result.stdout.decode().strip()


def source_snapshot(ref: str, work: Path) -> Path:
    """Extract `git archive REF` into the work dir (read-only for the repository)."""
    target = work / "source"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def source_info(cfg: Config) -> dict[str, Any]:
    """Which code the API ran: a commit, or the working tree (dirty or not) on top of HEAD."""
    info: dict[str, Any] = {"git_ref": cfg.git_ref}
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        info["head"] = git("rev-parse", "HEAD")
        if cfg.git_ref:
            info["commit"] = git("rev-parse", f"{cfg.git_ref}^{{commit}}")
        else:
            dirty = git("status", "--porcelain", "--", *APP_PATHS)
            info["working_tree_changes"] = dirty.splitlines()
    return info


@contextlib.contextmanager
def profiled(cfg: Config, api: Api, stem: str) -> Iterator[None]:
    """With --py-spy: sample the API's stacks into `<stem>-<api>.folded` in the results dir."""
    if not cfg.py_spy:
        yield
        return
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    out = cfg.results_dir / f"{stem}-{api.name}.folded"
    cmd = [str(BIN_DIR / "py-spy"), "record", "--pid", str(api.pid), "--format", "raw"]
    cmd += ["--rate", "200", "--output", str(out)]
    with (cfg.results_dir / f"{stem}-{api.name}.py-spy.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(1)  # let it attach
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(f"py-spy profile of {api.name}: {out}")


# --------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class Sample:
    size: int
    seconds: float
    status: int
    error: str | None = None
    document_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def raw_put(client: Minio, bucket: str, path: Path, part_size: int) -> Sample:
    size = path.stat().st_size
    start = time.perf_counter()
    try:
        with path.open("rb") as handle:
            client.put_object(bucket, f"raw/{path.name}", handle, size, part_size=part_size)
    except Exception as exc:  # a benchmark records failures instead of stopping
        return Sample(size, time.perf_counter() - start, 0, f"{type(exc).__name__}: {exc}")
    return Sample(size, time.perf_counter() - start, 200)


def api_upload(client: httpx.Client, path: Path) -> Sample:
    size = path.stat().st_size
    start = time.perf_counter()
    try:
        with path.open("rb") as handle:
            # A file object: httpx streams it in 64 KiB chunks and sends Content-Length.
            response = client.post(
                "/api/v1/documents", files={"file": (path.name, handle, "application/pdf")}
            )
    except httpx.HTTPError as exc:
        return Sample(size, time.perf_counter() - start, 0, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    if response.status_code != 202:
        return Sample(size, seconds, response.status_code, response.text[:300])
    return Sample(size, seconds, 202, document_id=response.json()["id"])


def new_minio(endpoint: str, pool: int) -> Minio:
    http = urllib3.PoolManager(
        maxsize=max(pool, 10), timeout=urllib3.Timeout(connect=10, read=600), retries=False
    )
    return Minio(
        endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        secure=False,
        region=REGION,
        http_client=http,
    )


def new_http(api: Api) -> httpx.Client:
    return httpx.Client(base_url=api.url, timeout=httpx.Timeout(600, connect=10))


# --------------------------------------------------------------------------- CPU accounting


class CpuMeter:
    """CPU seconds used by the processes of the run, by PostgreSQL and by the whole machine.

    `postgres` sums every process of that name (the server may be shared); `machine_busy`
    is user + system + irq time of all CPUs, `machine_steal` the time the hypervisor took.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}

    def read(self) -> dict[str, float]:
        reading = {name: _cpu_seconds(proc) for name, proc in self.processes.items()}
        reading["postgres"] = sum(
            _cpu_seconds(proc)
            for proc in psutil.process_iter(["name"])
            if proc.info["name"] == "postgres"
        )
        machine = psutil.cpu_times()
        reading["machine_busy"] = (
            machine.user + machine.nice + machine.system + machine.irq + machine.softirq
        )
        reading["machine_iowait"] = machine.iowait
        reading["machine_steal"] = machine.steal
        return reading

    @contextlib.contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        """Fills the yielded dict with the CPU seconds used while the block ran."""
        used: dict[str, float] = {}
        before = self.read()
        yield used
        after = self.read()
        used.update({name: after[name] - before.get(name, 0.0) for name in after})


def _cpu_seconds(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def cores(cpu_seconds: dict[str, float], wall: float) -> dict[str, float]:
    """CPU seconds over wall time: how many cores each consumer kept busy on average."""
    if not wall:
        return {}
    # max(0): a PostgreSQL backend that exits mid-batch takes its CPU time with it.
    used = {name: max(seconds, 0.0) / wall for name, seconds in cpu_seconds.items()}
    if "machine_busy" in used:
        # The kernel's share of loopback networking and disk writes, and any other tenant.
        named = sum(used.get(name, 0.0) for name in ("client", "moto", "api", "postgres"))
        used["unattributed"] = max(used["machine_busy"] - named, 0.0)
    return {name: round(value, 3) for name, value in used.items()}


# --------------------------------------------------------------------------- batches


@dataclass
class Batch:
    """One path's pass over one corpus: wall time, CPU used, and one sample per file."""

    path: str
    corpus: str
    wall_seconds: float
    samples: list[Sample]
    cpu_seconds: dict[str, float]


def run_concurrently(
    name: str, corpus: Corpus, workers: list[Callable[[Path], Sample]], meter: CpuMeter
) -> Batch:
    """Each worker (one per client thread) takes files from a shared queue until it is empty."""
    todo: queue.SimpleQueue[Path] = queue.SimpleQueue()
    for path in corpus.paths:
        todo.put(path)
    samples: list[Sample] = []
    lock = threading.Lock()
    start_line = threading.Barrier(len(workers) + 1)

    def loop(work: Callable[[Path], Sample]) -> None:
        start_line.wait()
        while True:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                return
            sample = work(path)
            with lock:
                samples.append(sample)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    with meter.measure() as cpu:
        start_line.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
    return Batch(name, corpus.name, wall, samples, cpu)


# --------------------------------------------------------------------------- statistics


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Figures:
    docs: int
    errors: int
    megabytes: float
    wall_seconds: float
    docs_per_s: float
    mb_per_s: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    cpu_cores: dict[str, float]


def figures(batches: list[Batch]) -> Figures:
    """Pooled over batches: total documents (and bytes) over total wall time."""
    samples = [s for b in batches for s in b.samples]
    ok = [s for s in samples if s.ok]
    wall = sum(b.wall_seconds for b in batches)
    latencies = [s.seconds * 1000 for s in ok]
    megabytes = sum(s.size for s in ok) / MB
    return Figures(
        docs=len(ok),
        errors=len(samples) - len(ok),
        megabytes=megabytes,
        wall_seconds=wall,
        docs_per_s=len(ok) / wall if wall else float("nan"),
        mb_per_s=megabytes / wall if wall else float("nan"),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        cpu_cores=cores(_sum_cpu(b.cpu_seconds for b in batches), wall),
    )


def _sum_cpu(readings: Iterable[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for reading in readings:
        for name, used in reading.items():
            total[name] = total.get(name, 0.0) + used
    return total


# --------------------------------------------------------------------------- RSS sampling


class RssSampler:
    """Sample a process's RSS (children included) every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.perf_counter() - start, self.rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Bench:
    """What every phase needs: the settings, a work dir, moto and a raw S3 client."""

    cfg: Config
    work: Path
    run_id: str
    s3: Minio
    moto_pid: int

    def meter(self, api: Api) -> CpuMeter:
        return CpuMeter({"client": os.getpid(), "moto": self.moto_pid, "api": api.pid})

    @property
    def part_size(self) -> int:
        """The API's multipart part size, so that both paths split big files alike."""
        return (self.cfg.s3_part_mb or APP_PART_MIB) * MIB

    def raw_workers(self) -> list[Callable[[Path], Sample]]:
        put = functools.partial(raw_put, self.s3, RAW_BUCKET, part_size=self.part_size)
        return [put] * self.cfg.clients


@contextlib.contextmanager
def api_workers(bench: Bench, api: Api) -> Iterator[list[Callable[[Path], Sample]]]:
    """One HTTP client (one connection) per client thread."""
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(new_http(api)) for _ in range(bench.cfg.clients)]
        yield [functools.partial(api_upload, client) for client in clients]


def warm_up(bench: Bench, api: Api) -> None:
    """Open connections, create the API's bucket and fill the DB pool before the clock runs."""
    cfg = bench.cfg
    small = dataclasses.replace(cfg, files=cfg.clients, max_bytes=cfg.min_bytes)
    name = f"warmup-{api.name}"
    corpus = make_corpus(bench.work / name, name, small, bench.run_id, seed=1)
    meter = bench.meter(api)
    with api_workers(bench, api) as workers:
        for batch in (
            run_concurrently("raw", corpus, bench.raw_workers(), meter),
            run_concurrently("api", corpus, workers, meter),
        ):
            failed = [s for s in batch.samples if not s.ok]
            if failed:
                raise RuntimeError(f"warm-up {batch.path} failed: {failed[0]}")
    shutil.rmtree(bench.work / name)


@dataclass
class RoundResult:
    round: int
    order: list[str]
    raw: Figures
    api: Figures
    ratio: float


@dataclass
class Rounds:
    results: list[RoundResult]
    batches: list[Batch]
    api_rss_before_mb: float
    api_peak_rss_mb: float


def throughput_rounds(bench: Bench, api: Api) -> Rounds:
    """Per round a new corpus, sent raw and through the API, the order alternating."""
    cfg, meter = bench.cfg, bench.meter(api)
    rounds = Rounds([], [], RssSampler(api.pid).rss() / MB, 0.0)
    with api_workers(bench, api) as through_api:
        workers = {"raw": bench.raw_workers(), "api": through_api}
        for number in range(1, cfg.rounds + 1):
            name = f"round{number}"
            seed = cfg.seed + 100 * number
            corpus = make_corpus(bench.work / name, name, cfg, bench.run_id, seed)
            order = ["raw", "api"] if number % 2 else ["api", "raw"]
            done: dict[str, Batch] = {}
            for path in order:
                with RssSampler(api.pid) as rss:
                    done[path] = run_concurrently(path, corpus, workers[path], meter)
                rounds.api_peak_rss_mb = max(rounds.api_peak_rss_mb, rss.peak / MB)
            rounds.batches += [done[path] for path in order]
            raw, through = figures([done["raw"]]), figures([done["api"]])
            result = RoundResult(number, order, raw, through, through.mb_per_s / raw.mb_per_s)
            rounds.results.append(result)
            print_round(result, corpus)
            shutil.rmtree(bench.work / name)
    return rounds


@dataclass
class LargeResult:
    size_mb: float
    rss_before_mb: float
    upload_seconds: float
    upload_mb_per_s: float
    upload_status: int
    upload_peak_rss_mb: float
    upload_rss_samples: int
    upload_cpu_cores: dict[str, float]
    error: str | None
    rss_timeline_mb: list[tuple[float, float]]
    download_rss_before_mb: float = float("nan")
    download_seconds: float = float("nan")
    download_mb_per_s: float = float("nan")
    download_peak_rss_mb: float = float("nan")
    download_cpu_cores: dict[str, float] = field(default_factory=dict)
    download_sha256_ok: bool = False
    raw_put_seconds: float | None = None
    raw_put_mb_per_s: float | None = None


def large_file_test(bench: Bench, api: Api) -> LargeResult:
    """Upload one big file through the API while sampling its RSS, then read it back."""
    cfg, path = bench.cfg, bench.work / "large.pdf"
    print(f"writing the {cfg.large_bytes / MB:.0f} MB file ...", flush=True)
    rng = random.Random(cfg.seed + 1)
    sha256 = write_pdf(path, cfg.large_bytes, rng, pdf_header(bench.run_id, path.name))
    rss_before = RssSampler(api.pid).rss()
    print("uploading it through the API ...", flush=True)
    with new_http(api) as client, bench.meter(api).measure() as cpu, RssSampler(api.pid) as up:
        sample = api_upload(client, path)
    result = LargeResult(
        size_mb=cfg.large_bytes / MB,
        rss_before_mb=rss_before / MB,
        upload_seconds=sample.seconds,
        upload_mb_per_s=cfg.large_bytes / MB / sample.seconds,
        upload_status=sample.status,
        upload_peak_rss_mb=up.peak / MB,
        upload_rss_samples=len(up.samples),
        upload_cpu_cores=cores(cpu, sample.seconds),
        error=sample.error,
        rss_timeline_mb=[(round(t, 2), round(r / MB, 1)) for t, r in up.samples[::5]],
    )
    if sample.document_id is not None:
        print("downloading it back ...", flush=True)
        download_check(bench, api, result, sample.document_id, sha256)
    if cfg.large_raw:
        print("PUTting it raw ...", flush=True)
        raw = raw_put(bench.s3, RAW_BUCKET, path, bench.part_size)
        result.raw_put_seconds = raw.seconds
        result.raw_put_mb_per_s = cfg.large_bytes / MB / raw.seconds if raw.ok else None
    path.unlink()
    return result


def download_check(
    bench: Bench, api: Api, result: LargeResult, document_id: str, sha256: str
) -> None:
    digest = hashlib.sha256()
    result.download_rss_before_mb = RssSampler(api.pid).rss() / MB
    url = f"/api/v1/documents/{document_id}/content"
    with new_http(api) as client, bench.meter(api).measure() as cpu, RssSampler(api.pid) as down:
        start = time.perf_counter()
        with client.stream("GET", url) as response:
            for chunk in response.iter_bytes(CHUNK):
                digest.update(chunk)
        seconds = time.perf_counter() - start
    result.download_seconds = seconds
    result.download_mb_per_s = result.size_mb / seconds
    result.download_peak_rss_mb = down.peak / MB
    result.download_cpu_cores = cores(cpu, seconds)
    result.download_sha256_ok = response.status_code == 200 and digest.hexdigest() == sha256


# --------------------------------------------------------------------------- reporting


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 10**9, 1),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def print_round(result: RoundResult, corpus: Corpus) -> None:
    errors = result.raw.errors + result.api.errors
    print(
        f"round {result.round} ({'/'.join(result.order)}, {len(corpus.paths)} files, "
        f"{corpus.total_bytes / MB:.1f} MB): raw {result.raw.mb_per_s:.1f} MB/s, "
        f"api {result.api.mb_per_s:.1f} MB/s, ratio {result.ratio:.2f}"
        + (f", ERRORS raw {result.raw.errors} api {result.api.errors}" if errors else ""),
        flush=True,
    )


CPU_COLUMNS = ("client", "moto", "api", "postgres", "unattributed", "machine_busy")


def print_summary(report: dict[str, Any]) -> None:
    raw, api, cfg = report["raw"], report["api"], report["config"]
    print()
    print(
        f"ingest: {cfg['clients']} clients, {cfg['rounds']} rounds x {cfg['files']} files "
        f"({cfg['min_bytes'] / KB:.0f} KB - {cfg['max_bytes'] / MB:.1f} MB), "
        f"{report['machine']['nproc']} CPUs"
    )
    print(f"{'':10}{'docs':>6}{'errors':>8}{'docs/s':>9}{'MB/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for name, fig in (("raw PUT", raw), ("API", api)):
        print(
            f"{name:10}{fig['docs']:>6}{fig['errors']:>8}{fig['docs_per_s']:>9.2f}"
            f"{fig['mb_per_s']:>9.1f}{fig['p50_ms']:>9.0f}{fig['p95_ms']:>9.0f}"
        )
    rounds = ", ".join(f"{r['ratio']:.2f}" for r in report["rounds"])
    print(
        f"ratio API/raw (pooled): {report['ratio']:.2f}  (per round: {rounds}; "
        f"median {report['ratio_median']:.2f}; target >= 0.70)"
    )
    labels = ("client", "moto", "api", "postgres", "other", "machine")
    print(f"{'cores busy':10}" + "".join(f"{label:>9}" for label in labels))
    for name, fig in (("raw PUT", raw), ("API", api)):
        print(f"{name:10}" + "".join(f"{fig['cpu_cores'].get(c, 0):>9.2f}" for c in CPU_COLUMNS))
    print(
        f"API RSS in the concurrent rounds: {report['api_rss_before_rounds_mb']:.0f} MB before, "
        f"{report['api_peak_rss_rounds_mb']:.0f} MB peak"
    )
    if report.get("large"):
        print_large(report["large"])


def print_large(large: dict[str, Any]) -> None:
    raw = large["raw_put_mb_per_s"]
    print(
        f"{large['size_mb']:.0f} MB upload: status {large['upload_status']}, "
        f"{large['upload_seconds']:.1f} s, {large['upload_mb_per_s']:.1f} MB/s"
        + (f" (raw PUT {raw:.1f} MB/s)" if raw else "")
    )
    print(
        f"  API RSS before {large['rss_before_mb']:.0f} MB, peak during upload "
        f"{large['upload_peak_rss_mb']:.0f} MB (target < 150 MB, "
        f"{large['upload_rss_samples']} samples)"
    )
    print(
        f"  download: RSS before {large['download_rss_before_mb']:.0f} MB, "
        f"{large['download_seconds']:.1f} s, {large['download_mb_per_s']:.1f} MB/s, "
        f"peak RSS {large['download_peak_rss_mb']:.0f} MB, "
        f"sha256 {'matches' if large['download_sha256_ok'] else 'DOES NOT MATCH'}"
    )
    if large["error"]:
        print(f"  error: {large['error']}")


def build_report(
    cfg: Config, started: datetime, rounds: Rounds, large: LargeResult | None
) -> dict[str, Any]:
    raw = figures([b for b in rounds.batches if b.path == "raw"])
    api = figures([b for b in rounds.batches if b.path == "api"])
    return {
        "benchmark": "ingest",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "command": " ".join([sys.executable, *sys.argv]),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": machine(),
        "source": source_info(cfg),
        "units": "MB = 10**6 bytes; cpu_cores = CPU seconds / wall seconds",
        "raw": asdict(raw),
        "api": asdict(api),
        "ratio": api.mb_per_s / raw.mb_per_s,
        "ratio_median": statistics.median(r.ratio for r in rounds.results),
        "rounds": [asdict(r) for r in rounds.results],
        "api_rss_before_rounds_mb": rounds.api_rss_before_mb,
        "api_peak_rss_rounds_mb": rounds.api_peak_rss_mb,
        "large": asdict(large) if large else None,
        "errors": [
            {"path": b.path, "corpus": b.corpus, **asdict(s)}
            for b in rounds.batches
            for s in b.samples
            if not s.ok
        ][:50],
    }


def write_report(report: dict[str, Any], directory: Path, stem: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


@contextlib.contextmanager
def database(cfg: Config) -> Iterator[str]:
    if cfg.database_url:
        yield cfg.database_url
        return
    with fresh_database(cfg.admin_url) as url:
        yield url


def run(cfg: Config, started: datetime, stem: str) -> dict[str, Any]:
    """Throughput rounds on one API process, the big file on a fresh one (a clean RSS)."""
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=cfg.work_dir)))
        source = source_snapshot(cfg.git_ref, work) if cfg.git_ref else None
        cfg.results_dir.mkdir(parents=True, exist_ok=True)
        logs = str(cfg.results_dir / stem)
        s3_endpoint, moto_pid = stack.enter_context(moto_server(Path(f"{logs}-moto.log")))
        database_url = stack.enter_context(database(cfg))
        services = Services(database_url, s3_endpoint, work, logs, source)
        s3 = new_minio(s3_endpoint, cfg.clients)
        s3.make_bucket(RAW_BUCKET)
        bench = Bench(cfg, work, uuid.uuid4().hex[:12], s3, moto_pid)
        print(f"moto at {s3_endpoint}, work dir {work}, logs {logs}-*.log", flush=True)
        with api_server(cfg, services, "api-rounds") as api:
            warm_up(bench, api)
            with profiled(cfg, api, stem):
                rounds = throughput_rounds(bench, api)
        large = None
        if cfg.large_bytes:
            with api_server(cfg, services, "api-large") as api:
                warm_up(bench, api)
                with profiled(cfg, api, stem):
                    large = large_file_test(bench, api)
        return build_report(cfg, started, rounds, large)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    started = datetime.now(UTC)
    stem = f"ingest-{started.strftime('%Y%m%dT%H%M%SZ')}"
    report = run(cfg, started, stem)
    print_summary(report)
    print(f"\nresults: {write_report(report, cfg.results_dir, stem)}")
    failed = report["raw"]["errors"] or report["api"]["errors"]
    large = report["large"]
    return 1 if failed or (large and not large["download_sha256_ok"]) else 0


if __name__ == "__main__":
    sys.exit(main())
