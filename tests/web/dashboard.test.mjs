// SPDX-License-Identifier: MIT
// The dashboard end to end, in Debian's headless Chromium driven by playwright-core: a real
// taskwired with the demo models; start a scan with hashes and see its items and a full bar;
// cancel a long ticker; reload the page and see a running task resumed; a server with a token.
// Every wait has a deadline; nothing sleeps. Run by ctest (tests/CMakeLists.txt) with
//   TASKWIRED=path/to/taskwired TASKWIRE_DEMO_MODELS=path/to/taskwire-demo-models
// and TASKWIRE_SCREENSHOT=docs/dashboard.png to keep the screenshot.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch {
  console.error('dashboard test: playwright-core is missing; scripts/test installs it (npm ci in tests/web)');
  process.exit(1);
}

const TASKWIRED = process.env.TASKWIRED;
const DEMO = process.env.TASKWIRE_DEMO_MODELS;
assert.ok(TASKWIRED && DEMO, 'set TASKWIRED and TASKWIRE_DEMO_MODELS');
const DEADLINE = 20000;  // ms, for any one thing to appear (sanitizer builds are slow)

const base = mkdtempSync(join(tmpdir(), 'taskwire-web-'));
const models = join(base, 'models');
execFileSync(DEMO, [models]);

// A daemon on a free port; resolves with its port once it logs "ready".
function startDaemon(name, extra = []) {
  // The daemon refuses TASKWIRE_* variables it does not know (TASKWIRE_SCREENSHOT is ours).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKWIRE_')));
  const child = spawn(TASKWIRED, ['--port', '0', '--root', `models=${models}`,
    '--state-dir', join(base, `state-${name}`), ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no ready line\n${log}`)), DEADLINE);
    const onData = (d) => {
      log += d;
      const m = log.match(/ INFO ready .*port=(\d+)/);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]), log: () => log }); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}\n${log}`)));
  });
}

const daemons = [];
let browser;
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  for (const d of daemons) d.child.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
}

// The task card whose title matches, newest first.
const card = (page, title) => page.locator('.task', { has: page.locator('.title', { hasText: title }) }).first();

async function waitStatus(locator, status) {
  await locator.and(locator.page().locator(`[data-status="${status}"]`)).waitFor({ timeout: DEADLINE });
}

// Waits until `fn` (run in the page) returns true.
const until = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: DEADLINE });

