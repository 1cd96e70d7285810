"""The examples in the public docstrings run and show what they say."""

import doctest

import pytest

import specnorm
import specnorm._api
import specnorm._result
import specnorm.testing


@pytest.mark.parametrize("module", [specnorm, specnorm._api, specnorm._result, specnorm.testing])
def test_docstring_examples_run(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
