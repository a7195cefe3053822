#!/usr/bin/env python3
"""Tiny, fast mock of an OpenAI-compatible image/audio vendor, for gateway benchmarks.

Stdlib only (asyncio Protocol + a minimal HTTP/1.1 parser); uses uvloop when importable.
Binds to 127.0.0.1 only. Keep-alive and pipelining are supported.

Endpoints
  POST /v1/images/generations -> 200 {"created":<unix>,"data":[{"url":"http://127.0.0.1:PORT/img/1.png"}]}
  POST /v1/audio/speech        -> 200 audio/mpeg, SPEECH_BYTES (default 4096) fixed bytes
  GET  /img/1.png              -> 200 image/png, a 1x1 PNG
  GET  /health                 -> 200 ok
  GET  /stats                  -> 200 {"images":N,"speech":N,"other":N,"tags":{TAG:N}}  (request counters)
  /TAG/v1/...                  -> as /v1/...; image generations are also counted under "tags" (a
                                  gateway whose base URL carries a path: each one's calls told apart)
  anything else                -> 404 JSON error (OpenAI-style)

Usage: mock_vendor.py [--port 18080] [--host 127.0.0.1] [--speech-bytes 4096]
"""
import argparse
import asyncio
import base64
import json
import os
import sys
import time

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

STATS = {"images": 0, "speech": 0, "other": 0, "tags": {}}


def build_response(status, reason, ctype, body, close=False):
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n"
        "\r\n"
    ).encode("latin-1")
    return head + body


class App:
    def __init__(self, host, port, speech_bytes):
        self.img_url = f"http://{host}:{port}/img/1.png"
        self.speech = bytes((i * 31 + 7) & 0xFF for i in range(speech_bytes))
        self.speech_resp = build_response(200, "OK", "audio/mpeg", self.speech)
        self.png_resp = build_response(200, "OK", "image/png", PNG_1X1)
        self.health_resp = build_response(200, "OK", "text/plain", b"ok")
        self.notfound_resp = build_response(
            404, "Not Found", "application/json",
            b'{"error":{"message":"not found","type":"invalid_request_error"}}')
        self._img_sec = -1
        self._img_resp = b""

    def images(self):
        # Body only changes once per second (the "created" field): cache it.
        now = int(time.time())
        if now != self._img_sec:
            body = json.dumps({"created": now, "data": [{"url": self.img_url}]},
                              separators=(",", ":")).encode()
            self._img_resp = build_response(200, "OK", "application/json", body)
            self._img_sec = now
        return self._img_resp

    def route(self, method, path):
        path = path.split(b"?", 1)[0]
        tagged = path.find(b"/v1/", 1)
        if tagged > 0 and path.count(b"/", 1, tagged) == 0:
            tag = path[1:tagged].decode("latin-1")
            path = path[tagged:]
            if method == b"POST" and path == b"/v1/images/generations":
                STATS["tags"][tag] = STATS["tags"].get(tag, 0) + 1
        if method == b"POST" and path == b"/v1/images/generations":
            STATS["images"] += 1
            return self.images()
        if method == b"POST" and path == b"/v1/audio/speech":
            STATS["speech"] += 1
            return self.speech_resp
        STATS["other"] += 1
        if method in (b"GET", b"HEAD"):
            if path == b"/img/1.png":
                return self.png_resp
            if path in (b"/health", b"/"):
                return self.health_resp
            if path == b"/stats":
                return build_response(200, "OK", "application/json", json.dumps(STATS).encode())
        return self.notfound_resp


class HTTPProto(asyncio.Protocol):
    __slots__ = ("app", "transport", "buf")

    def __init__(self, app):
        self.app = app
        self.transport = None
        self.buf = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        out = []
        while True:
            hend = buf.find(b"\r\n\r\n")
            if hend < 0:
                if len(buf) > 65536:
                    self.transport.close()
                    return
                break
            head = buf[:hend]
            line_end = head.find(b"\r\n")
            reqline = head if line_end < 0 else head[:line_end]
            parts = reqline.split(b" ")
            if len(parts) < 3:
                self.transport.write(build_response(400, "Bad Request", "text/plain", b"bad", close=True))
                self.transport.close()
                return
            method, path = parts[0], parts[1]
            clen = 0
            close = parts[2] == b"HTTP/1.0"
            chunked = False
            if line_end >= 0:
                for hl in head[line_end + 2:].split(b"\r\n"):
                    c = hl.find(b":")
                    if c < 0:
                        continue
                    name = hl[:c].strip().lower()
                    if name == b"content-length":
                        clen = int(hl[c + 1:].strip())
                    elif name == b"connection":
                        v = hl[c + 1:].strip().lower()
                        if v == b"close":
                            close = True
                        elif v == b"keep-alive":
                            close = False
                    elif name == b"transfer-encoding" and b"chunked" in hl[c + 1:].lower():
                        chunked = True
            body_start = hend + 4
            if chunked:
                # Minimal chunked-body skipper (clients here send Content-Length, but be safe).
                pos = body_start
                while True:
                    le = buf.find(b"\r\n", pos)
                    if le < 0:
                        pos = -1
                        break
                    size = int(buf[pos:le].split(b";")[0], 16)
                    if size == 0:
                        # "0\r\n" then optional trailers then "\r\n"
                        te = buf.find(b"\r\n\r\n", le)
                        pos = -1 if te < 0 else te + 4
                        break
                    nxt = le + 2 + size + 2
                    if len(buf) < nxt:
                        pos = -1
                        break
                    pos = nxt
                if pos < 0:
                    break
                end = pos
            else:
                end = body_start + clen
                if len(buf) < end:
                    break
            try:
                out.append(self.app.route(method, path))
            except Exception as e:  # never drop the connection silently
                out.append(build_response(500, "Internal Server Error", "text/plain",
                                          repr(e).encode()))
            buf = buf[end:]
            if close:
                if out:
                    self.transport.write(b"".join(out))
                self.transport.close()
                self.buf = b""
                return
            if not buf:
                break
        self.buf = buf
        if out:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--speech-bytes", type=int, default=4096)
    ap.add_argument("--no-uvloop", action="store_true")
    a = ap.parse_args()
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("refusing to bind a non-loopback address")
    loop_kind = "asyncio"
    if not a.no_uvloop:
        try:
            import uvloop  # type: ignore
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            loop_kind = "uvloop"
        except ImportError:
            pass
    app = App(a.host, a.port, a.speech_bytes)

    async def run():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(lambda: HTTPProto(app), a.host, a.port, backlog=1024,
                                       reuse_address=True)
        print(f"mock vendor listening on http://{a.host}:{a.port} ({loop_kind}, pid {os.getpid()})",
              flush=True)
        async with srv:
            await srv.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
