"""A local Lambda: warm worker processes per function (``worker``) running the Python runtime loop (``runtime``)."""
