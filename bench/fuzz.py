"""The long schemathesis run: `tests/test_fuzz.py` with ten times the CI's examples, fresh
random ones, then figures per operation and the failures found.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/fuzz.py

`--examples` sets the examples per operation and phase (CI: 10); `--seed` replays a run.
Prints a summary and, with `--json`, writes it. Exits non-zero when an operation failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CI_EXAMPLES = 10


@dataclass
class Summary:
    command: str
    examples_per_phase: int
    seconds: float
    operations: int
    requests: int
    requests_per_operation: dict[str, int]  # min, median, max
    statuses: dict[str, int]
    failures: list[str] = field(default_factory=list)


def _run(examples: int, seed: int | None, stats: Path, junit: Path) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/test_fuzz.py", f"--junitxml={junit}", "-o", "timeout=0"]
    if seed is not None:
        command.append(f"--hypothesis-seed={seed}")
    env = os.environ | {
        "FUZZ_EXAMPLES": str(examples),
        "FUZZ_RANDOM": "1",
        "FUZZ_STATS": str(stats),
    }
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=env, check=False)
    shown = f"FUZZ_EXAMPLES={examples} FUZZ_RANDOM=1 pytest tests/test_fuzz.py"
    shown += f" --hypothesis-seed={seed}" if seed is not None else ""
    return time.monotonic() - started, shown


def _failures(junit: Path) -> list[str]:
    """One line per failing operation: its request (from the curl line) and the checks failed."""
    found = []
    # Our own pytest report, written a moment ago.
    for case in ET.parse(junit).iter("testcase"):  # noqa: S314
        for failure in [*case.iter("failure"), *case.iter("error")]:
            report = failure.text or failure.get("message") or ""
            curl = re.search(r"curl -X (\S+) .*?(http://\S+)", report)
            request = f"{curl.group(1)} {curl.group(2)}" if curl else case.get("name", "?")
            checks = sorted(set(re.findall(r"- (ST\d+ [^\n]+)", report)))
            found.append(f"{request}: {'; '.join(checks) or report.splitlines()[-1:]}")
    return found


def summarise(stats: Path, junit: Path, seconds: float, command: str, examples: int) -> Summary:
    rows = json.loads(stats.read_text()) if stats.exists() else []
    per_operation: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for row in rows:
        per_operation[row["operation"]] += row["calls"]
        statuses[str(row["status"])] += row["calls"]
    counts = sorted(per_operation.values()) or [0]
    return Summary(
        command=command,
        examples_per_phase=examples,
        seconds=round(seconds, 1),
        operations=len(per_operation),
        requests=sum(counts),
        requests_per_operation={
            "min": counts[0],
            "median": int(statistics.median(counts)),
            "max": counts[-1],
        },
        statuses=dict(sorted(statuses.items())),
        failures=_failures(junit) if junit.exists() else ["the run produced no report"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10 * CI_EXAMPLES)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stats, junit = Path(tmp) / "stats.json", Path(tmp) / "junit.xml"
        seconds, command = _run(args.examples, args.seed, stats, junit)
        summary = summarise(stats, junit, seconds, command, args.examples)
    print(json.dumps(asdict(summary), indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(summary), indent=2))
    sys.exit(1 if summary.failures else 0)


if __name__ == "__main__":
    main()
