"""The client wire (protocol/messages.h): a CURVE DEALER socket to the
coordinator's client port, one ``[header][body]`` msgpack exchange per request.

Bodies are built only through :func:`message`, which checks each field name
against the schema generated from the C++ structs (``_wire_schema.py``), so the
SDK can never send a field the coordinator does not define. Replies are decoded
with limits (message size, string, array and map lengths) as the C++ side does."""

import itertools
import struct
import threading
import time

import msgpack
import zmq

from . import _wire_schema as schema
from . import errors

MAX_MESSAGE_BYTES = 64 << 20  # protocol/limits.h kDefaultMaxMessageBytes
_MAX_ELEMENTS = 1 << 20
_KINDS = schema.KINDS


def message(struct_name, **fields):
    """A body for ``struct_name`` with only fields the C++ struct has."""
    known = schema.MESSAGES[struct_name]
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise TypeError(f"{struct_name} has no field {', '.join(unknown)} (fields: {', '.join(known)})")
    return fields


def encode(value):
    return msgpack.packb(value, use_bin_type=False)


def decode(data):
    """One msgpack object, with every length bounded before it is allocated."""
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,  # TrialStatus.curve is keyed by step
            unicode_errors="replace",  # logs are bytes a program printed
            max_str_len=MAX_MESSAGE_BYTES,
            max_bin_len=MAX_MESSAGE_BYTES,
            max_array_len=_MAX_ELEMENTS,
            max_map_len=_MAX_ELEMENTS,
        )
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise errors.DataLoss(f"unreadable message from the coordinator: {e}") from None


class Connection:
    """One DEALER socket; requests are serialised (one in flight per connection),
    so a Connection may be shared between threads."""

    def __init__(self, endpoint, server_key=None, keypair=None, timeout=10.0):
        self.endpoint = endpoint
        self.timeout = timeout
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._context = zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._socket.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        self._secure = keypair is not None
        if self._secure:
            public, secret = keypair
            self._socket.curve_publickey = public.encode()
            self._socket.curve_secretkey = secret.encode()
            self._socket.curve_serverkey = server_key.encode()
        self._handshake_done = False
        # The monitor turns a refused key into an error instead of a silent timeout
        # (ZeroMQ retries a failed handshake forever).
        self._monitor = self._socket.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED
            | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        )
        try:
            self._socket.connect(endpoint)
        except zmq.ZMQError as e:
            self.close()
            raise errors.InvalidArgument(f"cannot connect to coordinator endpoint {endpoint!r}: {e}") from None

    def close(self):
        if self._socket is not None:
            try:
                self._socket.disable_monitor()
            except zmq.ZMQError:
                pass
            self._monitor.close(0)
            self._socket.close(0)
            self._socket = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def request(self, kind, body, reply_kind, timeout=None):
        """Sends one request; returns the reply body (a dict) or raises the
        coordinator's error as its exception."""
        with self._lock:
            return self._exchange(kind, body, reply_kind, self.timeout if timeout is None else timeout)

    def _exchange(self, kind, body, reply_kind, timeout):
        if self._socket is None:
            raise errors.FailedPrecondition("this client is closed")
        request_id = next(self._ids)
        header = message("Header", v=schema.PROTOCOL_VERSION, kind=_KINDS[kind], id=request_id,
                         reply_to=0, epoch=0)
        try:
            self._socket.send_multipart([encode(header), encode(body)])
        except zmq.Again:
            raise self._timeout_error(timeout) from None
        deadline = time.monotonic() + timeout
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout_error(timeout)
            ready = dict(poller.poll(remaining * 1000))
            if self._monitor in ready:
                self._on_monitor_event()
            if self._socket not in ready:
                continue
            parts = self._socket.recv_multipart()
            if len(parts) != 2:
                raise errors.DataLoss(f"the coordinator sent {len(parts)} parts, expected 2")
            reply_header = decode(parts[0])
            if not isinstance(reply_header, dict) or reply_header.get("reply_to") != request_id:
                continue  # a late reply to an earlier request that timed out
            reply = decode(parts[1])
            if not isinstance(reply, dict):
                raise errors.DataLoss("the coordinator's reply is not a map")
            if reply_header.get("kind") == _KINDS["Error"]:
                raise errors.from_code(reply.get("code", ""), reply.get("message", ""))
            if reply_header.get("kind") != _KINDS[reply_kind]:
                raise errors.DataLoss(f"the coordinator answered {kind} with kind {reply_header.get('kind')}")
            return reply

    def _on_monitor_event(self):
        frames = self._monitor.recv_multipart()
        if not frames or len(frames[0]) < 6:
            return
        event, value = struct.unpack("=HI", frames[0][:6])
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._handshake_done = True
        elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            raise errors.PermissionDenied(
                "the coordinator refused this client's key (not in its client allowlist)")
        elif event in (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
            hint = ("is server_key the coordinator's public key, and does the coordinator use CURVE?"
                    if self._secure else "this client runs insecure; does the coordinator expect CURVE?")
            raise errors.PermissionDenied(
                f"security handshake with the coordinator at {self.endpoint} failed: {hint}")

    def _timeout_error(self, timeout):
        if self._handshake_done:
            return errors.DeadlineExceeded(
                f"the coordinator at {self.endpoint} did not answer within {timeout:g}s")
        return errors.Unavailable(f"no answer from coordinator at {self.endpoint}: is it running?")


def connect(config):
    """A Connection as ``config`` (a ClientConfig) describes it."""
    from . import config as config_module

    keypair = server_key = None
    if not config.insecure:
        server_key = config_module.read_public_key(config.server_key)
        keypair = config_module.read_keypair(config.key)
    return Connection(config.coordinator, server_key, keypair, config.timeout_seconds)


__all__ = ["Connection", "connect", "message", "encode", "decode", "MAX_MESSAGE_BYTES"]
