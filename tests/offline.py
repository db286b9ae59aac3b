"""What keeps a test's subprocesses off the network beyond loopback (docs/development.md, "No network in tests").

pip finds wheels in ``WHEELHOUSE`` alone (``tests/conftest.py`` sets ``PIP_NO_INDEX`` and ``PIP_FIND_LINKS`` for the
whole run; ``make wheels`` fills it).

The CDK CLI, before it runs the app, asks STS who the caller is (``GetCallerIdentity``) if it can find credentials:
in ``AWS_*`` variables, in ``~/.aws``, or from the instance-metadata service. A developer's machine usually has
some, so every ``cdk synth`` of the tests would call sts.amazonaws.com. Synthesis needs none of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

WHEELHOUSE = Path(__file__).resolve().parent.parent / ".wheelhouse"


def without_aws_credentials(environment: Mapping[str, str]) -> dict[str, str]:
    """``environment`` with no ``AWS_*`` variable, empty AWS config and credentials files, and no metadata probe."""
    kept = {name: value for name, value in environment.items() if not name.startswith("AWS_")}
    return {**kept, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true"}
