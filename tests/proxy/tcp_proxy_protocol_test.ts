import assert from "node:assert/strict";
import { tcpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";

import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { encodeProxyHeader } from "../../src/proxy/proxy_protocol.ts";
import { TcpProxy } from "../../src/proxy/tcp/server.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

Deno.test("encodeProxyHeader() v1 matches the examples of proxy-protocol.txt", () => {
  assert.equal(
    text(
      encodeProxyHeader("v1", { hostname: "192.168.0.1", port: 56324 }, {
        hostname: "192.168.0.11",
        port: 443,
      }),
    ),
    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
  );
  const v4max = encodeProxyHeader("v1", { hostname: "255.255.255.255", port: 65535 }, {
    hostname: "255.255.255.255",
    port: 65535,
  });
  assert.equal(text(v4max), "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
  assert.equal(v4max.length, 56, "the spec's worst case for TCP4");
  const f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const v6max = encodeProxyHeader("v1", { hostname: f, port: 65535 }, { hostname: f, port: 65535 });
  assert.equal(text(v6max), `PROXY TCP6 ${f} ${f} 65535 65535\r\n`);
  assert.equal(v6max.length, 104, "the spec's worst case for TCP6");
});

Deno.test("encodeProxyHeader() v1 writes IPv6 in RFC 5952 form", () => {
  const line = (src: string, dst: string) =>
    text(encodeProxyHeader("v1", { hostname: src, port: 1 }, { hostname: dst, port: 2 }));
  assert.equal(line("::1", "2001:DB8:0:0:1:0:0:1"), "PROXY TCP6 ::1 2001:db8::1:0:0:1 1 2\r\n");
  assert.equal(line("::", "fe80::1%eth0"), "PROXY TCP6 :: fe80::1 1 2\r\n");
  assert.equal(
    line("[2001:db8::7]", "1:2:3:4:5:6:7:8"),
    "PROXY TCP6 2001:db8::7 1:2:3:4:5:6:7:8 1 2\r\n",
  );
  assert.equal(
    line("1:0:0:2:0:0:0:3", "::ffff:10.0.0.1"),
    "PROXY TCP6 1:0:0:2::3 ::ffff:a00:1 1 2\r\n",
  );
});

Deno.test("encodeProxyHeader() v2 IPv4: signature, PROXY command, TCP over IPv4, 12 address bytes", () => {
  const h = encodeProxyHeader("v2", { hostname: "192.168.0.1", port: 56324 }, {
    hostname: "192.168.0.11",
    port: 443,
  });
  assert.deepEqual([...h], [
    ...SIG,
    0x21, // version 2, PROXY
    0x11, // AF_INET, STREAM
    0x00,
    0x0c, // 12 bytes follow
    192,
    168,
    0,
    1,
    192,
    168,
    0,
    11,
    0xdc,
    0x04, // 56324
    0x01,
    0xbb, // 443
  ]);
});

Deno.test("encodeProxyHeader() v2 IPv6: TCP over IPv6, 36 address bytes", () => {
  const h = encodeProxyHeader("v2", { hostname: "2001:db8::1", port: 1234 }, {
    hostname: "2001:db8::2",
    port: 443,
  });
  const addr = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  assert.deepEqual([...h], [
    ...SIG,
    0x21,
    0x21,
    0x00,
    0x24,
    ...addr(1),
    ...addr(2),
    0x04,
    0xd2,
    0x01,
    0xbb,
  ]);
});

Deno.test("encodeProxyHeader() mixes families: IPv4-mapped on both sides becomes IPv4, one IPv4 side is mapped", () => {
  const mapped = encodeProxyHeader("v2", { hostname: "::ffff:127.0.0.1", port: 1 }, {
    hostname: "::ffff:127.0.0.2",
    port: 2,
  });
  assert.deepEqual([...mapped.subarray(12, 16)], [0x21, 0x11, 0, 12]);
  assert.deepEqual([...mapped.subarray(16, 24)], [127, 0, 0, 1, 127, 0, 0, 2]);
  assert.equal(
    text(encodeProxyHeader("v1", { hostname: "10.0.0.1", port: 1 }, { hostname: "::1", port: 2 })),
    "PROXY TCP6 ::ffff:a00:1 ::1 1 2\r\n",
  );
  const mixed = encodeProxyHeader("v2", { hostname: "::1", port: 1 }, {
    hostname: "10.0.0.1",
    port: 2,
  });
  assert.deepEqual([...mixed.subarray(13, 16)], [0x21, 0, 36]);
  assert.deepEqual([...mixed.subarray(32, 48)], [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0xff,
    0xff,
    10,
    0,
    0,
    1,
  ]);
});

Deno.test("encodeProxyHeader() rejects names, malformed literals and bad ports", () => {
  const good = { hostname: "127.0.0.1", port: 1 };
  for (
    const hostname of [
      "example.com",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::1",
      "",
    ]
  ) {
    assert.throws(() => encodeProxyHeader("v1", { hostname, port: 1 }, good), {
      name: "TypeError",
      message: `Cannot write a PROXY header: '${hostname}' is not an IPv4 or IPv6 literal`,
    });
  }
  assert.throws(() => encodeProxyHeader("v2", good, { hostname: "127.0.0.1", port: 70000 }), {
    name: "TypeError",
    message: "Cannot write a PROXY header: port must be 0..65535, got 70000",
  });
});

/** Reads a PROXY header (a v1 line or a v2 block) from `conn`, within 2 s. */
async function readHeader(conn: Deno.Conn): Promise<Uint8Array> {
  const buf = new Uint8Array(256);
  let got = 0;
  const timer = setTimeout(() => conn.close(), 2000);
  try {
    for (let i = 0; i < 100; i++) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) break;
      got += n;
      const v2 = buf[0] === 0x0d;
      if (!v2 && buf.subarray(0, got).includes(0x0a)) break;
      if (v2 && got >= 16 && got >= 16 + ((buf[14] << 8) | buf[15])) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return buf.slice(0, got);
}

/** Connects through a TcpProxy listening on `host` and returns what the backend saw first. */
async function headerThroughProxy(version: "v1" | "v2", host: string) {
  const backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen = backend.accept().then(async (conn) => {
    try {
      return await readHeader(conn);
    } finally {
      conn.close();
    }
  });
  const base = tcpListener(`127.0.0.1:0`, [[`127.0.0.1:${backend.addr.port}`]], {
    proxyProtocol: version,
  });
  const spec = {
    ...base,
    hostname: host,
    cluster: { ...base.cluster, health: { ...base.cluster.health, active: false } },
  };
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const client = await Deno.connect({ hostname: addr.hostname, port: addr.port });
  try {
    const header = await seen;
    return { header, clientPort: (client.localAddr as Deno.NetAddr).port, proxyPort: addr.port };
  } finally {
    client.close();
    await proxy.close();
    backend.close();
  }
}

for (const host of ["127.0.0.1", "::1"]) {
  Deno.test(`TcpProxy sends a PROXY v1 header with the real client address (${host})`, async () => {
    const { header, clientPort, proxyPort } = await headerThroughProxy("v1", host);
    const family = host === "::1" ? "TCP6" : "TCP4";
    assert.equal(text(header), `PROXY ${family} ${host} ${host} ${clientPort} ${proxyPort}\r\n`);
  });

  Deno.test(`TcpProxy sends a PROXY v2 header with the real client address (${host})`, async () => {
    const { header, clientPort, proxyPort } = await headerThroughProxy("v2", host);
    const v6 = host === "::1";
    const ip = v6 ? [...new Array(15).fill(0), 1] : [127, 0, 0, 1];
    assert.deepEqual([...header], [
      ...SIG,
      0x21,
      v6 ? 0x21 : 0x11,
      0,
      v6 ? 36 : 12,
      ...ip,
      ...ip,
      clientPort >> 8,
      clientPort & 0xff,
      proxyPort >> 8,
      proxyPort & 0xff,
    ]);
  });
}
