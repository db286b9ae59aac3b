"""The development identity provider: an OIDC issuer with provider-shaped profiles (``issuer``, ``profiles``,
``shapes``), its clients (``clients``), keys (``keys``), the client-credentials grant (``oauth``), HTTP server
(``server``) and command line (``cli``)."""
