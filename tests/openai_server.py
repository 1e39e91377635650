"""One fake OpenAI-compatible chat server on loopback, for the tests of the
`openai` generator: `POST /<behaviour>/v1/chat/completions` answers as the
behaviour says.

- `ok`: a fixed answer about tides, in three pieces; asked for usage
  (`stream_options.include_usage`), it sends it as OpenAI does, `"usage": null`
  on each chunk and the counts in a last chunk with no choices.
- `scripted`: a draft fitted to the prompt's numbered passages, which quotes
  the glaciers passage twice, citing it by its number, then adds a sentence no
  passage says, citing a number never shown (the citation check removes that
  marker, so the sentence is unsupported with no judge needed).
- the faults: `silent`, `stall`, `drip`, `error500`, `not-json`, `bad-sse`,
  `wrong-shape`, `cut` and `no-end`, each described where it is written, and
  `usage-stall`, which promises usage, finishes the answer, then goes quiet.

`fake_openai()` yields the server's root URL; a behaviour's base URL is
`ROOT/<behaviour>/v1`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = ["Ocean tides are caused", " mainly by the gravitational", " pull of the Moon [1]."]
HOLD_S = 30.0  # a handler never holds a connection longer, so the server can stop

QUOTED = (
    "Glaciers carve U-shaped valleys as they move slowly downhill",
    "Moraines are ridges of rock debris left behind by a retreating glacier",
)
INVENTED = "Glaciers are older than the Moon"
_NUMBERED = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def draft(prompt: str) -> str:
    """The fixed draft, its markers fitted to the passages numbered in `prompt`."""
    shown = [(int(n), title) for n, title in _NUMBERED.findall(prompt)]
    glaciers = next((n for n, title in shown if title == "Glaciers"), 1)
    unknown = max((n for n, _ in shown), default=0) + 3
    quoted = " ".join(f"{text} [{glaciers}]." for text in QUOTED)
    return f"{quoted} {INVENTED} [{unknown}]."


USAGE = {"prompt_tokens": 120, "completion_tokens": 14, "total_tokens": 134}


def chunk(content: str | None = None, finish: str | None = None, usage: bool = False) -> bytes:
    delta = {"content": content} if content is not None else {}
    body: dict[str, object] = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        body["usage"] = None
    return f"data: {json.dumps(body)}\n\n".encode()


def usage_chunk() -> bytes:
    return f"data: {json.dumps({'choices': [], 'usage': USAGE})}\n\n".encode()


class Misbehaving(BaseHTTPRequestHandler):
    """`POST /<behaviour>/v1/chat/completions`, answered as `behaviour` says."""

    protocol_version = "HTTP/1.1"
    stop: threading.Event
    request_body: dict[str, Any]

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def do_POST(self) -> None:
        self.request_body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        behaviour = self.path.strip("/").split("/")[0]
        try:
            getattr(self, "_" + behaviour.replace("-", "_"))()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            self.close_connection = True

    def _events(self, chunked: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")  # the body ends when the socket does
            self.close_connection = True
        self.end_headers()

    def _send(self, data: bytes, chunked: bool = False) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        self.wfile.flush()

    def _ok(self) -> None:
        options = self.request_body.get("stream_options") or {}
        usage = bool(isinstance(options, dict) and options.get("include_usage"))
        self._events()
        for piece in ANSWER:
            self._send(chunk(piece, usage=usage))
        self._send(chunk(finish="stop", usage=usage) + (usage_chunk() if usage else b""))
        self._send(b"data: [DONE]\n\n")

    def _usage_stall(self) -> None:
        self._events()
        for piece in ANSWER:
            self._send(chunk(piece, usage=True))
        self._send(chunk(finish="stop", usage=True))
        self.stop.wait(HOLD_S)

    def _scripted(self) -> None:  # the draft of `draft()`, a few words a piece
        words = draft(self.request_body["messages"][-1]["content"]).split(" ")
        self._events()
        for start in range(0, len(words), 4):
            self._send(chunk(("" if start == 0 else " ") + " ".join(words[start : start + 4])))
        self._send(chunk(finish="stop") + b"data: [DONE]\n\n")

    def _silent(self) -> None:  # accepts, reads the request, never answers
        self.stop.wait(HOLD_S)
        self.close_connection = True

    def _stall(self) -> None:  # two tokens, then nothing
        self._events()
        for piece in ANSWER[:2]:
            self._send(chunk(piece))
        self.stop.wait(HOLD_S)

    def _drip(self) -> None:  # a token well inside each read timeout, forever
        self._events()
        for _ in range(int(HOLD_S / 0.3)):
            if self.stop.wait(0.3):
                return
            self._send(chunk(" and"))

    def _error500(self) -> None:
        body = b'{"error": {"message": "model crashed"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._send(body)

    def _not_json(self) -> None:  # a proxy's HTML page where the stream should be
        body = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._send(body)

    def _bad_sse(self) -> None:
        self._events()
        self._send(b"data: {this is not json\n\n")

    def _wrong_shape(self) -> None:
        self._events()
        self._send(b'data: {"result": "Ocean tides are caused by the Moon."}\n\n')

    def _cut(self) -> None:  # chunked body cut off: no terminating chunk
        self._events(chunked=True)
        for piece in ANSWER[:2]:
            self._send(chunk(piece), chunked=True)
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _no_end(self) -> None:  # the socket closes cleanly before [DONE]
        self._events()
        for piece in ANSWER[:2]:
            self._send(chunk(piece))


@contextmanager
def fake_openai() -> Iterator[str]:
    """The server's root URL while it runs."""
    stop = threading.Event()
    handler = type("Handler", (Misbehaving,), {"stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
