/* SPDX-License-Identifier: MIT
 *
 * common.js: what every dashboard page shares (window.SQ): JSON fetch
 * and POST (actions carry the X-Syncq-Request header, which a cross-site
 * form cannot send), DOM building with textContent only (no HTML from
 * data), formats, the toast, the boot snapshot the server embedded in
 * the page, and the time zone switch: times show in UTC with their
 * offset by default; the "local time" box switches every page to the
 * browser's zone (kept in localStorage).
 */
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  // A server over several namespaces (monitor serve --namespace a,b):
  // ?ns=NS picks one; every API call and every link of the page keeps it.
  const ns = params.get('ns');

  function withNs(path) {
    if (!ns || /[?&]ns=/.test(path)) { return path; }
    return path + (path.includes('?') ? '&' : '?') + 'ns=' + encodeURIComponent(ns);
  }
  if (ns) {
    document.addEventListener('click', (ev) => {
      const a = ev.target.closest && ev.target.closest('a[href^="/"]');
      if (a) { a.setAttribute('href', withNs(a.getAttribute('href'))); }
    }, true);
  }

  function headers(extra) {
    const h = Object.assign({ 'Accept': 'application/json' }, extra || {});
    if (token) { h['Authorization'] = 'Bearer ' + token; }
    return h;
  }

  async function getJSON(path, okStatuses) {
    const r = await fetch(withNs(path), { headers: headers(), cache: 'no-store' });
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname); }
    if (!r.ok && r.status !== 503 && !(okStatuses || []).includes(r.status)) {
      throw new Error((body && body.message) || ('HTTP ' + r.status));
    }
    body._status = r.status;
    return body;
  }

  async function post(path, json) {
    const opts = { method: 'POST', headers: headers({ 'X-Syncq-Request': '1' }) };
    if (json !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(json);
    }
    const r = await fetch(withNs(path), opts);
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const e = new Error((body && body.message) || ('HTTP ' + r.status));
      e.status = r.status; e.body = body;
      throw e;
    }
    return body;
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null) { continue; }
        if (k === 'class') { e.className = v; }
        else if (k === 'text') { e.textContent = v; }
        else if (k.startsWith('on')) { e.addEventListener(k.slice(2), v); }
        else { e.setAttribute(k, v); }
      }
    }
    for (const k of kids) {
      if (k === null || k === undefined) { continue; }
      e.appendChild(typeof k === 'string' ? document.createTextNode(k) : k);
    }
    return e;
  }

  function toast(msg) {
    const t = document.getElementById('toast');
    if (!t) { return; }
    t.textContent = msg;
    t.classList.add('show');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => t.classList.remove('show'), 3000);
  }

  const tz = { local: localStorage.getItem('syncq.time') === 'local' };

  function pad(n) { return String(n).padStart(2, '0'); }

  // "2026-12-07 07:38:22 +00:00" (UTC) or the browser's zone and offset
  function timeText(ms) {
    const d = new Date(ms);
    if (isNaN(d.getTime())) { return '-'; }
    if (!tz.local) {
      return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
        pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' +00:00';
    }
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? '+' : '-';
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + ' ' +
      sign + pad(Math.floor(Math.abs(off) / 60)) + ':' + pad(Math.abs(off) % 60);
  }

  const fmt = {
    n(v) { return v === null || v === undefined ? '-' : Number(v).toLocaleString('en-US'); },
    pct(v) { return v === null || v === undefined ? '-' : (v * 100).toFixed(1) + '%'; },
    rate(v) { return v === null || v === undefined ? '-' : Number(v).toFixed(2) + '/s'; },
    dur(s) {
      if (s === null || s === undefined || s < 0) { return '-'; }
      if (s < 1) { return Math.round(s * 1000) + 'ms'; }
      if (s < 60) { return s.toFixed(1) + 's'; }
      const m = Math.floor(s / 60);
      if (m < 60) { return m + 'm' + String(Math.round(s % 60)).padStart(2, '0') + 's'; }
      const h = Math.floor(m / 60);
      if (h < 48) { return h + 'h' + String(m % 60).padStart(2, '0') + 'm'; }
      return Math.floor(h / 24) + 'd' + (h % 24) + 'h';
    },
    ms(v) { return v === null || v === undefined ? '-' : fmt.dur(v / 1000); },
    bytes(v) {
      if (v === null || v === undefined) { return '-'; }
      if (v >= 1 << 30) { return (v / (1 << 30)).toFixed(1) + ' GiB'; }
      if (v >= 1 << 20) { return (v / (1 << 20)).toFixed(1) + ' MiB'; }
      return Math.round(v / 1024) + ' KiB';
    },
    time(iso) { return iso ? timeText(typeof iso === 'number' ? iso : Date.parse(iso)) : '-'; },
    clock(ms) {
      const d = new Date(ms);
      return tz.local ? pad(d.getHours()) + ':' + pad(d.getMinutes())
        : pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    },
    short(id) { return id ? String(id).slice(0, 8) : '-'; },
  };

  function fillBody(table, rows, cols, emptyText) {
    const tb = document.querySelector('#' + table + ' tbody');
    tb.replaceChildren();
    if (!rows || rows.length === 0) {
      tb.appendChild(el('tr', null, el('td', { class: 'empty', colspan: String(cols), text: emptyText })));
    }
    return tb;
  }

  function bar(pct, failed, label) {
    const b = el('div', { class: 'bar' + (failed ? ' failed' : '') });
    const f = el('div', { class: 'fill' });
    const p = pct === null || pct === undefined ? 0 : Math.max(0, Math.min(100, pct));
    f.style.width = p.toFixed(1) + '%';
    b.setAttribute('data-percent', pct === null || pct === undefined ? '' : p.toFixed(1));
    b.appendChild(f);
    b.appendChild(el('span', { class: 'txt', text: label }));
    return b;
  }

  // a row of the workers tables (dashboard and workers page)
  function workerRow(w) {
    const st = w.state === 'alive' && !w.live ? 'stalled' : w.state;
    return el('tr', { 'data-worker': w.id },
      el('td', null, el('a', { href: '/worker/' + encodeURIComponent(w.id), text: w.id })),
      el('td', null, el('span', { class: 'state ' + st, text: st })),
      el('td', { text: fmt.ms(w.heartbeat_age_ms) + ' ago' }),
      el('td', { text: (w.queues || []).join(', ') || 'all' }),
      el('td', { text: fmt.n(w.running) }), el('td', { text: fmt.n(w.concurrency) }),
      el('td', { text: fmt.n(w.done) }), el('td', { text: fmt.bytes(w.rss_bytes) }),
      el('td', { text: w.cpu_percent === null || w.cpu_percent === undefined ? '-' : w.cpu_percent.toFixed(0) + '%' }));
  }

  function taskLink(id, text) {
    return el('a', { class: 'id', href: '/task/' + encodeURIComponent(id), title: id, text: text || fmt.short(id) });
  }

  const bootEl = document.getElementById('boot');
  let boot = null;
  try { boot = bootEl ? JSON.parse(bootEl.textContent) : null; } catch (e) { boot = null; }

  // the time switch: every page has a #localtime box
  const onTz = [];
  const box = document.getElementById('localtime');
  if (box) {
    box.checked = tz.local;
    box.addEventListener('change', () => {
      tz.local = box.checked;
      localStorage.setItem('syncq.time', tz.local ? 'local' : 'utc');
      for (const f of onTz) { f(); }
    });
  }
  const upd = document.getElementById('updated');
  function stamp(ms) {
    if (upd) { upd.textContent = 'updated ' + timeText(ms); upd.setAttribute('data-at', new Date(ms).toISOString()); }
  }
  function restamp() { if (upd && upd.getAttribute('data-at')) { stamp(Date.parse(upd.getAttribute('data-at'))); } }
  onTz.push(restamp);
  restamp(); // the server's time, in the chosen zone

  // the current page's link in the navigation
  const seg = location.pathname.split('/')[1] || '';
  const here = { '': '/', 'index.html': '/', task: '/tasks', tasks: '/tasks', worker: '/workers', workers: '/workers', queues: '/queues', catalog: '/catalog' }[seg];
  for (const a of document.querySelectorAll('nav a')) { a.classList.toggle('on', a.getAttribute('href') === here); }

  window.SQ = { getJSON, post, el, toast, fmt, fillBody, bar, taskLink, workerRow, boot, tz, onTz, stamp, timeText };
}());
