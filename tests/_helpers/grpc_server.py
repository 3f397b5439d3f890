#!/usr/bin/python3
"""A gRPC server for sidekick's tests, on grpcio's generic handlers (raw bytes, no protoc).

Usage: grpc_server.py NAME [--tls CERT KEY]

Listens on 127.0.0.1 (a free port) and prints `listening PORT`. Methods:
  /test.Echo/Unary    echoes the request
  /test.Echo/Who      answers NAME (which backend served the call)
  /test.Echo/Headers  answers the request metadata, one `name: value` a line
  /test.Echo/Fail     aborts with PERMISSION_DENIED and the request as the message
  /test.Echo/Bidi     echoes each message of a bidirectional stream
  /test.Echo/Hold     sends one message, then holds the call until it is cancelled
  /grpc.health.v1.Health/Check   the health protocol, written by hand (protobuf bytes)
Prints `cancelled METHOD` when a call is cancelled by its client (or by sidekick).
Reads commands on stdin: `status SERVICE CODE` (1 SERVING, 2 NOT_SERVING; SERVICE `-` is "")
answers `ok`; EOF or `quit` stops the server.
"""

import sys
import threading
from concurrent import futures

import grpc

NAME = sys.argv[1] if len(sys.argv) > 1 else "server"
STATUS = {"": 1}
LOCK = threading.Lock()


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def on_cancel(ctx, method):
    def done():
        if ctx.is_active():
            return
        # The call ended without the server finishing it: the client (or a proxy) reset it.
        if ctx.code() is None:
            say("cancelled " + method)

    ctx.add_callback(done)


def unary(req, ctx):
    return req


def who(req, ctx):
    return NAME.encode()


def headers(req, ctx):
    return "\n".join(f"{k}: {v}" for k, v in ctx.invocation_metadata()).encode()


def fail(req, ctx):
    ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "denied: " + req.decode())


def bidi(requests, ctx):
    for message in requests:
        yield message


def hold(req, ctx):
    on_cancel(ctx, "Hold")
    yield b"first"
    gone = threading.Event()
    ctx.add_callback(gone.set)
    gone.wait(30)


def read_varint(b, i):
    shift = value = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def check(req, ctx):
    # HealthCheckRequest { string service = 1; }
    service, i = "", 0
    while i < len(req):
        tag, i = read_varint(req, i)
        if tag >> 3 == 1 and tag & 7 == 2:
            n, i = read_varint(req, i)
            service = req[i:i + n].decode()
            i += n
        else:
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "unexpected field")
    with LOCK:
        status = STATUS.get(service)
    if status is None:
        ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service " + service)
    # HealthCheckResponse { ServingStatus status = 1; }
    return bytes([0x08, status])


def main():
    echo = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Who": grpc.unary_unary_rpc_method_handler(who),
        "Headers": grpc.unary_unary_rpc_method_handler(headers),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Hold": grpc.unary_stream_rpc_method_handler(hold),
    })
    health = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(check),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((echo, health))
    if len(sys.argv) > 4 and sys.argv[2] == "--tls":
        with open(sys.argv[3], "rb") as c, open(sys.argv[4], "rb") as k:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    say(f"listening {port}")
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["quit"]:
            break
        if len(words) == 3 and words[0] == "status":
            with LOCK:
                STATUS["" if words[1] == "-" else words[1]] = int(words[2])
            say("ok")
    server.stop(0).wait()


if __name__ == "__main__":
    main()
