// The dashboard page: one live stream (SSE), plain DOM, no framework.
// Every text from the gateway goes in with textContent, never as HTML.
// Stable data-testid attributes are what the browser test reads.

const state = { station: false, devices: new Map(), settlements: [], events: [], phones: [], devicesHidden: 0 };
const settlementsMax = 50;
const eventsMax = 50;
/** Waits between reconnects after the server refused or closed the stream for good (EventSource retries network errors by itself). */
const reconnectDelaysMs = [1000, 2000, 5000, 10000];

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function money(m) {
  if (!m) return '';
  try {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(m.minor / 10 ** digits);
  } catch {
    return `${m.minor} ${m.currency} (minor)`;
  }
}

const time = (ms) => new Date(ms).toLocaleTimeString();

/** What a technician calls an output's state: a gate's relay is open or closed, a vending relay turns a spiral. */
function outputLabel(device, output) {
  if (output.kind === 'relay') {
    const open = output.state === 'open';
    if (device.kind === 'vending') return { text: open ? 'turning' : 'still', cls: open ? 'turning' : '' };
    if (device.kind === 'gate') return { text: open ? 'OPEN' : 'closed', cls: open ? 'active' : '' };
    return { text: output.state, cls: open ? 'active' : '' };
  }
  if (output.kind === 'sensor') return { text: output.state, cls: output.state === 'active' ? 'active' : '' };
  if (output.kind === 'slot') return { text: output.state, cls: /jam|fault|disabled|empty|sold/.test(output.state) ? 'fault' : '' };
  return { text: output.state, cls: '' };
}

function deviceCard(d) {
  const outputs = el('ul', { class: 'outputs' }, ...d.outputs.map((o) => {
    const label = outputLabel(d, o);
    return el('li', { class: `out ${label.cls}`, 'data-testid': `output-${d.id}-${o.name}`, 'data-kind': o.kind, 'data-state': o.state, title: `${o.kind} ${o.name}: ${o.state}` },
      `${o.name} `, el('b', { text: label.text }));
  }));
  const canJam = d.kind === 'vending';
  const buttons = state.station && d.inStation ? el('div', { class: 'buttons' },
    canJam && d.slots.length > 0 ? el('select', { 'data-testid': `jam-slot-${d.id}`, 'aria-label': `slot of ${d.id} to jam` }, ...d.slots.map((s) => el('option', { value: s, text: s }))) : null,
    canJam ? el('button', { type: 'button', 'data-action': 'jam', 'data-device': d.id, 'data-testid': `jam-${d.id}`, text: 'Jam' }) : null,
    el('button', { type: 'button', 'data-action': 'cut', 'data-device': d.id, 'data-on': d.cutOff ? 'false' : 'true', 'data-testid': `cut-${d.id}`, text: d.cutOff ? 'Reconnect' : 'Cut off' }),
  ) : null;
  return el('article', { class: 'card', 'data-testid': `device-${d.id}`, 'data-presence': d.presence, 'data-kind': d.kind ?? '' },
    el('h3', {}, el('span', { text: d.id }), el('span', { class: `badge ${d.presence}`, 'data-testid': `presence-${d.id}`, text: d.cutOff ? 'cut off' : d.presence })),
    el('div', { class: 'role', text: [d.role, d.kind].filter(Boolean).join(' · ') }),
    el('div', { class: 'machine', 'data-testid': `machine-state-${d.id}`, text: d.machineState ?? '—' }),
    outputs,
    d.faults.length > 0 ? el('div', { class: 'faults', text: `faults: ${d.faults.join(', ')}` }) : null,
    d.outboxDepth ? el('div', { class: 'last-event', text: `outbox: ${d.outboxDepth} waiting` }) : null,
    d.lastEvent ? el('div', { class: 'last-event', text: `${time(d.lastEvent.at)} ${d.lastEvent.kind} ${d.lastEvent.detail ?? ''}` }) : null,
    buttons,
  );
}

