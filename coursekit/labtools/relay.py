"""A tiny loopback relay: a TCP forwarder that keeps a copy of every byte it passes on, as a wiretap would.

    with Relay(lab.port) as relay:                            # listens on 127.0.0.1, a free port
        requests.get(relay.url("http") + "/api/hello")         # the request goes through the relay
        print(relay.text())                                    # what anyone on the path could read
        relay.saw("alice-password")                            # True over HTTP, False over HTTPS

The relay does not understand HTTP or TLS: it copies bytes from the client to the server and back, like a
router, a Wi-Fi access point or a corporate proxy on the path. What it can read is what they can read.
It listens on loopback only and keeps at most ``limit`` bytes per direction (the rest is passed on, not kept).
"""

from __future__ import annotations

import socket
import threading

__all__ = ["Relay"]


class Relay:
    """Forward 127.0.0.1:<port> to 127.0.0.1:``target_port`` and record both directions."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", limit: int = 1 << 20) -> None:
        self.target = (target_host, target_port)
        self.limit = limit
        self.sent = bytearray()      # client -> server
        self.received = bytearray()  # server -> client
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    def url(self, scheme: str = "http") -> str:
        """The relay's address with this scheme: ``http`` for plain HTTP, ``https`` for TLS passed through."""
        return f"{scheme}://127.0.0.1:{self.port}"

    # --- what was seen --------------------------------------------------------------------------------

    def saw(self, secret: str | bytes) -> bool:
        """True if these bytes passed through the relay, in either direction."""
        needle = secret.encode() if isinstance(secret, str) else secret
        with self._lock:
            return needle in self.sent or needle in self.received

    def text(self, direction: str = "sent") -> str:
        """The recorded bytes of one direction (``"sent"`` or ``"received"``) as text; unreadable bytes as ``\\x..``."""
        with self._lock:
            data = bytes(self.sent if direction == "sent" else self.received)
        return data.decode("ascii", errors="backslashreplace")

    def clear(self) -> None:
        """Forget what was recorded so far."""
        with self._lock:
            self.sent.clear()
            self.received.clear()

    # --- forwarding -----------------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            pair = [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, self.sent, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.received, pair), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bytearray, pair: list) -> None:
        try:
            while chunk := source.recv(65536):
                with self._lock:
                    room = self.limit - len(record)
                    if room > 0:
                        record += chunk[:room]
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            # Pass the end of the stream on, so the other side sees the connection close.
            for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
                try:
                    sock.shutdown(how)
                except OSError:
                    pass
            with self._lock:
                pair.append(None)  # one direction done; the second one to finish closes both sockets
                done = pair.count(None) == 2
                if done:
                    self._sockets.difference_update(pair[:2])
            if done:
                for sock in pair[:2]:
                    sock.close()

    def close(self) -> None:
        """Stop listening and cut every connection still open."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, set()
        self._listener.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
