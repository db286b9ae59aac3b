"""The examples in the construct's option modules' docstrings run as written."""

import doctest

import pytest

from infra import authorizer_options, lambda_sources, node_notice, typed_settings


@pytest.mark.parametrize("module", [authorizer_options, lambda_sources, node_notice, typed_settings], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
