"""The examples in the authorizer's module docstrings run as written."""

import doctest

import pytest

from authorizer import bounds, config, errors, overlaps, policy, text, token


@pytest.mark.parametrize("module", [bounds, config, errors, overlaps, policy, text, token])
def test_docstring_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
