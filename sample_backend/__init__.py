"""A small Lambda behind the HTTP API that shows who called, with which claims, on which route."""
