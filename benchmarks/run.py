"""``make bench``: every benchmark in turn, each on servers it starts itself, then one table.

Each benchmark is its own process (one interpreter's caches, pools and peak RSS never leak into
the next) and starts and stops whatever it measures against: a lite devstack, a full one for
``servers.py``, a throwaway PostgreSQL or Redis. Nothing has to be running beforehand, and no
stack of a shell's ``aegis devstack env`` is used: the ``AEGIS_*`` server settings are removed
from the children's environment. Every comparison a benchmark makes is recorded through
``benchmarks/results.py``; the run ends with one table: name, ours, raw, ratio, goal, pass/fail.

``--quick`` runs each benchmark on a small input: it checks the wiring in minutes, and its ratios
mean little. ``--only publish cache`` picks benchmarks. The exit status is 1 when a benchmark
crashed; a goal not met is reported in the table, not as a failure of the command (timings on a
shared machine swing).

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import results  # noqa: E402 - the sibling module, importable once HERE is on the path

# name -> (script, full arguments, --quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "publish": ("publish.py", [], ["--events", "2000", "--rounds", "3", "--flush-events", "50"]),
    "consume": ("consume.py", [], ["--events", "2000", "--rounds", "3"]),
    "cache": ("cache.py", [], ["--iterations", "2000", "--requests", "10000", "--keys", "1000"]),
    "eventstore": ("eventstore.py", [], ["--n", "2000", "--single", "200"]),
    "stores": ("stores.py", [], ["--n", "1000", "--embed-n", "16", "--repeat", "1"]),
    "servers": ("servers.py", [], ["--n", "1000", "--rounds", "1"]),
    "cold_path": ("cold_path.py", [], ["--n", "1000", "--rounds", "1", "--skip-vectors"]),
    "hot_path": ("hot_path.py", [], ["--e2e-seconds", "5", "--events", "500"]),
}

# Settings that would point a benchmark at some other running stack.
_STACK_SETTINGS = (
    "AEGIS_POSTGRES_URL",
    "AEGIS_KAFKA_BOOTSTRAP",
    "AEGIS_REDIS_URL",
    "AEGIS_GRAPH_URL",
    "AEGIS_NEO4J_URI",
    "AEGIS_OPENSEARCH_URL",
    "AEGIS_MILVUS_URI",
    "AEGIS_SEARCH_PATH",
    "AEGIS_DAGSTER_PG_URL",
    "AEGIS_PUSHGATEWAY_URL",
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small inputs: checks the wiring only")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=list(BENCHMARKS))
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="aegis-bench-")) / "results.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in _STACK_SETTINGS}
    env[results.ENV] = str(out)
    # The benchmarks import the checkout's packages and tests' helpers from the repository root.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    crashed: list[str] = []
    took: dict[str, float] = {}
    for name in args.only:
        script, full, quick = BENCHMARKS[name]
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(command, env=env, check=False).returncode != 0:
            crashed.append(name)
        took[name] = time.perf_counter() - started

    print("\n=== summary" + (" (--quick: small inputs, ratios only indicative)" if args.quick else ""))
    print(results.table(results.load(out)))
    print("\n" + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items()))
    if crashed:
        print(f"crashed (see its output above): {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
