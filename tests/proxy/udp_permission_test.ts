/**
 * A UDP listener under too narrow `--allow-net` says which flag is missing,
 * in one line, instead of dropping datagrams silently. Runs the proxy in a
 * subprocess with exactly the grants under test.
 */
import assert from "node:assert/strict";
import { HOST } from "../_helpers/net.ts";
import { freePort, startUdpBackend, udpExchange } from "../_helpers/sidecar.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs a UdpProxy on `listen` toward `backend` with `net` grants; returns its stderr after one exchange. */
async function noticesUnder(net: (listen: string, backend: string) => string): Promise<string> {
  const backend = await startUdpBackend();
  const listen = await freePort("udp");
  const script = `
import { udpListener } from "${ROOT}src/config/builders.ts";
import { Cluster } from "${ROOT}src/balance/cluster.ts";
import { SYSTEM_RUNTIME } from "${ROOT}src/pool/runtime.ts";
import { UdpProxy } from "${ROOT}src/proxy/udp/server.ts";
const base = udpListener("${HOST}:${listen}", [["${backend.address}"]]);
const spec = { ...base, name: "dns", cluster: { ...base.cluster, health: { ...base.cluster.health, active: false } } };
const proxy = new UdpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME), { onNotice: (m) => console.error(m) });
await proxy.listen();
console.log("ready");
await new Promise((r) => setTimeout(r, 1500));
await proxy.close();
`;
  const file = await Deno.makeTempFile({ prefix: "sidekick_udp_", suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${ROOT}`,
      `--allow-net=${net(`${HOST}:${listen}`, backend.address)}`,
      file,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.match(first.value ?? "", /ready/);
    await reader.cancel();
    const to = { transport: "udp" as const, hostname: HOST, port: listen };
    assert.deepEqual(await udpExchange(to, ["q"], 500), [], "nothing comes back");
    assert.deepEqual(await udpExchange(to, ["r"], 300), [], "nothing comes back again");
    assert.equal((await child.status).code, 0);
    return await stderr;
  } finally {
    await backend.close();
    await Deno.remove(file);
  }
}

Deno.test("UdpProxy: a flow that may not bind its local socket is one line naming the grant, once", async () => {
  const stderr = await noticesUnder((listen, backend) => `${listen},${backend}`);
  assert.equal(
    stderr,
    "UDP listener 'dns' drops datagrams: a flow cannot bind its local socket; " +
      "run deno with --allow-net=127.0.0.1:0\n",
  );
});

Deno.test("UdpProxy: a reply the client's port is not granted for is one line naming the grant, once", async () => {
  const stderr = await noticesUnder((listen, backend) => `${listen},${backend},${HOST}:0`);
  assert.match(
    stderr,
    /^UDP listener 'dns' cannot reply to client 127\.0\.0\.1:\d+: run deno with --allow-net=127\.0\.0\.1 \(replies go to each client's own port\)\n$/,
  );
});
