"""python-jose must verify with its ``cryptography`` backend; the cold start checks it once.

The bundle leaves out jose's pure-Python fallbacks (``ecdsa``, ``rsa``, ``pyasn1``): they are never used beside
``cryptography``, and ``ecdsa`` carries a timing side channel its maintainers will not fix. A jose that fell back
to them anyway (``cryptography`` missing, or built for another platform) would verify more slowly through code we
do not ship on purpose, so the authorizer refuses to start instead.

    >>> require_cryptography_backend()   # this environment's jose uses cryptography
"""

from __future__ import annotations

from .errors import CryptoBackendError


def require_cryptography_backend() -> None:
    """Raise ``CryptoBackendError`` unless jose's RSA and EC keys are its ``cryptography`` backend's classes."""
    try:
        from jose import backends
        from jose.backends import cryptography_backend
    except ImportError as problem:
        raise CryptoBackendError(f"python-jose's cryptography backend cannot be imported: {problem}") from None
    expected = {"RSAKey": cryptography_backend.CryptographyRSAKey, "ECKey": cryptography_backend.CryptographyECKey}
    for name, backend_class in expected.items():
        in_use = getattr(backends, name, None)
        if in_use is not backend_class:
            raise CryptoBackendError(
                f"python-jose uses {getattr(in_use, '__module__', None)}.{getattr(in_use, '__name__', in_use)} "
                f"for {name}, not {backend_class.__name__}: install cryptography for this platform")
