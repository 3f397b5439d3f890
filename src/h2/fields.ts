/**
 * The field rules of RFC 9113 sections 8.2 and 8.3, pure: a request, a
 * response or a trailer section that breaks them is malformed (the session
 * resets the stream with PROTOCOL_ERROR). One pass over the flat list
 * `[name0, value0, name1, value1, ...]`, no allocation.
 *
 * @module
 */

/** 1 for a character allowed in a field name: a lowercase token character. */
const NAME_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") {
  NAME_CHAR[c.charCodeAt(0)] = 1;
}

/** The kinds of field section, each with its own pseudo-header rules. */
export type FieldSection = "request" | "response" | "trailers";

/**
 * Checks a field section. Returns the `content-length` (a number; -1 when
 * absent) when the section is well formed, or a string saying why it is
 * malformed.
 *
 * @param fields The flat list of names and values.
 * @param section Which kind of section it is.
 * @returns The content length (-1: none), or the reason it is malformed.
 *
 * @example Usage
 * ```ts
 * import { checkFields } from "./fields.ts";
 * const ok = checkFields([":method", "GET", ":scheme", "http", ":path", "/"], "request");
 * console.log(ok); // -1
 * console.log(checkFields([":status", "200", "Server", "x"], "response"));
 * // field name "Server" is not lowercase token characters
 * ```
 */
export function checkFields(fields: readonly string[], section: FieldSection): number | string {
  let pseudoDone = section === "trailers";
  let seen = 0; // bit per pseudo-header: 1 method, 2 scheme, 4 authority, 8 path, 16 status
  let method = "";
  let path = "";
  let length = -1;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (name.length === 0) return "empty field name";
    if (!validValue(value)) return `field ${name} has a value with a forbidden character`;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (pseudoDone) return `pseudo-header ${name} after a regular field or in trailers`;
      const bit = pseudoBit(name, section);
      if (bit === 0) return `pseudo-header ${name} is not allowed in a ${section}`;
      if (seen & bit) return `pseudo-header ${name} appears twice`;
      seen |= bit;
      if (bit === 1) method = value;
      else if (bit === 8) path = value;
      else if (bit === 16 && !/^[0-9]{3}$/.test(value)) return `:status ${value} is not 3 digits`;
      continue;
    }
    pseudoDone = true;
    if (!validName(name)) {
      return `field name ${JSON.stringify(name)} is not lowercase token characters`;
    }
    switch (name) {
      case "connection":
      case "keep-alive":
      case "proxy-connection":
      case "transfer-encoding":
      case "upgrade":
        return `connection-specific field ${name} is not allowed in HTTP/2`;
      case "te":
        if (value !== "trailers") {
          return `te must be "trailers" in HTTP/2, not ${JSON.stringify(value)}`;
        }
        break;
      case "content-length": {
        if (section === "trailers") break;
        const n = parseLength(value);
        if (n < 0 || (length >= 0 && n !== length)) return `content-length ${value} is invalid`;
        length = n;
        break;
      }
    }
  }
  if (section === "response") return seen & 16 ? length : ":status is missing";
  if (section === "trailers") return -1;
  if (!(seen & 1)) return ":method is missing";
  if (method === "CONNECT") {
    if (seen & (2 | 8)) return "CONNECT carries neither :scheme nor :path";
    return seen & 4 ? length : "CONNECT needs :authority";
  }
  if (!(seen & 2)) return ":scheme is missing";
  if (!(seen & 8) || path === "") return ":path is missing or empty";
  return length;
}

/** The bit of an allowed pseudo-header in `section`, or 0. */
function pseudoBit(name: string, section: FieldSection): number {
  if (section === "response") return name === ":status" ? 16 : 0;
  switch (name) {
    case ":method":
      return 1;
    case ":scheme":
      return 2;
    case ":authority":
      return 4;
    case ":path":
      return 8;
  }
  return 0;
}

/** True when every character is a lowercase token character. */
function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || NAME_CHAR[c] === 0) return false;
  }
  return true;
}

/** False for NUL, CR or LF anywhere, or whitespace at either end (RFC 9113 8.2.1). */
function validValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === 32 || first === 9 || last === 32 || last === 9) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return false;
  }
  return true;
}

/** The decimal value of a content-length, or -1 when it is not digits. */
function parseLength(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}
