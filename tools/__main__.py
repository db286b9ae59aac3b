"""``.venv/bin/python -m tools <command> [options]``; ``.venv/bin/python -m tools <command> --help`` for each command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import doctor, smoke, token

COMMANDS = {"token": token, "doctor": doctor, "smoke": smoke}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=".venv/bin/python -m tools", description="Operate the JWT authorizer.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, module in COMMANDS.items():
        summary = (module.__doc__ or "").strip().splitlines()[0]
        command = commands.add_parser(name, help=summary, description=(module.__doc__ or "").strip(),
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
