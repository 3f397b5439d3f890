/**
 * Byte-level helpers for the HTTP/1.1 codec. Private to `proxy/http`.
 *
 * @module
 */

/** `\r` */
export const CR = 13;
/** `\n` */
export const LF = 10;
/** ` ` */
export const SP = 32;
/** `\t` */
export const HTAB = 9;
/** `:` */
export const COLON = 58;

/** 1 for every `tchar` of RFC 9110 5.6.2 (token characters). */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** 1 for every byte allowed in a field value: HTAB, SP, VCHAR and obs-text. */
export const FIELD_VALUE_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  t[HTAB] = 1;
  for (let c = 0x20; c <= 0x7e; c++) t[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) t[c] = 1;
  return t;
})();

/** 1 for every byte allowed in a request target: VCHAR and obs-text (no SP, no CTL). */
export const TARGET_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x21; c <= 0x7e; c++) t[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) t[c] = 1;
  return t;
})();

const encoder = new TextEncoder();

/**
 * Encodes an ASCII string to bytes (once, at module or connection setup).
 *
 * @param s The text.
 * @returns Its UTF-8 bytes.
 */
export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Compares `buf[start, end)` with a lowercase ASCII word, ignoring case.
 *
 * @param buf The buffer.
 * @param start First byte.
 * @param end One past the last byte.
 * @param lower The word in lowercase bytes.
 * @returns Whether they are equal.
 */
export function equalsLower(
  buf: Uint8Array,
  start: number,
  end: number,
  lower: Uint8Array,
): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((buf[start + i] | 0x20) !== lower[i]) return false;
  }
  return true;
}

/**
 * Decodes `buf[start, end)` as Latin-1 text (one char per byte, never throws).
 *
 * @param buf The buffer.
 * @param start First byte.
 * @param end One past the last byte.
 * @returns The text.
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(end, i + 4096)) as never);
  }
  return s;
}

/**
 * Skips optional whitespace (SP, HTAB) forward from `i`.
 *
 * @param buf The buffer.
 * @param i Start index.
 * @param end Limit.
 * @returns The first index that is not OWS.
 */
export function skipOws(buf: Uint8Array, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  return i;
}

/**
 * Trims optional whitespace backwards from `end`.
 *
 * @param buf The buffer.
 * @param start Lower limit.
 * @param end One past the last byte.
 * @returns The new end.
 */
export function trimOwsEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HTAB)) end--;
  return end;
}
