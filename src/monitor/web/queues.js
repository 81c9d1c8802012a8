/* SPDX-License-Identifier: MIT
 *
 * queues.js: the queues page: depth by priority, speed, errors, and the
 * per-queue pause: POST /api/queues/<name>/pause (or /resume). A paused
 * queue keeps its tasks and takes new ones; workers leave it out of
 * their lease calls within a second (docs/dashboard.md).
 */
'use strict';

(function () {
  const { getJSON, post, el, fmt, fillBody } = window.SQ;
  let last = null;

  function render(o) {
    last = o;
    const rows = o.queues || [];
    const paused = o.paused || [];
    const tb = fillBody('queues', rows, 13, 'no queue yet');
    for (const q of rows) {
      const isP = paused.includes(q.name);
      const bp = Object.entries(q.by_priority || {}).sort((a, b) => b[0] - a[0]).map(([p, n]) => 'P' + p + ': ' + n).join('  ');
      const life = q.lifetime || {};
      const btn = el('button', {
        class: isP ? 'retry' : 'cancel', 'data-queue': q.name,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const r = await post('/api/queues/' + encodeURIComponent(q.name) + (isP ? '/resume' : '/pause'));
            SQ.toast(q.name + (r.paused ? ': paused' : ': consumed again'));
            refresh();
          } catch (e) { SQ.toast(e.message); ev.target.disabled = false; }
        },
      }, isP ? 'resume' : 'pause');
      tb.append(el('tr', { 'data-queue': q.name, 'data-paused': isP ? '1' : '0' },
        el('td', { text: q.name }), el('td', { class: 'ready', text: fmt.n(q.ready) }), el('td', { text: bp || '-' }),
        el('td', { text: fmt.n(q.delayed) }), el('td', { text: fmt.n(q.running) }), el('td', { text: fmt.n(q.dead_letter) }),
        el('td', { text: fmt.rate(q.throughput_5m) }), el('td', { text: fmt.pct(q.error_rate_5m) }),
        el('td', { text: fmt.ms(q.wait_mean_ms) }), el('td', { text: fmt.n(life.succeeded) }), el('td', { text: fmt.n(life.failed) }),
        el('td', null, el('span', { class: isP ? 'paused' : 'muted', text: isP ? 'paused' : 'consumed' })),
        el('td', null, btn)));
    }
  }

  async function refresh() {
    try {
      const o = await getJSON('/api/queues');
      render(o);
      SQ.stamp(o.at ? Date.parse(o.at) : Date.now());
    } catch (e) { SQ.toast(e.message); }
  }

  SQ.onTz.push(() => { if (last) { render(last); } });
  refresh();
  setInterval(refresh, 2000);
}());
