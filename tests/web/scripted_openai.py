"""An OpenAI-compatible chat server on loopback that streams a fixed draft.

The draft quotes the glaciers passage twice, citing it by the number the
prompt gave it, then adds a sentence no passage says, citing a passage number
that was never shown: the service's citation check removes that marker, and
the sentence, left without a citation, is unsupported (no judge needed).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    """`POST /v1/chat/completions`: the draft in pieces of a few words."""

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        prompt = request["messages"][-1]["content"]
        words = draft(prompt).split(" ")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")  # the body ends when the socket does
        self.end_headers()
        for start in range(0, len(words), 4):
            self.wfile.write(
                chunk(("" if start == 0 else " ") + " ".join(words[start : start + 4]))
            )
            self.wfile.flush()
        self.wfile.write(chunk(finish="stop") + b"data: [DONE]\n\n")


@contextmanager
def scripted_openai() -> Iterator[str]:
    """The server's base URL (up to and including /v1) while it runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
