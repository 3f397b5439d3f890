/**
 * The PROXY protocol header (HAProxy's `proxy-protocol.txt`, versions 1 and
 * 2) that a TCP listener writes to an endpoint before any client byte, so the
 * endpoint learns the real client address. Pure: addresses in, bytes out.
 *
 * @module
 */

/** Which PROXY protocol header to send. */
export type ProxyProtocolVersion = "v1" | "v2";

/**
 * One side of a proxied connection.
 *
 * @example Usage
 * ```ts
 * import type { ProxyAddress } from "./proxy_protocol.ts";
 * const a: ProxyAddress = { hostname: "192.168.0.1", port: 56324 };
 * ```
 */
export interface ProxyAddress {
  /** An IPv4 or IPv6 literal (no brackets; a zone such as `%eth0` is ignored). */
  readonly hostname: string;
  /** The TCP port, 0..65535. */
  readonly port: number;
}

/** The 12-byte version 2 signature. */
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const encoder = new TextEncoder();

/**
 * Builds the header for one connection. When one address is IPv4 and the
 * other IPv6, the IPv4 one is written as an IPv4-mapped IPv6 address; when
 * both are IPv4-mapped IPv6 addresses (a dual-stack listener), both are
 * written as IPv4.
 *
 * @param version `v1` (text) or `v2` (binary).
 * @param source The client's address (the connection's remote address).
 * @param destination The address the client connected to (the listener's local address).
 * @returns The header bytes, to be written before anything else.
 * @throws {TypeError} When an address is not an IP literal or a port is out of range.
 *
 * @example Version 1
 * ```ts
 * import { encodeProxyHeader } from "./proxy_protocol.ts";
 * import assert from "node:assert/strict";
 * const header = encodeProxyHeader(
 *   "v1",
 *   { hostname: "192.168.0.1", port: 56324 },
 *   { hostname: "192.168.0.11", port: 443 },
 * );
 * assert.equal(new TextDecoder().decode(header), "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
 * ```
 *
 * @example Version 2
 * ```ts
 * import { encodeProxyHeader } from "./proxy_protocol.ts";
 * import assert from "node:assert/strict";
 * const header = encodeProxyHeader("v2", { hostname: "::1", port: 1 }, { hostname: "::1", port: 2 });
 * assert.equal(header.length, 16 + 36);
 * assert.equal(header[13], 0x21); // TCP over IPv6
 * ```
 */
export function encodeProxyHeader(
  version: ProxyProtocolVersion,
  source: ProxyAddress,
  destination: ProxyAddress,
): Uint8Array {
  checkPort(source.port);
  checkPort(destination.port);
  let src = parseIp(source.hostname);
  let dst = parseIp(destination.hostname);
  if (src.length === 16 && dst.length === 16 && isV4Mapped(src) && isV4Mapped(dst)) {
    src = src.subarray(12);
    dst = dst.subarray(12);
  } else if (src.length !== dst.length) {
    if (src.length === 4) src = mapV4(src);
    else dst = mapV4(dst);
  }
  const v4 = src.length === 4;
  if (version === "v1") {
    const line = `PROXY ${v4 ? "TCP4" : "TCP6"} ${formatIp(src)} ${formatIp(dst)} ` +
      `${source.port} ${destination.port}\r\n`;
    return encoder.encode(line);
  }
  const length = v4 ? 12 : 36;
  const out = new Uint8Array(16 + length);
  out.set(V2_SIGNATURE, 0);
  out[12] = 0x21; // version 2, PROXY command
  out[13] = v4 ? 0x11 : 0x21; // AF_INET or AF_INET6, over STREAM
  out[14] = length >> 8;
  out[15] = length & 0xff;
  out.set(src, 16);
  out.set(dst, 16 + src.length);
  const ports = 16 + 2 * src.length;
  out[ports] = source.port >> 8;
  out[ports + 1] = source.port & 0xff;
  out[ports + 2] = destination.port >> 8;
  out[ports + 3] = destination.port & 0xff;
  return out;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Cannot write a PROXY header: port must be 0..65535, got ${port}`);
  }
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function mapV4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = out[11] = 0xff;
  out.set(b, 12);
  return out;
}

function parseV4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) return null;
    out[i] = Number(parts[i]);
  }
  return out;
}

function parseGroups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes(".")) {
      const v4 = parseV4(p);
      if (v4 === null) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
      groups.push(parseInt(p, 16));
    } else {
      return null;
    }
  }
  return groups;
}

function parseV6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function parseIp(hostname: string): Uint8Array {
  const text = hostname.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const bytes = text.includes(":") ? parseV6(text) : parseV4(text);
  if (bytes === null) {
    throw new TypeError(
      `Cannot write a PROXY header: '${hostname}' is not an IPv4 or IPv6 literal`,
    );
  }
  return bytes;
}

/** IPv4 dotted quad, or IPv6 as RFC 5952 text (longest zero run of 2+ groups as `::`). */
function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}