function renderDevice(d) {
  const card = deviceCard(d);
  const old = document.querySelector(`[data-testid="device-${CSS.escape(d.id)}"]`);
  // Keep the slot a technician has chosen across updates of the card.
  const chosen = old?.querySelector('select')?.value;
  const select = card.querySelector('select');
  if (select && chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
  if (old) old.replaceWith(card);
  else $('#devices').append(card);
}

function renderDevicesHidden() {
  $('[data-testid="devices-hidden"]').textContent = state.devicesHidden > 0 ? `(${state.devicesHidden} more not shown)` : '';
}

function payerName(walletId) {
  if (!walletId) return '';
  const phone = state.phones.find((p) => p.walletId === walletId);
  return phone ? phone.name : `${walletId.slice(0, 8)}…`;
}

function renderSettlements() {
  $('#settlements').replaceChildren(...state.settlements.map((s) => el('tr', { 'data-testid': `settlement-${s.requestId}`, 'data-status': s.status, 'data-device': s.deviceId },
    el('td', { text: time(s.at) }),
    el('td', { text: s.deviceId }),
    el('td', { text: payerName(s.walletId) }),
    el('td', { text: s.article ?? '' }),
    el('td', { class: 'num', text: money(s.amount) }),
    el('td', { class: s.status, text: s.reason ? `${s.status}: ${s.reason}` : s.status }),
    el('td', { class: 'muted', text: s.journalState ?? '' }),
    el('td', { 'data-testid': `outcome-${s.requestId}`, text: s.outcome ?? (s.ticket ? 'ticket' : '') }),
  )));
}

function renderEvents() {
  $('#events').replaceChildren(...state.events.map((e) => el('li', { text: `${time(e.at)}  ${e.deviceId}  ${e.kind}  ${e.detail ?? ''}` })));
}

function renderPhones() {
  $('#phones').replaceChildren(...state.phones.map((p) => el('tr', { 'data-testid': `phone-${p.name}` },
    el('td', { text: p.name }),
    el('td', { class: 'num', 'data-testid': `balance-${p.name}`, 'data-minor': p.balance.minor, 'data-currency': p.balance.currency, text: money(p.balance) }),
    el('td', { 'data-testid': `tickets-${p.name}`, text: p.tickets.join('; ') || '—' }),
    el('td', { 'data-testid': `admission-${p.name}`, text: p.admission ?? '—' }),
    el('td', { 'data-testid': `emoney-${p.name}`, text: p.emoney ?? '—' }),
    el('td', { class: 'muted', text: p.account }),
  )));
  fillSelect($('[data-testid="tap-phone"]'), state.phones.map((p) => [p.name, p.name]));
  renderSettlements(); // payer names come from the phones
}

function renderTapDevices() {
  const devices = [...state.devices.values()].filter((d) => d.inStation);
  fillSelect($('[data-testid="tap-device"]'), devices.map((d) => [d.id, `${d.id} (${d.role})`]));
}

/** Replaces a select's options and keeps the chosen one if it is still there. */
function fillSelect(select, options) {
  const chosen = select.value;
  const same = select.options.length === options.length && options.every(([value], i) => select.options[i].value === value);
  if (same) return;
  select.replaceChildren(...options.map(([value, label]) => el('option', { value, text: label })));
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}

function showStation() {
  for (const section of document.querySelectorAll('.station-only')) section.hidden = !state.station;
}

function applySnapshot(s) {
  state.station = s.station;
  state.devices = new Map(s.devices.map((d) => [d.id, d]));
  state.devicesHidden = s.devicesHidden;
  state.settlements = s.settlements;
  state.events = s.events;
  state.phones = s.phones;
  showStation();
  $('#devices').replaceChildren(...s.devices.map(deviceCard));
  renderDevicesHidden();
  renderPhones();
  renderTapDevices();
  renderEvents();
}

function applyUpdate(u) {
  for (const d of u.devices) {
    state.devices.set(d.id, d);
    renderDevice(d);
  }
  if (u.devices.length > 0) renderTapDevices();
  state.devicesHidden = u.devicesHidden;
  renderDevicesHidden();
  if (u.phones) {
    state.phones = u.phones;
    renderPhones();
  }
  if (u.settlements.length > 0) {
    for (const s of u.settlements) {
      const i = state.settlements.findIndex((x) => x.key === s.key);
      if (i >= 0) state.settlements[i] = s;
      else state.settlements.unshift(s);
    }
    state.settlements.length = Math.min(state.settlements.length, settlementsMax);
    renderSettlements();
  }
  if (u.events.length > 0) {
    state.events = [...u.events].reverse().concat(state.events).slice(0, eventsMax);
    renderEvents();
  }
}

function setStreamStatus(s) {
  const badge = $('[data-testid="stream-status"]');
  badge.dataset.state = s;
  badge.textContent = s;
}

let failures = 0;
function connect() {
  const source = new EventSource('/dashboard/api/stream');
  source.addEventListener('snapshot', (e) => {
    failures = 0;
    applySnapshot(JSON.parse(e.data));
    setStreamStatus('live');
  });
  source.addEventListener('update', (e) => applyUpdate(JSON.parse(e.data)));
  source.addEventListener('error', () => {
    setStreamStatus('reconnecting');
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    const delay = reconnectDelaysMs[Math.min(failures, reconnectDelaysMs.length - 1)];
    failures += 1;
    setTimeout(connect, delay);
  });
}

async function post(action, body) {
  const out = $('[data-testid="action-result"]');
  out.className = '';
  out.textContent = `${action}…`;
  try {
    const res = await fetch(`/dashboard/api/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json();
    if (res.ok) out.textContent = answer.message;
    else {
      out.className = 'error';
      out.textContent = `${answer.error?.code ?? res.status}: ${answer.error?.message ?? ''}`;
    }
  } catch (err) {
    out.className = 'error';
    out.textContent = `${action} failed: ${err.message}`;
  }
}

$('#tap-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  void post('tap', { phone: form.get('phone'), deviceId: form.get('device') });
});

$('#devices').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-action]');
  if (!button) return;
  const deviceId = button.dataset.device;
  if (button.dataset.action === 'jam') {
    const slot = button.closest('.buttons').querySelector('select')?.value;
    void post('jam', slot ? { deviceId, slot } : { deviceId });
  } else if (button.dataset.action === 'cut') {
    void post('cut', { deviceId, on: button.dataset.on === 'true' });
  }
});

connect();
