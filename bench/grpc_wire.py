"""A minimal gRPC unary client over raw HTTP/2 frames, the load generator's counterpart of the raw
HTTP/1.1 client in serve.py.

Why: the REST load generator writes pre-built bytes to a socket and reads the answer (~50 µs CPU per
request); grpcio's client costs ~250-300 µs per call. On a 2-core machine client CPU is taken from
the server, so a grpcio client makes gRPC look slower than REST for reasons that have nothing to do
with the server. This client does what the REST one does: pre-encoded frames out, frames in.

Scope (RFC 9113 and gRPC's PROTOCOL-HTTP2.md): one stream in flight per connection; request headers
as HPACK literals without indexing (so our encoder keeps no state); huge receive windows announced
up front (the answers are tiny); the server's connection window honoured (each stream's own
window dwarfs one request); SETTINGS and PING acknowledged; a stream is a success when the
server sent a DATA frame (a gRPC message) before its end — a failed RPC is a trailers-only answer.
The server's header blocks are not decoded: nothing here reads them.
"""

from __future__ import annotations

import asyncio
import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
_MAX_WINDOW = 2**31 - 1
_MAX_FRAME = 16384  # SETTINGS_MAX_FRAME_SIZE's initial value
_SETTINGS_INITIAL_WINDOW_SIZE = 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream) + payload


def _literal(name: bytes, value: bytes) -> bytes:
    """HPACK 'literal header field without indexing, new name' (RFC 7541 6.2.2), short strings."""
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes((len(name),)) + name + bytes((len(value),)) + value


class UnaryClient:
    """One HTTP/2 connection calling one unary method with the same serialized request."""

    def __init__(self, host: str, port: int, method: str, request: bytes) -> None:
        self._address = (host, port)
        self._header_block = b"".join(_literal(name, value) for name, value in (
            (b":method", b"POST"), (b":scheme", b"http"), (b":path", method.encode()),
            (b":authority", f"{host}:{port}".encode()), (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
        ))
        self._message = b"\x00" + struct.pack(">I", len(request)) + request  # uncompressed gRPC message
        self._next_stream = 1
        self._send_window = 65535  # the connection's initial flow-control window (RFC 9113 6.9.2)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(*self._address)
        settings = struct.pack(">HI", _SETTINGS_INITIAL_WINDOW_SIZE, _MAX_WINDOW)
        self._writer.write(PREFACE + frame(SETTINGS, 0, 0, settings)
                           + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", _MAX_WINDOW - 65535)))  # connection window

    async def call(self) -> str | None:
        """Send the request on a new stream; None on success, else what went wrong."""
        assert self._writer is not None
        stream, self._next_stream = self._next_stream, self._next_stream + 2
        while self._send_window < len(self._message):  # RFC 9113 6.9: wait for the server's credit
            if (failure := await self._connection_frame()) is not None:
                return failure
        self._send_window -= len(self._message)
        self._writer.write(frame(HEADERS, END_HEADERS, stream, self._header_block) + self._data_frames(stream))
        got_message = False
        while True:
            kind, flags, on, payload = await self._read_frame()
            if kind == GOAWAY:
                return f"GOAWAY {payload[4:8].hex()} {payload[8:200]!r}"
            if on != stream:
                continue
            if kind == RST_STREAM:
                return f"RST_STREAM {payload.hex()}"
            got_message = got_message or (kind == DATA and len(payload) > 0)
            if kind in (DATA, HEADERS) and flags & END_STREAM:
                return None if got_message else f"stream {stream} ended without a message (an RPC error)"

    def _data_frames(self, stream: int) -> bytes:
        """The message in DATA frames no larger than the 16 KiB every peer accepts (RFC 9113 4.2)."""
        size = len(self._message)
        return b"".join(frame(DATA, END_STREAM if at + _MAX_FRAME >= size else 0, stream,
                              self._message[at:at + _MAX_FRAME]) for at in range(0, size, _MAX_FRAME))

    async def _connection_frame(self) -> str | None:
        kind, _, _, payload = await self._read_frame()
        return f"GOAWAY {payload[4:8].hex()} {payload[8:200]!r}" if kind == GOAWAY else None

    async def _read_frame(self) -> tuple[int, int, int, bytes]:
        """The next frame, after answering what the connection asks of us (SETTINGS, PING) and
        counting the server's connection-level WINDOW_UPDATEs."""
        assert self._reader is not None and self._writer is not None
        head = await self._reader.readexactly(9)
        length, kind, flags = int.from_bytes(head[:3], "big"), head[3], head[4]
        stream = int.from_bytes(head[5:9], "big") & _MAX_WINDOW
        payload = await self._reader.readexactly(length) if length else b""
        if kind == SETTINGS and not flags & ACK:
            self._writer.write(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            self._writer.write(frame(PING, ACK, 0, payload))
        elif kind == WINDOW_UPDATE and stream == 0:
            self._send_window += int.from_bytes(payload, "big") & _MAX_WINDOW
        return kind, flags, stream, payload

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
