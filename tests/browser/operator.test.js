// SPDX-License-Identifier: MIT
//
// operator.test.js: the operator's dashboard in headless Chromium
// (Debian's /usr/bin/chromium through playwright-core; nothing is
// downloaded), run by tests/integration/it_monitor_browser_ops.sh with a
// real worker and `monitor serve` holding a write token (w-tok) and a
// read token (r-tok). Checks, in a real browser:
//   - a page without a token goes to the sign-in page; a wrong token is
//     refused there; the write token signs in (HttpOnly cookie);
//   - the first response shows figures without JavaScript;
//   - the task browser finds a task by id prefix and by state;
//   - a task page: retry a failed task, resume a dead one with RESUME,
//     cancel a running one;
//   - a worker page: grow and shrink the pool, the child count follows;
//     set a task's rate limit and see the acknowledgement and the limit
//     in force; a bad rate is refused;
//   - the Catalog page shows the "catalog" summaries, one row per
//     category, with a link to the sync's task tree;
//   - the queues page: pause a queue, leasing stops; resume, it runs;
//   - a read-token session sees pages but its actions are refused;
//   - screenshots of every page at 1400x1000 (artifacts).
// Usage: node operator.test.js BASE FAILED_ID DEAD_ID RUNNING_ID WORKER ARTDIR
'use strict';

const { check, launch } = require('./lib');

const [base, failedId, deadId, runningId, worker, art] = process.argv.slice(2);
if (!art) {
  console.error('usage: node operator.test.js BASE FAILED_ID DEAD_ID RUNNING_ID WORKER ARTDIR');
  process.exit(2);
}
const W = { Authorization: 'Bearer w-tok' };

async function taskState(page, id) {
  const r = await page.request.get(base + '/api/tasks/' + id, { headers: W });
  return (await r.json()).state;
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  let v;
  while (Date.now() < end) {
    v = await fn();
    if (v) { return v; }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('timed out waiting for ' + what + ' (last: ' + v + ')');
}

// The task browser shows a search's answer: the row of `id`, and every
// row in `state`, or, with no state, that row alone. A search starts from
// the unfiltered list, which holds the row already: waiting for the row
// alone checked the old list (seen once in the merged suite at load 5).
async function searched(page, id, state) {
  await page.waitForFunction(([want, st]) => {
    const rows = [...document.querySelectorAll('#results tbody tr')];
    if (!rows.some((r) => r.dataset.id === want)) { return false; }
    if (!st) { return rows.length === 1; }
    return rows.every((r) => {
      const c = r.querySelector('.state');
      return c !== null && c.textContent === st;
    });
  }, [id, state], { timeout: 10000 });
}

async function shot(page, name) {
  await page.screenshot({ path: art + '/dashboard-' + name + '.png' });
  console.log('ok - screenshot ' + name);
}

// The page's last requests, printed when a step fails: a navigation that
// never ends (seen once in a 5x repeat at load 14, waiting for /tasks after
// the sign-in) then says which request was sent, answered or lost.
const netlog = [];
function watch(page) {
  const t0 = Date.now();
  const note = (s) => { netlog.push('+' + (Date.now() - t0) + ' ms ' + s); if (netlog.length > 40) netlog.shift(); };
  page.on('request', (r) => note('request ' + r.method() + ' ' + r.url()));
  page.on('response', (r) => note('response ' + r.status() + ' ' + r.url()));
  page.on('requestfailed', (r) => note('failed ' + r.url() + ' ' + (r.failure() || {}).errorText));
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) note('navigated ' + f.url()); });
  page.on('load', () => note('load ' + page.url()));
}

