/**
 * The admin dashboard: one self-contained page (inline SVG, style and script; nothing from a CDN)
 * that polls `stats` with the admin token and draws hit ratio, memory, eviction rate, hit ratio
 * by route and the hottest keys. The page holds no data itself: the token is asked for (or read
 * from the URL fragment, which never reaches a server or its logs) and kept in sessionStorage.
 */

export interface DashboardOptions {
  /** CSP nonce of the inline script and style. */
  readonly nonce: string;
  readonly refreshMs: number;
}

export function renderDashboard(options: DashboardOptions): string {
  const { nonce, refreshMs } = options;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>gatecache</title>
<style nonce="${nonce}">
  :root { --bg: #ffffff; --fg: #1f2933; --muted: #7b8794; --grid: #e4e7eb; --a: #2563eb; --b: #d97706; --c: #dc2626; --d: #059669; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px; border-bottom: 1px solid var(--grid); }
  header h1 { font-size: 18px; margin: 0; }
  #status { color: var(--muted); }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { border: 1px solid var(--grid); border-radius: 6px; padding: 12px; }
  section h2 { font-size: 14px; margin: 0 0 8px; display: flex; justify-content: space-between; }
  section h2 span { color: var(--muted); font-weight: normal; }
  svg { width: 100%; height: 180px; display: block; }
  table { width: 100%; border-collapse: collapse; font-size: 12px; }
  td, th { text-align: left; padding: 2px 4px; border-bottom: 1px solid var(--grid); }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  #login { padding: 20px; }
  #login[hidden], main[hidden] { display: none; }
  .alert { color: var(--c); }
</style>
</head>
<body>
<header><h1>gatecache</h1><span id="status">connecting…</span></header>
<form id="login" hidden><label>Admin token <input id="token" type="password" autocomplete="off" size="40"></label> <button type="submit">Open</button></form>
<main id="panels" hidden>
  <section><h2>Hit ratio <span id="hit-value">–</span></h2><svg id="chart-hit" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="hit ratio over time"></svg></section>
  <section><h2>Memory used of limit <span id="memory-value">–</span></h2><svg id="chart-memory" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="memory over time"></svg></section>
  <section><h2>Evictions per second <span id="evictions-value">–</span></h2><svg id="chart-evictions" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="eviction rate"></svg></section>
  <section><h2>Hit ratio by route <span id="routes-value"></span></h2><svg id="chart-routes" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="hit ratio by route"></svg></section>
  <section><h2>Hottest keys <span>requests</span></h2><svg id="chart-keys" viewBox="0 0 600 180" preserveAspectRatio="none" role="img" aria-label="hottest keys"></svg></section>
  <section><h2>Largest entries <span id="alerts"></span></h2><table id="largest"><thead><tr><th>key</th><th>tier</th><th class="num">bytes</th><th class="num">ttl s</th></tr></thead><tbody></tbody></table></section>
</main>
<script nonce="${nonce}">
(function () {
  'use strict';
  var REFRESH = ${Number(refreshMs)};
  var MAX_POINTS = 120;
  var base = location.pathname.replace(/\\/(dashboard)?\\/?$/, '');
  var series = { hit: [], memory: [], evictions: [] };
  var NS = 'http://www.w3.org/2000/svg';
  var fragment = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fragment) {
    sessionStorage.setItem('gatecache-token', decodeURIComponent(fragment[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  function token() { return sessionStorage.getItem('gatecache-token'); }
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(node);
    return node;
  }
  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }
  function grid(svg) {
    for (var i = 0; i <= 4; i++) el('line', { x1: 0, x2: 600, y1: 10 + i * 40, y2: 10 + i * 40, stroke: '#e4e7eb', 'stroke-width': 1 }, svg);
  }
  function line(svg, points, max, color) {
    clear(svg); grid(svg);
    if (points.length === 0) return;
    var step = points.length > 1 ? 600 / (points.length - 1) : 0;
    var coords = points.map(function (v, i) {
      var y = 170 - (Math.min(v, max) / max) * 160;
      return [points.length > 1 ? i * step : 300, y];
    });
    var area = 'M' + coords[0][0] + ',170 ' + coords.map(function (c) { return 'L' + c[0] + ',' + c[1]; }).join(' ') + ' L' + coords[coords.length - 1][0] + ',170 Z';
    el('path', { d: area, fill: color, 'fill-opacity': 0.15, stroke: 'none' }, svg);
    el('polyline', { points: coords.map(function (c) { return c.join(','); }).join(' '), fill: 'none', stroke: color, 'stroke-width': 3 }, svg);
    coords.forEach(function (c) { el('circle', { cx: c[0], cy: c[1], r: 4, fill: color }, svg); });
  }
  function bars(svg, items, max, color, label) {
    clear(svg); grid(svg);
    var n = Math.max(items.length, 1), h = 160 / n;
    items.forEach(function (item, i) {
      var w = max > 0 ? Math.max(2, (item.value / max) * 440) : 2;
      el('rect', { x: 150, y: 10 + i * h + 2, width: w, height: Math.max(4, h - 4), fill: color }, svg);
      var text = el('text', { x: 146, y: 10 + i * h + h / 2 + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#1f2933' }, svg);
      var full = label(item);
      text.textContent = full.length > 24 ? full.slice(0, 23) + '…' : full;
    });
  }
  // Keys without version, namespace and host: the path is what a reader looks for.
  function shortKey(key) { return key.replace(/^gc\\d+:[^:]*:[^\\/ ]*/, ''); }
  function pct(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%'; }
  function push(list, v) { list.push(v); if (list.length > MAX_POINTS) list.shift(); }
  function render(s) {
    push(series.hit, s.hitRatio === null ? 0 : s.hitRatio);
    push(series.memory, s.memoryRatio === null ? 0 : s.memoryRatio);
    push(series.evictions, s.evictions ? s.evictions.perSecond : 0);
    line(document.getElementById('chart-hit'), series.hit, 1, '#2563eb');
    line(document.getElementById('chart-memory'), series.memory, 1, '#d97706');
    var emax = Math.max.apply(null, series.evictions.concat([1]));
    line(document.getElementById('chart-evictions'), series.evictions, emax, '#dc2626');
    document.getElementById('hit-value').textContent = pct(s.hitRatio);
    document.getElementById('memory-value').textContent = pct(s.memoryRatio);
    document.getElementById('evictions-value').textContent = s.evictions ? s.evictions.perSecond.toFixed(2) + '/s, ' + s.evictions.total + ' total' : '–';
    var routes = (s.routes || []).slice(0, 8).map(function (r) { return { name: r.route, value: r.hitRatio || 0 }; });
    bars(document.getElementById('chart-routes'), routes, 1, '#059669', function (r) { return r.name + ' ' + pct(r.value); });
    var keys = (s.topKeys || []).slice(0, 8).map(function (k) { return { name: shortKey(k.key), value: k.requests }; });
    var kmax = keys.reduce(function (m, k) { return Math.max(m, k.value); }, 0);
    bars(document.getElementById('chart-keys'), keys, kmax, '#2563eb', function (k) { return k.name; });
    var body = document.querySelector('#largest tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    (s.largestEntries || []).forEach(function (e) {
      var row = document.createElement('tr');
      [shortKey(e.key), e.layer, e.sizeBytes, e.ttlSeconds].forEach(function (v, i) {
        var td = document.createElement('td'); td.textContent = String(v); if (i > 1) td.className = 'num'; row.appendChild(td);
      });
      body.appendChild(row);
    });
    var alerts = (s.alerts || []).map(function (a) { return a.name; }).join(', ');
    var alertsNode = document.getElementById('alerts');
    alertsNode.textContent = alerts ? 'alerts: ' + alerts : '';
    alertsNode.className = alerts ? 'alert' : '';
    document.getElementById('status').textContent = 'updated ' + new Date(s.at).toLocaleTimeString() + ' · ' + (s.requests ? s.requests.total : 0) + ' requests';
    document.body.setAttribute('data-polls', String(series.hit.length));
  }
  function showLogin(message) {
    document.getElementById('panels').hidden = true;
    document.getElementById('login').hidden = false;
    document.getElementById('status').textContent = message;
  }
  function poll() {
    var t = token();
    if (!t) { showLogin('enter the admin token'); return; }
    fetch(base + '/stats', { headers: { authorization: 'Bearer ' + t }, cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        if (res.status === 401) { sessionStorage.removeItem('gatecache-token'); showLogin('token refused'); return null; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (s) {
        if (!s) return;
        document.getElementById('login').hidden = true;
        document.getElementById('panels').hidden = false;
        render(s);
        setTimeout(poll, REFRESH);
      })
      .catch(function (e) { document.getElementById('status').textContent = 'error: ' + e.message; setTimeout(poll, REFRESH); });
  }
  document.getElementById('login').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem('gatecache-token', document.getElementById('token').value);
    poll();
  });
  poll();
})();
</script>
</body>
</html>
`;
}
