// Alarms: a live feed (the SSE route, read by alarm_feed.js) and a searchable history
// (GET /vigil/alarms: time range, camera, task, event type; offset/limit paging, newest first),
// with a detail dialog showing the annotated picture and the alarm JSON.
// Routes: #/alarms, #/alarms/<message_id> (opens that alarm's detail).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { AuthImage, ErrorBanner, Field, Modal, Pager, formatTime, markReady } from '../ui.jsx';
import { openAlarmFeed } from '../alarm_feed.js';

/** The live feed starts with the alarms of the last two minutes. */
const RECENT_MS = 2 * 60 * 1000;
import { listSourcesBounded, listTasksBounded } from '../lookups.js';

const LIVE_MAX = 50;
const PAGE = 25;

/** The alarm's picture route, relative to the project (image_url is absolute to public_url). */
function imagePath(a) {
  return a.image_url ? `/vigil/alarms/${encodeURIComponent(a.message_id)}/image` : null;
}

function eventTypeText(t) {
  return typeof t === 'number' ? `${t} (0x${t.toString(16)})` : String(t ?? '');
}

/** One line about what the alarm found: targets and the ROI they were in. */
function summary(a) {
  const d = a.data || {};
  const parts = [];
  if (Array.isArray(d.event_set)) {
    parts.push(`${d.event_set.length} target${d.event_set.length === 1 ? '' : 's'}`);
    const areas = [...new Set(d.event_set.map((e) => e.polygon_name || e.line_name).filter(Boolean))];
    if (areas.length) parts.push(`in ${areas.join(', ')}`);
  }
  if (a.alarm_type === 1) parts.push('event disappeared');
  return parts.join(' ');
}

/** datetime-local value → epoch seconds (local time); `end` includes the whole minute. */
function toEpoch(v, end) {
  if (!v) return undefined;
  const ms = new Date(v).getTime();
  if (!Number.isFinite(ms)) return undefined;
  return Math.floor(ms / 1000) + (end ? 59 : 0);
}

/** "196609" or "0x30001" → number; anything else is sent as typed so the API names the field. */
function eventTypeValue(v) {
  const t = v.trim();
  if (!t) return undefined;
  if (/^0x[0-9a-f]+$/i.test(t)) return String(parseInt(t, 16));
  return t;
}

const EMPTY_FILTERS = { start: '', end: '', camera: '', task: '', eventType: '' };

