// gpuvmd web UI: reads /api/v1 with the operator's bearer token and shows
// hosts, their GPUs (MIG layouts drawn to scale), vGPUs, VMs with the host
// commands that make their devices, and recent events. Strings from the API
// reach the page only as text nodes or attribute values (el(), svg()), never
// as HTML.
'use strict';

const REFRESH_MS = 5000;
const MAX_EVENTS = 20;
// Host commands are fetched per VM (one request each): for the VMs whose
// commands are shown, the newest this many.
const MAX_COMMAND_VMS = 20;
const TOKEN_KEY = 'gpuvmd.token';
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

let token = null;
let selectedHost = null;
// VM id -> whether the operator chose to see its host commands; VMs not in
// here show them while deploying or failed.
const commandsShown = new Map();
let events = [];
let eventCursor = 0;
let timer = null;
let refreshing = false;
let refreshAgain = false;  // asked for while one was running

class Unauthorized extends Error {}

// el('td', {class: 'x'}, 'text', node): strings become text nodes.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children.filter((c) => c !== null && c !== undefined)
               .map((c) => (c instanceof Node ? c : String(c))));
  return e;
}

function svg(tag, attrs = {}, text = null) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

async function api(path) {
  const res = await fetch(
      '/api/v1' + path, {headers: {Authorization: 'Bearer ' + token}, cache: 'no-store'});
  if (res.status === 401) throw new Unauthorized();
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`GET ${path}: ${body?.error?.message ?? 'HTTP ' + res.status}`);
  return body;
}

// --- sign-in --------------------------------------------------------------

// A #token=... fragment never reaches a server or its logs; keep the token
// for this tab only and take it out of the address bar (and history).
function tokenFromFragment() {
  const t = new URLSearchParams(location.hash.slice(1)).get('token');
  if (t) {
    sessionStorage.setItem(TOKEN_KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showLogin(message) {
  clearTimeout(timer);
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('content').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-message').textContent = message;
  setStatus('');
  $('token').focus();
}

function signIn(t) {
  token = t;
  $('login').hidden = true;
  $('content').hidden = false;
  $('sign-out').hidden = false;
  refresh();
}

// --- refresh --------------------------------------------------------------

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

async function refresh() {
  if (!token) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  refreshAgain = false;
  clearTimeout(timer);
  try {
    const [hosts, vms] = await Promise.all([api('/hosts'), api('/vms')]);
    if (!hosts.some((h) => h.name === selectedHost)) selectedHost = hosts[0]?.name ?? null;
    const [host, commands] = await Promise.all([
      selectedHost ? api('/hosts/' + encodeURIComponent(selectedHost)) : null, vmCommands(vms),
      pollEvents()
    ]);
    const vmNames = new Map(vms.map((v) => [v.id, v.name]));
    renderHosts(hosts);
    renderHost(host, vmNames);
    renderVms(vms, commands);
    renderEvents();
    setStatus('Updated ' + new Date().toLocaleTimeString());
  } catch (e) {
    if (e instanceof Unauthorized) {
      refreshing = false;
      showLogin('The server refused this token (401 Unauthorized). Enter a valid API token.');
      return;
    }
    setStatus('Refresh failed: ' + e.message, true);
  }
  refreshing = false;
  timer = setTimeout(refresh, refreshAgain ? 0 : REFRESH_MS);
}

function showsCommands(v) {
  return commandsShown.get(v.id) ?? (v.state === 'deploying' || v.state === 'failed');
}

// VM id -> its host commands (oldest first), for the VMs that show them:
// those the operator opened, and the newest deploying or failed ones. A VM
// deleted since the listing is left out.
async function vmCommands(vms) {
  const wanted = [
    ...vms.filter((v) => commandsShown.get(v.id) === true),
    ...vms.filter((v) => !commandsShown.has(v.id) && showsCommands(v)).slice(-MAX_COMMAND_VMS)
  ];
  const lists = await Promise.all(wanted.map(
      (v) => api(`/vms/${v.id}/commands`)
                 .then((r) => [v.id, r.commands])
                 .catch((e) => (e instanceof Unauthorized ? Promise.reject(e) : null))));
  return new Map(lists.filter(Boolean));
}

// Events come oldest first after a cursor: page to the end once, then only
// new ones on each refresh; keep the latest few.
async function pollEvents() {
  for (;;) {
    const batch = await api(`/events?after=${eventCursor}&limit=1000`);
    if (batch.length) eventCursor = batch[batch.length - 1].id;
    events = events.concat(batch).slice(-MAX_EVENTS);
    if (batch.length < 1000) return;
  }
}

// --- views ----------------------------------------------------------------

function age(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function emptyRow(columns, text) {
  return el('tr', {}, el('td', {colspan: columns, class: 'empty'}, text));
}

// A table with a caption, column headers and rows of cells (strings).
function table(caption, headers, rows) {
  const head = el('tr', {}, ...headers.map((h) => el('th', {scope: 'col'}, h)));
  const body = rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))));
  return el(
      'table', {}, el('caption', {}, caption), el('thead', {}, head),
      el('tbody', {}, ...(body.length ? body : [emptyRow(headers.length, 'none')])));
}

