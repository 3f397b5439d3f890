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

/**
 * 1 for every byte allowed in a URI authority without userinfo (RFC 3986:
 * unreserved, pct-encoded, sub-delims, ":", "[" and "]"); used for Host and
 * for the authority of an absolute-form target.
 */
export const AUTHORITY_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "-._~%!$&'()*+,;=:[]") t[ch.charCodeAt(0)] = 1;
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
    const b = buf[start + i], w = lower[i];
    // Only ASCII letters fold: `| 0x20` alone would also map CR to "-" and 0x10 to "0".
    if (b !== w && ((b | 0x20) !== w || w < 0x61 || w > 0x7a)) return false;
  }
  return true;
}

/**
 * Compares two byte ranges of equal length, ignoring ASCII letter case.
 *
 * @param buf The buffer holding both ranges.
 * @param a Start of the first range.
 * @param b Start of the second range.
 * @param length Length of both ranges.
 * @returns Whether they are equal.
 */
export function equalsIgnoreCase(buf: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    const x = buf[a + i], y = buf[b + i];
    if (x !== y && ((x | 0x20) !== (y | 0x20) || (x | 0x20) < 0x61 || (x | 0x20) > 0x7a)) {
      return false;
    }
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
