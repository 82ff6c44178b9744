// duraflow console: the page of `duraflow console` (served from the binary).
// No library, no network but this server's /api/v1/. Every datum goes into
// the page with textContent (never innerHTML); times are shown in the
// browser's timezone with UTC on hover.
'use strict';

(function () {
  const main = document.getElementById('main');
  let refreshTimer = null;

  // ---------- helpers ----------
  // Text shown as the CLI shows it (df_text_escape): C0 controls and DEL as
  // \xNN, C1 controls, the bidi controls (U+061C, U+200E, U+200F,
  // U+202A..U+202E, U+2066..U+2069) and U+2028/U+2029 as \uNNNN, so that
  // no text of an execution can reorder or hide what the page shows.  A
  // <pre> keeps its newlines and tabs.
  const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
  const UNSAFE_PRE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
  function hex(c, n) { return c.charCodeAt(0).toString(16).toUpperCase().padStart(n, '0'); }
  function safe(s, pre) {
    return String(s).replace(pre ? UNSAFE_PRE : UNSAFE, c => c.charCodeAt(0) < 0x80 ? '\\x' + hex(c, 2) : '\\u' + hex(c, 4));
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    const pre = tag === 'pre' || tag === 'textarea';
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') e.textContent = safe(v, pre);
        else if (k === 'title' || k === 'aria-label') e.setAttribute(k, safe(v));
        else if (k === 'class') e.className = v;
        else if (k === 'style') {
          // through the CSSOM: the Content-Security-Policy refuses style attributes
          for (const decl of String(v).split(';')) {
            const i = decl.indexOf(':');
            if (i > 0) e.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
          }
        }
        else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      e.appendChild(typeof kid === 'string' || typeof kid === 'number' ? document.createTextNode(safe(kid, pre)) : kid);
    }
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function token() { return sessionStorage.getItem('df-token') || ''; }

  async function api(path, opts) {
    const headers = { 'Accept': 'application/json' };
    const t = token();
    if (t) headers['Authorization'] = 'Bearer ' + t;
    const init = { method: 'GET', headers, credentials: 'omit', cache: 'no-store' };
    if (opts && opts.body !== undefined) {
      init.method = 'POST';
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    const r = await fetch(path, init);
    let j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    if (!r.ok) {
      const err = new Error((j && j.error) ? j.error : ('HTTP ' + r.status));
      err.status = r.status;
      throw err;
    }
    return j;
  }

  function fmtTime(ms) {
    if (ms === null || ms === undefined || ms <= 0) return el('span', { class: 'muted', text: '—' });
    const d = new Date(ms);
    return el('time', { datetime: d.toISOString(), title: d.toISOString().replace('T', ' ').replace('Z', ' UTC'),
      text: d.toLocaleString() });
  }
  function fmtDur(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '';
    const a = Math.abs(ms);
    if (a < 1000) return Math.round(ms) + ' ms';
    if (a < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (a < 3600000) return (ms / 60000).toFixed(1) + ' min';
    if (a < 86400000 * 2) return (ms / 3600000).toFixed(1) + ' h';
    return (ms / 86400000).toFixed(1) + ' d';
  }
  function statusSpan(s) { return el('span', { class: 'st-' + s, 'data-testid': 'status', text: s }); }
  function payload(p) {
    if (!p) return el('span', { class: 'muted', text: '—' });
    if (p.size === 0) return el('span', { class: 'muted', text: '(empty)' });
    const box = el('div');
    box.appendChild(el('pre', { class: 'payload data', text: p.text }));
    box.appendChild(el('span', { class: 'muted', text: p.size + ' bytes' + (p.encoding === 'base64' ? ', binary (base64)' : '') +
      (p.truncated ? ', truncated' : '') }));
    return box;
  }
  function message(node, text, ok) {
    clear(node);
    node.appendChild(el('div', { class: 'msg ' + (ok ? 'ok' : 'err'), 'data-testid': 'action-msg', text }));
  }
  function stopRefresh() { if (refreshTimer) { clearInterval(refreshTimer); refreshTimer = null; } }

  // ---------- header: status and token ----------
  async function refreshStatus() {
    const s = document.getElementById('status');
    try {
      const st = await api('/api/v1/status');
      s.textContent = safe('prefix ' + st.prefix + ' · ' + st.executions + ' executions · lag ' +
        (st.lag === null ? '?' : st.lag) + (st.caught_up ? '' : ' (catching up)') + (st.actions ? '' : ' · read-only'));
    } catch (e) { s.textContent = safe('status: ' + e.message); }
  }
  function tokenState() {
    document.getElementById('tokenstate').textContent = token() ? 'token set' : 'no token';
  }
  document.getElementById('tokenform').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = document.getElementById('token').value.trim();
    if (v) sessionStorage.setItem('df-token', v); else sessionStorage.removeItem('df-token');
    document.getElementById('token').value = '';
    tokenState();
    route();
  });
  document.getElementById('tokenclear').addEventListener('click', () => {
    sessionStorage.removeItem('df-token');
    tokenState();
    route();
  });

  // ---------- executions list ----------
  const FILTERS = ['workflow', 'version', 'status', 'outcome', 'waiting', 'started_after', 'started_before', 'q'];

  function hashParams() {
    const h = location.hash.replace(/^#\/?/, '');
    const i = h.indexOf('?');
    return new URLSearchParams(i >= 0 ? h.slice(i + 1) : '');
  }
  function setFilters(p) { location.hash = '#/?' + p.toString(); }

  function chipGroup(title, counts, key, current) {
    const g = el('span', { class: 'group' }, el('span', { class: 'muted', text: title + ': ' }));
    for (const [name, n] of Object.entries(counts || {}).sort()) {
      const on = current.get(key) === name;
      g.appendChild(el('span', { class: 'chip' + (on ? ' on' : ''), 'data-testid': 'count-' + key + '-' + name,
        'data-count': n, onclick: () => {
          const p = hashParams();
          if (on) p.delete(key); else p.set(key, name);
          p.delete('cursor');
          setFilters(p);
        } }, name + ' ', el('b', { class: 'n', text: String(n) })));
    }
    return g;
  }

  async function viewList() {
    const params = hashParams();
    const box = el('div');
    const countsBox = el('div', { class: 'counts', 'data-testid': 'counts' });
    const form = el('form', { class: 'filters', 'data-testid': 'filters' });
    const tableBox = el('div');
    const err = el('div');
    box.append(countsBox, form, err, tableBox);
    clear(main);
    main.appendChild(box);

    const inputs = {};
    for (const f of FILTERS) {
      const i = el('input', { name: f, value: params.get(f) || '', size: f === 'q' ? 18 : f === 'version' ? 4 : 12,
        placeholder: f.startsWith('started') ? 'YYYY-MM-DDTHH:MM:SSZ' : '' });
      inputs[f] = i;
      form.appendChild(el('label', null, f === 'q' ? 'id contains' : f.replace('_', ' '), i));
    }
    const auto = el('input', { type: 'checkbox', 'data-testid': 'autorefresh' });
    auto.checked = sessionStorage.getItem('df-auto') !== '0';
    form.append(el('button', { type: 'submit', text: 'Filter' }),
      el('button', { type: 'button', text: 'Clear', onclick: () => setFilters(new URLSearchParams()) }),
      el('label', null, 'auto-refresh', auto));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const f of FILTERS) if (inputs[f].value.trim()) p.set(f, inputs[f].value.trim());
      setFilters(p);
    });
    auto.addEventListener('change', () => sessionStorage.setItem('df-auto', auto.checked ? '1' : '0'));

    async function load() {
      try {
        const c = await api('/api/v1/counts');
        clear(countsBox);
        countsBox.append(el('span', { class: 'group', 'data-testid': 'count-total', 'data-count': c.total },
          el('b', { text: String(c.total) }), ' executions'),
          chipGroup('status', c.status, 'status', params),
          chipGroup('outcome', c.outcome, 'outcome', params),
          chipGroup('waiting on', c.waiting, 'waiting', params),
          chipGroup('workflow', c.workflow, 'workflow', params));
        const q = new URLSearchParams();
        for (const f of FILTERS) if (params.get(f)) q.set(f, params.get(f));
        if (params.get('cursor')) q.set('cursor', params.get('cursor'));
        q.set('limit', '50');
        const l = await api('/api/v1/executions?' + q.toString());
        clear(err);
        renderTable(l);
      } catch (e) {
        message(err, 'Cannot list: ' + e.message, false);
      }
    }
    function renderTable(l) {
      clear(tableBox);
      const t = el('table', { 'data-testid': 'executions' },
        el('thead', null, el('tr', null, ...['execution', 'workflow', 'version', 'status', 'outcome', 'waiting on', 'started', 'ended']
          .map((h) => el('th', { text: h })))));
      const tb = el('tbody');
      for (const x of l.items) {
        const w = (x.waiting || []).map((v) => v.kind + (v.due_ms ? ' until ' + new Date(v.due_ms).toLocaleTimeString() : '')).join(', ');
        tb.appendChild(el('tr', { 'data-testid': 'row', 'data-id': x.execution_id },
          el('td', null, el('a', { class: 'data', href: '#/e/' + encodeURIComponent(x.execution_id), text: x.execution_id })),
          el('td', { class: 'data', text: x.workflow }), el('td', { 'data-testid': 'version', text: 'v' + x.version }),
          el('td', null, statusSpan(x.status)),
          el('td', { class: 'data', 'data-testid': 'outcome', text: x.outcome || '' }), el('td', { text: w }),
          el('td', null, fmtTime(x.created_ms)), el('td', null, fmtTime(x.ended_ms))));
      }
      t.appendChild(tb);
      tableBox.appendChild(t);
      if (!l.items.length) tableBox.appendChild(el('p', { class: 'muted', text: 'No execution matches.' }));
      const nav = el('p');
      if (params.get('cursor')) nav.appendChild(el('button', { text: 'First page', onclick: () => {
        const p = hashParams(); p.delete('cursor'); setFilters(p); } }));
      if (l.next_cursor) nav.appendChild(el('button', { 'data-testid': 'next', text: 'Next page', onclick: () => {
        const p = hashParams(); p.set('cursor', l.next_cursor); setFilters(p); } }));
      if (l.partial) nav.appendChild(el('span', { class: 'muted', text: ' (search stopped after ' + l.scanned + ' entries: next page continues)' }));
      tableBox.appendChild(nav);
    }
    await load();
    refreshTimer = setInterval(() => { if (auto.checked && !params.get('cursor')) { load(); refreshStatus(); } }, 3000);
  }

  // ---------- one execution ----------
  function waitingText(w, x) {
    const since = w.since_ms ? ' since ' + new Date(w.since_ms).toLocaleString() : '';
    switch (w.kind) {
      case 'timer': return 'Sleeping in "' + (w.name || '?') + '" until ' + (w.due_ms ? new Date(w.due_ms).toLocaleString() : '?');
      case 'callback': return 'Waiting for callback "' + (w.name || '?') + '"' + since +
        (w.due_ms ? ', timeout at ' + new Date(w.due_ms).toLocaleString() : ', no timeout') +
        (w.heartbeat_timeout_ms ? ', heartbeat every ' + fmtDur(w.heartbeat_timeout_ms) : '') +
        (w.callback_id ? ' (callback id ' + w.callback_id + ')' : '');
      case 'retry': return 'Retry ' + ((w.attempt || 0) + 1) + ' of step "' + (w.name || '?') + '" at ' +
        (w.due_ms ? new Date(w.due_ms).toLocaleString() : '?') + ' after error: ' + (w.last_error || '?');
      case 'running': return 'Running step "' + (w.name || '?') + '"';
      case 'nondeterminism': return 'Stopped on non-determinism: waits for fixed code (' + (x.error || '') + ')';
      case 'paused': return 'Paused';
      case 'quarantined': return 'Quarantined after ' + (x.crash_count || '?') + ' worker crash(es)' +
        (x.crash_op ? ' in operation ' + x.crash_op : '') + ': waits for an operator to resume it (' + (x.error || '') + ')';
      case 'child': return w.type === 'INVOKE'
        ? 'Waiting for child execution ' + (w.child_execution_id || '?') + ' (invoke "' + (w.name || '?') + '")'
        : 'Waiting in ' + (w.type ? w.type.toLowerCase() : 'child') + ' "' + (w.name || '?') + '"';
      case 'version': return 'Version v' + x.version + ' of workflow "' + x.workflow + '" not deployed: parked until a ' +
        'worker that has it processes the execution (' + (x.error || '') + ')';
      default: return 'Waiting (' + w.kind + ')';
    }
  }
  // A link to another execution (the parent, an invoked child).
  function execLink(id, testid) {
    return el('a', { class: 'data', 'data-testid': testid, 'data-id': id, href: '#/e/' + encodeURIComponent(id), text: id });
  }
  const CONTEXTS = ['CHILD', 'PARALLEL', 'MAP'];
  function depthOf(op) { return (op.op_id.match(/\./g) || []).length; }

  // Segments of the timeline, one row per operation.
  function segmentsOf(op, now) {
    const s = [];
    const end = op.ended_ms || (op.status === 'PENDING' && op.type === 'WAIT' && op.due_ms ? Math.min(op.due_ms, now) : now);
    if (op.type === 'STEP' && op.attempts && op.attempts.length) {
      for (const a of op.attempts) {
        if (a.outcome === 'scheduled') continue;
        const ae = a.ended_ms || now;
        s.push({ a: a.started_ms, b: ae, cls: a.outcome === 'succeeded' ? 'ok' : a.outcome === 'failed' ? 'fail' : 'run',
          tip: 'attempt ' + a.attempt + ': ' + a.outcome + (a.error ? ' — ' + a.error : '') + ' (' + fmtDur(ae - a.started_ms) + ')' });
        if (a.backoff_until_ms) s.push({ a: ae, b: Math.min(a.backoff_until_ms, now), cls: 'backoff',
          tip: 'backoff until ' + new Date(a.backoff_until_ms).toISOString() });
      }
      return s;
    }
    const ctx = CONTEXTS.includes(op.type) || op.type === 'INVOKE';
    const cls = op.status === 'SUCCEEDED' ? (op.type === 'STEP' ? 'ok' : ctx ? 'ctx' : 'wait') :
      (op.status === 'FAILED' || op.status === 'TIMED_OUT') ? 'fail' : ctx ? 'ctx run' : 'run';
    s.push({ a: op.started_ms, b: Math.max(end, op.started_ms), cls,
      tip: op.type + ' ' + op.status + ' (' + fmtDur(end - op.started_ms) + ')' });
    return s;
  }

  // Piecewise-linear time axis where long idle gaps are compressed.
  function axis(points) {
    const t = [...new Set(points.filter((p) => p > 0))].sort((a, b) => a - b);
    if (t.length < 2) return { x: () => 0, gaps: [], t0: t[0] || 0, t1: t[0] || 0 };
    const gapsRaw = [];
    let total = 0;
    for (let i = 1; i < t.length; i++) { gapsRaw.push(t[i] - t[i - 1]); total += t[i] - t[i - 1]; }
    // an idle gap longer than 3% of the whole is drawn as a fixed share of
    // the time something happened (a little wider the longer it is), so a
    // 30-day wait and the 100 ms steps around it fit one screen
    const cap = Math.max(total * 0.03, 1);
    const active = gapsRaw.filter((g) => g <= cap).reduce((a, b) => a + b, 0);
    const unit = active > 0 ? active * 0.12 : 1;
    const shown = gapsRaw.map((g) => g <= cap ? g : unit * (1 + 0.25 * Math.log10(g / cap)));
    const sum = shown.reduce((a, b) => a + b, 0) || 1;
    const cum = [0];
    for (const s of shown) cum.push(cum[cum.length - 1] + s);
    const gaps = [];
    for (let i = 0; i < gapsRaw.length; i++)
      if (gapsRaw[i] > cap) gaps.push({ a: t[i], b: t[i + 1], real: gapsRaw[i] });
    function x(v) {
      if (v <= t[0]) return 0;
      if (v >= t[t.length - 1]) return 100;
      let lo = 0, hi = t.length - 1;
      while (hi - lo > 1) { const m = (lo + hi) >> 1; if (t[m] <= v) lo = m; else hi = m; }
      const f = (v - t[lo]) / (t[hi] - t[lo]);
      return (cum[lo] + f * shown[lo]) / sum * 100;
    }
    return { x, gaps, t0: t[0], t1: t[t.length - 1] };
  }

  function timeline(x, now) {
    const rows = x.operations.map((op) => ({ op, segs: segmentsOf(op, now) }));
    const pts = [x.created_ms, x.ended_ms || now];
    for (const r of rows) for (const s of r.segs) pts.push(s.a, s.b);
    const ax = axis(pts);
    const box = el('div', { class: 'timeline', 'data-testid': 'timeline' });
    const ax0 = el('div', { class: 'tl-axis' });
    ax0.append(el('span', { style: 'position:absolute;left:0' }, fmtTime(ax.t0)),
      el('span', { style: 'position:absolute;right:0' }, fmtTime(ax.t1)));
    box.appendChild(ax0);
    // operations come depth first ("3", "3.1", "3.1.1", "3.2"): the ones
    // inside a child context, a parallel's branches, a map's items go in a
    // group under the operation that holds them
    const groups = [{ id: null, node: box }];
    for (const r of rows) {
      const track = el('div', { class: 'tl-track' });
      for (const s of r.segs) {
        const a = ax.x(s.a), b = ax.x(s.b);
        track.appendChild(el('div', { class: 'tl-bar ' + s.cls, title: s.tip,
          style: 'left:' + a.toFixed(3) + '%;width:' + Math.max(b - a, 0.2).toFixed(3) + '%' }));
      }
      while (groups.length > 1 && !r.op.op_id.startsWith(groups[groups.length - 1].id + '.')) groups.pop();
      const depth = depthOf(r.op);
      const label = r.op.op_id + ' ' + r.op.name + (r.op.type === 'MAP' || r.op.type === 'PARALLEL'
        ? ' (' + (r.op.child_count || 0) + (r.op.type === 'MAP' ? ' items)' : ' branches)') : '');
      groups[groups.length - 1].node.appendChild(el('div', { class: 'tl-row', 'data-testid': 'tl-row', 'data-name': r.op.name,
        'data-type': r.op.type, 'data-op': r.op.op_id, 'data-depth': depth },
        el('span', { class: 'tl-label data', style: 'padding-left:' + depth + 'em',
          title: r.op.op_id + ' ' + r.op.type + ' ' + r.op.status, text: label }), track));
      if (CONTEXTS.includes(r.op.type)) {
        const g = el('div', { class: 'tl-group', 'data-testid': 'tl-group', 'data-op': r.op.op_id, 'data-type': r.op.type,
          'data-name': r.op.name });
        groups[groups.length - 1].node.appendChild(g);
        groups.push({ id: r.op.op_id, node: g });
      }
    }
    const overlay = el('div', { class: 'tl-track', style: 'top:1.6em' });
    for (const g of ax.gaps) {
      const a = ax.x(g.a), b = ax.x(g.b);
      overlay.appendChild(el('div', { class: 'tl-gap', 'data-testid': 'tl-gap', 'data-ms': g.real,
        title: 'idle ' + fmtDur(g.real) + ' (compressed)', style: 'left:' + a.toFixed(3) + '%;width:' + Math.max(b - a, 0.5).toFixed(3) + '%' },
        el('span', { class: 'tl-gaplabel', text: '⋯ ' + fmtDur(g.real) + ' ⋯' })));
    }
    box.appendChild(overlay);
    box.appendChild(el('div', { style: 'height:1.4em' }));
    return box;
  }

  function failurePanel(f) {
    const p = el('div', { class: 'failure', 'data-testid': 'failure' });
    p.appendChild(el('b', { text: 'State at the point of failure' }));
    const kv = el('dl', { class: 'kv' });
    const add = (k, v) => { kv.append(el('dt', { text: k }), el('dd', { class: 'data' }, v)); };
    if (f.op_id) add('operation', f.op_id + ' ' + f.name + ' (' + f.type + ', ' + f.status + ')');
    add('error type', f.error_type || '—');
    add('message', f.error_message || f.error || '');
    if (f.attempt) add('attempt', String(f.attempt));
    add('at', fmtTime(f.at_ms));
    p.appendChild(kv);
    if (f.before && f.before.length) {
      const t = el('table', { 'data-testid': 'failure-before' }, el('thead', null,
        el('tr', null, el('th', { text: 'operation' }), el('th', { text: 'status' }), el('th', { text: 'recorded result' }))));
      const tb = el('tbody');
      for (const b of f.before)
        tb.appendChild(el('tr', null, el('td', { class: 'data', text: b.op_id + ' ' + b.name + ' (' + b.type + ')' }),
          el('td', { text: b.status }), el('td', null, payload(b.result))));
      t.appendChild(tb);
      p.appendChild(t);
    }
    return p;
  }

  function completeForm(x, op, msgBox, reload) {
    const sel = el('select', { 'data-testid': 'complete-outcome-' + op.op_id },
      el('option', { value: 'success', text: 'success' }), el('option', { value: 'failure', text: 'failure' }),
      el('option', { value: 'heartbeat', text: 'heartbeat' }));
    const pl = el('input', { size: 24, placeholder: 'payload (success) or error (failure)', 'data-testid': 'complete-text-' + op.op_id });
    const btn = el('button', { type: 'button', 'data-testid': 'complete-' + op.op_id, text: 'Complete callback',
      onclick: async () => {
        const body = { outcome: sel.value };
        if (sel.value === 'success' && pl.value) body.payload = pl.value;
        if (sel.value === 'failure') body.error = pl.value || 'failed from the console';
        try {
          await api('/api/v1/executions/' + encodeURIComponent(x.execution_id) + '/operations/' +
            encodeURIComponent(op.op_id) + '/complete', { body });
          message(msgBox, 'Callback ' + op.name + ' completed (' + sel.value + ')', true);
          setTimeout(reload, 300);
        } catch (e) { message(msgBox, 'Refused: ' + e.message + ' (HTTP ' + e.status + ')', false); }
      } });
    return el('span', { class: 'actions' }, sel, pl, btn);
  }

  async function viewExec(id) {
    const box = el('div');
    const msgBox = el('div');
    clear(main);
    main.appendChild(box);
    let x;
    async function reload() {
      try { x = await api('/api/v1/executions/' + encodeURIComponent(id)); }
      catch (e) { clear(box); box.appendChild(el('div', { class: 'msg err', 'data-testid': 'error', text: e.message })); return; }
      render();
    }
    function render() {
      const now = Date.now();
      clear(box);
      box.appendChild(el('h2', { class: 'data', 'data-testid': 'exec-id', text: x.execution_id }));
      const kv = el('dl', { class: 'kv', 'data-testid': 'exec-header' });
      const add = (k, v) => kv.append(el('dt', { text: k }), el('dd', null, v));
      add('workflow', el('span', { class: 'data', text: x.workflow }));
      add('version', el('span', { 'data-testid': 'exec-version', text: 'v' + x.version }));
      if (x.parent) add('parent', el('span', null, execLink(x.parent.execution_id, 'exec-parent'),
        el('span', { class: 'muted', text: ' (its operation ' + x.parent.op_id + ')' })));
      if (x.children && x.children.length) {
        const c = el('span');
        x.children.forEach((ch, i) => {
          if (i) c.appendChild(document.createTextNode(', '));
          c.append(execLink(ch.execution_id, 'exec-child'),
            el('span', { class: 'muted', text: ' (operation ' + ch.op_id + ' ' + ch.name + ', ' + ch.status + ')' }));
        });
        add('invoked', c);
      }
      add('status', statusSpan(x.status));
      if (x.outcome) add('outcome', el('span', { class: 'data', 'data-testid': 'exec-outcome', text: x.outcome }));
      add('started', fmtTime(x.created_ms));
      add(x.ended_ms ? 'ended' : 'updated', fmtTime(x.ended_ms || x.updated_ms));
      if (x.ended_ms) add('duration', fmtDur(x.ended_ms - x.created_ms));
      add('input', payload(x.input));
      if (x.status === 'SUCCEEDED') add('output', payload(x.output));
      if (x.error) add('error', el('span', { class: 'data', text: x.error }));
      if (x.run) add('restarts', el('pre', { class: 'data', 'data-testid': 'exec-run-log', text: x.run_log }));
      if (x.crash_count) add('worker crashes', el('span', { class: 'data', text: x.crash_count + (x.crash_op ? ' (operation ' + x.crash_op + ', attempt ' + x.crash_attempt + ')' : '') }));
      box.appendChild(kv);
      for (const w of x.waiting || [])
        box.appendChild(el('div', { class: 'banner', 'data-testid': 'waiting', text: waitingText(w, x) }));
      const acts = el('div', { class: 'actions' });
      if ((x.actions || []).includes('stop'))
        acts.appendChild(el('button', { 'data-testid': 'action-stop', text: 'Stop execution', onclick: async () => {
          try {
            await api('/api/v1/executions/' + encodeURIComponent(x.execution_id) + '/stop', { body: { reason: 'stopped from the console' } });
            message(msgBox, 'Stopped', true); setTimeout(reload, 300);
          } catch (e) { message(msgBox, 'Refused: ' + e.message + ' (HTTP ' + e.status + ')', false); }
        } }));
      // pause / resume / restart from the failure / purge (issue 12): offered by the API per status
      for (const [name, label, body] of [['pause', 'Pause', { reason: 'paused from the console' }],
        ['resume', 'Resume', {}], ['restart', 'Restart from the failure', { reason: 'restarted from the console' }],
        ['purge', 'Purge', {}]])
        if ((x.actions || []).includes(name))
          acts.appendChild(el('button', { 'data-testid': 'action-' + name, text: label, onclick: async () => {
            if (name === 'purge' && !window.confirm('Purge ' + x.execution_id + ': its state and history go for good?')) return;
            try {
              await api('/api/v1/executions/' + encodeURIComponent(x.execution_id) + '/' + name, { body });
              message(msgBox, label + ': done', true); setTimeout(reload, 300);
            } catch (e) { message(msgBox, 'Refused: ' + e.message + ' (HTTP ' + e.status + ')', false); }
          } }));
      for (const op of x.operations)
        if ((op.actions || []).includes('complete')) acts.appendChild(el('div', null, el('span', { class: 'data', text: op.name + ': ' }),
          completeForm(x, op, msgBox, reload)));
      box.append(acts, msgBox);
      box.appendChild(el('h3', { text: 'Timeline' }));
      box.appendChild(timeline(x, now));
      if (x.failure) box.appendChild(failurePanel(x.failure));
      box.appendChild(el('h3', { text: 'Operations' }));
      const t = el('table', { 'data-testid': 'operations' }, el('thead', null, el('tr', null,
        ...['op', 'name', 'type', 'status', 'attempt', 'started', 'ended', 'duration', 'result or error'].map((h) => el('th', { text: h })))));
      const tb = el('tbody');
      for (const op of x.operations) {
        const end = op.ended_ms || null;
        const res = op.error ? el('span', { class: 'data st-FAILED', text: op.error }) : payload(op.result);
        const cell = el('td', null, res);
        if (op.type === 'CALLBACK' && op.timeout_at_ms) cell.appendChild(el('div', { class: 'muted', text: 'timeout at ' + new Date(op.timeout_at_ms).toISOString() }));
        if (op.callback_id) cell.appendChild(el('div', { class: 'muted data', text: 'callback id ' + op.callback_id }));
        if (op.type === 'INVOKE' && op.child_execution_id)
          cell.appendChild(el('div', null, el('span', { class: 'muted', text: 'child execution ' }),
            execLink(op.child_execution_id, 'op-child')));
        if (CONTEXTS.includes(op.type))
          cell.appendChild(el('div', { class: 'muted', text: (op.child_count || 0) + ' operation(s) inside' }));
        if (op.attempts && op.attempts.length > 1) {
          const at = el('table', { class: 'attempts' });
          for (const a of op.attempts)
            at.appendChild(el('tr', null, el('td', { text: '#' + a.attempt }), el('td', { text: a.outcome }),
              el('td', null, fmtTime(a.started_ms)), el('td', { text: a.ended_ms ? fmtDur(a.ended_ms - a.started_ms) : '' }),
              el('td', { class: 'data', text: a.error || '' }),
              el('td', { text: a.backoff_until_ms ? 'backoff until ' + new Date(a.backoff_until_ms).toLocaleTimeString() : '' })));
          cell.appendChild(at);
        }
        tb.appendChild(el('tr', { 'data-testid': 'op', 'data-name': op.name, 'data-type': op.type, 'data-status': op.status,
          'data-op': op.op_id },
          el('td', { text: op.op_id }), el('td', { class: 'data', style: 'padding-left:' + (0.5 + depthOf(op)) + 'em', text: op.name }),
          el('td', { text: op.type }),
          el('td', null, statusSpan(op.status)), el('td', { text: String(op.attempt || '') }),
          el('td', null, fmtTime(op.started_ms)), el('td', null, fmtTime(end)),
          el('td', { 'data-testid': 'op-duration', 'data-ms': end ? end - op.started_ms : '', text: end ? fmtDur(end - op.started_ms) : '' }),
          cell));
      }
      t.appendChild(tb);
      box.appendChild(t);
    }
    await reload();
    refreshTimer = setInterval(() => { if (x && !x.ended_ms) reload(); }, 2000);
  }

  // ---------- dead letters ----------
  async function viewDlq() {
    clear(main);
    let d;
    try { d = await api('/api/v1/dlq?limit=200'); } catch (e) {
      main.appendChild(el('div', { class: 'msg err', text: e.message })); return;
    }
    function table(items, title) {
      main.appendChild(el('h3', { text: title + ' (' + items.length + ')' }));
      const t = el('table', { 'data-testid': 'dlq' }, el('thead', null, el('tr', null,
        ...['when', 'origin', 'error', 'key', 'value'].map((h) => el('th', { text: h })))));
      const tb = el('tbody');
      for (const r of items)
        tb.appendChild(el('tr', null, el('td', null, fmtTime(r.ts_ms)),
          el('td', { class: 'data', text: r.topic + '[' + r.partition + '] @' + r.offset }),
          el('td', { class: 'data', text: r.error }), el('td', null, payload(r.key)),
          el('td', null, el('div', { class: 'muted', text: r.value_type }),
            r.value && r.value.hidden ? el('span', { class: 'muted', text: r.value.size + ' bytes, ' + r.value.hidden }) : payload(r.value))));
      t.appendChild(tb);
      main.appendChild(t);
    }
    table(d.items, 'Dead letters');
    table(d.undecodable, 'State records this console could not decode');
  }

  // ---------- router ----------
  function route() {
    stopRefresh();
    const h = location.hash.replace(/^#/, '') || '/';
    refreshStatus();
    if (h.startsWith('/e/')) viewExec(decodeURIComponent(h.slice(3)));
    else if (h.startsWith('/dlq')) viewDlq();
    else viewList();
  }
  window.addEventListener('hashchange', route);
  tokenState();
  route();
})();
