/**
 * The HPACK tables: the static table's shape, and the dynamic table's
 * eviction order, sequence numbers, oversize entries and growth.
 */

import assert from "node:assert/strict";
import {
  DynamicTable,
  STATIC_BY_NAME,
  STATIC_LENGTH,
  STATIC_TABLE,
} from "../../src/h2/hpack_table.ts";

Deno.test("STATIC_TABLE: 61 entries, first name index and name-value pairs by name", () => {
  assert.equal(STATIC_TABLE.length, STATIC_LENGTH);
  assert.deepEqual(STATIC_TABLE[60], ["www-authenticate", ""]);
  assert.equal(STATIC_BY_NAME.get(":path")?.index, 4);
  assert.equal(STATIC_BY_NAME.get(":path")?.values.get("/index.html"), 5);
  assert.equal(STATIC_BY_NAME.get("accept-encoding")?.values.get("gzip, deflate"), 16);
  assert.equal(STATIC_BY_NAME.get("cookie")?.values.size, 0);
});

Deno.test("DynamicTable: evicts oldest first, reporting each with its sequence number", () => {
  const evicted: string[] = [];
  const table = new DynamicTable(
    100,
    (name, value, seq) => evicted.push(`${seq}:${name}=${value}`),
  );
  for (const name of ["a", "b", "c", "d"]) table.add(name, "1", 34);
  assert.deepEqual(evicted, ["0:a=1", "1:b=1"]);
  assert.deepEqual([table.length, table.size, table.inserted], [2, 68, 4]);
  assert.deepEqual([table.name(0), table.value(0), table.name(1)], ["d", "1", "c"]);
  table.setMaxSize(40);
  assert.deepEqual(evicted, ["0:a=1", "1:b=1", "2:c=1"]);
  // An entry larger than the table empties it and is not kept.
  table.add("big", "x".repeat(20), 55);
  assert.deepEqual([table.length, table.size, table.inserted], [0, 0, 4]);
  assert.deepEqual(evicted.at(-1), "3:d=1");
  table.setMaxSize(0);
  table.add("e", "", 33);
  assert.equal(table.length, 0);
});

Deno.test("DynamicTable: grows past its first ring and keeps the order", () => {
  const table = new DynamicTable(65536);
  for (let i = 0; i < 1000; i++) table.add(`n${i}`, `${i}`, 32 + 2 * String(i).length + 1);
  assert.equal(table.length, 1000);
  for (const i of [0, 1, 500, 999]) {
    assert.equal(table.name(i), `n${999 - i}`);
    assert.equal(table.value(i), `${999 - i}`);
  }
  table.setMaxSize(1000);
  assert.equal(table.name(0), "n999");
  assert.ok(table.size <= 1000);
});
