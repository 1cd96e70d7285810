"""The examples in the public docstrings and in the Markdown docs run and show what they say."""

import doctest
import pathlib
import re

import pytest

import specnorm
import specnorm._api
import specnorm.testing

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("module", [specnorm._api, specnorm.testing])
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failures == 0


def pycon_blocks(text: str) -> str:
    """The ```pycon blocks of a Markdown page, one after another (they share one namespace)."""
    return "\n\n".join(re.findall(r"```pycon\n(.*?)```", text, flags=re.DOTALL))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_markdown_examples_run(page, monkeypatch):
    # The examples see the registry users have, without the test session's stand-in backend.
    from specnorm.backends import BACKENDS

    monkeypatch.delitem(BACKENDS, "array_api_strict", raising=False)
    source = pycon_blocks(page.read_text(encoding="utf-8"))
    if not source:
        pytest.skip(f"{page.name} has no pycon examples")
    test = doctest.DocTestParser().get_doctest(source, {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} example(s) in {page.name} failed (see above)"