(async () => {
  const browser = await launch();
  const errors = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    watch(page);

    // --- sign-in
    await page.goto(base + '/tasks');
    check('sent to the sign-in page', page.url().startsWith(base + '/login?next=/tasks'), page.url());
    await page.fill('#token', 'nope');
    await page.click('#signin-submit');
    check('wrong token refused', (await page.textContent('#message')).includes('not valid'));
    await shot(page, 'login');
    await page.fill('#token', 'w-tok');
    await page.click('#signin-submit');
    // the task browser writes its search into the address (tasks.js):
    // the page is /tasks whatever its query
    await page.waitForURL((u) => u.origin === base && u.pathname === '/tasks');
    const cookies = await ctx.cookies();
    const sess = cookies.find((c) => c.name === 'syncq_session');
    check('session cookie HttpOnly, SameSite=Strict, expiring',
      sess && sess.httpOnly && sess.sameSite === 'Strict' && sess.expires > Date.now() / 1000, JSON.stringify(sess));
    const anon = await browser.newContext();
    const r401 = await anon.request.get(base + '/api/overview');
    check('API refused without the token', r401.status() === 401, r401.status());
    const rPost = await anon.request.post(base + '/api/tasks/' + failedId + '/retry', { headers: { 'X-Syncq-Request': '1' } });
    check('action refused without the token', rPost.status() === 401, rPost.status());
    await anon.close();

    // --- task browser: by id prefix, by state
    await page.fill('input[name=id]', failedId.slice(0, 8));
    await page.click('#search');
    await searched(page, failedId, null);
    check('found by id prefix', await page.locator('#results tbody tr').count() === 1);
    await page.fill('input[name=id]', '');
    await page.selectOption('select[name=state]', 'DEAD');
    await page.click('#search');
    await searched(page, deadId, 'DEAD');
    check('found by state DEAD', await page.locator('#results tr[data-id="' + deadId + '"] .state').textContent() === 'DEAD');
    check('count shown', /1 match/.test(await page.textContent('#count')), await page.textContent('#count'));
    await page.click('#bulk-go');
    await page.waitForFunction(() => /This will retry 1 task\./.test(document.getElementById('confirm').textContent));
    check('bulk confirmation states the count', true);
    await page.click('#confirm-no');
    await page.selectOption('select[name=state]', 'FAILURE');
    await page.click('#search');
    await searched(page, failedId, 'FAILURE');
    check('found by state FAILURE', true);
    await shot(page, 'tasks');

    // --- task page: retry a failed task
    await page.click('#results tr[data-id="' + failedId + '"] a.id');
    await page.waitForURL(base + '/task/' + failedId);
    await page.waitForFunction(() => document.getElementById('task-state').textContent === 'FAILURE');
    check('error with its class', (await page.textContent('#error')).includes('validation: bad sku 42'));
    check('kwargs formatted', (await page.textContent('#kwargs')).includes('"class": "validation"'));
    check('attempts listed', await page.locator('#attempts tbody tr').count() >= 1);
    await shot(page, 'task');
    await page.click('#do-retry');
    await page.waitForFunction(() => /queued again \(was FAILURE/.test(document.getElementById('action-result').textContent));
    check('retried from its page', true);

    // --- resume a dead one with RESUME
    await page.goto(base + '/task/' + deadId);
    await page.waitForFunction(() => document.getElementById('task-state').textContent === 'DEAD');
    check('checkpoints shown', await page.locator('#checkpoints tbody tr').count() >= 1);
    await page.selectOption('#strategy', 'resume');
    await page.click('#do-resume');
    await page.waitForFunction(() => /was DEAD, strategy resume/.test(document.getElementById('action-result').textContent));
    const ds = await waitFor(async () => { const s = await taskState(page, deadId); return s !== 'DEAD' && s; }, 10000, 'dead task resumed');
    check('dead task resumed with RESUME', ds !== 'DEAD', ds);

    // --- cancel a running one
    await page.goto(base + '/task/' + runningId);
    await page.locator('#do-cancel').waitFor();
    check('progress with rate and ETA', /rate .*ETA/.test(await page.textContent('#progress')), await page.textContent('#progress'));
    await page.click('#do-cancel');
    await page.waitForFunction(() => /cancel: requested/.test(document.getElementById('action-result').textContent));
    const rs = await waitFor(async () => { const s = await taskState(page, runningId); return s === 'REVOKED' && s; }, 15000, 'REVOKED');
    check('running task cancelled', rs === 'REVOKED', rs);
    // the resumed steps task holds a child; let it go to free the pool
    await page.request.post(base + '/api/tasks/' + deadId + '/cancel', { headers: W });

    // --- worker page: shrink and grow the pool
    await page.goto(base + '/worker/' + encodeURIComponent(worker));
    const kids = async () => parseInt(await page.getAttribute('#children', 'data-count') || '-1', 10);
    await waitFor(async () => (await kids()) === 2, 10000, '2 children');
    check('worker page shows 2 children', true);
    await page.click('#pool-grow');
    await page.waitForFunction(() => /acknowledged by .*pool grows to 3/.test(document.getElementById('ack').textContent), null, { timeout: 10000 });
    check('grow acknowledged', true, await page.textContent('#ack'));
    await waitFor(async () => (await kids()) === 3, 15000, '3 children');
    check('child count grew to 3', true);
    await shot(page, 'worker');
    await page.click('#pool-shrink');
    await page.waitForFunction(() => /pool shrinks to 2/.test(document.getElementById('ack').textContent), null, { timeout: 10000 });
    await waitFor(async () => (await kids()) === 2, 15000, '2 children again');
    check('child count shrank to 2', true);
    // a task's rate limit, changed at run time and acknowledged
    await page.fill('#ctl-task', 'syncq.noop');
    await page.fill('#ctl-rate', '5/s');
    await page.click('#rate-limit');
    await page.waitForFunction(() => /rate_limit: acknowledged by .*syncq\.noop: rate limit 5\/s/.test(document.getElementById('ack').textContent), null, { timeout: 10000 });
    check('rate limit acknowledged', true, await page.textContent('#ack'));
    await page.waitForFunction(() => /syncq\.noop 5\/s/.test(document.getElementById('wsummary').textContent), null, { timeout: 10000 });
    check('worker page shows the rate limit in force', true);
    await shot(page, 'worker-ratelimit');
    await page.fill('#ctl-rate', '5/fortnight');
    await page.click('#rate-limit');
    await page.waitForFunction(() => /rate_limit refused: .*fortnight/.test(document.getElementById('ack').textContent), null, { timeout: 10000 });
    check('a bad rate is refused', true, await page.textContent('#ack'));
    await page.fill('#ctl-rate', '0');
    await page.click('#rate-limit');
    await page.waitForFunction(() => /syncq\.noop: no rate limit/.test(document.getElementById('ack').textContent), null, { timeout: 10000 });
    check('rate limit removed', true);

    // --- the Catalog page: summaries a pack published (one per category)
    await page.goto(base + '/catalog');
    const row = page.locator('#summaries tr[data-key="1031910"]');
    await row.waitFor({ timeout: 10000 });
    check('catalog: a row per category', await page.locator('#summaries tbody tr[data-key]').count() === 2);
    const cells = await row.locator('td').allTextContents();
    // key, category_id, name, offers, duplicates merged, offers synced at, images stored, images broken, ...
    check('catalog: the figures', cells[2] === '女装' && cells[3] === '17' && cells[4] === '1' &&
      cells[6] === '85' && cells[7] === '2', cells.join(' | '));
    check('catalog: columns', (await page.textContent('#summaries thead')).includes('images broken'));
    await shot(page, 'catalog');
    await row.locator('a[href="/task/' + failedId + '"]').first().click();
    await page.waitForURL(base + '/task/' + failedId);
    check('catalog: the task tree link opens the task page', true);

    // --- queues page: pause stops leasing, resume lets it run
    await page.goto(base + '/queues');
    const btn = page.locator('button[data-queue="ops"]');
    await btn.waitFor();
    await btn.click();
    await page.locator('#queues tr[data-queue="ops"][data-paused="1"]').waitFor({ timeout: 10000 });
    check('queue shown paused', true);
    await new Promise((res) => setTimeout(res, 1500)); // workers read the paused set once a second
    const cr = await page.request.post(base + '/api/tasks', { headers: W, data: { name: 'syncq.noop', queue: 'ops' } });
    const nid = (await cr.json()).id;
    await new Promise((res) => setTimeout(res, 2500));
    check('paused queue: not leased', (await taskState(page, nid)) === 'PENDING');
    await shot(page, 'queues');
    await page.locator('button[data-queue="ops"]').click();
    await page.locator('#queues tr[data-queue="ops"][data-paused="0"]').waitFor({ timeout: 10000 });
    const ns = await waitFor(async () => { const s = await taskState(page, nid); return s === 'SUCCESS' && s; }, 15000, 'SUCCESS after resume');
    check('resumed queue: leased and run', ns === 'SUCCESS');

    // --- the dashboard, and its first paint without JavaScript
    await page.goto(base + '/');
    await page.locator('#workers tbody tr[data-worker]').first().waitFor();
    const perf = await page.evaluate(() => {
      const p = performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource').filter((r) => r.name.includes('/static/'));
      return { fcp: p ? Math.round(p.startTime) : null, html: nav.encodedBodySize,
        response: Math.round(nav.responseEnd), dcl: Math.round(nav.domContentLoadedEventEnd),
        assets: res.reduce((a, r) => a + (r.encodedBodySize || 0), 0) };
    });
    // headless Chromium may not report paint entries: the figures are on
    // screen once the HTML is parsed (server-rendered), so DOMContentLoaded
    // bounds the first paint with data
    console.log('figure: HTML received ' + perf.response + ' ms, DOMContentLoaded ' + perf.dcl +
      ' ms, first-contentful-paint ' + perf.fcp + ' ms; page ' + perf.html + ' B + assets ' +
      perf.assets + ' B (uncompressed)');
    await page.click('#localtime');
    check('local time switch shows an offset', /[+-]\d\d:\d\d/.test(await page.textContent('#updated')));
    await page.click('#localtime');
    check('UTC by default', /\+00:00/.test(await page.textContent('#updated')), await page.textContent('#updated'));
    await shot(page, 'overview');
    await page.goto(base + '/workers');
    await shot(page, 'workers');
    const nojs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1400, height: 1000 } });
    const np = await nojs.newPage();
    await np.goto(base + '/?token=r-tok');
    const ready = await np.textContent('#tiles');
    check('first paint without JavaScript shows figures', /ready/.test(ready) && !/loading/.test(await np.content()), ready.slice(0, 80));
    check('first paint lists the worker', await np.locator('#workers tr[data-worker="' + worker + '"]').count() === 1);
    await np.screenshot({ path: art + '/dashboard-nojs.png' });

    // --- a read-only session: pages yes, actions no
    const ro = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const rp = await ro.newPage();
    await rp.goto(base + '/login?next=/task/' + failedId);
    await rp.fill('#token', 'r-tok');
    await rp.click('#signin-submit');
    await rp.waitForURL(base + '/task/' + failedId);
    await rp.waitForFunction(() => /read-only/.test(document.getElementById('actions').textContent));
    const rr = await rp.evaluate(async (id) => (await fetch('/api/tasks/' + id + '/retry',
      { method: 'POST', headers: { 'X-Syncq-Request': '1' } })).status, failedId);
    check('read-only session refused an action', rr === 403, rr);
    await ro.close();
    await nojs.close();
    check('no page errors', errors.length === 0, errors.join('; '));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  console.error('--- the page\'s last requests\n' + netlog.join('\n'));
  process.exit(1);
});
