/**
 * HTTP/2 clients for tests: curl (ALPN h2, h2c prior knowledge, HTTP/1.1)
 * and node:http2 sessions, each closed by its caller.
 *
 * @module
 */

import http2 from "node:http2";
import { fixture } from "../fixtures/harness.ts";

/** What curl printed: the body, then a last line `VERSION STATUS`. */
export interface CurlResult {
  readonly code: number;
  readonly version: string;
  readonly status: number;
  readonly body: string;
  /** The body's bytes as they came. */
  readonly bytes: Uint8Array;
  readonly headers: string;
  readonly stderr: string;
}

/**
 * Runs curl against the proxy (the test CA trusted) and reads what it got.
 *
 * @param args curl's arguments (the URL last).
 * @returns Exit code, HTTP version, status, body and response headers.
 */
export async function curl(args: string[]): Promise<CurlResult> {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_h2_" });
  try {
    const out = await new Deno.Command("curl", {
      args: [
        "-sS",
        "--max-time",
        "10",
        "--cacert",
        fixture("ca.pem"),
        "-D",
        `${dir}/headers`,
        "-o",
        `${dir}/body`,
        "-w",
        "%{http_version} %{http_code}",
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const [version, status] = new TextDecoder().decode(out.stdout).split(" ");
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`).catch(() => "");
    return {
      code: out.code,
      version,
      status: Number(status),
      body: await read("body"),
      bytes: await Deno.readFile(`${dir}/body`).catch(() => new Uint8Array(0)),
      headers: await read("headers"),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An h2c client session on the proxy (node:http2), closed by the caller. */
export function connectH2c(port: number): http2.ClientHttp2Session {
  return http2.connect(`http://127.0.0.1:${port}`);
}

/** Sends one request and collects status, headers, body and trailers. */
export function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Uint8Array[],
): Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders | null }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let status = 0, text = "";
    let trailers: http2.IncomingHttpHeaders | null = null;
    req.setEncoding("latin1");
    req.on("response", (h) => status = Number(h[":status"]));
    req.on("trailers", (t) => trailers = t);
    req.on("data", (d: string) => text += d);
    req.on("end", () => resolve({ status, body: text, trailers }));
    req.on("error", reject);
    if (body !== undefined) {
      for (const b of body) req.write(b);
      req.end();
    }
  });
}
