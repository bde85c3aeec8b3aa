"""The ``stack`` marker: set from the fixture closure, and a forgotten dynamic lookup fails loudly.

Runs a small test file in a nested pytest session with this suite's real ``conftest.py``; no
server is started (the stack fixture is either deselected or refused).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")

TESTS = """
import pytest

@pytest.fixture
def needs_database(pg_url):
    return pg_url

def test_uses_the_stack_through_a_fixture(needs_database):
    raise AssertionError("must be deselected, never run")

def test_needs_nothing():
    assert True

def test_looks_the_stack_up_at_run_time(request):
    request.getfixturevalue("pg_url")
"""

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
markers =
    stack: needs the local stack
"""


def test_not_stack_deselects_by_closure_and_refuses_an_unmarked_lookup(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_sample=TESTS)
    pytester.makeini(INI)
    monkeypatch.setenv("AEGIS_TEST_STACK", "off")

    result = pytester.runpytest_inprocess("-m", "not stack", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_looks_the_stack_up_at_run_time*", "*not marked 'stack'*"])
