"""The HTTP API's two authorizer types: Lambda REQUEST authorizers (``lambda_authorizer``) and the native JWT
authorizer (``jwt_authorizer``, with its issuer keys in ``jwt_keys``)."""
