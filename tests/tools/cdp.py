#!/usr/bin/env python3
"""A small client of the Chrome DevTools protocol, for the status page's
test (tests/integration/statuspage.sh): the Python standard library only,
a WebSocket written out here (RFC 6455, client side, text frames).

  cdp.py PORT eval EXPR       the value of EXPR in the page, as JSON
  cdp.py PORT wait SECS EXPR  polls EXPR every 0.2 s until it is true;
                              exit 1 (and the last value) when SECS pass
  cdp.py PORT problems        every error the page has had: uncaught
                              exceptions, console.error/warn, log entries
                              of level error or warning (CSP violations,
                              failed loads), one a line; exit 1 if any
  cdp.py PORT screenshot FILE the page as a PNG

PORT is chromium's --remote-debugging-port on 127.0.0.1; the page is
its first target of type "page".
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import urllib.request


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.s = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket"
                        "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" %
                        (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.s.recv(1)
            if not b:
                raise IOError("websocket: closed during the handshake")
            head += b
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if b" 101 " not in head.split(b"\r\n")[0] or want not in head:
            raise IOError("websocket: handshake refused: %r" % head[:80])
        self.buf = b""

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.s.sendall(hdr + mask +
                       bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _take(self, n):
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise IOError("websocket: closed")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message (fragments joined)."""
        msg = b""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            if b1 & 0x80:
                mask = self._take(4)
                data = bytes(b ^ mask[i % 4]
                             for i, b in enumerate(self._take(n)))
            else:
                data = self._take(n)
            op = b0 & 0x0F
            if op == 8:
                raise IOError("websocket: closed by the browser")
            if op in (9, 10):
                continue            # ping, pong: chromium sends none
            msg += data
            if b0 & 0x80:
                return msg.decode()


class Page:
    def __init__(self, port):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                    timeout=10) as r:
            targets = json.load(r)
        page = [t for t in targets if t.get("type") == "page"]
        if not page:
            raise IOError("no page among chromium's targets")
        self.ws = WebSocket(page[0]["webSocketDebuggerUrl"])
        self.id = 0
        self.events = []

    def call(self, method, **params):
        self.id += 1
        self.ws.send(json.dumps({"id": self.id, "method": method,
                                 "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.id:
                if "error" in m:
                    raise IOError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise IOError("eval %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def settle(self, secs):
        """Takes the events that come within secs."""
        self.ws.s.settimeout(secs)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except socket.timeout:
            pass
        self.ws.s.settimeout(10)


def problems(p):
    # Enabling these replays what happened before: the console's
    # messages and exceptions (Runtime), the log's entries (Log).
    p.call("Runtime.enable")
    p.call("Log.enable")
    p.settle(1.0)
    out = []
    for e in p.events:
        m, a = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = a["exceptionDetails"]
            out.append("exception: %s %s" % (d.get("text"), d.get(
                "exception", {}).get("description", "")))
        elif m == "Runtime.consoleAPICalled" and a["type"] in ("error",
                                                                "warning",
                                                                "assert"):
            out.append("console.%s: %s" % (a["type"], " ".join(
                str(x.get("value", x.get("description"))) for x in a["args"])))
        elif m == "Log.entryAdded" and a["entry"]["level"] in ("error",
                                                                "warning"):
            en = a["entry"]
            out.append("log %s (%s): %s %s" % (en["level"], en["source"],
                                               en["text"], en.get("url", "")))
    return out


def main(argv):
    port, cmd = int(argv[1]), argv[2]
    p = Page(port)
    if cmd == "eval":
        print(json.dumps(p.eval(argv[3])))
    elif cmd == "wait":
        end = time.time() + float(argv[3])
        while True:
            v = p.eval(argv[4])
            if v:
                print(json.dumps(v))
                return 0
            if time.time() > end:
                print(json.dumps(v))
                return 1
            time.sleep(0.2)
    elif cmd == "problems":
        out = problems(p)
        for line in out:
            print(line)
        return 1 if out else 0
    elif cmd == "screenshot":
        r = p.call("Page.captureScreenshot", format="png",
                   captureBeyondViewport=True)
        with open(argv[3], "wb") as f:
            f.write(base64.b64decode(r["data"]))
    else:
        print("cdp.py: unknown command %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
