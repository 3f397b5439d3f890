#!/usr/bin/python3
"""A gRPC client for sidekick's tests (grpcio, raw bytes, no protoc); prints one line per result.

Usage: grpc_client.py TARGET COMMAND [ARG]
  unary TEXT     one unary call: `unary ok TEXT`
  who N          N unary calls to Who: `who NAME COUNT` per backend, sorted
  headers        the request metadata the backend saw, as `header NAME: VALUE`
  fail TEXT      a call the backend aborts: `status CODE_NAME DETAILS`
  bidi N         a bidirectional stream of N messages, each answered before the next is sent:
                 `bidi reply I TEXT` per message, then `bidi ok N`
  cancel         a server stream cancelled after its first message: `cancel got TEXT`, `cancel done`
Errors print `error CODE_NAME DETAILS` and exit 1.
"""

import queue
import sys

import grpc


def main():
    target, command = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    with grpc.insecure_channel(target) as channel:
        try:
            run(channel, command, arg)
        except grpc.RpcError as e:
            print(f"error {e.code().name} {e.details()}", flush=True)
            sys.exit(1)


def run(channel, command, arg):
    if command == "unary":
        reply = channel.unary_unary("/test.Echo/Unary")(arg.encode(), timeout=10)
        print(f"unary ok {reply.decode()}")
    elif command == "who":
        counts = {}
        call = channel.unary_unary("/test.Echo/Who")
        for _ in range(int(arg)):
            name = call(b"", timeout=10).decode()
            counts[name] = counts.get(name, 0) + 1
        for name in sorted(counts):
            print(f"who {name} {counts[name]}")
    elif command == "headers":
        reply = channel.unary_unary("/test.Echo/Headers")(b"", timeout=10)
        for line in reply.decode().split("\n"):
            print(f"header {line}")
    elif command == "fail":
        try:
            channel.unary_unary("/test.Echo/Fail")(arg.encode(), timeout=10)
            print("fail unexpectedly ok")
        except grpc.RpcError as e:
            print(f"status {e.code().name} {e.details()}")
    elif command == "bidi":
        n = int(arg)
        outbox = queue.Queue()

        def requests():
            while True:
                item = outbox.get()
                if item is None:
                    return
                yield item

        replies = channel.stream_stream("/test.Echo/Bidi")(requests(), timeout=20)
        for i in range(n):
            outbox.put(f"m{i}".encode())
            # The reply comes back before the next message is sent: a stream, not a batch.
            print(f"bidi reply {i} {next(replies).decode()}", flush=True)
        outbox.put(None)
        rest = list(replies)
        print(f"bidi ok {n} rest {len(rest)}")
    elif command == "cancel":
        call = channel.unary_stream("/test.Echo/Hold")(b"", timeout=20)
        first = next(call)
        print(f"cancel got {first.decode()}", flush=True)
        call.cancel()
        print("cancel done", flush=True)
    else:
        print(f"unknown command {command}")
        sys.exit(2)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