export function AlarmsPage({ args }) {
  const [sources, setSources] = useState([]);
  const [tasks, setTasks] = useState([]);
  const [live, setLive] = useState([]);
  const [feedState, setFeedState] = useState('connecting');
  const [filters, setFilters] = useState(EMPTY_FILTERS);
  const [applied, setApplied] = useState(EMPTY_FILTERS);
  const [offset, setOffset] = useState(0);
  const [history, setHistory] = useState(null); // {alarms, total}
  const [error, setError] = useState(null);
  const [detail, setDetail] = useState(args[0] ? { message_id: args[0], partial: true } : null);
  const seq = useRef(0);

  // Names for ids, from bounded look-ups (never all cameras or tasks of a big project).
  useEffect(() => {
    listSourcesBounded(1000).then(setSources, () => {});
    listTasksBounded(1000).then(setTasks, () => {});
  }, []);
  const sourceNames = useMemo(() => Object.fromEntries(sources.map((s) => [s.id, s.name])), [sources]);
  const taskNames = useMemo(() => Object.fromEntries(tasks.map((t) => [t.id, t.name])), [tasks]);

  // Live feed: newest on top, at most LIVE_MAX kept. It opens with the last RECENT_MS, so an
  // alarm raised just before the page opened (a task started a moment ago) is not missed.
  useEffect(() => {
    const feed = openAlarmFeed({
      since: Date.now() - RECENT_MS,
      onAlarm: (a) => setLive((l) => (l.some((x) => x.message_id === a.message_id) ? l : [a, ...l].slice(0, LIVE_MAX))),
      onState: (s) => setFeedState(s),
    });
    return () => feed.close();
  }, []);

  // History page.
  useEffect(() => {
    const n = ++seq.current;
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    const put = (k, v) => v !== undefined && v !== '' && q.set(k, String(v));
    put('start_time', toEpoch(applied.start, false));
    put('end_time', toEpoch(applied.end, true));
    put('video_source_id', applied.camera);
    put('task_id', applied.task);
    put('event_type', eventTypeValue(applied.eventType));
    api('GET', `/vigil/alarms?${q}`).then(
      (r) => { if (n === seq.current) { setHistory({ alarms: r?.alarms || [], total: r?.total || 0 }); setError(null); } },
      (e) => { if (n === seq.current) { setError(e); setHistory((h) => h || { alarms: [], total: 0 }); } },
    );
  }, [applied, offset]);
  useEffect(() => { if (history) markReady('alarms'); }, [history !== null]);

  // A deep-linked alarm: its payload once it is on a loaded page.
  useEffect(() => {
    if (!detail?.partial) return;
    const found = [...live, ...(history?.alarms || [])].find((a) => a.message_id === detail.message_id);
    if (found) setDetail(found);
  }, [history, live]);

  const apply = (e) => {
    e.preventDefault();
    setOffset(0);
    setApplied({ ...filters });
  };
  const set = (patch) => setFilters((f) => ({ ...f, ...patch }));
  const err = (param) => error?.forField?.(param) || null;
  const fieldError = error && ['start_time', 'end_time', 'video_source_id', 'task_id', 'event_type'].some((p) => err(p));
  const seenTypes = [...new Set([...live, ...(history?.alarms || [])].map((a) => a.event_type).filter((t) => t !== undefined))];

  return (
    <div>
      <h1>Alarms</h1>
      <section class="card">
        <div class="toolbar">
          <h3>Live</h3>
          <span class={`badge ${feedState === 'live' ? 'good' : feedState === 'retrying' ? 'warn' : feedState === 'unavailable' ? 'bad' : ''}`} data-test="alarm-live-state">
            {feedState === 'live' ? 'live' : feedState === 'unavailable' ? 'live feed not available on this server' : feedState === 'retrying' ? 'reconnecting…' : feedState}
          </span>
          <span class="muted">new alarms appear here as they happen (newest first, last {LIVE_MAX})</span>
        </div>
        <ul class="alarm-live" data-test="alarm-live">
          {live.map((a) => (
            <li data-test="alarm-item" data-id={a.message_id} key={a.message_id} onClick={() => setDetail(a)} class="clickable">
              {imagePath(a) ? <AuthImage path={imagePath(a)} testId="alarm-thumb" class="thumb" alt="alarm" /> : <div class="img-placeholder" data-test="alarm-thumb-missing">no picture</div>}
              <div>
                <div><b>{formatTime(a.timestamp)}</b> · {eventTypeText(a.event_type)}</div>
                <div class="muted small">{taskNames[a.task_id] || a.task_id} · {sourceNames[a.stream_id] || a.stream_id}</div>
                <div class="small">{summary(a)}</div>
              </div>
            </li>
          ))}
          {!live.length && <li class="muted" data-test="alarm-live-empty">Waiting for alarms…</li>}
        </ul>
      </section>

      <section class="card">
        <h3>History</h3>
        <form class="filters" onSubmit={apply} noValidate data-test="alarm-filters">
          <Field name="start_time" label="From" error={err('start_time')}>
            <input type="datetime-local" value={filters.start} onInput={(e) => set({ start: e.target.value })} data-test="filter-start" />
          </Field>
          <Field name="end_time" label="To" error={err('end_time')}>
            <input type="datetime-local" value={filters.end} onInput={(e) => set({ end: e.target.value })} data-test="filter-end" />
          </Field>
          <Field name="video_source_id" label="Camera" error={err('video_source_id')}>
            <select value={filters.camera} onChange={(e) => set({ camera: e.target.value })} data-test="filter-camera">
              <option value="">all cameras</option>
              {sources.map((s) => <option value={s.id}>{s.name}</option>)}
            </select>
          </Field>
          <Field name="task_id" label="Task" error={err('task_id')}>
            <select value={filters.task} onChange={(e) => set({ task: e.target.value })} data-test="filter-task">
              <option value="">all tasks</option>
              {tasks.map((t) => <option value={t.id}>{t.name}</option>)}
            </select>
          </Field>
          <Field name="event_type" label="Event type" error={err('event_type')} hint="e.g. 196609 or 0x30001">
            <input value={filters.eventType} list="alarm-event-types" onInput={(e) => set({ eventType: e.target.value })} data-test="filter-event-type" />
          </Field>
          <datalist id="alarm-event-types">{seenTypes.map((t) => <option value={String(t)}>{eventTypeText(t)}</option>)}</datalist>
          <div class="filter-buttons">
            <button type="submit" class="primary" data-test="filter-apply">Search</button>
            <button type="button" data-test="filter-reset" onClick={() => { setFilters(EMPTY_FILTERS); setOffset(0); setApplied(EMPTY_FILTERS); }}>Reset</button>
          </div>
        </form>
        {error && !fieldError && <ErrorBanner error={error} />}
        <table data-test="alarm-history">
          <thead><tr><th /><th>Time</th><th>Event type</th><th>Task</th><th>Camera</th><th>What</th></tr></thead>
          <tbody>
            {(history?.alarms || []).map((a) => (
              <tr data-test="alarm-row" data-id={a.message_id} key={a.message_id} class="clickable" onClick={() => setDetail(a)}>
                <td>{imagePath(a) ? <AuthImage path={imagePath(a)} testId="alarm-row-thumb" class="thumb" alt="alarm" /> : <div class="img-placeholder">no picture</div>}</td>
                <td>{formatTime(a.timestamp)}</td>
                <td>{eventTypeText(a.event_type)}</td>
                <td>{taskNames[a.task_id] || a.task_id}</td>
                <td>{sourceNames[a.stream_id] || a.stream_id}</td>
                <td>{summary(a)}</td>
              </tr>
            ))}
            {history && !history.alarms.length && <tr><td colspan="6" class="muted" data-test="alarm-history-empty">No alarms match.</td></tr>}
            {!history && <tr><td colspan="6" class="muted">Loading…</td></tr>}
          </tbody>
        </table>
        {history && <Pager offset={offset} limit={PAGE} total={history.total} onChange={setOffset} />}
      </section>

      {detail && (
        <Modal title={`Alarm ${detail.timestamp ? formatTime(detail.timestamp) : detail.message_id}`} onClose={() => setDetail(null)} wide>
          <div data-test="alarm-detail" data-id={detail.message_id}>
            {detail.partial || imagePath(detail)
              ? <AuthImage path={`/vigil/alarms/${encodeURIComponent(detail.message_id)}/image`} testId="alarm-image" class="alarm-image" alt="annotated alarm picture" />
              : <div class="img-placeholder">this alarm has no picture</div>}
            {!detail.partial && (
              <dl class="kv">
                <dt>Event type</dt><dd>{eventTypeText(detail.event_type)}</dd>
                <dt>Task</dt><dd><a href={`#/tasks/${encodeURIComponent(detail.task_id)}`}>{taskNames[detail.task_id] || detail.task_id}</a></dd>
                <dt>Camera</dt><dd>{sourceNames[detail.stream_id] || detail.stream_id}</dd>
                <dt>Message id</dt><dd><code>{detail.message_id}</code></dd>
              </dl>
            )}
            <h3>Payload</h3>
            <pre class="json" data-test="alarm-payload">{detail.partial ? '(this alarm is not on a loaded page)' : JSON.stringify(detail, null, 2)}</pre>
          </div>
        </Modal>
      )}
    </div>
  );
}
