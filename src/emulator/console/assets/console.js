// The Gravity emulator console: a live list of the requests the emulator decided, pushed by Server-Sent Events
// from /console/api/stream, with filters, pause, clear, counters, fault switches and exports.
// Plain browser JavaScript, no build step. Every value from a request is put in the page as text, never as HTML.

const MAX_ENTRIES = 1000; // entries kept in the page; the counters and exports cover everything since Clear
const SUMMARY_CHARS = 120;

const $ = (id) => document.getElementById(id);

/** Create an element; strings and numbers among the children become text nodes. */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return element;
}

const pad = (n, width = 2) => String(n).padStart(width, '0');
function clockTime(millis) {
  const d = new Date(millis);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function dateTime(millis) {
  const d = new Date(millis);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clockTime(millis)}`;
}
function compactJson(value) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text;
}

const state = {
  entries: new Map(), // seq → { entry, element, rows: [{ record, row, errorRow }] }
  order: [], // seqs, oldest first
  paused: false,
  pending: [],
  faults: undefined,
  faultsReceivedAt: 0,
  omitted: 0,
  filter: { client: '', event: '', type: '', problems: false },
};

// ---- the list ----

function isProblem(entry) {
  return entry.outcome !== 'accepted' || entry.fault !== undefined || entry.errors.length > 0 || entry.records.some((r) => r.errors.length > 0);
}

function recordMatches(record) {
  const { event, type } = state.filter;
  if (event !== '' && !record.event.toLowerCase().includes(event)) return false;
  if (type !== '' && record.type !== type) return false;
  return true;
}

/** Show or hide an entry and its record rows for the current filters. */
function applyFilter(item) {
  const { entry, element, rows } = item;
  const { client, event, type, problems } = state.filter;
  let visible = true;
  if (client !== '' && !(entry.clientId ?? '').toLowerCase().includes(client)) visible = false;
  if (problems && !isProblem(entry)) visible = false;
  const recordFilter = event !== '' || type !== '';
  let shownRecords = 0;
  for (const { record, row, errorRow } of rows) {
    const show = !recordFilter || recordMatches(record);
    row.hidden = !show;
    if (errorRow) errorRow.hidden = !show;
    if (show) shownRecords++;
  }
  if (recordFilter && shownRecords === 0) visible = false;
  element.hidden = !visible;
  return visible;
}

function applyFilters() {
  let visible = 0;
  for (const item of state.entries.values()) if (applyFilter(item)) visible++;
  updateEmpty(visible);
}

function updateEmpty(visible) {
  const total = state.entries.size;
  const empty = $('empty');
  if (total === 0) {
    empty.textContent = 'No requests yet. Point an exporter at the collect URL above.';
    empty.hidden = false;
  } else if (visible === 0) {
    empty.textContent = `None of the ${total} requests matches the filters.`;
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
}

function countVisible() {
  let visible = 0;
  for (const item of state.entries.values()) if (!item.element.hidden) visible++;
  return visible;
}

function outcomeClass(entry) {
  if (entry.outcome === 'accepted') return entry.fault ? 'fault' : 'ok';
  return entry.fault ? 'fault' : 'rejected';
}

function describeResponse(response) {
  switch (response.kind) {
    case 'reset':
      return response.stored ? 'records stored, then connection reset' : 'connection reset, nothing stored';
    case 'hang':
      return 'no answer (connection held open)';
    default: {
      const parts = [`HTTP ${response.status}`];
      if (response.code !== undefined) parts.push(`code ${response.code}`);
      if (response.msg !== undefined) parts.push(response.msg);
      if (response.text !== undefined) parts.push(response.text);
      return parts.join(' · ');
    }
  }
}

function errorList(errors, prefix) {
  return h(
    'ul',
    { class: 'errors', 'aria-label': prefix },
    errors.map((error) =>
      h('li', {}, h('code', { class: 'field' }, error.field === '' ? '(request)' : error.field), ' ', h('span', { class: 'reason' }, error.reason)),
    ),
  );
}

function propertiesCell(properties) {
  const pretty = JSON.stringify(properties, null, 2) ?? String(properties);
  return h(
    'details',
    { class: 'props' },
    h('summary', {}, h('code', {}, compactJson(properties))),
    h('pre', {}, pretty),
  );
}

function renderEntry(entry) {
  const id = `entry-${entry.seq}`;
  const kind = outcomeClass(entry);
  const head = h(
    'header',
    { class: 'entry-head' },
    h(
      'h3',
      { id: `${id}-title` },
      h('span', { class: 'seq' }, `#${entry.seq}`),
      ' ',
      h('time', { datetime: new Date(entry.receivedAt).toISOString(), class: 'at' }, clockTime(entry.receivedAt)),
      ' ',
      entry.collect
        ? h('span', { class: 'client', title: 'client_id' }, entry.clientId === undefined ? '(no client_id)' : entry.clientId)
        : h('span', { class: 'client other' }, `${entry.method} ${entry.path}`),
    ),
    h('span', { class: `outcome ${kind}` }, entry.outcome === 'accepted' ? 'accepted' : entry.outcome),
    entry.fault ? h('span', { class: 'badge fault' }, `fault: ${entry.fault}`) : null,
  );

  const meta = h('dl', { class: 'meta' });
  const addMeta = (name, value, cls) => meta.append(h('div', { class: cls }, h('dt', {}, name), h('dd', {}, value)));
  addMeta('Response', describeResponse(entry.response), 'response');
  if (entry.clientIp !== undefined) addMeta('client_ip', entry.clientIp);
  if (entry.clientUa !== undefined) addMeta('client_ua', entry.clientUa);
  if (entry.collect) addMeta('Records', String(entry.records.length + entry.moreRecords));
  addMeta('Body', `${entry.rawLength} bytes${entry.compressed ? ', gzip' : ''}`);

  const headerNames = Object.keys(entry.headers).sort();
  const headers = h(
    'dl',
    { class: 'headers', 'aria-label': 'Request headers' },
    headerNames.map((name) => h('div', {}, h('dt', {}, name), h('dd', {}, entry.headers[name]))),
  );

  const element = h('article', { class: `entry ${kind}`, id, 'aria-labelledby': `${id}-title`, 'data-seq': entry.seq }, head, meta, headers);
  if (entry.errors.length > 0) element.append(errorList(entry.errors, 'Request errors'));

  const rows = [];
  if (entry.records.length > 0) {
    const tbody = h('tbody');
    for (const record of entry.records) {
      const hasErrors = record.errors.length > 0;
      const row = h(
        'tr',
        { class: hasErrors ? 'record bad' : 'record', 'data-index': record.index },
        h('td', { 'data-label': 'Type', class: 'type' }, record.type),
        h('td', { 'data-label': 'Event', class: 'event' }, record.event),
        h(
          'td',
          { 'data-label': 'Time', class: 'rtime' },
          record.time === undefined ? '(none)' : h('time', { datetime: new Date(record.time).toISOString() }, dateTime(record.time)),
          record.timeFree ? h('span', { class: 'badge' }, 'time_free') : null,
        ),
        h('td', { 'data-label': 'Properties', class: 'properties' }, propertiesCell(record.properties)),
      );
      let errorRow;
      if (hasErrors) {
        errorRow = h('tr', { class: 'record-errors' }, h('td', { colspan: 4 }, errorList(record.errors, `Errors of record ${record.index}`)));
      }
      tbody.append(row);
      if (errorRow) tbody.append(errorRow);
      rows.push({ record, row, errorRow });
    }
    element.append(
      h(
        'table',
        { class: 'records' },
        h('caption', { class: 'visually-hidden' }, `Records of request #${entry.seq}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Properties'))),
        tbody,
      ),
    );
  }
  if (entry.moreRecords > 0) element.append(h('p', { class: 'muted' }, `${entry.moreRecords} more records not shown; download the body for all of them.`));
  if (entry.collect) {
    element.append(
      h('p', { class: 'links' }, h('a', { href: `/console/api/requests/${entry.seq}/body`, download: `request-${entry.seq}-body.json` }, `Download body of #${entry.seq}`)),
    );
  }
  return { entry, element, rows };
}

function addEntry(entry) {
  if (state.entries.has(entry.seq)) return;
  const item = renderEntry(entry);
  state.entries.set(entry.seq, item);
  state.order.push(entry.seq);
  applyFilter(item);
  const list = $('list');
  // Newest first; a request decided late (a delay fault) still goes where its number puts it.
  let before = null;
  for (const child of list.querySelectorAll('article.entry')) {
    if (Number(child.dataset.seq) < entry.seq) {
      before = child;
      break;
    }
  }
  list.insertBefore(item.element, before);
  while (state.order.length > MAX_ENTRIES) {
    const oldest = state.order.shift();
    state.entries.get(oldest)?.element.remove();
    state.entries.delete(oldest);
    state.omitted++;
  }
  updateNote();
}

function clearEntries() {
  for (const item of state.entries.values()) item.element.remove();
  state.entries.clear();
  state.order = [];
  state.pending = [];
  state.omitted = 0;
  updateNote();
  updateEmpty(0);
  updateStatus();
}

function updateNote() {
  const note = $('list-note');
  note.hidden = state.omitted === 0;
  note.textContent = `${state.omitted} older requests are not listed here; the counters and exports include them.`;
}

// ---- counters, status, fault state ----

function renderCounters(counters) {
  $('count-requests').textContent = String(counters.requests);
  $('count-records').textContent = String(counters.records);
  $('count-rejected').textContent = String(counters.rejectedRequests);
  $('count-rejected-records').textContent = String(counters.rejectedRecords);
  const reasons = Object.entries(counters.rejectedByReason).sort((a, b) => b[1] - a[1]);
  const target = $('reasons');
  target.replaceChildren(
    ...(reasons.length === 0
      ? ['none']
      : reasons.map(([reason, n], i) => h('span', { class: 'reason-count' }, i > 0 ? ' · ' : '', h('span', { class: 'reason-name' }, reason), ` ${n}`))),
  );
}

let connection = 'connecting';
function updateStatus() {
  const status = $('status');
  let text;
  if (connection === 'live') text = state.paused ? `Paused: ${state.pending.length} new requests waiting` : 'Live';
  else if (connection === 'reconnecting') text = 'Connection lost, reconnecting…';
  else text = 'Connecting…';
  status.textContent = text;
  status.dataset.state = connection === 'live' && state.paused ? 'paused' : connection;
}

function renderFaults(faults) {
  state.faults = faults;
  state.faultsReceivedAt = Date.now();
  const queued = $('queued');
  queued.replaceChildren(...faults.queued.map((text) => h('li', {}, text)));
  $('queued-none').hidden = faults.queued.length > 0;
  $('clear-queue').disabled = faults.queued.length === 0;
  const slow = faults.responseDelayMillis;
  $('slow-state').textContent = slow > 0 ? `Every response is delayed ${slow} ms.` : 'Responses go out at once.';
  $('slow-off').disabled = slow === 0;
  const refused = $('refused');
  refused.replaceChildren(
    ...faults.uninitialisedClients.map((clientId) =>
      h(
        'li',
        {},
        h('span', { class: 'client' }, clientId),
        ' ',
        h('button', { type: 'button', 'data-client': clientId, 'aria-label': `Initialise client ${clientId}` }, 'Initialise'),
      ),
    ),
  );
  renderOutage();
}

/** One line that says which faults are on, at the top of the panel (and a count on it when folded). */
function renderActive() {
  const faults = state.faults;
  if (!faults) return;
  const parts = [];
  if (faults.queued.length > 0) parts.push(`${faults.queued.length} queued`);
  if (faults.responseDelayMillis > 0) parts.push(`responses delayed ${faults.responseDelayMillis} ms`);
  if (faults.uninitialisedClients.length > 0) parts.push(`${faults.uninitialisedClients.length} client${faults.uninitialisedClients.length === 1 ? '' : 's'} refused`);
  if (outageRemaining() > 0) parts.push('outage'); // the countdown itself is below, outside this live region
  const text = parts.length === 0 ? 'No fault is on.' : `On: ${parts.join(' · ')}.`;
  const line = $('fault-active');
  if (line.textContent !== text) line.textContent = text;
  line.classList.toggle('on', parts.length > 0);
  const badge = $('fault-count');
  badge.hidden = parts.length === 0;
  badge.textContent = `${parts.length} on`;
}

function outageRemaining() {
  const faults = state.faults;
  if (!faults || faults.outageEndsAt === null) return 0;
  // The server's clock may differ from the browser's: count from the server's own "now".
  return Math.max(0, faults.outageEndsAt - faults.serverNow - (Date.now() - state.faultsReceivedAt));
}

function renderOutage() {
  const remaining = outageRemaining();
  const text = remaining > 0 ? `Outage: ${Math.ceil(remaining / 1000)} s left; connections are reset.` : 'No outage.';
  const target = $('outage-state');
  if (target.textContent !== text) target.textContent = text;
  target.classList.toggle('active', remaining > 0);
  $('outage-off').disabled = remaining === 0;
  renderActive();
}
setInterval(renderOutage, 250);

// ---- the stream ----

function connect() {
  const source = new EventSource('/console/api/stream');
  source.addEventListener('hello', (message) => {
    const hello = JSON.parse(message.data);
    connection = 'live';
    $('collect-url').textContent = hello.info.collectUrl;
    const modes = [];
    if (hello.info.strict) modes.push(h('span', { class: 'badge strict' }, 'strict mode'));
    modes.push(h('span', { class: 'badge' }, hello.info.tokenRequired ? 'access token checked' : 'any access token'));
    modes.push(h('span', { class: 'badge muted' }, `v${hello.info.version}`));
    $('modes').replaceChildren(...modes);
    clearEntries();
    state.omitted = hello.omitted;
    for (const entry of hello.entries) addEntry(entry);
    updateEmpty(countVisible());
    renderCounters(hello.counters);
    renderFaults(hello.faults);
    updateStatus();
    document.body.dataset.ready = 'true';
  });
  source.addEventListener('request', (message) => {
    const { entry, counters, faults } = JSON.parse(message.data);
    renderCounters(counters);
    renderFaults(faults);
    if (state.paused) state.pending.push(entry);
    else {
      addEntry(entry);
      updateEmpty(countVisible());
    }
    updateStatus();
  });
  source.addEventListener('clear', (message) => {
    const { counters, faults } = JSON.parse(message.data);
    clearEntries();
    renderCounters(counters);
    renderFaults(faults);
  });
  source.addEventListener('faults', (message) => renderFaults(JSON.parse(message.data)));
  source.addEventListener('error', () => {
    connection = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting';
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    updateStatus();
  });
}

// ---- controls ----

async function post(path, body) {
  const alert = $('fault-error');
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gravity-console': '1' },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error ?? `HTTP ${response.status}`);
    alert.hidden = true;
    if (path.endsWith('/faults')) renderFaults(answer);
    return answer;
  } catch (error) {
    alert.textContent = `Not applied: ${error instanceof Error ? error.message : String(error)}`;
    alert.hidden = false;
    return undefined;
  }
}

