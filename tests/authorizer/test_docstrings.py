"""The examples in the authorizer's module docstrings run as written."""

import doctest

import pytest

from authorizer import config, policy, text


@pytest.mark.parametrize("module", [config, policy, text])
def test_docstring_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
