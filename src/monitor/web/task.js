/* SPDX-License-Identifier: MIT
 *
 * task.js: one task's page, for people: the record (from the page's boot
 * snapshot first, then GET /api/tasks/<id> every 2 s until it ends),
 * kwargs/args/result as formatted JSON, the error and each attempt's
 * error with its class and time, progress with rate and ETA,
 * checkpoints, the events timeline, parent/children/batch/root links,
 * and the actions its state allows (cancel; retry; resume with a
 * strategy).
 */
'use strict';

(function () {
  const { getJSON, post, el, fmt, fillBody, taskLink } = window.SQ;
  const boot = SQ.boot || {};
  const id = boot.arg || decodeURIComponent(location.pathname.split('/').pop());
  const FINAL = ['SUCCESS', 'FAILURE', 'REVOKED', 'EXPIRED', 'SKIPPED', 'DEAD'];
  let task = boot.task || null, events = [], children = [], checkpoints = [], tree = null;

  function kv(dl, rows) {
    dl.replaceChildren();
    for (const [k, v] of rows) {
      if (v === undefined || v === null || v === '') { continue; }
      dl.append(el('dt', { text: k }), el('dd', null, typeof v === 'string' ? v : v));
    }
  }

  function pretty(v) { return v === undefined ? '-' : JSON.stringify(v, null, 2); }

  function act(path, body) {
    return async (ev) => {
      ev.target.disabled = true;
      const out = document.getElementById('action-result');
      try {
        const r = await post('/api/tasks/' + encodeURIComponent(id) + '/' + path, body);
        out.textContent = path + ': ' + (r.outcome || ('queued again (was ' + r.prev_state + ', strategy ' + r.strategy + ')'));
        setTimeout(refresh, 300);
      } catch (e) { out.textContent = path + ' refused: ' + e.message; ev.target.disabled = false; }
    };
  }

  function renderActions(t) {
    const box = document.getElementById('actions');
    box.replaceChildren();
    if (!boot.can_write) { box.append(el('span', { class: 'muted', text: 'read-only: sign in with SYNCQ_API_TOKEN to act' })); return; }
    if (!FINAL.includes(t.state)) {
      box.append(el('button', { class: 'cancel', id: 'do-cancel', onclick: act('cancel') }, t.revoke_requested ? 'cancelling' : 'cancel'));
    }
    if (['FAILURE', 'REVOKED', 'EXPIRED', 'DEAD'].includes(t.state)) {
      const sel = el('select', { id: 'strategy' }, ...['auto', 'retry', 'resume', 'restart', 'skip', 'manual'].map((s) => el('option', null, s)));
      box.append(el('button', { class: 'retry', id: 'do-retry', onclick: act('retry') }, 'retry'), sel,
        el('button', { id: 'do-resume', onclick: (ev) => act('resume', { strategy: sel.value })(ev) }, 'resume'));
    }
  }

  function renderProgress(t) {
    const box = document.getElementById('progress');
    const p = t.progress;
    if (!p || !p.total) { box.textContent = p && p.message ? p.message : 'no progress reported'; return; }
    const pct = 100 * p.current / p.total;
    const rate = p.rate || null;
    const eta = rate ? (p.total - p.current) / rate : null;
    box.replaceChildren(SQ.bar(pct, t.state === 'FAILURE', pct.toFixed(0) + '% ' + p.current + '/' + p.total + (p.message ? ' · ' + p.message : '')),
      el('p', { class: 'muted', text: 'rate ' + (rate ? Number(rate).toFixed(2) + '/s' : '-') + ' · ETA ' + (FINAL.includes(t.state) ? '-' : fmt.dur(eta)) }));
  }

  function renderError(t) {
    const box = document.getElementById('error');
    box.textContent = t.error ? t.error.class + ': ' + t.error.message : (t.dead_reason ? 'dead: ' + t.dead_reason : 'no error');
    box.className = t.error || t.dead_reason ? 'error' : 'muted';
    const rows = Array.isArray(t.errors) ? t.errors : [];
    const tb = fillBody('attempts', rows, 4, 'no failed attempt');
    rows.forEach((e, i) => tb.append(el('tr', null, el('td', { text: String(e.attempt || i + 1) }),
      el('td', { text: e.class || e.cls || '-' }), el('td', { class: 'msg', text: e.message || e.msg || '' }),
      el('td', { text: fmt.time(e.at || e.t) }))));
  }

  function render() {
    const t = task;
    if (!t) { return; }
    document.getElementById('ssr-card').hidden = true;
    const st = document.getElementById('task-state');
    st.textContent = t.state; st.className = 'state ' + t.state;
    kv(document.getElementById('summary'), [
      ['name', t.name], ['id', t.id], ['state', t.state], ['queue', t.queue], ['priority', String(t.priority ?? '')],
      ['worker', t.worker ? el('a', { href: '/worker/' + encodeURIComponent(t.worker), text: t.worker }) : ''],
      ['ran by', t.ran_by && t.ran_by !== t.worker ? el('a', { href: '/worker/' + encodeURIComponent(t.ran_by), text: t.ran_by }) : ''],
      ['created', fmt.time(t.created_at)], ['eta', t.eta ? fmt.time(t.eta) : ''], ['started', t.started_at ? fmt.time(t.started_at) : ''],
      ['finished', t.done_at ? fmt.time(t.done_at) : ''], ['runtime', t.runtime_ms ? fmt.ms(t.runtime_ms) : ''],
      ['attempt', String(t.attempt) + (t.max_retries !== undefined ? ' (max retries ' + t.max_retries + ')' : '')],
      ['time limits', (t.soft_time_limit_ms ? fmt.ms(t.soft_time_limit_ms) : '-') + ' soft / ' + (t.time_limit_ms ? fmt.ms(t.time_limit_ms) : '-') + ' hard'],
      ['result expires', t.result_expires_at ? fmt.time(t.result_expires_at) : ''],
      ['revoked by', t.revoked_by], ['resumed by', t.resumed_by ? t.resumed_by + ' (' + t.resume_strategy + ')' : ''],
    ]);
    renderActions(t);
    renderProgress(t);
    renderError(t);
    document.getElementById('kwargs').textContent = 'kwargs ' + pretty(t.kwargs) + '\nargs ' + pretty(t.args);
    document.getElementById('result').textContent = t.result !== undefined ? pretty(t.result) : (t.result_raw || '-');
    const cps = checkpoints;
    const ct = fillBody('checkpoints', cps, 4, 'no checkpoint');
    for (const c of cps) {
      ct.append(el('tr', null, el('td', { text: String(c.seq) }), el('td', { text: fmt.n(c.size) + ' B' }),
        el('td', { text: fmt.time(c.at) }), el('td', { text: c.ok ? 'ok ' + String(c.sha256 || '').slice(0, 12) : 'BAD: ' + (c.problem || 'checksum') })));
    }
    kv(document.getElementById('related'), [
      ['parent', t.parent_id ? taskLink(t.parent_id, t.parent_id) : ''],
      ['root', t.root_id ? taskLink(t.root_id, t.root_id) : ''],
      ['tree progress', tree && tree.total ? SQ.bar(100 * (tree.done + tree.failed) / tree.total, tree.failed > 0,
        (tree.done + tree.failed) + '/' + tree.total + ' ended · ' + tree.failed + ' failed · ' + tree.pending + ' pending') : ''],
      ['batch', t.batch_id ? el('a', { href: '/tasks?batch=' + encodeURIComponent(t.batch_id), text: t.batch_id }) : ''],
    ]);
    const ch = fillBody('children', children, 3, 'no child task found');
    for (const c of children) {
      ch.append(el('tr', null, el('td', null, taskLink(c.id)), el('td', { text: c.name || '?' }),
        el('td', null, el('span', { class: 'state ' + c.state, text: c.state }))));
    }
    const et = fillBody('events', events, 3, 'no event of this task in the stream');
    for (const e of events) {
      const rest = Object.entries(e).filter(([k]) => k !== 'at' && k !== 'event').map(([k, v]) => k + '=' + v).join(' ');
      et.append(el('tr', null, el('td', { text: fmt.time(e.at) }), el('td', { text: e.event }), el('td', { class: 'msg', text: rest })));
    }
  }

  async function refresh() {
    try {
      const [t, ev, cp, kids] = await Promise.all([
        getJSON('/api/tasks/' + encodeURIComponent(id)),
        getJSON('/api/tasks/' + encodeURIComponent(id) + '/events'),
        getJSON('/api/tasks/' + encodeURIComponent(id) + '/checkpoints', [404]),
        getJSON('/api/tasks?parent=' + encodeURIComponent(id) + '&limit=100'),
      ]);
      task = t; events = ev.events || []; checkpoints = cp.checkpoints || []; children = kids.tasks || [];
      // the tree this task belongs to (or roots): GET /api/workflows/<root>
      tree = await getJSON('/api/workflows/' + encodeURIComponent(t.root_id || id)).catch(() => null);
      SQ.stamp(Date.now());
      render();
    } catch (e) {
      document.getElementById('action-result').textContent = e.message;
    }
    if (!task || !FINAL.includes(task.state)) { setTimeout(refresh, 2000); }
  }

  SQ.onTz.push(render);
  render();
  refresh();
}());