function onSubmit(id, build) {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.currentTarget));
    void post('/console/api/faults', build(data));
  });
}

function setPaused(paused) {
  state.paused = paused;
  const button = $('pause');
  button.setAttribute('aria-pressed', String(paused));
  button.textContent = paused ? 'Resume' : 'Pause';
  if (!paused) {
    const pending = state.pending;
    state.pending = [];
    for (const entry of pending) addEntry(entry);
    updateEmpty(countVisible());
  }
  updateStatus();
}

function readFilters() {
  state.filter = {
    client: $('filter-client').value.trim().toLowerCase(),
    event: $('filter-event').value.trim().toLowerCase(),
    type: $('filter-type').value,
    problems: $('filter-problems').checked,
  };
  applyFilters();
}

function setUp() {
  for (const id of ['filter-client', 'filter-event']) $(id).addEventListener('input', readFilters);
  $('filter-type').addEventListener('change', readFilters);
  $('filter-problems').addEventListener('change', readFilters);
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  $('pause').addEventListener('click', () => setPaused(!state.paused));
  $('clear').addEventListener('click', () => void post('/console/api/clear', {}));

  onSubmit('fault-status', (d) => ({ action: 'queue', count: d.count, fault: { kind: 'status', status: d.status, retryAfter: d.retryAfter } }));
  onSubmit('fault-code', (d) => ({ action: 'queue', count: d.count, fault: { kind: 'code', code: d.code, msg: d.msg } }));
  onSubmit('fault-reset', (d) => ({ action: 'queue', count: d.count, fault: { kind: 'reset', when: d.when } }));
  onSubmit('fault-slow', (d) => ({ action: 'response-delay', millis: d.millis }));
  onSubmit('fault-client', (d) => ({ action: 'uninitialise', clientId: d.clientId }));
  onSubmit('fault-outage', (d) => ({ action: 'outage', seconds: d.seconds }));
  $('clear-queue').addEventListener('click', () => void post('/console/api/faults', { action: 'clear-queue' }));
  $('slow-off').addEventListener('click', () => void post('/console/api/faults', { action: 'response-delay', millis: 0 }));
  $('outage-off').addEventListener('click', () => void post('/console/api/faults', { action: 'outage', seconds: 0 }));
  $('refused').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-client]');
    if (button) void post('/console/api/faults', { action: 'initialise', clientId: button.dataset.client });
  });

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest('input, select, textarea, [contenteditable]')) return;
    if (event.key === '/') {
      event.preventDefault();
      $('filter-client').focus();
    } else if (event.key === 'p') {
      setPaused(!state.paused);
    }
  });

  // On a narrow window the fault panel starts folded so the list comes first.
  if (window.matchMedia('(max-width: 900px)').matches) $('faults-panel').open = false;
  connect();
}

setUp();
