/**
 * HTTP/2 conformance with h2spec (github.com/summerwind/h2spec, RFC 7540/7541 cases): sidekick runs
 * as its command line (`--h2c` on a plain listener; `--cert/--key` with ALPN h2 on a TLS listener)
 * before a real HTTP/1.1 backend, and h2spec's JUnit report must show no failed case. `.ci/run`
 * installs h2spec (`go install`); without it on PATH these tests are skipped, saying so.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CliProcess } from "../_helpers/cli.ts";
import { fixture } from "../fixtures/harness.ts";

/** h2spec's case timeout (-o, seconds) and the bound on one whole run. */
const CASE_TIMEOUT_S = 2;
const RUN_TIMEOUT_MS = 150_000;
/** h2spec 2.6 runs 145 cases without --strict; fewer means it did not really run. */
const MIN_CASES = 140;

/** One case of an h2spec JUnit report. */
interface H2specCase {
  /** h2spec's id: section and position, e.g. `http2/6.5.3/1`. */
  readonly id: string;
  readonly title: string;
  /** The error text (what h2spec expected and what it got), or null when the case passed. */
  readonly error: string | null;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
    if (e.startsWith("#x") || e.startsWith("#X")) {
      return String.fromCodePoint(parseInt(e.slice(2), 16));
    }
    if (e.startsWith("#")) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e] ?? m;
  });
}

/**
 * Reads h2spec's JUnit report (`-j FILE`). The id of a case is its suite's package and its
 * position in the suite, as h2spec numbers it on the console (`http2/6.5.3/1`). h2spec writes a
 * failed case as `<error>`; `<failure>` is read the same way.
 */
function parseH2specReport(xml: string): H2specCase[] {
  const cases: H2specCase[] = [];
  for (const suite of xml.matchAll(/<testsuite\b[^>]*>([\s\S]*?)<\/testsuite>/g)) {
    let n = 0;
    for (const tc of suite[1].matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      n++;
      const pkg = /\bpackage="([^"]*)"/.exec(tc[1])?.[1] ?? "?";
      const title = unescapeXml(/\bclassname="([^"]*)"/.exec(tc[1])?.[1] ?? "?");
      const err =
        /<(?:error|failure)\b[^>]*>([\s\S]*?)<\/(?:error|failure)>|<(?:error|failure)\b[^>]*\/>/
          .exec(tc[3] ?? "");
      cases.push({
        id: `${pkg}/${n}`,
        title,
        error: err === null ? null : unescapeXml(err[1] ?? ""),
      });
    }
  }
  return cases;
}

/** h2spec's version line, or null when it is not on PATH. */
async function h2specVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("h2spec", {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null; // not installed (NotFound), or not allowed to run
  }
}

const H2SPEC = await h2specVersion();
if (H2SPEC === null) {
  console.error(
    "skipping the h2spec conformance tests: h2spec is not on PATH " +
      "(go install github.com/summerwind/h2spec/cmd/h2spec@latest; .ci/run does it)",
  );
}

/** Runs h2spec against 127.0.0.1:port, bounded in time; returns its cases. */
async function runH2spec(port: number, tls: boolean): Promise<H2specCase[]> {
  const dir = await Deno.makeTempDir({ prefix: "sidekick-h2spec-" });
  const report = `${dir}/report.xml`;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), RUN_TIMEOUT_MS);
  try {
    const args = [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-o",
      String(CASE_TIMEOUT_S),
      "-j",
      report,
    ];
    if (tls) args.push("-t", "-k");
    const out = await new Deno.Command("h2spec", {
      args,
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).output();
    const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (ac.signal.aborted) {
      throw new Error(`h2spec did not finish within ${RUN_TIMEOUT_MS} ms:\n${output.slice(-3000)}`);
    }
    let xml: string;
    try {
      xml = await Deno.readTextFile(report);
    } catch {
      throw new Error(`h2spec wrote no report (exit ${out.code}):\n${output.slice(-3000)}`);
    }
    return parseH2specReport(xml);
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
}

function assertConformant(cases: readonly H2specCase[], minCases = MIN_CASES): void {
  const failed = cases.filter((c) => c.error !== null);
  assert.equal(
    failed.length,
    0,
    `${failed.length} of ${cases.length} h2spec cases failed:\n` +
      failed.map((c) => `  ${c.id} ${c.title}\n    got: ${c.error!.replaceAll("\n", " / ")}`)
        .join("\n"),
  );
  assert.ok(cases.length >= minCases, `h2spec ran ${cases.length} cases, expected ${minCases}+`);
}

/**
 * A real HTTP/1.1 backend: 200 and a short body on every path (h2spec requests `/`), after it read
 * the request body, as an application does. A backend that answers before the body ends races
 * h2spec's cases that put an error at the end of a request (8.1.2.1/3: a pseudo-header in the
 * trailers): the proxy streams, so a complete response could reach h2spec before that error.
 */
function startBackend(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.body !== null) await req.arrayBuffer().catch(() => {}); // a cut body ends the wait too
    return new Response("hello from the backend\n", { headers: { "content-type": "text/plain" } });
  });
}

