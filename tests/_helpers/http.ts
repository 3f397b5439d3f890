/**
 * Helpers for integration tests on real loopback sockets: a sidecar in front
 * of given backends, a raw HTTP/1.1 peer (client or backend side) that sends
 * exact bytes and reads whole messages, raw and `Deno.serve` backends that
 * count their connections, and bounded waiting.
 *
 * Every helper owns what it opens and closes it in `close()`, so tests pass
 * with `--sanitize-ops --sanitize-resources`.
 *
 * @module
 */

export * from "./net.ts";
export * from "./http_peer.ts";
export * from "./backends.ts";
