"""One partition's collection of one source in its own process, as a Dagster step process runs it.

Used by ``test_breaker.py``: ``python breaker_driver.py <source> <replay base URL> <key>``. Reads
``AEGIS_REDIS_URL`` like any step process; prints the error code the collection ended with.
"""

import sys

from aegis_orchestration.sources.catalog import collect_source, pointing_at
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.http import RetryPolicy


def main() -> None:
    source, base_url, key = sys.argv[1:4]
    config = pointing_at(
        base_url,
        key,
        per_page=25,
        requests_per_second=None,
        retry=RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.02, jitter=0.01),
        breaker_failure_threshold=5,
        breaker_reset_seconds=300.0,
    )
    try:
        result = collect_source(source, config)
    except SourceError as exc:
        print(exc.code, flush=True)
    else:
        print(f"ok {len(result.records)}", flush=True)


if __name__ == "__main__":
    main()
