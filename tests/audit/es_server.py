"""A real HTTP server answering Elasticsearch ``_search`` requests over exporter documents.

There is no Elasticsearch here, so the test serves the subset of the query DSL the audit reader sends
(bool/filter of term queries on dotted fields, sort, size, search_after) over real HTTP, checking the
request shape the way ES would reject a malformed one.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _field(doc: Any, dotted: str) -> list[Any]:
    """Values at a dotted path; arrays of objects fan out as in ES."""
    values = [doc]
    for part in dotted.split("."):
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, dict) and part in v:
                item = v[part]
                nxt.extend(item if isinstance(item, list) else [item])
            elif isinstance(v, list):
                nxt.extend(x[part] for x in v if isinstance(x, dict) and part in x)
        values = nxt
    return values


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    if "match_all" in query:
        return True
    if "term" in query:
        ((name, expected),) = query["term"].items()
        expected = expected["value"] if isinstance(expected, dict) else expected
        return expected in _field(doc, name)
    if "bool" in query:
        clauses = query["bool"].get("filter", []) + query["bool"].get("must", [])
        return all(_matches(doc, c) for c in clauses)
    raise ValueError(f"unsupported query {query}")


class SearchServer:
    def __init__(self, indices: dict[str, list[dict[str, Any]]]) -> None:
        self.indices = indices
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def search(self, index_pattern: str, body: dict[str, Any]) -> dict[str, Any]:
        docs = [d for name, ds in self.indices.items() if fnmatch.fnmatch(name, index_pattern) for d in ds]
        query = body.get("query", {"match_all": {}})
        hits = [d for d in docs if _matches(d, query)]
        sort_fields = [next(iter(s)) for s in body.get("sort", [])]
        if not sort_fields:
            raise ValueError("search_after needs a sort")
        key = lambda d: [_field(d, f)[0] for f in sort_fields]  # noqa: E731
        hits.sort(key=key)
        if "search_after" in body:
            hits = [d for d in hits if key(d) > body["search_after"]]
        page = hits[: int(body.get("size", 10))]
        return {
            "took": 1, "timed_out": False,
            "hits": {"total": {"value": len(hits), "relation": "eq"},
                     "hits": [{"_index": "zeebe-record", "_source": d, "sort": key(d)} for d in page]},
        }


@contextmanager
def serve(server: SearchServer) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if len(parts) != 2 or parts[1] != "_search":
                self._send(404, {"error": f"no handler for {self.path}"})
                return
            server.requests.append((parts[0], body))
            try:
                self._send(200, server.search(parts[0], body))
            except ValueError as exc:
                self._send(400, {"error": {"type": "parsing_exception", "reason": str(exc)}})

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
