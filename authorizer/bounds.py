"""How long the authorizer waits on other people's services, at most: each bound, and the sums a function timeout
must cover. The bounds themselves live where they are enforced (``fetch.py``, ``remote_config.py``); this module
only adds them up, for the docs (docs/operating.md) and for the construct's default timeout to be checked against.

| wait                                   | bound                                                              |
|----------------------------------------|--------------------------------------------------------------------|
| one discovery or JWKS exchange         | ``AUTH_JWKS_TIMEOUT_SECONDS`` (1.5 s; at most 2.5), all of it        |
| a key refresh during a request         | two exchanges (discovery, when not yet known, then the JWKS)       |
| the cold start's prefetch              | two exchanges: every key source is fetched at once                 |
| a warm SSM refresh                     | one attempt: 0.4 s to connect + 0.8 s to read                       |
| the cold start's SSM read              | two attempts and botocore's backoff between them (at most 1 s)     |

    >>> round(warm_request_seconds(1.5), 2), round(cold_start_seconds(1.5), 2)
    (4.2, 6.4)
"""

from __future__ import annotations

from .remote_config import COLD_ATTEMPTS, WARM_ATTEMPTS, ssm_read_seconds

#: Exchanges one key refresh may make: the discovery document (until its jwks_uri is known), then the JWKS.
EXCHANGES_PER_REFRESH = 2


def warm_request_seconds(jwks_timeout: float, ssm: bool = True) -> float:
    """The longest a warm request can wait: a due SSM refresh, then a key refresh for its issuer."""
    return (ssm_read_seconds(WARM_ATTEMPTS) if ssm else 0.0) + EXCHANGES_PER_REFRESH * jwks_timeout


def cold_start_seconds(jwks_timeout: float, ssm: bool = True) -> float:
    """The longest a cold start can wait on the network: the SSM read, then the prefetch of every key source."""
    return (ssm_read_seconds(COLD_ATTEMPTS) if ssm else 0.0) + EXCHANGES_PER_REFRESH * jwks_timeout
