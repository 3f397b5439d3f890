/**
 * Drives the admin status page in headless Chromium (puppeteer-core), in
 * its own process so that its broad permissions stay out of the test task.
 *
 * Usage: deno run ... _page_driver.ts ADMIN_URL ENDPOINT SCREENSHOT
 * 1. loads the page and waits until ENDPOINT is shown up, checks the phone
 *    layout, then prints `up`;
 * 2. waits for a line on stdin (the test stopped the endpoint's backend);
 * 3. waits until the page shows ENDPOINT down, prints `down MS` (how long
 *    after the line), saves a screenshot and exits 0. Any failure exits 1.
 */

import puppeteer from "npm:puppeteer-core@25.16.0";

const [url, endpoint, screenshot] = Deno.args;
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  const external: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(url)) external.push(r.url());
  });
  // A phone first: the endpoint table must fit the width.
  await page.setViewport({ width: 390, height: 844 });
  await page.goto(url, { waitUntil: "load" });
  const row = (status: string) => `tr[data-endpoint="${endpoint}"][data-status="${status}"]`;
  await page.waitForSelector(row("up"), { timeout: 10_000 });
  const overflow = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth
  );
  if (overflow > 0) throw new Error(`the page is ${overflow}px wider than a phone`);
  await page.setViewport({ width: 1100, height: 360 });
  console.log("up");
  for await (const chunk of Deno.stdin.readable) if (chunk.includes(10)) break;
  const t0 = performance.now();
  await page.waitForSelector(row("down"), { timeout: 10_000 });
  console.log(`down ${Math.round(performance.now() - t0)}`);
  if (external.length > 0) throw new Error(`external requests: ${external.join(", ")}`);
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  console.error(e);
  await browser.close();
  Deno.exit(1);
}
await browser.close();
