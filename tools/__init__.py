"""The operator's command line: ``.venv/bin/python -m tools <command>``.

| command  | what it does                                                                                  |
|----------|-----------------------------------------------------------------------------------------------|
| ``token``  | the OAuth 2.0 client-credentials grant against a token endpoint; prints the access token      |
| ``doctor`` | explains whether and why a token would be accepted by the native JWT authorizer and by ours |
| ``smoke``  | after ``cdk deploy``: calls the deployed API's routes with no, a bad and a good token         |

Each command is a module with ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status). The tools use
the authorizer's own parsing and checks, so what they explain is what the authorizer decides. Secrets are read
from the environment or standard input and never printed; a token is printed only by ``token``.
"""
