"""A local API Gateway HTTP API, laid out like the service: the API read from the template (``model``,
``template``), route selection (``routing``), the request pipeline (``service``), its HTTP server (``server``) and
command line (``cli``), the authorizers (``authorizers/``), the Lambda proxy integration (``integration``), CORS
(``cors``), IAM policy evaluation (``iam``), the request and its responses (``messages``, ``route_call``) and the
errors that carry their status (``errors``)."""
