"""The shared HTTP layer: every request a connector makes passes the never-send guard.

circleback never sends mail. Gmail's ``gmail.compose`` scope allows sending,
and Graph's ``Mail.ReadWrite`` sits next to send paths, so the guarantee is
enforced here, once, for every connector (docs/STYLE.md #2): a request to any send
endpoint raises :class:`SendRefused` before a byte leaves the machine.

* :class:`GuardedSession` - a ``requests.Session`` for Graph and other REST APIs, and
  every request inside a Graph JSON ``$batch`` body.
* :class:`GuardedHttp` - wraps an ``httplib2.Http``-like object (what
  googleapiclient calls) and checks each ``request(uri, method, ...)``, and
  every call inside a Google batch body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import refuse_send

try:  # requests is optional for the local connectors
    import requests
except ImportError:  # pragma: no cover - requests ships with the cloud connectors' deps
    requests = None  # type: ignore[assignment]


if requests is not None:

    class GuardedSession(requests.Session):
        """A requests session that refuses send endpoints, including on redirects."""

        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            refuse_send(_text(method), _text(url))  # a batch body is looked into once, by send()
            return super().request(method, url, *args, **kwargs)

        def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            # Every request ends here (request() too, redirects, prepared requests): any body that lists
            # requests is a batch, whatever its URL spells ($batch, %24batch), and each item is checked.
            refuse_send(str(request.method), str(request.url))
            for inner_method, target in _json_batch_requests(None, request.body):
                refuse_send(inner_method, target)
            return super().send(request, **kwargs)


# A request line inside a batch body (Google's multipart/mixed batch: one application/http part a call).
_REQUEST_LINE = re.compile(rb"(?m)^(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.1")


class GuardedHttp:
    """Wraps an httplib2-style object so googleapiclient can never reach a send endpoint.

    A batch request's own URI is harmless; its calls are request lines in the body, so
    a body sent to a ``/batch`` URI has each of them checked as well.
    """

    def __init__(self, http: Any) -> None:
        self._http = http

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        refuse_send(method, uri)
        body = kwargs.get("body", args[0] if args else None)  # httplib2: request(uri, method, body, headers)
        if body and "/batch" in uri:
            data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            for inner_method, target in _REQUEST_LINE.findall(data):
                refuse_send(inner_method.decode(), target.decode("latin-1"))
        return self._http.request(uri, method, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # credentials, timeout, close(), ...
        return getattr(self._http, name)


def _json_batch_requests(payload: Any, data: Any) -> list[tuple[str, str]]:
    """(method, url) of each request in a Graph JSON batch (``{"requests": [{"method", "url"}]}``)."""
    if payload is None and data:
        try:
            payload = json.loads(data)
        except (TypeError, ValueError):
            return []
    requests_ = payload.get("requests") if isinstance(payload, dict) else None
    return [(str(r.get("method", "")), str(r.get("url", ""))) for r in requests_ or [] if isinstance(r, dict)]


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
