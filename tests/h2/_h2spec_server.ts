/**
 * A trivial server on H2Session for h2spec and h2load by hand:
 * `deno run --allow-net=127.0.0.1 --allow-read=tests tests/h2/_h2spec_server.ts 8443 [--tls]`,
 * then `h2spec -h 127.0.0.1 -p 8443 [-t -k]` or `h2load -n 20000 -c 10 -m 10 http://127.0.0.1:8443/`.
 * Answers every request 200 with a small body after reading the request body; with `--tls`,
 * over TLS with ALPN h2 (the test certificate of tests/fixtures/tls).
 */
import { H2Session, type H2Stream } from "../../src/h2/session.ts";
import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";

const port = Number(Deno.args[0] ?? 8443);
const body = new TextEncoder().encode("hello from h2\n");

async function answer(stream: H2Stream): Promise<void> {
  try {
    while ((await stream.read()) !== null) { /* drain */ }
    stream.sendHeaders([":status", "200", "content-type", "text/plain"], false);
    await stream.write(body);
    await stream.end();
  } catch {
    // reset by the peer
  }
}

const tls = Deno.args.includes("--tls");
const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const listener = tls
  ? Deno.listenTls({
    hostname: "127.0.0.1",
    port,
    cert: fixture("server.pem"),
    key: fixture("server-key.pem"),
    alpnProtocols: ["h2"],
  })
  : Deno.listen({ hostname: "127.0.0.1", port });
console.log(`listening on 127.0.0.1:${port}`);
for await (const conn of listener) {
  if (!tls) (conn as Deno.TcpConn).setNoDelay(true);
  const session = new H2Session(conn, {
    role: "server",
    clock: SYSTEM_CLOCK,
    onStream: (stream) => void answer(stream),
  });
  session.run();
}