async function main() {
  const plain = await startDaemon('plain');
  daemons.push(plain);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

  const url = `http://127.0.0.1:${plain.port}/`;
  await page.goto(url);
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: DEADLINE });
  assert.equal(await page.locator('#scan-root option').first().textContent(), 'models');

  // A long ticker, so the screenshot shows a live bar beside the scan.
  await page.fill('#tick-count', '100000');
  await page.fill('#tick-interval', '50');
  await page.click('#tick-start');
  const ticker = card(page, 'Ticker 100000');
  await waitStatus(ticker, 'running');
  await until(page, () => {
    const bar = document.querySelector('.task[data-status="running"] .bar');
    return bar && Number(bar.getAttribute('aria-valuenow')) >= 0 && bar.closest('.task').querySelector('.info').textContent.includes('/100k');
  });

  // The scan with hashes: every demo model in the table, with its hash, and the bar at 100%.
  await page.check('#scan-hash');
  await page.click('#scan-start');
  const scan = card(page, 'Scan models + SHA-256');
  await waitStatus(scan, 'succeeded');
  assert.equal(await scan.locator('.bar').getAttribute('aria-valuenow'), '100');
  const rows = page.locator('#items tbody tr');
  await until(page, () => document.querySelectorAll('#items tbody tr').length === 3);
  const names = await rows.locator('td:nth-child(1)').allTextContents();
  assert.deepEqual(names, ['checkpoints/demo-sd-tiny.safetensors', 'llm/demo-tinyllama.gguf',
    'loras/demo-style-lora.safetensors']);
  for (const h of await rows.locator('td.hash').allTextContents()) assert.match(h, /^[0-9a-f]{16}…$/);
  assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['checkpoints', 'llm', 'loras']);
  assert.deepEqual(await rows.locator('td:nth-child(3)').allTextContents(), ['safetensors', 'gguf', 'safetensors']);
  assert.match(await scan.locator('.info').textContent(), /3 files/);

  // Sorting by size, both ways.
  await page.click('#items th[data-key="size"]');
  assert.deepEqual(await rows.locator('td:nth-child(1)').allTextContents(),
    ['loras/demo-style-lora.safetensors', 'checkpoints/demo-sd-tiny.safetensors', 'llm/demo-tinyllama.gguf']);
  await page.click('#items th[data-key="size"]');
  assert.equal(await rows.first().locator('td').first().textContent(), 'llm/demo-tinyllama.gguf');
  await page.click('#items th[data-key="path"]');

  if (process.env.TASKWIRE_SCREENSHOT) await page.screenshot({ path: process.env.TASKWIRE_SCREENSHOT, fullPage: true });

  // Cancel the long ticker.
  await ticker.locator('button.cancel').click();
  await waitStatus(ticker, 'cancelled');

  // A running ticker survives a reload: the page finds it through `tasks` and resumes it.
  await page.fill('#tick-count', '100000');
  await page.fill('#tick-interval', '20');
  await page.click('#tick-start');
  const second = page.locator('.task[data-status="running"]').first();
  await second.waitFor({ timeout: DEADLINE });
  const id = await second.locator('.id').textContent();
  await until(page, (tid) => /\b[1-9]\d*\/100k/.test(document.querySelector(`[data-task-id="${tid}"] .info`).textContent), id);
  await page.reload();
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: DEADLINE });
  const again = page.locator(`[data-task-id="${id}"]`);
  await waitStatus(again, 'running');
  const doneOf = async () => Number((await again.locator('.info').textContent()).match(/(\d+)\/100k/)[1]);
  const before = await doneOf();
  await until(page, ([tid, n]) => {
    const m = document.querySelector(`[data-task-id="${tid}"] .info`).textContent.match(/(\d+)\/100k/);
    return m && Number(m[1]) > n;
  }, [id, before]);
  // The finished scan came back too, with its items.
  const scanAgain = card(page, 'Scan models');
  await waitStatus(scanAgain, 'succeeded');
  await scanAgain.click();
  await until(page, () => document.querySelectorAll('#items tbody tr').length === 3);
  await again.locator('button.cancel').click();
  await waitStatus(again, 'cancelled');
  assert.deepEqual(problems, []);

  // A server with a token: asked once, kept for the session, wrong ones refused.
  const locked = await startDaemon('token', ['--token', 'open-sesame']);
  daemons.push(locked);
  const tokenPage = await (await browser.newContext()).newPage();
  tokenPage.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await tokenPage.goto(`http://127.0.0.1:${locked.port}/`);
  await tokenPage.locator('#token-panel').waitFor({ state: 'visible', timeout: DEADLINE });
  await tokenPage.fill('#token', 'wrong');
  await tokenPage.click('#token-form button');
  await until(tokenPage, () => document.querySelector('#token-error').textContent.includes('refused'));
  await tokenPage.fill('#token', 'open-sesame');
  await tokenPage.click('#token-form button');
  await tokenPage.locator('#conn[data-state="open"]').waitFor({ timeout: DEADLINE });
  await tokenPage.fill('#tick-count', '3');
  await tokenPage.fill('#tick-interval', '10');
  await tokenPage.click('#tick-start');
  await waitStatus(card(tokenPage, 'Ticker 3'), 'succeeded');
  await tokenPage.reload();
  await tokenPage.locator('#conn[data-state="open"]').waitFor({ timeout: DEADLINE });
  assert.equal(await tokenPage.locator('#token-panel').isVisible(), false, 'the token is kept');
  assert.deepEqual(problems, []);
  console.log('dashboard test: passed');
}

try {
  await main();
  await cleanup();
} catch (e) {
  console.error(e);
  for (const d of daemons) console.error(`--- daemon log ---\n${d.log().slice(-3000)}`);
  await cleanup();
  process.exit(1);
}
