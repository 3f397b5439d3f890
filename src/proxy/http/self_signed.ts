/**
 * A self-signed server certificate made with WebCrypto (ECDSA P-256,
 * SHA-256) and a small DER encoder, for minio/sidekick's `--auto-tls-host`.
 *
 * Unlike minio/sidekick's (which is marked as a CA), the certificate is a
 * plain server certificate (`CA:FALSE`, serverAuth): rustls-based clients
 * such as Deno's refuse a CA certificate used as a server certificate, and a
 * self-signed leaf can be trusted directly (`caCerts: [pem]`, `curl --cacert`).
 *
 * @module
 */

/**
 * A generated certificate, its key, and what to print so clients can pin it.
 *
 * @example Usage
 * ```ts ignore
 * import { generateSelfSigned } from "./self_signed.ts";
 * const c = await generateSelfSigned(["localhost", "127.0.0.1"]);
 * console.log(c.fingerprint, c.publicKeyPin);
 * ```
 */
export interface SelfSignedCertificate {
  /** The certificate (PEM). */
  readonly cert: string;
  /** The private key (PKCS#8 PEM). */
  readonly key: string;
  /** SHA-256 of the certificate, as minio/sidekick prints it: `AB 01 ...`. */
  readonly fingerprint: string;
  /** Base64 SHA-256 of the public key (SubjectPublicKeyInfo), for pinning. */
  readonly publicKeyPin: string;
}

/**
 * Options of {@linkcode generateSelfSigned}.
 *
 * @example Usage
 * ```ts
 * import type { SelfSignedOptions } from "./self_signed.ts";
 * const o: SelfSignedOptions = { days: 30 };
 * ```
 */
export interface SelfSignedOptions {
  /** Validity in days from now. @default 365 */
  readonly days?: number;
  /** The start of the validity (ms since epoch). @default an hour ago */
  readonly notBefore?: number;
}

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One DER element: tag, definite length, contents. */
function der(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = concat(contents);
  const n = body.length;
  const len = n < 0x80
    ? [n]
    : n < 0x100
    ? [0x81, n]
    : n < 0x10000
    ? [0x82, n >> 8, n & 0xff]
    : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat([Uint8Array.of(tag, ...len), body]);
}

const seq = (...c: Uint8Array[]) => der(0x30, ...c);
const set = (...c: Uint8Array[]) => der(0x31, ...c);
const utf8 = (s: string) => der(0x0c, new TextEncoder().encode(s));
const octets = (b: Uint8Array) => der(0x04, b);
const bits = (b: Uint8Array) => der(0x03, Uint8Array.of(0), b);

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.subarray(i);
  return der(0x02, b[0] & 0x80 ? concat([Uint8Array.of(0), b]) : b);
}

function oid(text: string): Uint8Array {
  const arcs = text.split(".").map(Number);
  const out = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) {
      groups.unshift((v & 0x7f) | 0x80);
    }
    out.push(...groups);
  }
  return der(0x06, Uint8Array.from(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(ms: number): Uint8Array {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = Number(iso.slice(0, 4));
  const enc = new TextEncoder();
  return year < 2050 ? der(0x17, enc.encode(digits.slice(2))) : der(0x18, enc.encode(digits));
}

/**
 * Parses an IPv4 or IPv6 literal into its bytes.
 *
 * @param text The address (IPv6 without brackets).
 * @returns 4 or 16 bytes, or null when `text` is not an IP literal (then a DNS name).
 *
 * @example Usage
 * ```ts
 * import { ipBytes } from "./self_signed.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(ipBytes("127.0.0.1"), Uint8Array.of(127, 0, 0, 1));
 * assert.equal(ipBytes("::1")?.length, 16);
 * assert.equal(ipBytes("localhost"), null);
 * ```
 */
export function ipBytes(text: string): Uint8Array | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : null;
  }
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (g.includes(".")) {
        const v4 = ipBytes(g);
        if (v4 === null || v4.length !== 4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]), tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

function pem(label: string, data: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...data));
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;
}

/** ECDSA's raw `r || s` signature as the DER `SEQUENCE { r, s }` X.509 wants. */
function ecdsaDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const half = raw.length / 2;
  return seq(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}

/**
 * Generates a self-signed server certificate for host names and IP addresses.
 *
 * @param hosts Names and IP literals for the subject alternative names; the first is the common name.
 * @param options Validity.
 * @returns The certificate, key and fingerprints.
 * @throws {TypeError} When `hosts` is empty.
 *
 * @example Usage
 * ```ts
 * import { generateSelfSigned } from "./self_signed.ts";
 * import assert from "node:assert/strict";
 * const c = await generateSelfSigned(["localhost", "127.0.0.1"]);
 * assert.ok(c.cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * assert.match(c.fingerprint, /^([0-9A-F]{2} ){31}[0-9A-F]{2}$/);
 * ```
 */
export async function generateSelfSigned(
  hosts: readonly string[],
  options: SelfSignedOptions = {},
): Promise<SelfSignedCertificate> {
  if (hosts.length === 0) {
    throw new TypeError("Cannot make a certificate: give at least one host name or IP address");
  }
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const notBefore = options.notBefore ?? Date.now() - 3_600_000;
  const notAfter = notBefore + (options.days ?? 365) * 86_400_000;
  const name = seq(
    set(seq(oid("2.5.4.10"), utf8("Acme Co"))),
    set(seq(oid("2.5.4.3"), utf8(hosts[0]))),
  );
  const altNames = hosts.map((h) => {
    const ip = ipBytes(h);
    return ip !== null ? der(0x87, ip) : der(0x82, new TextEncoder().encode(h));
  });
  const critical = der(0x01, Uint8Array.of(0xff));
  const extensions = seq(
    seq(oid("2.5.29.15"), critical, octets(der(0x03, Uint8Array.of(7, 0x80)))), // digitalSignature
    seq(oid("2.5.29.37"), octets(seq(oid("1.3.6.1.5.5.7.3.1")))), // serverAuth
    seq(oid("2.5.29.19"), critical, octets(seq())), // CA:FALSE
    seq(oid("2.5.29.17"), octets(seq(...altNames))),
  );
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const tbs = seq(
    der(0xa0, integer(Uint8Array.of(2))), // v3
    integer(serial),
    ecdsaSha256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    der(0xa3, extensions),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs),
  );
  const cert = seq(tbs, ecdsaSha256, bits(ecdsaDer(signature)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", cert));
  const spkiDigest = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
  return {
    cert: pem("CERTIFICATE", cert),
    key: pem("PRIVATE KEY", pkcs8),
    fingerprint: [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(" "),
    publicKeyPin: btoa(String.fromCharCode(...spkiDigest)),
  };
}
