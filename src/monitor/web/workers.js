/* SPDX-License-Identifier: MIT
 *
 * workers.js: the workers page (every worker, from /api/workers) and one
 * worker's page (/api/workers/<name> every 2 s): host, pid, queues,
 * pool, children with their current task, RSS and CPU over time, and
 * remote control. A control POSTs /api/workers/<name>/control; the reply
 * is the command's id, and the page polls /api/control/<id> until the
 * worker acknowledges, then shows the acknowledgement.
 */
'use strict';

(function () {
  const { getJSON, post, el, fmt, fillBody, taskLink } = window.SQ;
  const boot = SQ.boot || {};
  const page = document.body.getAttribute('data-page');

  async function listPage() {
    try {
      const o = await getJSON('/api/workers');
      const rows = o.workers || [];
      const tb = fillBody('workers', rows, 9, 'no worker heard from in the last hour');
      for (const w of rows) { tb.append(SQ.workerRow(w)); }
      SQ.stamp(o.at ? Date.parse(o.at) : Date.now());
    } catch (e) { SQ.toast(e.message); }
  }

  /* ---- one worker ---- */
  const name = boot.arg || decodeURIComponent(location.pathname.split('/').pop());
  const samples = [];
  let last = null;

  function chart() {
    const c = document.getElementById('chart-rss');
    const dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth || 640, H = c.clientHeight || 160;
    if (c.width !== W * dpr) { c.width = W * dpr; c.height = H * dpr; }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    g.font = '12px system-ui';
    g.lineWidth = 2;
    if (samples.length < 2) { g.fillText('collecting samples…', 10, 20); return; }
    // RSS from 0 to 1.25 x its peak, CPU from 0 to 100 %
    const maxR = 1.25 * Math.max(...samples.map((s) => s.rss)) || 1;
    const line = (key, max, color) => {
      g.strokeStyle = color; g.beginPath();
      samples.forEach((s, i) => {
        const x = 40 + (W - 50) * i / (samples.length - 1);
        const y = H - 10 - (H - 30) * (s[key] / max);
        if (i === 0) { g.moveTo(x, y); } else { g.lineTo(x, y); }
      });
      g.stroke();
    };
    line('rss', maxR, '#3b82f6');
    line('cpu', 100, '#10b981');
    g.fillStyle = '#6b7280';
    g.fillText('RSS ' + fmt.bytes(samples[samples.length - 1].rss) + ' (blue) · CPU ' +
      samples[samples.length - 1].cpu.toFixed(0) + '% (green)', 44, 12);
  }

  function render(o) {
    last = o;
    const w = o.worker || {}, info = o.info || {};
    const st = document.getElementById('worker-state');
    st.textContent = w.state; st.className = 'state ' + w.state;
    const paused = o.paused_queues || [];
    const dl = document.getElementById('wsummary');
    dl.replaceChildren();
    const rows = [['host', info.hostname], ['pid', info.pid], ['name', w.id], ['state', info.state],
      ['queues', (w.queues || []).map((q) => q + (paused.includes(q) ? ' (paused)' : '')).join(', ')],
      ['concurrency', String(w.concurrency)], ['running', String(w.running)],
      ['heartbeat', fmt.ms(w.heartbeat_age_ms) + ' ago'], ['started', fmt.time(info.started_at)],
      ['tasks done / failed', fmt.n(info.tasks_done) + ' / ' + fmt.n(info.tasks_failed)],
      ['rate limits', Object.entries(info.rate_limits || {}).map(([k, v]) => k + ' ' + v).join(', ') || 'none'],
      ['RSS', fmt.bytes(w.rss_bytes)], ['CPU', w.cpu_percent === null || w.cpu_percent === undefined ? '-' : w.cpu_percent.toFixed(0) + '%'],
      ['version', info.version]];
    for (const [k, v] of rows) {
      if (v !== undefined && v !== null) { dl.append(el('dt', { text: k }), el('dd', { text: String(v) })); }
    }
    const kids = info.children || [];
    const tb = fillBody('children', kids, 7, 'no child process');
    for (const c of kids) {
      tb.append(el('tr', { 'data-pid': String(c.pid) }, el('td', { text: String(c.pid) }), el('td', { text: c.state }),
        el('td', null, c.task_id ? taskLink(c.task_id, c.task_name + ' ' + fmt.short(c.task_id)) : '-'),
        el('td', { text: c.started_at ? fmt.time(c.started_at) : '-' }), el('td', { text: fmt.n(c.tasks_done) }),
        el('td', { text: fmt.bytes((c.rss_kb || 0) * 1024) }), el('td', { text: (c.cpu_pct || 0).toFixed(0) + '%' })));
    }
    document.getElementById('children').setAttribute('data-count', String(kids.length));
  }

  async function workerPage() {
    try {
      const o = await getJSON('/api/workers/' + encodeURIComponent(name));
      const w = o.worker || {};
      samples.push({ rss: w.rss_bytes || 0, cpu: w.cpu_percent || 0 });
      if (samples.length > 300) { samples.shift(); }
      render(o);
      chart();
      SQ.stamp(o.at ? Date.parse(o.at) : Date.now());
    } catch (e) { document.getElementById('ack').textContent = e.message; }
  }

  async function control(cmd) {
    const out = document.getElementById('ack');
    out.textContent = cmd.command + ': sent…';
    try {
      const r = await post('/api/workers/' + encodeURIComponent(name) + '/control', cmd);
      for (let i = 0; i < 100; i++) {
        const a = await getJSON(r.ack_url);
        if (a.acked) {
          out.textContent = cmd.command + ': ' + (a.ack.ok ? 'acknowledged' : 'refused') + ' by ' + a.ack.worker +
            ' at ' + fmt.time(a.ack.at) + ': ' + a.ack.message;
          out.setAttribute('data-ok', a.ack.ok ? '1' : '0');
          setTimeout(workerPage, 300);
          return;
        }
        await new Promise((res) => setTimeout(res, 200));
      }
      out.textContent = cmd.command + ': no acknowledgement in 20 s (is the worker running?)';
    } catch (e) { out.textContent = cmd.command + ' refused: ' + e.message; }
  }

  function wire() {
    const q = () => document.getElementById('ctl-queue').value.trim();
    const on = (id, f) => document.getElementById(id).addEventListener('click', f);
    on('pool-grow', () => control({ command: 'pool_grow', n: 1 }));
    on('pool-shrink', () => control({ command: 'pool_shrink', n: 1 }));
    on('add-consumer', () => control({ command: 'add_consumer', queue: q() }));
    on('cancel-consumer', () => control({ command: 'cancel_consumer', queue: q() }));
    on('time-limit', () => {
      const cmd = { command: 'time_limit', task: document.getElementById('ctl-task').value.trim() };
      const soft = document.getElementById('ctl-soft').value.trim(), hard = document.getElementById('ctl-hard').value.trim();
      if (soft !== '') { cmd.soft_s = Number(soft); }
      if (hard !== '') { cmd.hard_s = Number(hard); }
      control(cmd);
    });
    on('rate-limit', () => control({ command: 'rate_limit', task: document.getElementById('ctl-task').value.trim(),
      rate: document.getElementById('ctl-rate').value.trim() || '0' }));
    on('shutdown', () => {
      if (document.getElementById('shutdown').dataset.armed === '1') { control({ command: 'shutdown' }); return; }
      document.getElementById('shutdown').dataset.armed = '1';
      document.getElementById('shutdown').textContent = 'click again to shut it down';
    });
  }

  if (page === 'workers') {
    SQ.onTz.push(listPage);
    listPage();
    setInterval(listPage, 2000);
  } else {
    wire();
    SQ.onTz.push(() => { if (last) { render(last); } });
    workerPage();
    setInterval(workerPage, 2000);
  }
}());
