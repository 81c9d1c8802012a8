// SPDX-License-Identifier: MIT
//
// dashboard.test.js: opens the syncq monitor dashboard in headless
// Chromium (Debian's /usr/bin/chromium through playwright-core; nothing
// is downloaded) while a real `syncq worker` runs a syncq.sleep task that
// reports progress, and checks that:
//   - the page renders the health pill, tiles, queues and workers tables;
//   - the task's row appears with a progress bar that advances;
//   - the cancel button cancels it (the task ends REVOKED or FAILURE with
//     the stop, and the row leaves the running table);
//   - a screenshot is saved (artifact).
// Usage: node dashboard.test.js BASE_URL TASK_ID SCREENSHOT_PATH
'use strict';

const { check, launch } = require('./lib');

const [base, taskId, shot] = process.argv.slice(2);
if (!base || !taskId || !shot) {
  console.error('usage: node dashboard.test.js BASE_URL TASK_ID SCREENSHOT_PATH');
  process.exit(2);
}

(async () => {
  const browser = await launch();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') { errors.push(m.text()); } });
    await page.goto(base + '/', { waitUntil: 'load' });
    check('title', (await page.title()) === 'syncq monitor');

    const row = page.locator('#running tr[data-id="' + taskId + '"]');
    await row.waitFor({ timeout: 20000 });
    check('running row shown', await row.count() === 1);
    const bar = row.locator('.bar');
    const pct = async () => parseFloat(await bar.getAttribute('data-percent') || 'NaN');

    // progress must advance while we watch
    await page.waitForFunction((id) => {
      const b = document.querySelector('#running tr[data-id="' + id + '"] .bar');
      return b && parseFloat(b.getAttribute('data-percent')) > 0;
    }, taskId, { timeout: 15000 });
    const p1 = await pct();
    await page.waitForFunction(([id, p]) => {
      const b = document.querySelector('#running tr[data-id="' + id + '"] .bar');
      return b && parseFloat(b.getAttribute('data-percent')) > p;
    }, [taskId, p1], { timeout: 15000 });
    const p2 = await pct();
    check('progress bar advances', p2 > p1 && p2 < 100, p1 + '% -> ' + p2 + '%');
    const width = await row.locator('.bar .fill').evaluate((e) => e.style.width);
    check('bar width follows percent', Math.abs(parseFloat(width) - p2) < 5, width);

    // the rest of the page
    const health = await page.textContent('#health');
    check('health pill', ['healthy', 'degraded', 'unhealthy'].includes(health), health);
    const broker = await page.textContent('#broker');
    check('broker line shows the topology', /· master \S+ · no TLS · replicas 0\/0 in sync/.test(broker), broker);
    check('tiles', await page.locator('#tiles .tile').count() >= 10);
    check('queue row', await page.locator('#queues tr[data-queue="browser"]').count() === 1);
    check('worker row', await page.locator('#workers tbody tr[data-worker]').count() >= 1);
    const wstate = await page.locator('#workers tbody tr[data-worker] .state').first().textContent();
    check('worker alive', wstate === 'alive', wstate);
    check('charts drawn', await page.locator('canvas#chart-throughput').count() === 1);

    await page.screenshot({ path: shot, fullPage: true });
    check('screenshot saved', true, shot);

    // cancel from the dashboard
    await row.locator('button.cancel').click();
    await page.waitForFunction(() => /cancel [0-9a-f]{8}: requested/.test(
      document.getElementById('toast').textContent), null, { timeout: 10000 });
    check('cancel requested', true);
    const auth = {};
    let state = '';
    for (let i = 0; i < 100; i++) {
      const r = await page.request.get(base + '/api/tasks/' + taskId, { headers: auth });
      state = (await r.json()).state;
      if (['REVOKED', 'FAILURE'].includes(state)) { break; }
      await new Promise((res) => setTimeout(res, 200));
    }
    check('task cancelled', state === 'REVOKED', state);
    await row.waitFor({ state: 'detached', timeout: 10000 });
    check('row left the running table', true);
    check('no page errors', errors.length === 0, errors.join('; '));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