/** Runs h2spec through sidekick started with `listen` (its listener flags) before a backend. */
async function conformance(
  permissions: readonly string[],
  listen: readonly string[],
  tls: boolean,
) {
  const backend = startBackend();
  try {
    await using cli = new CliProcess(["--allow-net=127.0.0.1", ...permissions], [
      "--address",
      "127.0.0.1:0",
      "--health-path",
      "/",
      ...listen,
      `http://127.0.0.1:${backend.addr.port}`,
    ]);
    const [port] = await cli.ports();
    assertConformant(await runH2spec(port, tls));
  } finally {
    await backend.shutdown();
  }
}

Deno.test({
  name: "h2spec: h2c with prior knowledge (--h2c) passes every case",
  ignore: H2SPEC === null,
  fn: () => conformance([], ["--h2c"], false),
});

Deno.test({
  name: "h2spec: h2 over TLS (ALPN h2 on --cert/--key) passes every case",
  ignore: H2SPEC === null,
  fn: () => {
    const tls = fixture("");
    return conformance([`--allow-read=${tls}`], [
      "--cert",
      fixture("server.pem"),
      "--key",
      fixture("server-key.pem"),
    ], true);
  },
});

Deno.test("h2spec report: failed cases are named by section and position, escapes decoded", () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="6.5.3. Settings Synchronization" package="http2/6.5.3" id="6.5.3" tests="2">
    <testcase package="http2/6.5.3" classname="Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE" time="1.0018">
      <error>SETTINGS Frame (length:0, flags:0x01, stream_id:0)
Connection closed</error>
    </testcase>
    <testcase package="http2/6.5.3" classname="Sends a SETTINGS frame without ACK flag" time="0.0007"></testcase>
  </testsuite>
  <testsuite name="8.1.2.2. Connection-Specific Header Fields" package="http2/8.1.2.2" id="8.1.2.2" tests="2">
    <testcase package="http2/8.1.2.2" classname="Sends a HEADERS frame that contains the connection-specific header field" time="0.001"></testcase>
    <testcase package="http2/8.1.2.2" classname="Sends a HEADERS frame that contains the TE header field with any value other than &#34;trailers&#34;" time="2.0013">
      <error>GOAWAY Frame (Error Code: PROTOCOL_ERROR)</error>
    </testcase>
  </testsuite>
</testsuites>`;
  const cases = parseH2specReport(xml);
  assert.deepEqual(cases.map((c) => c.id), [
    "http2/6.5.3/1",
    "http2/6.5.3/2",
    "http2/8.1.2.2/1",
    "http2/8.1.2.2/2",
  ]);
  assert.deepEqual(cases.filter((c) => c.error !== null).map((c) => c.id), [
    "http2/6.5.3/1",
    "http2/8.1.2.2/2",
  ]);
  assert.equal(
    cases[3].title,
    'Sends a HEADERS frame that contains the TE header field with any value other than "trailers"',
  );
  assert.equal(
    cases[0].error,
    "SETTINGS Frame (length:0, flags:0x01, stream_id:0)\nConnection closed",
  );
  assert.throws(
    () => assertConformant(cases),
    /2 of 4 h2spec cases failed[\s\S]*http2\/6\.5\.3\/1/,
  );
});
