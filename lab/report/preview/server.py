"""The preview's web server: the latest render on http://127.0.0.1:PORT/, and an event stream
that tells the open page when there is a newer one.

The standard library's threaded HTTP server is enough: one student, one page, a handful of
requests per edit (the page, its script and style, one event stream). Server-Sent Events push
each new version at once, where polling would add its interval to every edit's wait.
"""

from __future__ import annotations

import errno
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lab.core.errors import UserError
from lab.report.preview.pages import page_geometry
from lab.report.preview.renderer import Rendered

STATIC = Path(__file__).with_name("static")
ASSETS = {"/_preview/preview.js": "text/javascript", "/_preview/preview.css": "text/css"}
KEEP_ALIVE_S = 15  # a comment on an idle event stream, so a dropped connection is noticed
HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
EMPTY_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>labreport preview</title></head><body></body></html>'
)


class PreviewState:
    """The last good HTML, the latest attempt's error, and a version that counts the attempts."""

    def __init__(self) -> None:
        self.version = 0
        self.html: str | None = None
        self.page: dict | None = None
        self.error: str | None = None
        self.stopping = False
        self.changed = threading.Condition()

    def publish(self, rendered: Rendered) -> None:
        page = page_geometry(rendered.html).as_json() if rendered.html is not None else None
        with self.changed:
            self.version += 1
            if rendered.html is not None:
                self.html, self.page = rendered.html, page
            self.error = rendered.error
            self.changed.notify_all()

    def newer_than(self, version: int, timeout: float) -> int:
        """The current version once it differs from ``version`` (or the timeout passes, or the preview stops)."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != version or self.stopping, timeout)
            return self.version

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()

    def served_page(self) -> str:
        """The last good render with the preview's script, style and settings in its head."""
        with self.changed:
            html, page, error, version = self.html, self.page, self.error, self.version
        settings = json.dumps({"version": version, "error": error, "page": page}).replace("</", "<\\/")
        head = (
            '<link class="lr-preview" rel="stylesheet" href="/_preview/preview.css">\n'
            f'<script id="labreport-preview" type="application/json">{settings}</script>\n'
            '<script src="/_preview/preview.js" defer></script>\n'
        )
        page_html = html if html is not None else EMPTY_PAGE
        match = HEAD_END.search(page_html)
        return page_html[: match.start()] + head + page_html[match.start() :] if match else head + page_html


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self.send(self.server.state.served_page().encode("utf-8"), "text/html; charset=utf-8")
        elif path in ASSETS:
            self.send((STATIC / path.rsplit("/", 1)[1]).read_bytes(), f"{ASSETS[path]}; charset=utf-8")
        elif path == "/_preview/state":
            state = self.server.state
            self.send(json.dumps({"version": state.version, "error": state.error}).encode(), "application/json")
        elif path == "/_preview/events":
            self.stream_events()
        elif path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
        else:
            self.send_error(404)

    def send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def stream_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        state, seen = self.server.state, None
        try:
            self.wfile.write(b"retry: 500\n\n")
            while not state.stopping:
                version = state.newer_than(seen, KEEP_ALIVE_S) if seen is not None else state.version
                self.wfile.write(f"data: {version}\n\n".encode() if version != seen else b": idle\n\n")
                self.wfile.flush()
                seen = version
        except OSError:
            pass  # the page went away

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the standard library's name)
        pass  # the terminal shows renders, not requests


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True  # an open event stream never holds up the exit

    def __init__(self, state: PreviewState, port: int):
        self.state = state
        self.serving: threading.Thread | None = None
        try:
            super().__init__(("127.0.0.1", port), PreviewHandler)  # this machine only: the report is private
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES, getattr(errno, "WSAEADDRINUSE", -1)):
                raise UserError(
                    f"--port {port}: cannot listen there ({error.strerror}); choose another port, "
                    "or --port 0 for any free one"
                ) from None
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def start(self) -> None:
        self.serving = threading.Thread(target=self.serve_forever, name="preview-server", daemon=True)
        self.serving.start()

    def stop(self) -> None:
        self.state.stop()
        if self.serving is not None:
            self.shutdown()  # waits for serve_forever, so only once it runs
        self.server_close()
