// Event Center: the project's event rules (manual review, duplicate aggregation, retention), the
// review queue (alarms awaiting approval: approve / reject one or many) and the subscribers that
// receive approved alarms (WebSocket or their own tcp:// socket server), with what waits for each.
// Routes used: GET/PUT /vigil/event-center/rules, GET /vigil/alarms?review_state=pending,
// POST /vigil/alarms/review, GET/POST/PUT/DELETE /vigil/event-center/subscribers[/{id}].
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import { AuthImage, ErrorBanner, Field, Modal, Pager, formatTime, markReady, useAsync, useInterval } from '../ui.jsx';
import { listSourcesBounded, listTasksBounded } from '../lookups.js';
import { AggregateCount, eventTypeText, imagePath, summary } from '../alarm_view.jsx';

const REFRESH_MS = 5000;
const QUEUE_PAGE = 25;
/** POST /vigil/alarms/review takes at most this many ids at once. */
const REVIEW_BATCH = 100;

export function EventsPage() {
  const [sources, setSources] = useState([]);
  const [tasks, setTasks] = useState([]);
  const [ready, setReady] = useState({ rules: false, queue: false, subscribers: false });
  const loaded = useCallback((part) => setReady((r) => (r[part] ? r : { ...r, [part]: true })), []);

  useEffect(() => {
    listSourcesBounded(1000).then(setSources, () => {});
    listTasksBounded(1000).then(setTasks, () => {});
  }, []);
  useEffect(() => { if (ready.rules && ready.queue && ready.subscribers) markReady('events'); }, [ready]);
  const sourceNames = useMemo(() => Object.fromEntries(sources.map((s) => [s.id, s.name])), [sources]);
  const taskNames = useMemo(() => Object.fromEntries(tasks.map((t) => [t.id, t.name])), [tasks]);

  return (
    <div>
      <h1>Event Center</h1>
      <RulesCard onLoaded={() => loaded('rules')} />
      <ReviewQueue onLoaded={() => loaded('queue')} sourceNames={sourceNames} taskNames={taskNames} />
      <Subscribers onLoaded={() => loaded('subscribers')} sources={sources} sourceNames={sourceNames} />
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Rules.

/** A number input's text as the API value: a number when it is one, else as typed (so the API names the field). */
function intOrText(v) {
  const t = String(v).trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

function RulesCard({ onLoaded }) {
  const [form, setForm] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api('GET', '/vigil/event-center/rules').then(
      (r) => { setForm(fromRules(r)); onLoaded(); },
      (e) => { setLoadError(e); onLoaded(); },
    );
  }, []);

  const set = (patch) => { setForm((f) => ({ ...f, ...patch })); setSaved(false); };
  const err = (p) => error?.forField(p) || null;
  const placed = ['manual_review', 'aggregation', 'aggregation_window_s', 'retention_days'];
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api('PUT', '/vigil/event-center/rules', {
        manual_review: form.manual_review,
        aggregation: form.aggregation,
        aggregation_window_s: intOrText(form.aggregation_window_s),
        retention_days: intOrText(form.retention_days),
      });
      setForm(fromRules(r));
      setSaved(true);
    } catch (ex) {
      setError(ex);
    }
    setBusy(false);
  };

  return (
    <section class="card" data-test="rules">
      <h3>Event rules</h3>
      <ErrorBanner error={loadError} />
      {form && (
        <form onSubmit={save} noValidate data-test="rules-form">
          {error && !error.params.some((p) => placed.includes(p)) && <ErrorBanner error={error} />}
          <label class="check">
            <input type="checkbox" checked={form.manual_review} onChange={(e) => set({ manual_review: e.target.checked })} data-test="rules-manual-review" />
            <span><b>Manual review</b> — new alarms wait in the review queue; subscribers get them only once approved
              (webhook, object storage and stream outputs are not held back).</span>
          </label>
          {err('manual_review') && <div class="error small" data-test="error-manual_review">{err('manual_review')}</div>}
          <label class="check">
            <input type="checkbox" checked={form.aggregation} onChange={(e) => set({ aggregation: e.target.checked })} data-test="rules-aggregation" />
            <span><b>Duplicate aggregation</b> — repeats of one target (track) or region of a task within the window fold into
              the first alarm, which counts them (×N).</span>
          </label>
          {err('aggregation') && <div class="error small" data-test="error-aggregation">{err('aggregation')}</div>}
          <div class="rules-numbers">
            <Field name="aggregation_window_s" label="Aggregation window (s)" error={err('aggregation_window_s')} hint="1 – 86400">
              <input type="number" min="1" max="86400" value={form.aggregation_window_s} disabled={!form.aggregation}
                onInput={(e) => set({ aggregation_window_s: e.target.value })} data-test="rules-aggregation-window" />
            </Field>
            <Field name="retention_days" label="Keep alarms (days)" error={err('retention_days')} hint="0 – 3650; 0 = the server's default">
              <input type="number" min="0" max="3650" value={form.retention_days}
                onInput={(e) => set({ retention_days: e.target.value })} data-test="rules-retention-days" />
            </Field>
          </div>
          <div class="toolbar">
            <button type="submit" class="primary" disabled={busy} data-test="rules-save">{busy ? 'Saving…' : 'Save rules'}</button>
            {saved && <span class="badge good" data-test="rules-saved">saved</span>}
          </div>
        </form>
      )}
    </section>
  );
}