function renderHosts(hosts) {
  const rows = hosts.map((h) => {
    const pick = el(
        'button', {type: 'button', class: 'link', 'aria-pressed': String(h.name === selectedHost)},
        h.name);
    pick.addEventListener('click', () => {
      selectedHost = h.name;
      refresh();
    });
    return el(
        'tr', {'data-host': h.name}, el('th', {scope: 'row'}, pick),
        el('td', {class: 'state-' + h.state}, h.state), el('td', {}, age(h.updated_at_ms)),
        el('td', {}, h.gpus), el('td', {}, h.allocations));
  });
  $('hosts-body').replaceChildren(...(rows.length ? rows : [emptyRow(5, 'No host registered.')]));
}

function vmLabel(id, vmNames) {
  return vmNames.has(id) ? `${vmNames.get(id)} (VM ${id})` : `VM ${id}`;
}

function renderHost(host, vmNames) {
  $('host-title').textContent = host ? `GPUs of ${host.name}` : 'GPUs';
  if (!host) {
    $('gpus').replaceChildren(el('p', {}, 'No host selected.'));
    return;
  }
  const gpus = host.gpus.map((g) => {
    const allocs = host.allocations.filter((a) => a.gpu === g.address);
    const whole = allocs.find((a) => a.kind === 'passthrough');
    const wholeUse = whole ? 'passed through to ' + vmLabel(whole.vm_id, vmNames) :
                             (g.whole_free ? 'free' : 'in use');
    const facts = [
      ['Address', g.address], ['MIG mode', g.mig_enabled ? 'enabled' : 'disabled'],
      ['Whole GPU', wholeUse], ['VFs free', `${g.vfs_free} of ${g.vfs_total}`]
    ];
    const dl = el('dl', {}, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    return el(
        'article', {class: 'gpu', 'data-gpu': g.address},
        el('h3', {}, `${g.model || 'GPU'} at ${g.address}`), dl,
        g.mig_enabled ? migLayout(g, allocs, vmNames) : null, vgpuTables(g, allocs, vmNames));
  });
  $('gpus').replaceChildren(
      hostCheck(host.check), ...(gpus.length ? gpus : [el('p', {}, 'This host reports no GPU.')]));
}

// The host's last `gpuvm check --record` (docs/check.md): the worst status and
// when, what warns or fails with its fix, every line behind Show.
function hostCheck(check) {
  if (!check) {
    return el('p', {class: 'host-check'}, 'Host check: never reported (gpuvm check --record).');
  }
  const row = (r) => [r.id, r.gpu || '-', badge(r.status), r.seen, r.fix || '-'];
  const headers = ['Check', 'GPU', 'Status', 'Seen', 'Fix'];
  const problems = check.results.filter((r) => r.status !== 'ok');
  const when = check.checked_at_ms ? `, ${age(check.checked_at_ms)}` : '';
  return el(
      'section', {class: 'host-check', 'data-check': check.status},
      el('h3', {}, 'Host check: ', badge(check.status),
         ` ${problems.length} of ${check.results.length} to look at${when}`),
      problems.length ? table('What to fix', headers, problems.map(row)) : null,
      el('details', {}, el('summary', {}, 'Every check'),
         table('Every check', headers, check.results.map(row))));
}

// The board's size and each profile's, in memory slices, as the host's MIG
// profile table gives them (capacity JSON: mig_memory_slices,
// mig_profile_slices). A profile the table no longer lists (the host
// reported a new table under an old allocation) is drawn as one slice.
function migGeometry(g) {
  const sizes = g.mig_profile_slices ?? {};
  if (!(g.mig_memory_slices > 0) || !Object.keys(sizes).length) return null;
  return {slices: g.mig_memory_slices, slicesOf: (p) => sizes[p] ?? 1};
}

// A label that fits `width` viewBox units (13px text); the rectangle's
// title keeps the whole text.
function clip(text, width) {
  const max = Math.max(2, Math.floor(width / 8));
  return text.length <= max ? text : text.slice(0, max - 1) + '\u2026';
}

// One bar of memory slices; each GPU instance (existing, or allocated and
// not created yet) a rectangle at its start, as wide as its slices.
function migLayout(g, allocs, vmNames) {
  const geo = migGeometry(g);
  if (!geo) return el('p', {}, 'MIG is enabled but the host reported no MIG profiles.');
  const gis = new Map(g.mig_instances.map(
      (i) => [i.start, {profile: i.profile, start: i.start, slices: i.memory_slices}]));
  for (const a of allocs)
    if (a.mig_start >= 0)
      gis.set(a.mig_start, {
        profile: a.mig_profile,
        start: a.mig_start,
        slices: gis.get(a.mig_start)?.slices,
        vm: a.vm_id
      });

  const W = 800, H = 56, top = 4, u = W / geo.slices;
  const s = svg('svg', {
    viewBox: `0 0 ${W} ${H + 20}`,
    class: 'mig',
    role: 'img',
    'data-slices': geo.slices,
    'aria-label': `MIG layout of ${g.address}: ${gis.size} GPU instances` +
        ` on ${geo.slices} memory slices`
  });
  s.append(svg('rect', {class: 'board', x: 0, y: top, width: W, height: H - top}));
  for (let i = 0; i < geo.slices; ++i) {
    s.append(svg('line', {class: 'tick', x1: i * u, x2: i * u, y1: top, y2: H}));
    s.append(svg('text', {class: 'slice', x: (i + 0.5) * u, y: H + 14}, String(i)));
  }
  for (const gi of [...gis.values()].sort((a, b) => a.start - b.start)) {
    const n = gi.slices || geo.slicesOf(gi.profile),
          vm = gi.vm !== undefined ? vmLabel(gi.vm, vmNames) : '';
    const r = svg('rect', {
      class: vm ? 'gi allocated' : 'gi',
      x: gi.start * u,
      y: top,
      width: n * u,
      height: H - top,
      'data-profile': gi.profile,
      'data-start': gi.start,
      'data-slices': n
    });
    r.append(
        svg('title', {},
            `${gi.profile}, memory slices ${gi.start}-${gi.start + n - 1}` +
                (vm ? `, ${vm}` : ', free')));
    const x = (gi.start + n / 2) * u, fit = (t) => clip(t, n * u);
    s.append(r, svg('text', {class: 'profile', x, y: vm ? top + 22 : top + 30}, fit(gi.profile)));
    if (vm) s.append(svg('text', {class: 'vm', x, y: top + 40, 'data-vm': gi.vm}, fit(vm)));
  }
  return el(
      'figure', {}, s,
      el('figcaption', {},
         `${g.free_memory_slices} of ${geo.slices} memory slices free for new GPU instances`));
}

function vgpuTables(g, allocs, vmNames) {
  const types = Object.entries(g.vgpu_free);
  const used = allocs.filter((a) => a.kind !== 'passthrough');
  const existing = g.vgpus ?? [];
  if (!types.length && !used.length && !existing.length) return null;
  const rows = used.map(
      (a) =>
          [vmLabel(a.vm_id, vmNames), a.kind,
           [a.vgpu_type, a.mig_profile].filter(Boolean).join(' on '),
           a.device || '(mdev on the GPU)']);
  // What the host reports exists: a VM's once its agent made it, and the
  // host's own (node.yaml's, or made by hand), which gpuvmd never hands out.
  const owner = (v) => {
    const a = allocs.find((x) => x.kind === 'vgpu' && x.device === v.device);
    if (a) return vmLabel(a.vm_id, vmNames);
    return v.device === g.address ? 'an mdev on the GPU' : 'the host (not placed by gpuvmd)';
  };
  const made = existing.map((v) => [v.device, v.type || '(type not reported)', owner(v)]);
  return el(
      'div', {class: 'vgpu'}, table('vGPU types', ['Type', 'Can still be created'], types),
      table('vGPUs and GPU instances in use', ['VM', 'Kind', 'Type / profile', 'Device'], rows),
      table('vGPUs on the host', ['Device', 'Type', 'For'], made));
}

function describeRequest(r) { return Object.entries(r).map(([k, v]) => `${k}=${v}`).join(','); }

function describeAllocation(a) {
  const what = a.kind === 'mig' ? `MIG ${a.mig_profile} at slice ${a.mig_start}` :
      a.kind === 'vgpu' ? `vGPU ${a.vgpu_type}` :
                          'passthrough';
  return `${what}: ${a.device || a.gpu} on ${a.host}`;
}

function badge(state) { return el('span', {class: 'badge state-' + state}, state); }

function describeCommand(c) {
  return c.op.startsWith('gi.') ?
      `GPU instance ${c.mig_profile} at slice ${c.mig_start} of ${c.gpu}` :
      `vGPU ${c.vgpu_type} on ${c.device}`;
}

// Under a VM's state: how far its host got, or why the host refused it.
function commandSummary(v, cmds) {
  if (!cmds?.length) return null;
  if (v.state === 'failed') {
    const refused = cmds.findLast((c) => c.state === 'failed' && c.op.endsWith('.create'));
    if (refused)
      return el(
          'p', {class: 'reason'},
          `${refused.op} refused by ${refused.host}: ${refused.message || '(no message)'}`);
  }
  if (v.state === 'deploying') {
    const done = cmds.filter((c) => c.state === 'done').length;
    const queued = cmds.filter((c) => c.state === 'queued').length;
    return el(
        'p', {class: 'progress'}, `waiting for the host's agent: ${done} done, ${queued} queued`);
  }
  return null;
}

function commandsRow(v, cmds) {
  const rows = cmds.map(
      (c) =>
          el('tr', {'data-command': c.id, 'data-state': c.state}, el('td', {}, c.id),
             el('td', {}, c.op), el('td', {}, describeCommand(c)), el('td', {}, badge(c.state)),
             el('td', {class: 'message'}, c.message || '-'), el('td', {}, age(c.updated_at_ms))));
  return el(
      'tr', {class: 'commands', 'data-commands-of': v.id},
      el('td', {colspan: 7},
         el('table', {}, el('caption', {}, `Host commands of ${v.name} (VM ${v.id})`),
            el('thead', {},
               el('tr', {},
                  ...['#', 'Op', 'What', 'State', 'Host\'s message', 'Updated'].map(
                      (h) => el('th', {scope: 'col'}, h)))),
            el('tbody', {}, ...(rows.length ? rows : [emptyRow(6, 'No host command.')])))));
}

function renderVms(vms, commands) {
  const list = (items) => (items.length ? el('ul', {}, ...items.map((t) => el('li', {}, t))) : '-');
  const rows = vms.flatMap((v) => {
    const cmds = commands.get(v.id);
    const shown = cmds !== undefined;
    const toggle =
        el('button', {type: 'button', class: 'link', 'aria-expanded': String(shown)},
           shown ? 'Hide' : 'Show');
    toggle.addEventListener('click', () => {
      commandsShown.set(v.id, !shown);
      refresh();
    });
    const row =
        el('tr', {'data-vm': v.id, 'data-state': v.state}, el('td', {}, v.id),
           el('th', {scope: 'row'}, v.name), el('td', {}, badge(v.state), commandSummary(v, cmds)),
           el('td', {}, v.host || '-'), el('td', {}, list(v.pci.map(describeRequest))),
           el('td', {}, list(v.allocations.map(describeAllocation))), el('td', {}, toggle));
    return shown ? [row, commandsRow(v, cmds)] : [row];
  });
  $('vms-body').replaceChildren(...(rows.length ? rows : [emptyRow(7, 'No VM.')]));
}

function renderEvents() {
  const rows = events.slice().reverse().map(
      (e) =>
          el('tr', {}, el('td', {}, new Date(e.at_ms).toLocaleString()), el('td', {}, e.kind),
             el('td', {}, e.object), el('td', {}, e.message)));
  $('events-body').replaceChildren(...(rows.length ? rows : [emptyRow(4, 'No event yet.')]));
}

// --- start ----------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    signIn(t);
  });
  $('sign-out').addEventListener('click', () => showLogin('Signed out.'));
  const t = tokenFromFragment();
  if (t)
    signIn(t);
  else
    showLogin('Enter the API token to see hosts, GPUs and VMs.');
});
