/* SPDX-License-Identifier: MIT
 *
 * app.js: the syncq monitor dashboard (helpers in common.js). Draws the
 * snapshot the server embedded in the page at once, then polls
 * /api/overview every second (the server caches figures for 1 s, so any
 * number of open dashboards cost Redis one collection a second),
 * failed/dead-letter tasks every 5 s and schedules every 10 s, and
 * redraws without a page reload. Everything is built with DOM calls and
 * textContent (no HTML from data). Actions (cancel, retry) go through
 * common.js's post (X-Syncq-Request header).
 */
'use strict';

(function () {
  const { getJSON, post, el, toast, fmt, fillBody, bar, taskLink } = window.SQ;
  const state = { last: null, failedAt: 0, schedAt: 0, busy: false };

  function tile(label, value, cls) {
    return el('div', { class: 'tile' + (cls ? ' ' + cls : '') },
      el('div', { class: 'v', text: value }), el('div', { class: 'l', text: label }));
  }

  function renderTiles(o) {
    const s = o.system || {}, t = o.totals || {}, tp = s.throughput || {};
    const er = s.error_rate;
    const box = document.getElementById('tiles');
    box.replaceChildren(
      tile('success rate (5 min)', fmt.pct(s.success_rate)),
      tile('error rate (5 min)', fmt.pct(er), er > 0.1 ? 'bad' : (er > 0.02 ? 'warn' : '')),
      tile('throughput 1 min', fmt.rate(tp['1m'])),
      tile('throughput 5 min', fmt.rate(tp['5m'])),
      tile('throughput 1 h', fmt.rate(tp['1h'])),
      tile('runtime mean / p95', fmt.ms(s.runtime_mean_ms_lifetime) + ' / ' + fmt.ms(s.runtime_p95_ms)),
      tile('mean wait (1 h)', fmt.ms(s.wait_mean_ms)),
      tile('ready', fmt.n(t.ready)),
      tile('delayed', fmt.n(t.delayed)),
      tile('running', fmt.n(t.running)),
      tile('dead-letter', fmt.n(t.dead), t.dead > 0 ? 'bad' : ''),
      tile('workers alive', fmt.n(t.workers_alive), t.workers_alive === 0 ? 'warn' : ''),
    );
  }

  // " · master h:p · TLSv1.3 · replicas 1/1 in sync (lag 0 s) · 1 failover"
  // (a cluster: " · master h:p (cluster slot 865, 3 master(s)) · ...")
  function topologyText(t) {
    if (!t) return '';
    let s = ' · master ' + t.master + (t.sentinel_master ? ' (sentinel ' + t.sentinel_master + ')' : '');
    const c = t.cluster;
    if (c) {
      s += ' (cluster slot ' + c.slot + ', ' + c.masters + ' master(s)' +
        (c.slot_moves ? ', ' + c.slot_moves + ' slot move(s)' : '') + ')';
    }
    s += ' · ' + (t.transport === 'tls' ? t.tls + (t.tls_verify ? ' verified' : ' NOT verified') : 'no TLS');
    if (t.replicas) {
      const ok = t.replicas.filter((r) => r.state === 'online' && r.lag_s >= 0 && r.lag_s <= 10);
      const lags = t.replicas.map((r) => r.lag_s).filter((x) => x >= 0);
      s += ' · replicas ' + ok.length + '/' + t.replicas.length + ' in sync' +
        (lags.length ? ' (max lag ' + Math.max(...lags) + ' s)' : '') +
        (t.min_replicas ? ', ' + t.min_replicas + ' required' : '');
    }
    if (t.failovers) s += ' · ' + t.failovers + ' failover(s) seen';
    return s;
  }

  function renderHealth(o) {
    const h = o.health || {};
    const pill = document.getElementById('health');
    pill.textContent = h.status || 'unknown';
    pill.className = 'pill ' + (h.status || '');
    const r = document.getElementById('reasons');
    const reasons = (h.reasons || []).map((x) => x.message);
    r.textContent = reasons.join(' · ');
    r.className = 'reasons' + (reasons.length ? ' show' : '');
    const b = o.broker || {};
    document.getElementById('broker').textContent =
      b.url ? b.url + ' · Redis ' + (b.redis_version || '?') + ' · namespace ' + (b.namespace || '?') +
        topologyText(b.topology) : '';
    SQ.stamp(o.at ? Date.parse(o.at) : Date.now());
    document.getElementById('version').textContent = o.version || '';
  }

  function renderRunning(o) {
    const rows = o.running || [];
    const tb = fillBody('running', rows, 9, 'no running task');
    for (const t of rows) {
      const p = t.progress || null;
      const label = p ? ((p.percent === null ? '' : p.percent.toFixed(0) + '% ') +
        p.current + '/' + p.total + (p.message ? ' · ' + p.message : '')) : (t.state || '');
      const cancel = el('button', {
        class: 'cancel', 'data-id': t.id,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const r = await post('/api/tasks/' + encodeURIComponent(t.id) + '/cancel');
            toast('cancel ' + fmt.short(t.id) + ': ' + r.outcome);
          } catch (e) { toast('cancel failed: ' + e.message); ev.target.disabled = false; }
        },
      }, t.revoke_requested ? 'cancelling' : 'cancel');
      if (t.revoke_requested) { cancel.disabled = true; }
      tb.appendChild(el('tr', { 'data-id': t.id, class: 'task-row' },
        el('td', { text: t.name || '?' }),
        el('td', null, taskLink(t.id)),
        el('td', { text: t.queue || '' }),
        el('td', { text: t.worker || '' }),
        el('td', null, bar(p ? p.percent : null, false, label)),
        el('td', { text: p && p.rate ? Number(p.rate).toFixed(1) + '/s' : '-' }),
        el('td', { text: p ? fmt.dur(p.eta_s) : '-' }),
        el('td', { text: fmt.ms(t.runtime_ms) }),
        el('td', null, cancel)));
    }
  }

  function renderQueues(o) {
    const rows = o.queues || [];
    const tb = fillBody('queues', rows, 11, 'no queue yet');
    for (const q of rows) {
      const bp = Object.entries(q.by_priority || {}).sort((a, b) => b[0] - a[0])
        .map(([p, n]) => 'P' + p + ': ' + n).join('  ');
      const life = q.lifetime || {};
      tb.appendChild(el('tr', { 'data-queue': q.name },
        el('td', { text: q.name }), el('td', { class: 'ready', text: fmt.n(q.ready) }),
        el('td', { text: bp || '-' }), el('td', { text: fmt.n(q.delayed) }),
        el('td', { text: fmt.n(q.running) }), el('td', { text: fmt.n(q.dead_letter) }),
        el('td', { text: fmt.rate(q.throughput_5m) }),
        el('td', { text: fmt.pct(q.error_rate_5m) }), el('td', { text: fmt.ms(q.wait_mean_ms) }),
        el('td', { text: fmt.n(life.succeeded) }), el('td', { text: fmt.n(life.failed) })));
    }
  }

  function renderWorkers(o) {
    const rows = o.workers || [];
    const tb = fillBody('workers', rows, 9, 'no worker heard from in the last hour');
    for (const w of rows) { tb.appendChild(SQ.workerRow(w)); }
  }

  function renderBatches(o) {
    const rows = o.batches || [];
    const tb = fillBody('batches', rows, 9, 'no batch');
    for (const b of rows) {
      tb.appendChild(el('tr', { 'data-batch': b.id },
        el('td', { title: b.id, text: fmt.short(b.id) }), el('td', { text: b.task || '' }),
        el('td', null, bar(b.percent, b.failed > 0, (b.percent === null ? '' : b.percent.toFixed(0) + '%') +
          (b.finished ? ' finished' : ''))),
        el('td', { text: fmt.n(b.total) }), el('td', { text: fmt.n(b.done) }),
        el('td', { text: fmt.n(b.failed) }), el('td', { text: b.rate ? b.rate.toFixed(2) + '/s' : '-' }),
        el('td', { text: fmt.dur(b.eta_s) }), el('td', { text: fmt.time(b.created_at) })));
    }
  }

  function renderTaskTypes(o) {
    const rows = (o.tasks || []).slice().sort((a, b) =>
      ((b.lifetime || {}).succeeded + (b.lifetime || {}).failed) -
      ((a.lifetime || {}).succeeded + (a.lifetime || {}).failed));
    const tb = fillBody('tasktypes', rows, 8, 'no task run yet');
    for (const t of rows.slice(0, 50)) {
      const l = t.lifetime || {};
      tb.appendChild(el('tr', null, el('td', { text: t.name }), el('td', { text: t.queue }),
        el('td', { text: fmt.n(l.succeeded) }), el('td', { text: fmt.n(l.failed) }),
        el('td', { text: fmt.pct(t.success_rate) }), el('td', { text: fmt.ms(t.runtime_mean_ms) }),
        el('td', { text: fmt.ms(t.runtime_p95_ms) }), el('td', { text: fmt.rate(t.throughput_5m) })));
    }
  }

  function renderAlerts(o) {
    const all = ((o.alerts || {}).alerts || []);
    const active = all.filter((a) => a.state === 'firing' || a.state === 'pending');
    const recent = ((o.alerts || {}).recent || []).slice(0, 5).map((a) => Object.assign({ recent: true }, a));
    const rows = active.concat(recent);
    const tb = fillBody('alerts', rows, 7, 'no active alert (' + all.length + ' rules)');
    for (const a of rows) {
      tb.appendChild(el('tr', { class: a.recent ? 'recent' : 'active' },
        el('td', { text: (a.recent ? 'event: ' : '') + a.name }),
        el('td', null, el('span', { class: 'state ' + a.state, text: a.state })),
        el('td', { text: a.severity }), el('td', { text: a.value === null ? '-' : String(+Number(a.value).toFixed(4)) }),
        el('td', { text: a.op + ' ' + a.threshold }),
        el('td', { text: fmt.time(a.recent ? a.at : (a.state === 'firing' ? a.fired_at : a.since)) }),
        el('td', { class: 'msg', text: a.summary || '' })));
    }
  }

  /* ---- charts (canvas, drawn by hand) ---- */
  function chart(id, seriesList, xs) {
    const c = document.getElementById(id);
    const dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth || 640, H = c.clientHeight || 200;
    if (c.width !== W * dpr) { c.width = W * dpr; c.height = H * dpr; }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const L = 44, R = 8, T = 8, B = 22;
    let max = 1;
    for (const s of seriesList) { for (const v of s.values) { if (v > max) { max = v; } } }
    const nice = Math.pow(10, Math.floor(Math.log10(max)));
    max = Math.ceil(max / nice) * nice;
    g.strokeStyle = '#e4e7ec'; g.fillStyle = '#6b7280'; g.font = '11px system-ui'; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = T + (H - T - B) * i / 4;
      g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
      const v = max * (4 - i) / 4;
      g.fillText(v >= 100 ? String(Math.round(v)) : String(+v.toFixed(2)), 4, y + 4);
    }
    const n = xs.length;
    if (n > 1) {
      for (const frac of [0, 0.5, 1]) {
        const i = Math.min(n - 1, Math.round(frac * (n - 1)));
        const x = L + (W - L - R) * i / (n - 1);
        g.fillText(fmt.clock(xs[i]),
          Math.min(x - 14, W - 60), H - 6);
      }
    }
    for (const s of seriesList) {
      if (n < 2) { break; }
      g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
      s.values.forEach((v, i) => {
        const x = L + (W - L - R) * i / (n - 1);
        const y = T + (H - T - B) * (1 - v / max);
        if (i === 0) { g.moveTo(x, y); } else { g.lineTo(x, y); }
      });
      g.stroke();
    }
    if (n < 2) { g.fillText('collecting samples…', L + 10, T + 20); }
  }

  function renderCharts(o) {
    const css = getComputedStyle(document.documentElement);
    const col = (v) => css.getPropertyValue(v).trim();
    const series = o.series || [];
    chart('chart-throughput', [
      { color: col('--ok'), values: series.map((m) => m.succeeded) },
      { color: col('--bad'), values: series.map((m) => m.failed) },
    ], series.map((m) => m.t));
    const h = o.history || [];
    chart('chart-depth', [
      { color: col('--ready'), values: h.map((s) => s.ready) },
      { color: col('--delayed'), values: h.map((s) => s.delayed) },
      { color: col('--running'), values: h.map((s) => s.running) },
    ], h.map((s) => s.t));
  }

  async function refreshFailed() {
    const [f, d] = await Promise.all([
      getJSON('/api/tasks?state=FAILURE&limit=25&total=0'), getJSON('/api/tasks?state=DEAD&limit=25&total=0')]);
    const rows = (f.tasks || []).concat(d.tasks || []);
    const tb = fillBody('failed', rows, 8, 'no failed or dead-letter task');
    for (const t of rows) {
      const err = t.error ? (t.error.class + ': ' + t.error.message) : (t.dead_reason || '');
      const retry = el('button', {
        class: 'retry', 'data-id': t.id,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const r = await post('/api/tasks/' + encodeURIComponent(t.id) + '/retry');
            toast('retry ' + fmt.short(t.id) + ': queued again (was ' + r.prev_state + ')');
            state.failedAt = 0;
          } catch (e) { toast('retry failed: ' + e.message); ev.target.disabled = false; }
        },
      }, 'retry');
      tb.appendChild(el('tr', { 'data-id': t.id },
        el('td', { text: t.name || '?' }), el('td', null, taskLink(t.id)),
        el('td', { text: t.queue || '' }),
        el('td', null, el('span', {
          class: 'state ' + t.state,
          // a failure its retry policy dead-lettered: FAILURE, in the DLQ
          text: t.state + (t.dead_at && t.state !== 'DEAD' ? ' (dead-letter)' : ''),
        })),
        el('td', { class: 'msg', text: err }), el('td', { text: String(t.attempt || 0) }),
        el('td', { text: fmt.time(t.dead_at || t.done_at) }), el('td', null, retry)));
    }
  }

  async function refreshSchedules() {
    const s = await getJSON('/api/schedules');
    const rows = s.schedules || [];
    const tb = fillBody('schedules', rows, 6, 'no schedule');
    for (const x of rows) {
      const when = x.cron ? 'cron ' + x.cron + (x.timezone ? ' (' + x.timezone + ')' : '') :
        (x.interval_s ? 'every ' + fmt.dur(x.interval_s) : (x.at ? 'at ' + x.at : '-'));
      tb.appendChild(el('tr', { 'data-schedule': x.name }, el('td', { text: x.name || '?' }),
        el('td', { text: x.task || '' }), el('td', { text: String(when) }),
        el('td', { text: fmt.time(x.next_run) }),
        el('td', { text: fmt.time(x.last_run) }),
        el('td', { text: (x.enabled === false ? 'no' : 'yes') + (x.state ? ' · ' + x.state : '') })));
    }
  }

  async function tick() {
    if (document.getElementById('paused').checked || state.busy) { return; }
    state.busy = true;
    try {
      const o = await getJSON('/api/overview');
      draw(o);
      const now = Date.now();
      if (o.system && now - state.failedAt > 5000) { state.failedAt = now; await refreshFailed(); }
      if (o.system && now - state.schedAt > 10000) { state.schedAt = now; await refreshSchedules(); }
    } catch (e) {
      document.getElementById('updated').textContent = 'error: ' + e.message;
    } finally {
      state.busy = false;
    }
  }

  function draw(o) {
    state.last = o;
    renderHealth(o);
    if (o.system) {
      renderTiles(o); renderRunning(o); renderQueues(o); renderWorkers(o);
      renderBatches(o); renderTaskTypes(o); renderCharts(o);
    }
    renderAlerts(o);
  }

  // the first paint came from the server; draw its snapshot at once
  const boot = SQ.boot;
  if (boot && boot.snapshot) {
    draw(Object.assign({ health: boot.health, version: boot.version }, boot.snapshot));
  }
  SQ.onTz.push(() => { if (state.last) { draw(state.last); } state.failedAt = 0; state.schedAt = 0; });
  tick();
  setInterval(tick, 1000);
  window.addEventListener('resize', () => { if (state.last && state.last.system) { renderCharts(state.last); } });
}());
