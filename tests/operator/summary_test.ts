import assert from "node:assert/strict";
import { parseCommandLine } from "../../cli.ts";
import { summarize } from "../../src/operator/summary.ts";
import { tcpListener } from "../../src/config/builders.ts";

Deno.test("the summary shows each site a shell expansion produced, with its endpoints", () => {
  // What `sidekick http://{a,b}:{1...2} http://{c,d}:9000` becomes after bash's brace expansion.
  const p = parseCommandLine(
    [
      "-a",
      "127.0.0.1:8080",
      "http://a:{1...2}",
      "http://b:{1...2}",
      "http://c:9000",
      "http://d:9000",
    ],
    () => undefined,
  );
  if (typeof p !== "object") throw new Error("not a config");
  const [line] = summarize(p.config);
  assert.equal(
    line.text,
    [
      'http listener "http" on 127.0.0.1:8080: 4 sites, 6 endpoints, policy least, health / every 5000 ms',
      "  site 1: http://a:1, http://a:2",
      "  site 2: http://b:1, http://b:2",
      "  site 3: http://c:9000",
      "  site 4: http://d:9000",
    ].join("\n"),
  );
  assert.equal(line.fields.kind, "http");
  assert.deepEqual(
    (line.fields.sites as { endpoints: string[] }[]).map((s) => s.endpoints.length),
    [2, 2, 1, 1],
  );
});

Deno.test("TCP listeners are summarised by tier, names the user gave are kept", () => {
  const l = tcpListener("127.0.0.1:5432", [["10.0.0.1:5432"], ["10.0.0.2:5432"]]);
  const named = {
    ...l,
    cluster: {
      ...l.cluster,
      sites: [{ ...l.cluster.sites[0], name: "primary" }, l.cluster.sites[1]],
    },
  };
  const [line] = summarize({ listeners: [named] });
  assert.match(line.text, /^tcp listener "\S+" on 127\.0\.0\.1:5432: 2 tiers, 2 endpoints/);
  assert.match(
    line.text,
    /\n {2}tier 0 "primary": tcp:\/\/10\.0\.0\.1:5432\n {2}tier 1: tcp:\/\/10\.0\.0\.2:5432$/,
  );
});
