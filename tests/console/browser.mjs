// The console's page in a real headless Chromium (Debian's chromium, driven
// by playwright-core from the npm cache), against a console that follows a
// real broker where the 830 orders ran (tests/console/test_console_browser.sh).
//
//   node browser.mjs URL TOKEN REPORT_JSON OUT_DIR NPM_CACHE DAY_MS
//
// Prints one "ok"/"NOT OK" line per check and "browser: N passed, M failed".
import { createRequire } from 'module';
import fs from 'fs';
import os from 'os';
import path from 'path';

const [url, token, reportPath, outDir, npmCache, dayMsArg] = process.argv.slice(2);
const require = createRequire(path.join(npmCache, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
const dayMs = Number(dayMsArg || 1000);
let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log('ok     ' + what); } else { failed++; console.log('NOT OK ' + what); }
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'df-console-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(20000);
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
// a policy violation (an inline style or script the CSP refused) is an error of the page
page.on('console', (m) => { if (m.type() === 'error' && /Refused to|Content Security Policy/.test(m.text())) consoleErrors.push(m.text()); });
const external = [];
page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:')) external.push(r.url()); });

async function count(key, name) {
  const sel = `[data-testid="count-${key}-${name}"]`;
  if (!(await page.locator(sel).count())) return null;
  return Number(await page.getAttribute(sel, 'data-count'));
}

try {
  // ---- the list: counts per outcome equal the run's summary ----
  await page.goto(url + '/#/');
  await page.waitForSelector('[data-testid="count-total"]');
  await page.waitForSelector('[data-testid="row"]');
  for (const [name, n] of Object.entries(report.outcomes || {}))
    check((await count('outcome', name)) === n, `count of outcome ${name} on the page = ${n} (summary)`);
  const want = { confirmed_on_time: 761, confirmed_late: 36, cancelled: 21, payment_declined: 12 };
  for (const [name, n] of Object.entries(want))
    check((await count('outcome', name)) === n, `count of outcome ${name} = ${n}`);
  check((await count('workflow', 'order')) === 830, 'count of workflow order = 830');
  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, 'console-list.png'), fullPage: false });

  // ---- filter cancelled, open one: late notice, 30-day wait, refund ----
  await page.click('[data-testid="count-outcome-cancelled"]');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="row"]')];
    return rows.length > 0 && rows.every((r) => r.querySelector('[data-testid="outcome"]').textContent === 'cancelled');
  });
  const rows = await page.locator('[data-testid="row"]').count();
  check(rows === 21, `filter cancelled: ${rows} rows, all cancelled`);
  const first = await page.locator('[data-testid="row"] a').first();
  const cancelledId = await first.textContent();
  await first.click();
  await page.waitForSelector('[data-testid="timeline"]');
  const names = await page.$$eval('[data-testid="tl-row"]', (r) => r.map((x) => x.dataset.name));
  check(names.includes('late-notice'), `${cancelledId}: the timeline shows the late notice`);
  check(names.includes('refund'), `${cancelledId}: the timeline shows the refund`);
  check(names.includes('shipment-late'), `${cancelledId}: the timeline shows the 30-day wait (shipment-late)`);
  const waitMs = Number(await page.getAttribute('[data-testid="op"][data-name="shipment-late"] [data-testid="op-duration"]', 'data-ms'));
  check(Math.abs(waitMs - 30 * dayMs) < 3 * dayMs, `${cancelledId}: shipment-late waited ${waitMs} ms = 30 days of ${dayMs} ms`);
  check(await page.getAttribute('[data-testid="op"][data-name="shipment-late"]', 'data-status') === 'TIMED_OUT',
    `${cancelledId}: the 30-day wait timed out`);
  const gaps = await page.$$eval('[data-testid="tl-gap"]', (g) => g.map((x) => Number(x.dataset.ms)));
  check(gaps.some((g) => g >= 20 * dayMs), `${cancelledId}: the long idle gaps are compressed (${gaps.length} gaps, longest ${Math.max(0, ...gaps)} ms)`);
  // the bars spread over the track: the refund comes far right of the receive step
  const spread = await page.evaluate(() => {
    const bar = (n) => document.querySelector(`[data-testid="tl-row"][data-name="${n}"] .tl-bar`).getBoundingClientRect();
    const track = document.querySelector('[data-testid="tl-row"] .tl-track').getBoundingClientRect();
    return (bar('refund').left - bar('receive').left) / track.width;
  });
  check(spread > 0.5, `${cancelledId}: the refund is drawn ${(spread * 100).toFixed(0)}% of the timeline's width after the receive step`);
  const tlWidth = await page.$eval('[data-testid="timeline"]', (t) => t.scrollWidth <= t.clientWidth + 1);
  check(tlWidth, `${cancelledId}: the timeline fits the screen's width`);
  const hover = await page.getAttribute('[data-testid="exec-header"] time', 'title');
  check(/UTC$/.test(hover || ''), 'times show UTC on hover (' + hover + ')');
  await page.screenshot({ path: path.join(outDir, 'console-execution-cancelled.png'), fullPage: false });

  // ---- a declined order: the payment callback's failure is the point of failure ----
  await page.goto(url + '/#/?outcome=payment_declined');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="row"]').length === 12);
  const declined = page.locator('[data-testid="row"] a').first();
  const declinedId = await declined.textContent();
  await declined.click();
  await page.waitForSelector('[data-testid="failure"]');
  const failure = await page.textContent('[data-testid="failure"]');
  check(/payment/.test(failure) && /CALLBACK/.test(failure) && /CallbackFailed/.test(failure),
    `${declinedId}: the point of failure is the payment callback's failure`);
  const before = await page.locator('[data-testid="failure-before"] tbody tr').count();
  check(before >= 2, `${declinedId}: the state before it: ${before} operations with their recorded results`);
  await page.evaluate(() => document.querySelector('[data-testid="failure"]').scrollIntoView());
  await page.screenshot({ path: path.join(outDir, 'console-execution-declined.png'), fullPage: false });

  // ---- a parked execution: refused without the token, completed with it ----
  await page.goto(url + '/#/e/parked-1');
  await page.waitForSelector('[data-testid="waiting"]');
  check(/approval/.test(await page.textContent('[data-testid="waiting"]')), 'parked-1: the banner says it waits for callback "approval"');
  check(!/callback id/.test(await page.textContent('main')), 'parked-1: no callback id shown without the token');
  await page.click('button[data-testid^="complete-"]');
  await page.waitForSelector('[data-testid="action-msg"]');
  const refused = await page.textContent('[data-testid="action-msg"]');
  check(/Refused/.test(refused) && /401/.test(refused), `without the token the button is refused (${refused.trim()})`);
  await page.fill('#token', token);
  await page.click('#tokensave');
  await page.waitForSelector('button[data-testid^="complete-"]');
  await page.waitForFunction(() => /callback id [0-9a-f]{32}_/.test(document.querySelector('main').textContent));
  check(true, 'with the token the callback id is shown');
  await page.click('button[data-testid^="complete-"]');
  await page.waitForFunction(() => /completed/.test((document.querySelector('[data-testid="action-msg"]') || {}).textContent || ''));
  await page.waitForFunction(() => (document.querySelector('[data-testid="exec-header"] [data-testid="status"]') || {}).textContent === 'SUCCEEDED',
    null, { timeout: 40000 });
  check(true, 'parked-1: completed from the page, it finished (SUCCEEDED)');
  await page.screenshot({ path: path.join(outDir, 'console-execution-parked.png'), fullPage: true });

  // ---- controls in an execution's text are shown escaped, as the CLI does
  // (the RLO U+202E reversed the text after it; ESC and BEL reached the page) ----
  await page.goto(url + '/#/e/bidi-1');
  await page.waitForSelector('[data-testid="exec-header"]');
  await page.waitForFunction(() => /rtl/.test(document.querySelector('main').textContent));
  const mainText = await page.textContent('main');
  const escaped = 'a\\x1B[2Jb\\x07\\u0085 \\u202E rtl \\u2066x\\u2069 \\u200F';
  check(mainText.includes(escaped), `bidi-1: the input is shown escaped (${JSON.stringify(mainText.slice(Math.max(0, mainText.indexOf('rtl') - 40), mainText.indexOf('rtl') + 40))})`);
  check(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/.test(mainText),
    'bidi-1: no control or bidi character reaches the page raw');

  // ---- dead letters page renders ----
  await page.goto(url + '/#/dlq');
  await page.waitForSelector('[data-testid="dlq"]');
  check(true, 'the DLQ page renders');
} catch (e) {
  check(false, 'scenario: ' + (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e));
  try { await page.screenshot({ path: path.join(outDir, 'console-failure.png'), fullPage: true }); } catch (_) { }
}
check(consoleErrors.length === 0, 'no script error in the page' + (consoleErrors.length ? ': ' + consoleErrors.join('; ') : ''));
check(external.length === 0, 'no request leaves the console' + (external.length ? ': ' + external.slice(0, 3).join(' ') : ''));
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
