// EdgeBind dashboard: one page, no build step, no external resources. Everything live comes over /ws.
'use strict';
(() => {
  const WINDOW_MS = 60000;           // similarity timeline span
  const Y_MIN = -0.2, Y_MAX = 1;     // cosine range drawn on timelines
  const MAX_EVENTS = 200;
  const TARGET_COLORS = { vision: '#4aa3ff', video: '#4aa3ff', audio: '#f0a030', depth: '#b07aff', thermal: '#ff6b6b', imu: '#46c46e', fused: '#ffffff' };
  const FUSED_ROWS = ['vision', 'video', 'audio', 'depth', 'thermal', 'imu'];
  const AXIS_COLORS = ['#ff6b6b', '#46c46e', '#4aa3ff'];
  const BOX_MS = 8000;               // how long a detection's boxes stay on the camera view
  const BOX_COLOR = '#ffd400';

  const $ = (sel, root = document) => root.querySelector(sel);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k === 'style') node.style.cssText = v;   // CSSOM, allowed by the page's CSP (attributes are not)
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  };

  const state = {
    token: sessionStorage.getItem('edgebind.token') || null,
    palettes: {},
    clockOffsetMs: 0,
    sensors: new Map(),   // source id -> card
    queries: new Map(),   // query id -> {view, li, canvas}
    scores: new Map(),    // query id -> [{t, v, target}]
    spans: new Map(),     // query id -> [{start, end|null, eventId}]
    fused: [],            // [{t, best, p, group, parts: [{modality, source, weight, temperature, score}]}]
    events: new Map(),    // event id -> li
    evidence: new Map(),  // event id -> evidence ids
    seenSeq: new Set(),
    editing: null,
    ws: null,
    retryMs: 500,
  };
  const now = () => Date.now() + state.clockOffsetMs;

  // ---------- HTTP with the bearer token ----------
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    // The server refuses state changes a cross-site form could make; this header shows it is us.
    headers.set('X-EdgeBind-Request', '1');
    const used = state.token;
    if (used) headers.set('Authorization', 'Bearer ' + used);
    const response = await fetch(path, { ...options, headers });
    // Only a refusal of the token we still hold means we need a new one.
    if (response.status === 401 && used === state.token) askToken();
    return response;
  }

  function askToken() {
    $('#token-button').hidden = false;
    const dialog = $('#token-dialog');
    if (!dialog.open) dialog.showModal();
  }
  $('#token-button').addEventListener('click', askToken);
  $('#token-form').addEventListener('submit', () => {
    state.token = $('#token-input').value.trim() || null;
    if (state.token) sessionStorage.setItem('edgebind.token', state.token);
    const old = state.ws;
    connect();
    if (old) old.close();
  });

  // ---------- WebSocket ----------
  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    ws.usedToken = state.token;
    state.ws = ws;
    ws.onopen = () => {
      if (ws.usedToken) ws.send(JSON.stringify({ type: 'auth', token: ws.usedToken }));
      setConn(true);
      state.retryMs = 500;
    };
    ws.onmessage = (msg) => {
      try {
        if (msg.data instanceof ArrayBuffer) onBinary(msg.data); else onMessage(JSON.parse(msg.data));
      } catch (err) {
        console.error('bad message', err);
      }
    };
    ws.onclose = (e) => {
      if (ws !== state.ws) return;   // replaced already (new token): the new socket reconnects
      setConn(false);
      if (e.code === 1008 && ws.usedToken === state.token) askToken();
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 8000);
    };
  }

  function setConn(on) {
    const c = $('#conn');
    c.textContent = on ? 'live' : 'offline';
    c.className = 'conn ' + (on ? 'conn-on' : 'conn-off');
  }

  function onBinary(buffer) {
    const n = new DataView(buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
    const jpeg = new Blob([new Uint8Array(buffer, 4 + n)], { type: 'image/jpeg' });
    if (header.type === 'preview') onImage(header, jpeg);
  }

  function onMessage(m) {
    switch (m.type) {
      case 'hello':
        $('#pipeline-name').textContent = m.pipeline;
        state.palettes = m.palettes || {};
        state.clockOffsetMs = Date.parse(m.server_time_utc) - Date.now();
        break;
      case 'status': onStatus(m); break;
      case 'queries': onQueries(m.queries); break;
      case 'scores': onScores(m); break;
      case 'event': onEvent(m); break;
      case 'audio': onAudio(m); break;
      case 'imu': onImu(m); break;
    }
  }

  // ---------- sensor cards ----------
  function sensorCard(id, modality) {
    let card = state.sensors.get(id);
    if (card) return card;
    const empty = $('#sensors .empty');
    if (empty) empty.remove();
    const root = el('div', { class: 'sensor', id: 'sensor-' + id, 'data-modality': modality, 'data-updates': '0' });
    const stateBadge = el('span', { class: 'state', text: '…' });
    const healthBadge = el('span', { class: 'health', text: '' });
    root.append(el('header', {}, el('b', { text: `${id} · ${modality}` }), el('span', {}, healthBadge, ' ', stateBadge)));
    card = { root, modality, stateBadge, healthBadge, updates: 0 };
    if (modality === 'audio') {
      card.meterBar = el('div', { class: 'bar' });
      card.meterPeak = el('div', { class: 'peak' });
      card.level = el('span', { text: '– dBFS' });
      card.canvas = el('canvas', { width: '480', height: '128', 'aria-label': `log-mel spectrogram of ${id}` });
      card.canvas.getContext('2d').fillRect(0, 0, 480, 128);
      root.append(el('div', { class: 'meter' }, card.meterBar, card.meterPeak), el('div', { class: 'caption' }, card.level, el('span', { text: 'log-mel, 128 bands' })), card.canvas);
    } else if (modality === 'imu') {
      card.canvas = el('canvas', { width: '480', height: '200', 'aria-label': `IMU traces of ${id}` });
      root.append(card.canvas, el('div', { class: 'legend' },
        ...['x', 'y', 'z'].map((a, i) => el('span', {}, el('i', { style: `background:${AXIS_COLORS[i]}` }), a)),
        el('span', { text: 'top: accel m/s² · bottom: gyro rad/s' })));
    } else {
      card.canvas = el('canvas', { width: '320', height: '240', 'aria-label': `${modality} preview of ${id}` });
      card.caption = el('div', { class: 'caption' }, el('span', { text: '' }), el('span', { text: '' }));
      root.append(card.canvas, card.caption);
      if (modality === 'depth' || modality === 'thermal') {
        card.scaleCanvas = el('canvas', { width: '256', height: '1' });
        card.scaleMin = el('span', { text: '' });
        card.scaleMax = el('span', { text: '' });
        root.append(el('div', { class: 'scale' }, card.scaleMin, card.scaleCanvas, card.scaleMax));
      }
    }
    $('#sensors').append(root);
    state.sensors.set(id, card);
    return card;
  }

  function bump(card) {
    card.updates++;
    card.root.dataset.updates = String(card.updates);
  }

  async function onImage(h, jpeg) {
    const card = sensorCard(h.source, h.modality);
    const bitmap = await createImageBitmap(jpeg);
    const c = card.canvas;
    if (c.width !== bitmap.width || c.height !== bitmap.height) {
      c.width = bitmap.width;
      c.height = bitmap.height;
    }
    c.getContext('2d').drawImage(bitmap, 0, 0);
    bitmap.close();
    drawBoxes(card);
    const t = new Date(h.capture_utc);
    card.caption.firstChild.textContent = `${h.width}×${h.height}`;
    card.caption.lastChild.textContent = t.toLocaleTimeString();
    if (h.scale && card.scaleCanvas) drawScale(card, h.scale);
    bump(card);
  }

  // ---------- detection boxes ----------
  // A detection names the frame's source and size; its boxes (frame pixels) are drawn over that source's preview,
  // scaled to the preview, with the sound (or phrase) that triggered the search, until BOX_MS after the frame's capture.
  function onDetection(m) {
    const source = (m.sources || [])[0];
    if (!source) return;
    const card = sensorCard(source, 'vision');
    card.detection = { at: m.end_ms || now(), query: m.query_id || '', target: m.target || '', boxes: m.boxes || [], frame: m.frame || null };
    if (!card.detectionLine) {
      card.detectionLine = el('div', { class: 'caption detection' });
      card.root.append(card.detectionLine);
    }
    const heard = card.detection.target === 'audio' ? 'heard' : card.detection.target === 'fused' ? 'sensed' : 'seen';
    const found = card.detection.boxes.map((b) => `${b.label} ${Number(b.score).toFixed(2)}`).join(', ');
    card.detectionLine.textContent = `${heard} ${card.detection.query}: ${found || 'not in view'}`;
    drawBoxes(card);
  }

  function drawBoxes(card) {
    const d = card.detection;
    const c = card.canvas;
    if (!d || !c) return;
    if (now() - d.at > BOX_MS) {
      card.detection = null;
      card.root.dataset.boxes = '0';
      return;
    }
    const sx = d.frame && d.frame.width ? c.width / d.frame.width : 1;
    const sy = d.frame && d.frame.height ? c.height / d.frame.height : 1;
    const ctx = c.getContext('2d');
    const line = Math.max(2, Math.round(c.width / 160));
    ctx.save();
    ctx.lineWidth = line;
    ctx.strokeStyle = BOX_COLOR;
    ctx.fillStyle = BOX_COLOR;
    ctx.font = `${Math.max(10, Math.round(c.width / 24))}px sans-serif`;
    ctx.textBaseline = 'bottom';
    const drawn = [];
    for (const b of d.boxes) {
      const x = Math.round(b.x * sx), y = Math.round(b.y * sy), w = Math.round(b.w * sx), h = Math.round(b.h * sy);
      ctx.strokeRect(x + line / 2, y + line / 2, Math.max(1, w - line), Math.max(1, h - line));
      ctx.fillText(`${b.label} ${Number(b.score).toFixed(2)}`, x + line, Math.max(y, 12) + (y < 12 ? 12 : 0));
      drawn.push([x, y, w, h].join(','));
    }
    ctx.restore();
    card.root.dataset.boxes = String(d.boxes.length);
    card.root.dataset.boxRects = drawn.join(' ');
  }

  function drawScale(card, scale) {
    const palette = state.palettes[scale.palette];
    if (palette && card.scalePalette !== scale.palette) {
      const ctx = card.scaleCanvas.getContext('2d');
      const img = ctx.createImageData(256, 1);
      for (let i = 0; i < 256; i++) {
        img.data.set([palette[3 * i], palette[3 * i + 1], palette[3 * i + 2], 255], 4 * i);
      }
      ctx.putImageData(img, 0, 0);
      card.scalePalette = scale.palette;
    }
    const digits = Math.abs(scale.max - scale.min) < 10 ? 2 : 1;
    card.scaleMin.textContent = `${scale.min.toFixed(digits)} ${scale.unit}`;
    card.scaleMax.textContent = `${scale.max.toFixed(digits)} ${scale.unit}`;
  }

  function onAudio(m) {
    const card = sensorCard(m.source, 'audio');
    const pct = (db) => Math.max(0, Math.min(100, (db + 60) / 60 * 100));
    card.meterBar.style.width = pct(m.rms_dbfs) + '%';
    card.meterPeak.style.left = pct(m.peak_dbfs) + '%';
    card.level.textContent = `RMS ${m.rms_dbfs.toFixed(1)} dBFS · peak ${m.peak_dbfs.toFixed(1)}`;
    const bins = m.mel_bins;
    const bytes = Uint8Array.from(atob(m.mel), (ch) => ch.charCodeAt(0));
    const cols = Math.floor(bytes.length / bins);
    if (cols > 0) {
      const c = card.canvas;
      const ctx = c.getContext('2d');
      ctx.drawImage(c, -cols, 0);            // scroll left by the new columns
      const img = ctx.createImageData(cols, bins);
      const palette = state.palettes.inferno;
      for (let x = 0; x < cols; x++) {
        for (let b = 0; b < bins; b++) {
          const v = bytes[x * bins + b];
          const o = 4 * ((bins - 1 - b) * cols + x);   // low bands at the bottom
          if (palette) img.data.set([palette[3 * v], palette[3 * v + 1], palette[3 * v + 2], 255], o);
          else img.data.set([v, v, v, 255], o);
        }
      }
      ctx.putImageData(img, c.width - cols, 0);
    }
    bump(card);
  }

  function onImu(m) {
    const card = sensorCard(m.source, 'imu');
    const c = card.canvas;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#0c0f13';
    ctx.fillRect(0, 0, c.width, c.height);
    const half = c.height / 2;
    [[0, 1, 2], [3, 4, 5]].forEach((group, g) => {
      let max = 1e-6;
      for (const ch of group) for (const v of m.channels[ch]) max = Math.max(max, Math.abs(v));
      const top = g * half, mid = top + half / 2;
      ctx.strokeStyle = '#2c3440';
      ctx.beginPath(); ctx.moveTo(0, mid); ctx.lineTo(c.width, mid); ctx.stroke();
      ctx.fillStyle = '#8b97a6';
      ctx.font = '11px sans-serif';
      ctx.fillText(`±${max.toFixed(2)} ${g === 0 ? 'm/s²' : 'rad/s'}`, 4, top + 12);
      group.forEach((ch, i) => {
        const data = m.channels[ch];
        ctx.strokeStyle = AXIS_COLORS[i];
        ctx.beginPath();
        data.forEach((v, k) => {
          const x = k / (data.length - 1) * c.width;
          const y = mid - v / max * (half / 2 - 4);
          if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        });
        ctx.stroke();
      });
    });
    bump(card);
  }

  // ---------- health ----------
  function onStatus(s) {
    $('#pipeline-name').textContent = s.pipeline;
    $('#uptime').textContent = `up ${Math.floor(s.uptime_s / 60)} min ${Math.floor(s.uptime_s % 60)} s`;
    const rows = s.sources.map((x) => {
      const card = sensorCard(x.id, x.modality);
      card.stateBadge.textContent = x.state;
      card.stateBadge.className = 'state state-' + x.state;
      // A sensor can stream and still be dead (a black camera): health says whether its data can be trusted.
      card.healthBadge.textContent = x.health;
      card.healthBadge.className = 'health health-' + x.health;
      card.healthBadge.title = x.health_reason || '';
      card.root.dataset.health = x.health;
      return el('tr', { 'data-source': x.id, 'data-health': x.health },
        el('td', { text: x.id }), el('td', {}, el('span', { class: 'state state-' + x.state, text: x.state, title: x.last_error || '' })),
        el('td', {}, el('span', { class: 'health health-' + x.health, text: x.health }), x.health_reason ? el('div', { class: 'meta', text: x.health_reason }) : null),
        el('td', { text: x.samples_per_s.toFixed(1) }), el('td', { text: x.windows_per_s.toFixed(1) }),
        el('td', { text: `${x.queue_depth}/${x.queue_capacity}`, class: x.queue_depth > x.queue_capacity / 2 ? 'warn' : '' }),
        el('td', { text: String(x.dropped), class: x.dropped > 0 ? 'warn' : '' }),
        el('td', { text: String(x.errors), class: x.errors > 0 ? 'bad' : '' }),
        el('td', { text: x.window_latency_p50_ms.toFixed(3) }), el('td', { text: x.window_latency_p99_ms.toFixed(3) }));
    });
    $('#sources-table tbody').replaceChildren(...rows);
    const stages = s.stages.map((x) => el('tr', {},
      el('td', { text: x.name }), el('td', { text: x.kind }), el('td', { text: x.in_per_s.toFixed(1) }),
      el('td', { text: String(x.queue_depth), class: x.queue_depth > 8 ? 'warn' : '' }),
      el('td', { text: String(x.in) }), el('td', { text: String(x.out) }),
      el('td', { text: String(x.dropped), class: x.dropped > 0 ? 'warn' : '' }),
      el('td', { text: String(x.errors), class: x.errors > 0 ? 'bad' : '' }),
      el('td', { text: x.latency_p50_ms.toFixed(3) }), el('td', { text: x.latency_p99_ms.toFixed(3) })));
    $('#stages-table tbody').replaceChildren(...stages);
  }

  // ---------- queries ----------
  function describe(q) {
    if (q.kind === 'text') return `“${q.text}”`;
    if (q.kind === 'expr') return q.expr.replace(/"\/[^"]*\/([^"/]+)"/g, '"$1"');
    if (q.file) return `${q.kind}: ${q.file}`;
    return q.kind;
  }

  function onQueries(list) {
    const keep = new Set(list.map((q) => q.id));
    for (const [id, entry] of state.queries) {
      if (!keep.has(id)) {
        entry.li.remove();
        state.queries.delete(id);
        state.scores.delete(id);
        state.spans.delete(id);
      }
    }
    for (const q of list) {
      let entry = state.queries.get(q.id);
      if (!entry) {
        const canvas = el('canvas', { width: '600', height: '90', 'data-points': '0', 'aria-label': `similarity timeline of ${q.id}` });
        const title = el('div', { class: 'title' });
        const what = el('div', { class: 'what' });
        const li = el('li', { class: 'query', id: 'query-' + q.id }, title, what, canvas);
        entry = { li, canvas, title, what };
        state.queries.set(q.id, entry);
        $('#queries').append(li);
      }
      entry.view = q;
      // The thresholds in effect: a standing query's own (cosine); a group member's are its groups' (probability).
      const classOf = (q.groups || []).filter((g) => g.role === 'class');
      const meta = q.standing
        ? `cosine enter ${q.enter.toFixed(2)} · exit ${q.exit.toFixed(2)} · ${q.watch.join(', ')}`
        : classOf.length ? `class of ${classOf.map((g) => g.id).join(', ')}` : `background of ${(q.groups || []).map((g) => g.id).join(', ')}`;
      entry.title.replaceChildren(
        el('b', { text: q.id }),
        el('span', { class: 'meta', text: meta }),
        el('span', {},
          el('button', { type: 'button', class: 'small secondary', text: 'edit', onclick: () => edit(q) }),
          ' ',
          el('button', { type: 'button', class: 'small danger', text: 'remove', onclick: () => removeQuery(q.id) })));
      entry.what.textContent = describe(q);
      entry.groups = entry.groups || entry.li.insertBefore(el('div', { class: 'groups' }), entry.canvas);
      entry.groups.replaceChildren(...classOf.map((g) => el('div', { class: 'group', 'data-group': g.id,
        text: `${g.id}: p enter ${g.enter.toFixed(2)} · exit ${g.exit.toFixed(2)} · min ${g.min_duration_s} s · T ${g.temperature ?? 'model-calibrated'} · ${g.watch.join(', ')}` })));
    }
  }

  function edit(q) {
    state.editing = q.id;
    $('#q-id').value = q.id;
    $('#q-id').readOnly = true;
    $('#q-text').value = q.text || '';
    $('#q-enter').value = q.enter;
    $('#q-exit').value = q.exit;
    $('#q-watch').value = q.watch[0] || 'all';
    $('#q-save').textContent = 'Save query';
    $('#q-cancel').hidden = false;
    $('#q-text').focus();
  }

  function resetForm() {
    state.editing = null;
    $('#query-form').reset();
    $('#q-id').readOnly = false;
    $('#q-save').textContent = 'Add query';
    $('#q-cancel').hidden = true;
  }
  $('#q-cancel').addEventListener('click', resetForm);

  async function removeQuery(id) {
    const r = await api('/api/queries/' + encodeURIComponent(id), { method: 'DELETE' });
    if (!r.ok && r.status !== 404) showError(await r.json());
  }

  function showError(body) {
    $('#q-error').textContent = body && body.detail ? (body.field ? `${body.field}: ${body.detail}` : body.detail) : 'request failed';
  }

  $('#query-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('#q-error').textContent = '';
    const id = $('#q-id').value.trim();
    const query = { watch: [$('#q-watch').value] };
    const text = $('#q-text').value.trim();
    const file = $('#q-file').files[0];
    if (text) query.text = text;
    for (const key of ['enter', 'exit']) {
      const v = $('#q-' + key).value;
      if (v !== '') query[key] = Number(v);
    }
    if (!text && !file) {
      showError({ detail: 'type a text or choose an audio clip or image' });
      return;
    }
    if (text && file) {
      showError({ detail: 'give either a text or a file, not both' });
      return;
    }
    const editing = state.editing;
    if (!editing) query.id = id;
    let body, headers = {};
    if (file) {
      body = new FormData();
      body.append('query', JSON.stringify(query));
      body.append('file', file, file.name);
    } else {
      body = JSON.stringify(query);
      headers = { 'Content-Type': 'application/json' };
    }
    const r = await api(editing ? '/api/queries/' + encodeURIComponent(editing) : '/api/queries', { method: editing ? 'PUT' : 'POST', body, headers });
    if (r.ok) resetForm(); else showError(await r.json().catch(() => null));
  });

  function onScores(m) {
    for (const [id, v] of Object.entries(m.scores)) {
      const entry = state.queries.get(id);
      if (!entry) continue;
      // A group member's timeline shows its class probability; cosines of the same query are not its events' scores.
      if (!m.group !== !!entry.view.standing) continue;
      let list = state.scores.get(id);
      if (!list) state.scores.set(id, list = []);
      list.push({ t: m.t_ms, v, target: m.target, group: m.group || null });
    }
    if (m.target === 'fused' && m.contributions) onFused(m);
  }

  // ---------- fused view ----------
  function onFused(m) {
    // A classification group's posterior is what the fused view decides; standing queries' cosines show when there is none.
    const last = state.fused[state.fused.length - 1];
    if (last && last.t === m.t_ms && last.group && !m.group) return;
    if (last && last.t === m.t_ms) state.fused.pop();
    let best = null, p = -Infinity;
    for (const [id, v] of Object.entries(m.scores)) if (v > p) { best = id; p = v; }
    state.fused.push({ t: m.t_ms, best, p, group: m.group || null, parts: m.contributions });
    $('#fused-panel').hidden = false;
    const score = m.contributions.some((c) => c.temperature > 0);
    $('#fused-best').textContent = best == null ? '–'
      : m.group ? `${m.group}: ${best} · p ${p.toFixed(2)}` : `${best} · cosine ${p.toFixed(2)}`;
    $('#fused-mode').textContent = score ? 'score fusion: each sensor\'s own posterior, pooled by weight' : 'embedding fusion: each sensor\'s own cosine';
    const present = new Map(m.contributions.map((c) => [c.source, c]));
    const known = new Map([...state.sensors].filter(([, card]) => card.modality !== 'text'));
    for (const c of m.contributions) known.set(c.source, { modality: c.modality });
    const items = [...known].map(([source, card]) => {
      const c = present.get(source);
      const down = state.sensors.get(source)?.root.dataset.health === 'down';
      return el('li', { 'data-source': source, 'data-modality': c ? c.modality : card.modality, 'data-present': String(!!c),
        text: c ? `${source} · w ${c.weight} · ${score ? 'p' : 'cos'} ${c.score.toFixed(2)}` : `${source} · left out${down ? ' (down)' : ''}` });
    });
    $('#fused-parts').replaceChildren(...items);
  }

  function drawFused(start, end) {
    const c = $('#fused-canvas');
    if ($('#fused-panel').hidden) return;
    const w = c.clientWidth || 1200;
    if (c.width !== w) c.width = w;
    const h = c.height, ctx = c.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    const rows = FUSED_ROWS.filter((m) => state.fused.some((s) => s.parts.some((p) => p.modality === m)));
    const top = 16, rowH = rows.length ? (h - top) / rows.length : 0;
    const x = (t) => (t - start) / WINDOW_MS * w;
    ctx.font = '10px sans-serif';
    rows.forEach((m, i) => { ctx.fillStyle = '#8b97a6'; ctx.fillText(m, 2, top + i * rowH + rowH / 2 + 3); });
    state.fused = state.fused.filter((s) => s.t >= start);
    let previous = null;
    for (const s of state.fused) {
      const x0 = x(s.t), cell = Math.max(2, WINDOW_MS > 0 ? 500 / WINDOW_MS * w : 2);
      // Each sensor's part: its colour, as opaque as its own score for the step's best class.
      s.parts.forEach((p) => {
        const i = rows.indexOf(p.modality);
        if (i < 0) return;
        ctx.globalAlpha = Math.max(0.12, Math.min(1, p.score));
        ctx.fillStyle = TARGET_COLORS[p.modality] || '#ccc';
        ctx.fillRect(x0 - cell, top + i * rowH + 1, cell, rowH - 2);
      });
      ctx.globalAlpha = 1;
      if (s.best !== previous) {
        ctx.fillStyle = '#e3e8ee';
        ctx.fillText(s.best, x0 + 2, 11);
        previous = s.best;
      }
    }
    c.dataset.steps = String(state.fused.length);
    c.dataset.rows = rows.join(',');
  }

  function drawTimelines() {
    const end = now(), start = end - WINDOW_MS;
    for (const [id, entry] of state.queries) {
      const c = entry.canvas;
      const w = c.clientWidth || 600;
      if (c.width !== w) c.width = w;
      const h = c.height;
      const ctx = c.getContext('2d');
      ctx.clearRect(0, 0, w, h);
      const x = (t) => (t - start) / WINDOW_MS * w;
      const y = (v) => h - (Math.max(Y_MIN, Math.min(Y_MAX, v)) - Y_MIN) / (Y_MAX - Y_MIN) * h;
      ctx.fillStyle = 'rgba(63,182,168,0.18)';
      for (const span of state.spans.get(id) || []) {
        const s = Math.max(x(span.start), 0), e = Math.min(x(span.end ?? end), w);
        if (e > 0 && s < w) ctx.fillRect(s, 0, Math.max(2, e - s), h);
      }
      // The thresholds in effect: the query's own, or each of its groups' (their probability scale).
      const groups = (entry.view.groups || []).filter((g) => g.role === 'class');
      const lines = entry.view.standing ? [{ enter: entry.view.enter, exit: entry.view.exit, label: '' }]
        : groups.map((g) => ({ enter: g.enter, exit: g.exit, label: groups.length > 1 ? g.id + ' ' : '' }));
      ctx.font = '10px sans-serif';
      for (const l of lines) {
        ctx.setLineDash([5, 4]);
        ctx.strokeStyle = '#f0a030';
        ctx.beginPath(); ctx.moveTo(0, y(l.enter)); ctx.lineTo(w, y(l.enter)); ctx.stroke();
        ctx.strokeStyle = '#8b97a6';
        ctx.beginPath(); ctx.moveTo(0, y(l.exit)); ctx.lineTo(w, y(l.exit)); ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#8b97a6';
        ctx.fillText(l.label + 'enter', 2, y(l.enter) - 2);
        ctx.fillText(l.label + 'exit', 2, y(l.exit) + 10);
      }
      const points = (state.scores.get(id) || []).filter((p) => p.t >= start);
      state.scores.set(id, points);
      for (const p of points) {
        ctx.fillStyle = TARGET_COLORS[p.target] || '#ccc';
        ctx.fillRect(x(p.t) - 1.5, y(p.v) - 1.5, 3, 3);
      }
      c.dataset.points = String(points.length);
      c.dataset.fusedPoints = String(points.filter((p) => p.target === 'fused').length);
    }
    drawFused(start, end);
    setTimeout(() => requestAnimationFrame(drawTimelines), 250);
  }

  // ---------- events ----------
  function onEvent(m) {
    if (state.seenSeq.has(m.seq)) return;
    state.seenSeq.add(m.seq);
    if (m.kind === 'detection') onDetection(m);
    const empty = $('#events .empty');
    if (empty) empty.remove();
    const key = m.event_id || m.id;
    if (m.query_id) {
      let spans = state.spans.get(m.query_id);
      if (!spans) state.spans.set(m.query_id, spans = []);
      let span = spans.find((s) => s.eventId === key);
      if (!span) spans.push(span = { eventId: key, start: m.start_ms, end: null });
      if (m.state === 'closed') span.end = m.end_ms;
    }
    const time = new Date(m.start_ms).toLocaleTimeString();
    const badge = el('span', { class: 'badge ' + (m.state || m.kind), text: m.state || m.kind });
    // A group's score is a probability (confidence); a standing query's is a cosine, not a probability.
    const score = m.group ? `${m.group} · confidence ${(100 * Number(m.peak_score)).toFixed(0)} %` : `peak cosine ${Number(m.peak_score).toFixed(3)}`;
    const text = el('div', {},
      el('div', {}, el('b', { text: m.query_id || m.kind }), ' ', badge, ' ', el('span', { class: 'score', text: `${m.target} · ${score}` })),
      el('div', { class: 'meta', text: `${time} · ${(m.sources || []).join(', ')}${m.latency_ms && m.latency_ms.total != null ? ` · ${m.latency_ms.total.toFixed(1)} ms` : ''}${m.kind === 'detection' ? ` · ${(m.boxes || []).length} box(es)` : ''}` }),
      m.contributions && m.contributions.length ? el('div', { class: 'contrib',
        text: m.contributions.map((c) => `${c.source} ${c.temperature > 0 ? 'p' : 'cos'} ${Number(c.score).toFixed(2)} (w ${c.weight})`).join(' · ') }) : null);
    // A closed message carries no new evidence: keep what the open message brought.
    const ids = (m.evidence_ids && m.evidence_ids.length ? m.evidence_ids : state.evidence.get(key)) || [];
    state.evidence.set(key, ids);
    const jpg = ids.find((i) => /\.(jpe?g|png)$/.test(i));
    const wav = ids.find((i) => /\.wav$/.test(i));
    const li = el('li', { class: 'event' + (jpg ? '' : ' no-thumb'), 'data-query': m.query_id || '', 'data-state': m.state || '' });
    if (jpg) {
      const img = el('img', { alt: `evidence of ${m.query_id}`, loading: 'lazy' });
      li.append(img);
      evidenceUrl(jpg).then((url) => { if (url) img.src = url; });
    }
    li.append(text);
    if (wav) {
      const audio = el('audio', { controls: '', preload: 'none' });
      text.append(audio);
      evidenceUrl(wav).then((url) => { if (url) audio.src = url; });
    }
    const previous = state.events.get(key);
    if (previous) previous.replaceWith(li); else $('#events').prepend(li);
    state.events.set(key, li);
    const list = $('#events');
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  }

  async function evidenceUrl(id) {
    if (!state.token) return '/api/evidence/' + encodeURIComponent(id);
    const r = await api('/api/evidence/' + encodeURIComponent(id));
    return r.ok ? URL.createObjectURL(await r.blob()) : null;
  }

  // A quick authenticated probe: with a token required and none known, ask at once instead of
  // waiting for the WebSocket to be refused.
  api('/api/sources').catch(() => {});
  connect();
  requestAnimationFrame(drawTimelines);
})();
