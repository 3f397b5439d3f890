/**
 * Validates Prometheus text with the Prometheus project's own Python client
 * (`prometheus_client.parser`), the reference parser of the text format:
 * Debian packages it (`python3-prometheus-client`, which `.ci/run`
 * installs), so CI needs no pip. Returns null when no Python with the
 * module is found, so that a test can skip locally with a clear message.
 */

/** One parsed sample. */
export interface ParsedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** One parsed family. */
export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: readonly ParsedSample[];
}

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)}
        for s in f.samples]})
print(json.dumps(out))
`;

/** Pythons tried in order: the PATH's, then Debian's (where apt puts the module). */
const PYTHONS = ["python3", "/usr/bin/python3"];

let found: string | null | undefined;

async function python(): Promise<string | null> {
  if (found !== undefined) return found;
  for (const p of PYTHONS) {
    try {
      const out = await new Deno.Command(p, {
        args: ["-c", "import prometheus_client.parser"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) return found = p;
    } catch {
      // not installed
    }
  }
  return found = null;
}

/** Why parsing is not possible here, or null when it is. */
export async function prometheusParserMissing(): Promise<string | null> {
  return await python() === null
    ? "no python3 with prometheus_client (apt-get install python3-prometheus-client)"
    : null;
}

/**
 * Parses exposition text with the reference parser; throws with the
 * parser's message when the text is malformed.
 */
export async function parsePrometheus(text: string): Promise<ParsedFamily[]> {
  const p = await python();
  if (p === null) throw new Error(await prometheusParserMissing() ?? "");
  const child = new Deno.Command(p, {
    args: ["-c", SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const d = new TextDecoder();
  if (!out.success) throw new Error(`prometheus_client rejected the text: ${d.decode(out.stderr)}`);
  return JSON.parse(d.decode(out.stdout)) as ParsedFamily[];
}

/** The one sample of `name` whose labels include `labels`. */
export function sample(
  families: readonly ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const all = families.flatMap((f) => f.samples).filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (all.length !== 1) {
    throw new Error(`${name} ${JSON.stringify(labels)}: ${all.length} samples`);
  }
  return all[0].value;
}
