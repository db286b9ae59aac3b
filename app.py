#!/usr/bin/env python3
"""The CDK app: `npx cdk synth` / `npx cdk deploy`, or `python app.py`. Configuration: cdk.json context and -c."""

import sys

from infra import ConfigError, build_app

try:
    app = build_app()
except ConfigError as problem:
    sys.exit(f"Invalid configuration (cdk.json context or -c): {problem}")
app.synth()
