/* SPDX-License-Identifier: MIT
 *
 * catalog.js: the Catalog page: GET /api/summaries/catalog every 5 s,
 * drawn as mon_api_summary.c draws the first paint: one row per key
 * (numeric order), the summaries' fields as columns in the order they
 * first appear; root_id / task_id link to the task page, *_at fields are
 * times in the chosen zone.
 */
'use strict';

(function () {
  const { getJSON, el, fmt, taskLink } = window.SQ;
  let last = SQ.boot && SQ.boot.summaries ? SQ.boot.summaries : null;

  function cell(field, v) {
    if (typeof v === 'string' && (field === 'root_id' || field === 'task_id')) { return el('td', null, taskLink(v)); }
    if (typeof v === 'string' && field.endsWith('_at')) { return el('td', null, el('time', { 'data-at': v, text: fmt.time(v) })); }
    if (typeof v === 'number') { return el('td', { text: String(v) }); }
    if (typeof v === 'boolean') { return el('td', { text: v ? 'yes' : 'no' }); }
    return el('td', { text: v === null || v === undefined ? '-' : String(v) });
  }

  function render(all) {
    last = all;
    const keys = Object.keys(all).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    const cols = [];
    for (const k of Object.keys(all)) { for (const f of Object.keys(all[k])) { if (!cols.includes(f)) { cols.push(f); } } }
    const t = document.getElementById('summaries');
    const head = el('tr', null, el('th', { text: 'key' }), ...cols.map((c) => el('th', { text: c.replaceAll('_', ' ') })));
    const body = el('tbody');
    for (const k of keys) {
      body.append(el('tr', { 'data-key': k }, el('td', { text: k }), ...cols.map((c) => cell(c, all[k][c]))));
    }
    if (keys.length === 0) { body.append(el('tr', null, el('td', { class: 'muted', text: 'nothing published yet' }))); }
    t.replaceChildren(el('thead', null, head), body);
  }

  async function refresh() {
    try {
      const o = await getJSON('/api/summaries/' + document.getElementById('summaries').getAttribute('data-kind'));
      render(o.summaries || {});
      SQ.stamp(Date.now());
    } catch (e) { SQ.toast(e.message); }
  }

  SQ.onTz.push(() => { if (last) { render(last); } });
  if (last) { render(last); }
  refresh();
  setInterval(refresh, 5000);
}());
