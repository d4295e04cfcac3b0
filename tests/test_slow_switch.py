"""`pytest -m slow` runs the slow tests (it used to select and then skip them); a plain run skips
them, `-m "not slow"` deselects them."""

from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


def test_selecting_slow_runs_the_slow_tests(pytester, monkeypatch):
    monkeypatch.delenv("ZETT_SLOW", raising=False)
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    slow: long\n    models: packages\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.slow
        def test_long():
            pass

        def test_quick():
            pass
        """
    )
    pytester.runpytest("-m", "slow").assert_outcomes(passed=1, deselected=1)
    pytester.runpytest("-m", "slow and not models").assert_outcomes(passed=1, deselected=1)
    pytester.runpytest().assert_outcomes(passed=1, skipped=1)
    pytester.runpytest("-m", "not slow").assert_outcomes(passed=1, deselected=1)
    pytester.runpytest("--runslow").assert_outcomes(passed=2)