function fromRules(r) {
  return {
    manual_review: !!r?.manual_review,
    aggregation: !!r?.aggregation,
    aggregation_window_s: String(r?.aggregation_window_s ?? 60),
    retention_days: String(r?.retention_days ?? 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Review queue.

function ReviewQueue({ onLoaded, sourceNames, taskNames }) {
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState(new Set());
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const queue = useAsync(
    () => api('GET', `/vigil/alarms?review_state=pending&offset=${offset}&limit=${QUEUE_PAGE}`),
    [offset],
  );
  useInterval(queue.reload, REFRESH_MS);
  useEffect(() => { if (queue.data || queue.error) onLoaded(); }, [queue.data, queue.error]);
  const rows = queue.data?.alarms || [];
  // The selection only holds rows still in the queue (others were reviewed meanwhile).
  useEffect(() => {
    setSelected((s) => {
      const keep = new Set(rows.map((a) => a.message_id).filter((id) => s.has(id)));
      return keep.size === s.size ? s : keep;
    });
  }, [queue.data]);

  const toggle = (id, on) => setSelected((s) => {
    const n = new Set(s);
    if (on) n.add(id); else n.delete(id);
    return n;
  });
  const allOn = rows.length > 0 && rows.every((a) => selected.has(a.message_id));
  const decide = async (ids, decision) => {
    setBusy(true);
    setError(null);
    let reviewed = 0;
    const skipped = [];
    try {
      for (let i = 0; i < ids.length; i += REVIEW_BATCH) {
        const r = await api('POST', '/vigil/alarms/review', { message_ids: ids.slice(i, i + REVIEW_BATCH), decision });
        reviewed += r?.reviewed || 0;
        skipped.push(...(r?.skipped || []));
      }
      setResult({ decision, reviewed, skipped });
      setSelected(new Set());
    } catch (e) {
      setError(e);
    }
    setBusy(false);
    queue.reload();
  };
  const verb = (d) => (d === 'approve' ? 'approved' : 'rejected');

  return (
    <section class="card" data-test="review-queue">
      <div class="toolbar">
        <h3>Review queue</h3>
        {queue.data && <span class={`badge ${queue.data.total ? 'warn' : ''}`} data-test="review-total">{queue.data.total || 0} awaiting review</span>}
        <span class="spacer" />
        <button disabled={busy || !selected.size} onClick={() => decide([...selected], 'approve')} data-test="review-approve-selected">
          Approve selected{selected.size ? ` (${selected.size})` : ''}
        </button>
        <button class="danger" disabled={busy || !selected.size} onClick={() => decide([...selected], 'reject')} data-test="review-reject-selected">
          Reject selected
        </button>
      </div>
      <ErrorBanner error={error || queue.error} />
      {result && (
        <div class="banner info" data-test="review-result" data-reviewed={result.reviewed}>
          {result.reviewed} {verb(result.decision)}
          {result.skipped.length ? ` · ${result.skipped.length} skipped (already reviewed or deleted)` : ''}
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th><input type="checkbox" checked={allOn} disabled={!rows.length} title="Select every alarm on this page"
              onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((a) => a.message_id)) : new Set())} data-test="review-select-all" /></th>
            <th /><th>Time</th><th>Event type</th><th>Task</th><th>Camera</th><th>What</th><th />
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr data-test="review-row" data-id={a.message_id} key={a.message_id}>
              <td><input type="checkbox" checked={selected.has(a.message_id)} onChange={(e) => toggle(a.message_id, e.target.checked)} data-test="review-select" /></td>
              <td>{imagePath(a)
                ? <a href={`#/alarms/${encodeURIComponent(a.message_id)}`} title="open the alarm"><AuthImage path={imagePath(a)} testId="review-thumb" class="thumb" alt="alarm" /></a>
                : <div class="img-placeholder">no picture</div>}</td>
              <td>{formatTime(a.timestamp)} <AggregateCount alarm={a} /></td>
              <td>{eventTypeText(a.event_type)}</td>
              <td>{taskNames[a.task_id] || a.task_id}</td>
              <td>{sourceNames[a.stream_id] || a.stream_id}</td>
              <td>{summary(a)}</td>
              <td style="white-space:nowrap">
                <button class="primary" disabled={busy} onClick={() => decide([a.message_id], 'approve')} data-test="review-approve">Approve</button>{' '}
                <button class="danger" disabled={busy} onClick={() => decide([a.message_id], 'reject')} data-test="review-reject">Reject</button>
              </td>
            </tr>
          ))}
          {queue.data && !rows.length && (
            <tr><td colSpan="8" class="muted" data-test="review-empty">Nothing awaits review{' '}
              (alarms wait here while <i>manual review</i> is on).</td></tr>
          )}
        </tbody>
      </table>
      {queue.data && queue.data.total > QUEUE_PAGE && (
        <Pager offset={offset} limit={QUEUE_PAGE} total={queue.data.total} onChange={(o) => { setOffset(o); setSelected(new Set()); }} />
      )}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// Subscribers.

/** The WebSocket URL a subscriber without an address connects to (same auth headers as the API). */
function wsUrl(id) {
  const s = session();
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/v2/${s?.projectId}/vigil/event-center/subscribers/${encodeURIComponent(id)}/ws`;
}

function Subscribers({ onLoaded, sources, sourceNames }) {
  const list = useAsync(() => api('GET', '/vigil/event-center/subscribers'), []);
  useInterval(list.reload, REFRESH_MS);
  useEffect(() => { if (list.data || list.error) onLoaded(); }, [list.data, list.error]);
  const [editing, setEditing] = useState(null); // {} to add, a subscriber to edit
  const [confirming, setConfirming] = useState(null);
  const [error, setError] = useState(null);
  const subs = list.data?.subscribers || [];

  const remove = async (id) => {
    setError(null);
    try {
      await api('DELETE', `/vigil/event-center/subscribers/${encodeURIComponent(id)}`);
    } catch (e) {
      setError(e);
    }
    setConfirming(null);
    list.reload();
  };

  return (
    <section class="card" data-test="subscribers">
      <div class="toolbar">
        <h3>Subscribers</h3>
        <span class="muted">receive each alarm of their cameras (spec §6 JSON) — approved ones only while manual review is on</span>
        <span class="spacer" />
        <button class="primary" onClick={() => setEditing({})} data-test="subscriber-add">Add subscriber</button>
      </div>
      <ErrorBanner error={error || list.error} />
      <table data-test="subscriber-table">
        <thead><tr><th>Name</th><th>Cameras</th><th>Delivery</th><th>Waiting</th><th>Created</th><th /></tr></thead>
        <tbody>
          {subs.map((s) => (
            <tr data-test="subscriber-row" data-id={s.id} data-name={s.name} key={s.id}>
              <td><b>{s.name}</b>{s.description && <div class="muted small">{s.description}</div>}</td>
              <td class="small">{s.video_source_ids?.length
                ? s.video_source_ids.map((id) => sourceNames[id] || id).join(', ')
                : <span class="muted">every camera</span>}</td>
              <td class="small">{s.address
                ? <>push to <code>{s.address}</code></>
                : <>WebSocket <code class="small" data-test="subscriber-ws">{wsUrl(s.id)}</code></>}</td>
              <td><span class={`badge ${s.pending ? 'warn' : ''}`} data-test="subscriber-pending" data-pending={s.pending}>{s.pending}</span></td>
              <td class="muted">{formatTime(s.created_at)}</td>
              <td style="white-space:nowrap">
                <button class="link" onClick={() => setEditing(s)} data-test="subscriber-edit">Edit</button>
                {confirming === s.id
                  ? <><button class="danger" onClick={() => remove(s.id)} data-test="subscriber-delete-confirm">Delete?</button>
                    <button class="link" onClick={() => setConfirming(null)}>no</button></>
                  : <button class="link danger" onClick={() => setConfirming(s.id)} data-test="subscriber-delete">Delete</button>}
              </td>
            </tr>
          ))}
          {list.data && !subs.length && <tr><td colSpan="6" class="muted" data-test="subscriber-empty">No subscribers yet.</td></tr>}
        </tbody>
      </table>
      {editing && (
        <SubscriberForm subscriber={editing.id ? editing : null} sources={sources}
          onClose={() => setEditing(null)} onSaved={() => { setEditing(null); list.reload(); }} />
      )}
    </section>
  );
}

function SubscriberForm({ subscriber, sources, onClose, onSaved }) {
  const [name, setName] = useState(subscriber?.name || '');
  const [description, setDescription] = useState(subscriber?.description || '');
  const [ids, setIds] = useState(subscriber?.video_source_ids || []);
  const [push, setPush] = useState(!!subscriber?.address);
  const [address, setAddress] = useState(subscriber?.address || '');
  const [search, setSearch] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const err = (p) => error?.forField(p) || null;
  const placed = ['name', 'description', 'video_source_ids', 'address'];
  const shown = sources.filter((s) => !search || s.name.toLowerCase().includes(search.toLowerCase()));

  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = { name, description, video_source_ids: ids };
    // Omitted address = a WebSocket subscriber; an edit from push back to WebSocket sends null.
    if (push) body.address = address.trim();
    else if (subscriber?.address) body.address = null;
    try {
      if (subscriber) await api('PUT', `/vigil/event-center/subscribers/${encodeURIComponent(subscriber.id)}`, body);
      else await api('POST', '/vigil/event-center/subscribers', body);
      onSaved();
    } catch (ex) {
      setError(ex);
      setBusy(false);
    }
  };

  return (
    <Modal title={subscriber ? `Edit subscriber ${subscriber.name}` : 'Add subscriber'} onClose={onClose}>
      <form onSubmit={save} noValidate data-test="subscriber-form">
        {error && !error.params.some((p) => placed.some((f) => p === f || p.startsWith(`${f}[`) || p.startsWith(`${f}.`))) && <ErrorBanner error={error} />}
        <Field name="name" label="Name" error={err('name')} hint="1–64 characters">
          <input value={name} onInput={(e) => setName(e.target.value)} data-test="subscriber-name" />
        </Field>
        <Field name="description" label="Description" error={err('description')} hint="up to 255 characters">
          <input value={description} onInput={(e) => setDescription(e.target.value)} data-test="subscriber-description" />
        </Field>
        <Field name="video_source_ids" label={`Cameras (${ids.length ? `${ids.length} chosen` : 'none chosen: every camera'})`}
          error={error?.params.some((p) => p.startsWith('video_source_ids')) ? error.message : null}>
          <input placeholder="Search cameras" value={search} onInput={(e) => setSearch(e.target.value)} data-test="subscriber-source-search" />
          <div class="checks column" data-test="subscriber-sources">
            {shown.map((s) => (
              <label key={s.id}>
                <input type="checkbox" checked={ids.includes(s.id)} data-test="subscriber-source" data-id={s.id}
                  onChange={(e) => setIds((l) => (e.target.checked ? [...l, s.id] : l.filter((x) => x !== s.id)))} /> {s.name}
              </label>
            ))}
            {!shown.length && <span class="muted">no camera matches</span>}
          </div>
        </Field>
        <Field name="address" label="Delivery" error={err('address')}
          hint={push ? 'Vigil connects to your socket server and writes one JSON alarm per line; it answers {"ack":"<message_id>"} per line.'
            : 'Your client opens the WebSocket shown in the list (with the API token) and acks each alarm.'}>
          <select value={push ? 'tcp' : 'ws'} onChange={(e) => setPush(e.target.value === 'tcp')} data-test="subscriber-delivery">
            <option value="ws">WebSocket (the subscriber connects to Vigil)</option>
            <option value="tcp">Push to my socket server (tcp://host:port)</option>
          </select>
          {push && <input placeholder="tcp://host:port" value={address} onInput={(e) => setAddress(e.target.value)} data-test="subscriber-address" />}
        </Field>
        <footer>
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy} data-test="subscriber-save">{busy ? 'Saving…' : 'Save'}</button>
        </footer>
      </form>
    </Modal>
  );
}
