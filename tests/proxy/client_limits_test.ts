import assert from "node:assert/strict";
import {
  ClientLimiter,
  nextLimiter,
  retryAfterMs,
  tokensAt,
} from "../../src/proxy/client_limits.ts";
import { tooManyRequests } from "../../src/proxy/http/client_limit.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("tokensAt refills at the rate up to the burst, never backwards", () => {
  assert.equal(tokensAt({ tokens: 0, at: 1_000 }, 1_000, { ratePerSec: 10, burst: 5 }), 0);
  assert.equal(tokensAt({ tokens: 0, at: 1_000 }, 1_100, { ratePerSec: 10, burst: 5 }), 1);
  assert.equal(tokensAt({ tokens: 2, at: 1_000 }, 1_150, { ratePerSec: 10, burst: 5 }), 3.5);
  assert.equal(tokensAt({ tokens: 4, at: 1_000 }, 9_000, { ratePerSec: 10, burst: 5 }), 5);
  assert.equal(tokensAt({ tokens: 3, at: 1_000 }, 900, { ratePerSec: 10, burst: 5 }), 3); // a clock step back adds nothing
  assert.equal(retryAfterMs(0, 10), 100);
  assert.equal(retryAfterMs(0.9, 10), 10);
  assert.equal(retryAfterMs(0.99999, 1_000_000), 1);
});

Deno.test("a client's requests are admitted at the burst, then at the rate (fake clock)", () => {
  const clock = new FakeClock();
  const limiter = new ClientLimiter({ connections: 0, ratePerSec: 10, burst: 3 });
  const s = limiter.connect("10.0.0.1", clock.now(), false)!;
  assert.ok(s !== null);
  const waits = () => [0, 1, 2, 3].map(() => limiter.request(s, clock.now()));
  assert.deepEqual(waits(), [0, 0, 0, 100]); // the burst, then 100 ms for the next token
  assert.deepEqual(waits(), [100, 100, 100, 100]); // refused requests take no token
  const t0 = clock.now();
  // 1 s later: the bucket is full again (3), not 10
  const later = t0 + 1_000;
  assert.deepEqual([0, 1, 2, 3].map(() => limiter.request(s, later)), [0, 0, 0, 100]);
  // 250 ms after that: 2.5 tokens, so two requests pass and the third waits 50 ms
  const after = later + 250;
  assert.deepEqual([0, 1, 2].map(() => limiter.request(s, after)), [0, 0, 50]);
  assert.equal(limiter.refused, 7);
});

Deno.test("one client's limits cost another client nothing", () => {
  const limiter = new ClientLimiter({ connections: 2, ratePerSec: 1, burst: 1 });
  const greedy = [0, 1, 2, 3].map(() => limiter.connect("10.0.0.1", 0, false));
  assert.deepEqual(greedy.map((s) => s !== null), [true, true, false, false]);
  assert.equal(limiter.refusedMs, 1_000);
  assert.equal(limiter.request(greedy[0]!, 0), 0);
  assert.equal(limiter.request(greedy[1]!, 0), 1_000); // the bucket is the client's, not the connection's
  const polite = limiter.connect("10.0.0.2", 0, false)!;
  assert.ok(polite !== null);
  assert.equal(limiter.request(polite, 0), 0);
  limiter.release(greedy[0]!);
  assert.ok(limiter.connect("10.0.0.1", 0, false) !== null, "a released slot is free again");
});

Deno.test("rated connections (TCP, UDP flows) take tokens at connect", () => {
  const limiter = new ClientLimiter({ connections: 0, ratePerSec: 2, burst: 2 });
  const at0 = [0, 1, 2].map(() => limiter.connect("10.0.0.1", 0, true));
  assert.deepEqual(at0.map((s) => s !== null), [true, true, false]);
  assert.equal(limiter.refusedMs, 500);
  assert.ok(limiter.connect("10.0.0.1", 500, true) !== null);
});

Deno.test("the sweeper forgets idle clients whose bucket is full again; the map stays bounded", () => {
  const limiter = new ClientLimiter({ connections: 1, ratePerSec: 10, burst: 10 }, 3);
  const a = limiter.connect("10.0.0.1", 0, true)!;
  limiter.connect("10.0.0.2", 0, true);
  limiter.release(limiter.connect("10.0.0.3", 0, true)!);
  assert.equal(limiter.size, 3);
  limiter.sweep(50); // 10.0.0.3 is idle but its bucket is not full yet
  assert.equal(limiter.size, 3);
  // full: a new client evicts the idle one, not those holding connections
  assert.ok(limiter.connect("10.0.0.4", 60, true) !== null);
  assert.equal(limiter.size, 3);
  assert.equal(
    limiter.connect("10.0.0.1", 60, true),
    null,
    "10.0.0.1 still holds its one connection",
  );
  limiter.release(a);
  limiter.sweep(10_000);
  assert.equal(limiter.size, 2, "only clients holding connections are left");
  // every slot held: a stranger is admitted untracked rather than refused
  limiter.connect("10.0.0.5", 10_000, true);
  limiter.connect("10.0.0.6", 10_000, true);
  assert.equal(limiter.size, 3);
  assert.ok(limiter.connect("10.0.0.7", 10_000, true) !== null);
  assert.equal(limiter.size, 3);
});

Deno.test("a reload keeps the limiter and its clients; turning limits off drops it", () => {
  const on = nextLimiter(null, { connections: 1, ratePerSec: 0, burst: 1 })!;
  const s = on.connect("10.0.0.1", 0, false)!;
  const again = nextLimiter(on, { connections: 2, ratePerSec: 0, burst: 1 });
  assert.equal(again, on);
  assert.ok(on.connect("10.0.0.1", 0, false) !== null, "the new cap applies to the old client");
  on.release(s);
  assert.equal(nextLimiter(on, { connections: 0, ratePerSec: 0, burst: 1 }), null);
});

Deno.test("the 429 says when to retry, in whole seconds", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.match(text(tooManyRequests(1, false)), /\r\nRetry-After: 1\r\n/);
  assert.doesNotMatch(text(tooManyRequests(1, false)), /Connection: close/);
  assert.match(text(tooManyRequests(2_001, true)), /\r\nRetry-After: 3\r\n[^]*Connection: close/);
  const r = text(tooManyRequests(500, true));
  const [head, body] = r.split("\r\n\r\n");
  assert.equal(
    Number(/Content-Length: (\d+)/.exec(head)![1]),
    new TextEncoder().encode(body).length,
  );
});
