/* SPDX-License-Identifier: MIT
 *
 * tasks.js: the task browser. The filter form is a plain GET form (its
 * values live in the page URL, so a search can be bookmarked); the
 * script runs the search through GET /api/tasks, pages through the
 * matches and runs bulk actions on every match: a first POST
 * /api/actions/<name> without "expect" only counts, the page states the
 * count, and the confirmation sends it back as "expect" (the server
 * refuses if the filter now selects a different number).
 */
'use strict';

(function () {
  const { getJSON, post, el, toast, fmt, fillBody, taskLink } = window.SQ;
  const form = document.getElementById('filters');
  const limit = 50;
  let offset = 0, last = null;

  function filter() {
    const f = {};
    for (const [k, v] of new FormData(form).entries()) {
      if (String(v).trim() !== '') { f[k] = String(v).trim(); }
    }
    return f;
  }

  function fromUrl() {
    const p = new URLSearchParams(location.search);
    for (const e of form.elements) {
      if (e.name && p.get(e.name) !== null) { e.value = p.get(e.name); }
    }
    offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
  }

  function render(r) {
    last = r;
    const rows = r.tasks || [];
    const tb = fillBody('results', rows, 9, 'no task matches');
    for (const t of rows) {
      tb.appendChild(el('tr', { 'data-id': t.id },
        el('td', null, taskLink(t.id)), el('td', { text: t.name || '?' }),
        el('td', null, el('span', { class: 'state ' + t.state, text: t.state })),
        el('td', { text: t.queue || '' }), el('td', { text: t.worker || '' }),
        el('td', { text: fmt.time(t.created_at) }), el('td', { text: fmt.time(t.done_at || t.dead_at) }),
        el('td', { class: 'msg', text: t.error ? t.error.class + ': ' + t.error.message : '' }),
        el('td', { text: String(t.attempt || 0) })));
    }
    document.getElementById('count').textContent = fmt.n(r.total) + (r.truncated ? '+' : '') +
      ' match' + (r.total === 1 ? '' : 'es') + ' · ' + fmt.n(r.scanned) + ' records scanned';
    document.getElementById('page').textContent = r.total ? (offset + 1) + '–' + (offset + rows.length) : '';
    document.getElementById('prev').disabled = offset === 0;
    document.getElementById('next').disabled = offset + rows.length >= r.total;
  }

  async function search() {
    const f = filter();
    const q = new URLSearchParams(Object.assign({}, f, { limit: String(limit), offset: String(offset) }));
    // the address bar shows the search (a link to it), no bare '?', and
    // keeps the namespace being looked at
    const ns = new URLSearchParams(location.search).get('ns');
    const shown = String(new URLSearchParams(Object.assign({}, ns ? { ns } : {}, f, offset ? { offset: String(offset) } : {})));
    history.replaceState(null, '', '/tasks' + (shown ? '?' + shown : ''));
    document.getElementById('search-error').textContent = '';
    try {
      render(await getJSON('/api/tasks?' + q));
    } catch (e) {
      document.getElementById('search-error').textContent = e.message;
      fillBody('results', [], 9, 'no result: ' + e.message);
    }
  }

  async function bulk() {
    const action = document.getElementById('bulk-action').value;
    const body = { filter: filter() };
    if (action === 'resume') { body.strategy = document.getElementById('bulk-strategy').value; }
    const box = document.getElementById('confirm');
    box.replaceChildren();
    let dry;
    try { dry = await post('/api/actions/' + action, body); } catch (e) { box.textContent = e.message; return; }
    const what = action === 'resume' ? 'resume (' + body.strategy + ')' : action;
    box.append('This will ' + what + ' ' + dry.count + ' task' + (dry.count === 1 ? '' : 's') + '. ',
      el('button', { id: 'confirm-yes', onclick: async () => {
        box.textContent = 'working…';
        try {
          const r = await post('/api/actions/' + action, Object.assign({ expect: dry.count }, body));
          box.textContent = what + ': ' + r.done + ' done, ' + r.failed + ' refused' +
            ((r.errors || []).length ? ' (' + r.errors[0].id.slice(0, 8) + ': ' + r.errors[0].message + ')' : '');
          toast(box.textContent);
          search();
        } catch (e) { box.textContent = e.message; }
      } }, 'Confirm'), ' ',
      el('button', { id: 'confirm-no', onclick: () => box.replaceChildren() }, 'Cancel'));
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); offset = 0; search(); });
  document.getElementById('prev').addEventListener('click', () => { offset = Math.max(0, offset - limit); search(); });
  document.getElementById('next').addEventListener('click', () => { offset += limit; search(); });
  document.getElementById('bulk-go').addEventListener('click', bulk);
  SQ.onTz.push(() => { if (last) { render(last); } });
  fromUrl();
  search();
}());
