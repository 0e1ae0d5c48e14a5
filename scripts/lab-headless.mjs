#!/usr/bin/env node
// Opens a `formbench serve` page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and waits until the page has run its study; with --screenshot FILE it also
// saves the page once (playwright gives each launch a fresh profile), mid-run, after the given number of stored results (default 3),
// and with --only-screenshot closes the page then (the trial in flight is lost; reopening resumes).
//   node scripts/lab-headless.mjs 'http://127.0.0.1:8080/?token=…' [--screenshot mid.png [--only-screenshot]] [--after 3] [--timeout-s 3600]
import { chromium } from 'playwright-core';

const [url, ...rest] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node scripts/lab-headless.mjs '<url formbench serve printed>' [--screenshot FILE] [--after N] [--timeout-s S]\n");
  process.exit(2);
}
const flag = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : fallback;
};
const screenshot = flag('--screenshot');
const after = Number(flag('--after', '3'));
const timeoutMs = Number(flag('--timeout-s', '3600')) * 1000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  page.on('console', (m) => process.stderr.write(`page: ${m.text()}\n`));
  await page.goto(url);
  if (screenshot) {
    await page.waitForFunction((n) => document.querySelectorAll('#plan tr.ok, #plan tr.mismatch, #plan tr.failed').length >= n || document.body.dataset.labState !== 'running', after, { timeout: timeoutMs, polling: 200 });
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stderr.write(`screenshot: ${screenshot}\n`);
  }
  if (!(screenshot && rest.includes('--only-screenshot'))) await runToTheEnd(page);
} finally {
  await browser.close();
}

async function runToTheEnd(page) {
  await page.waitForFunction(() => document.body.dataset.labState === 'done' || document.body.dataset.labState === 'error', undefined, { timeout: timeoutMs, polling: 500 });
  const status = await page.textContent('#status');
  const device = await page.textContent('#device');
  process.stdout.write(`${device}\n${status}\n`);
  if ((await page.getAttribute('body', 'data-lab-state')) !== 'done') process.exitCode = 1;
}
