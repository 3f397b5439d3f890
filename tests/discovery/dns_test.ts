import assert from "node:assert/strict";
import {
  diffAddresses,
  type DnsRecordType,
  resolveAddresses,
  systemResolver,
  watchDns,
} from "../../src/discovery/dns.ts";

const never = new AbortController().signal;

/** A resolver that answers from a mutable table; `fail` makes the next lookups throw. */
function fakeResolver(table: Record<DnsRecordType, string[] | Error>) {
  const calls: DnsRecordType[] = [];
  const resolver = (_host: string, type: DnsRecordType) => {
    calls.push(type);
    const answer = table[type];
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve([...answer]);
  };
  return { resolver, calls };
}

Deno.test("diffAddresses() reports added and removed addresses, ignoring order and duplicates", () => {
  assert.deepEqual(diffAddresses([], ["a", "b"]), { added: ["a", "b"], removed: [] });
  assert.deepEqual(diffAddresses(["a", "b"], []), { added: [], removed: ["a", "b"] });
  assert.deepEqual(diffAddresses(["a", "b"], ["b", "a"]), { added: [], removed: [] });
  assert.deepEqual(diffAddresses(["a", "b", "b"], ["b", "c", "c"]), {
    added: ["c"],
    removed: ["a"],
  });
});

Deno.test("resolveAddresses() merges A and AAAA, sorted, IPv4 first; a missing type is no error", async () => {
  const both = fakeResolver({
    A: ["10.0.0.2", "10.0.0.1", "10.0.0.2"],
    AAAA: ["fd00::2", "fd00::1"],
  });
  assert.deepEqual(await resolveAddresses("svc", both.resolver, never), [
    "10.0.0.1",
    "10.0.0.2",
    "fd00::1",
    "fd00::2",
  ]);
  const v4only = fakeResolver({ A: ["10.0.0.1"], AAAA: new Deno.errors.NotFound("no records") });
  assert.deepEqual(await resolveAddresses("svc", v4only.resolver, never), ["10.0.0.1"]);
});

Deno.test("resolveAddresses() fails on a server failure or when neither type has records", async () => {
  const broken = fakeResolver({ A: ["10.0.0.1"], AAAA: new Error("SERVFAIL") });
  await assert.rejects(resolveAddresses("svc", broken.resolver, never), { message: "SERVFAIL" });
  const none = fakeResolver({
    A: new Deno.errors.NotFound("x"),
    AAAA: new Deno.errors.NotFound("y"),
  });
  await assert.rejects(resolveAddresses("svc", none.resolver, never), Deno.errors.NotFound);
});

Deno.test("resolveAddresses() answers an IP literal without a lookup", async () => {
  const r = fakeResolver({ A: ["10.9.9.9"], AAAA: [] });
  assert.deepEqual(await resolveAddresses("10.0.0.7", r.resolver, never), ["10.0.0.7"]);
  assert.deepEqual(await resolveAddresses("::1", r.resolver, never), ["::1"]);
  assert.equal(r.calls.length, 0);
});

Deno.test("watchDns() yields at once, yields each change, and keeps the last good answer through failures", async () => {
  const table: Record<DnsRecordType, string[] | Error> = { A: ["10.0.0.1"], AAAA: [] };
  const { resolver, calls } = fakeResolver(table);
  const errors: unknown[] = [];
  const ac = new AbortController();
  const yielded: (readonly string[])[] = [];
  const t0 = Date.now();
  const firstAt: number[] = [];
  const watch = (async () => {
    for await (
      const list of watchDns("svc", {
        intervalMs: 20,
        resolver,
        signal: ac.signal,
        onError: (e) => errors.push(e),
      })
    ) {
      yielded.push(list);
      firstAt.push(Date.now() - t0);
      if (yielded.length === 1) {
        table.A = new Error("timed out"); // a failed lookup...
      } else if (yielded.length === 2) {
        break;
      }
    }
  })();
  const deadline = setTimeout(() => ac.abort(), 3000);
  try {
    // ...keeps the last answer: nothing is yielded while lookups fail
    for (let i = 0; i < 100 && errors.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(errors.length >= 3, `lookups failed ${errors.length} times`);
    assert.equal(yielded.length, 1);
    table.A = []; // an empty answer is not taken either
    table.AAAA = [];
    const before = errors.length;
    for (let i = 0; i < 100 && errors.length === before; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(yielded.length, 1);
    table.A = ["10.0.0.1", "10.0.0.3"]; // a new address is reported on the next lookup
    table.AAAA = ["fd00::1"];
    await watch;
    assert.deepEqual(yielded, [["10.0.0.1"], ["10.0.0.1", "10.0.0.3", "fd00::1"]]);
    assert.ok(firstAt[0] < 15, `first answer after ${firstAt[0]} ms, not at once`);
    assert.ok(calls.length >= 10 && calls.length < 400, `${calls.length} lookups`);
  } finally {
    clearTimeout(deadline);
    ac.abort();
    await watch;
  }
});

Deno.test("watchDns() does not yield an unchanged answer, and stops when its signal aborts", async () => {
  const { resolver, calls } = fakeResolver({ A: ["10.0.0.1"], AAAA: [] });
  const ac = new AbortController();
  const yielded: (readonly string[])[] = [];
  const watch = (async () => {
    for await (const list of watchDns("svc", { intervalMs: 10, resolver, signal: ac.signal })) {
      yielded.push(list);
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  ac.abort();
  await watch;
  assert.deepEqual(yielded, [["10.0.0.1"]]);
  assert.ok(calls.length >= 6, `${calls.length} lookups in 100 ms at a 10 ms interval`);
});

Deno.test("watchDns() times out a hung lookup and keeps watching", async () => {
  let hung = true;
  const resolver = (_h: string, type: DnsRecordType, signal: AbortSignal) => {
    if (hung) {
      return new Promise<string[]>((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true })
      );
    }
    return Promise.resolve(type === "A" ? ["10.0.0.5"] : []);
  };
  const errors: unknown[] = [];
  const ac = new AbortController();
  const deadline = setTimeout(() => ac.abort(), 2000);
  try {
    const gen = watchDns("svc", {
      intervalMs: 10,
      timeoutMs: 50,
      resolver,
      signal: ac.signal,
      onError: (e) => {
        errors.push(e);
        hung = false;
      },
    });
    const first = await gen.next();
    assert.deepEqual(first.value, ["10.0.0.5"]);
    assert.equal(errors.length, 1);
    await gen.return();
  } finally {
    clearTimeout(deadline);
  }
});

// The real resolver needs net permission for the system's name server, which
// the test task does not grant: then this test is reported as ignored.
const canResolve = await systemResolver("localhost", "A", never).then(() => true, () => false);

Deno.test({
  name: "watchDns() with the system resolver finds localhost (from /etc/hosts)",
  ignore: !canResolve,
  fn: async () => {
    for await (const list of watchDns("localhost", { intervalMs: 1000 })) {
      assert.ok(list.includes("127.0.0.1"), `${list}`);
      break;
    }
  },
});
