// Alarms: a live feed (the SSE route, read by alarm_feed.js) and a searchable history
// (GET /vigil/alarms: time range, camera, task, event type, review state; newest first, paged
// by `marker` — each page's `next_marker` — and by offset only for a page not reached yet) with the review badge and `×N` of aggregated alarms, delete (one, or every alarm
// a search found), and a detail dialog with the annotated picture and the alarm JSON.
// Routes: #/alarms, #/alarms/<message_id> (opens that alarm's detail).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { AuthImage, ErrorBanner, Field, Modal, Pager, formatTime, markReady } from '../ui.jsx';
import { openAlarmFeed } from '../alarm_feed.js';
import { AggregateCount, ReviewBadge, eventTypeText, imagePath, summary } from '../alarm_view.jsx';

/** The live feed starts with the alarms of the last two minutes. */
const RECENT_MS = 2 * 60 * 1000;
import { listSourcesBounded, listTasksBounded } from '../lookups.js';

const LIVE_MAX = 50;
const PAGE = 25;

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

const EMPTY_FILTERS = { start: '', end: '', camera: '', task: '', eventType: '', reviewState: '' };
const REVIEW_STATES = [['none', 'not reviewed (review off)'], ['pending', 'awaiting review'], ['approved', 'approved'], ['rejected', 'rejected']];

/**
 * The applied filters as API values: the list takes them as query parameters, batch delete as
 * its JSON body (numbers where they parse, otherwise as typed so the API names the field).
 */
function filterValues(f) {
  const out = {};
  const put = (k, v) => { if (v !== undefined && v !== '') out[k] = v; };
  put('start_time', toEpoch(f.start, false));
  put('end_time', toEpoch(f.end, true));
  put('video_source_id', f.camera);
  put('task_id', f.task);
  const et = eventTypeValue(f.eventType);
  put('event_type', et !== undefined && /^\d+$/.test(et) ? Number(et) : et);
  put('review_state', f.reviewState);
  return out;
}

export function AlarmsPage({ args }) {
  const [sources, setSources] = useState([]);
  const [tasks, setTasks] = useState([]);
  const [live, setLive] = useState([]);
  const [feedState, setFeedState] = useState('connecting');
  const [filters, setFilters] = useState(EMPTY_FILTERS);
  const [applied, setApplied] = useState(EMPTY_FILTERS);
  const [offset, setOffset] = useState(0);
  const [history, setHistory] = useState(null); // {alarms, total}
  const [reloads, setReloads] = useState(0);
  const [error, setError] = useState(null);
  const [detail, setDetail] = useState(args[0] ? { message_id: args[0], partial: true } : null);
  const [confirming, setConfirming] = useState(null); // message_id whose Delete asks once more
  const [bulk, setBulk] = useState(null); // {busy, error} while "Delete matching" is open
  const [notice, setNotice] = useState(null);
  const seq = useRef(0);
  // next_marker of each page already seen, by its offset; valid for one search and reload.
  const markers = useRef({ key: null, byOffset: new Map() });

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
    const key = JSON.stringify([applied, reloads]);
    if (markers.current.key !== key) markers.current = { key, byOffset: new Map() };
    const byOffset = markers.current.byOffset;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (byOffset.has(offset)) q.set('marker', byOffset.get(offset));
    else if (offset > 0) q.set('offset', String(offset));
    for (const [k, v] of Object.entries(filterValues(applied))) q.set(k, String(v));
    api('GET', `/vigil/alarms?${q}`).then(
      (r) => {
        if (n !== seq.current) return;
        if (r?.next_marker) byOffset.set(offset + PAGE, r.next_marker);
        setHistory({ alarms: r?.alarms || [], total: r?.total || 0 });
        setError(null);
      },
      (e) => { if (n === seq.current) { setError(e); setHistory((h) => h || { alarms: [], total: 0 }); } },
    );
  }, [applied, offset, reloads]);
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
  const fieldError = error && ['start_time', 'end_time', 'video_source_id', 'task_id', 'event_type', 'review_state'].some((p) => err(p));
  const seenTypes = [...new Set([...live, ...(history?.alarms || [])].map((a) => a.event_type).filter((t) => t !== undefined))];
  const appliedFilters = filterValues(applied);

  // Deleting drops the alarm from both lists (the live feed keeps what it showed otherwise).
  const removeOne = async (id) => {
    try {
      await api('DELETE', `/vigil/alarms/${encodeURIComponent(id)}`);
      setLive((l) => l.filter((a) => a.message_id !== id));
      setDetail((d) => (d?.message_id === id ? null : d));
      setNotice('Alarm deleted.');
      setReloads((r) => r + 1);
    } catch (e) {
      setError(e);
    }
    setConfirming(null);
  };
  const removeMatching = async () => {
    setBulk({ busy: true });
    try {
      const r = await api('POST', '/vigil/alarms/batch-delete', appliedFilters);
      setBulk(null);
      setNotice(`${r?.deleted ?? 0} alarms deleted.`);
      setOffset(0);
      setReloads((n) => n + 1);
    } catch (e) {
      setBulk({ busy: false, error: e });
    }
  };

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
                <div><b>{formatTime(a.timestamp)}</b> · {eventTypeText(a.event_type)} <ReviewBadge state={a.review_state} /> <AggregateCount alarm={a} /></div>
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
          <Field name="review_state" label="Review" error={err('review_state')}>
            <select value={filters.reviewState} onChange={(e) => set({ reviewState: e.target.value })} data-test="filter-review-state">
              <option value="">any</option>
              {REVIEW_STATES.map(([v, l]) => <option value={v}>{l}</option>)}
            </select>
          </Field>
          <datalist id="alarm-event-types">{seenTypes.map((t) => <option value={String(t)}>{eventTypeText(t)}</option>)}</datalist>
          <div class="filter-buttons">
            <button type="submit" class="primary" data-test="filter-apply">Search</button>
            <button type="button" data-test="filter-reset" onClick={() => { setFilters(EMPTY_FILTERS); setOffset(0); setApplied(EMPTY_FILTERS); }}>Reset</button>
            <button type="button" class="danger" data-test="filter-delete-matching" disabled={!Object.keys(appliedFilters).length || !history?.total}
              title={Object.keys(appliedFilters).length ? 'Delete every alarm the search found' : 'Search with at least one filter first'}
              onClick={() => setBulk({ busy: false })}>Delete matching…</button>
          </div>
        </form>
        {error && !fieldError && <ErrorBanner error={error} />}
        {notice && <div class="banner info" data-test="alarm-notice">{notice}</div>}
        <table data-test="alarm-history">
          <thead><tr><th /><th>Time</th><th>Event type</th><th>Task</th><th>Camera</th><th>What</th><th>Review</th><th /></tr></thead>
          <tbody>
            {(history?.alarms || []).map((a) => (
              <tr data-test="alarm-row" data-id={a.message_id} key={a.message_id} class="clickable" onClick={() => setDetail(a)}>
                <td>{imagePath(a) ? <AuthImage path={imagePath(a)} testId="alarm-row-thumb" class="thumb" alt="alarm" /> : <div class="img-placeholder">no picture</div>}</td>
                <td>{formatTime(a.timestamp)} <AggregateCount alarm={a} /></td>
                <td>{eventTypeText(a.event_type)}</td>
                <td>{taskNames[a.task_id] || a.task_id}</td>
                <td>{sourceNames[a.stream_id] || a.stream_id}</td>
                <td>{summary(a)}</td>
                <td><ReviewBadge state={a.review_state} /></td>
                <td style="white-space:nowrap" onClick={(e) => e.stopPropagation()}>
                  {confirming === a.message_id
                    ? <><button class="danger" data-test="alarm-delete-confirm" onClick={() => removeOne(a.message_id)}>Delete?</button>
                      <button class="link" data-test="alarm-delete-cancel" onClick={() => setConfirming(null)}>no</button></>
                    : <button class="link danger" data-test="alarm-delete" onClick={() => setConfirming(a.message_id)}>Delete</button>}
                </td>
              </tr>
            ))}
            {history && !history.alarms.length && <tr><td colspan="8" class="muted" data-test="alarm-history-empty">No alarms match.</td></tr>}
            {!history && <tr><td colspan="8" class="muted">Loading…</td></tr>}
          </tbody>
        </table>
        {history && <Pager offset={offset} limit={PAGE} total={history.total} onChange={setOffset} />}
      </section>

      {bulk && (
        <Modal title="Delete matching alarms" onClose={() => setBulk(null)}>
          <ErrorBanner error={bulk.error} />
          <p>Delete the <b data-test="bulk-delete-count">{history?.total ?? 0}</b> alarms this search found? Their pictures go too,
            and alarms not yet delivered to a subscriber are not delivered.</p>
          <footer>
            <button onClick={() => setBulk(null)}>Cancel</button>
            <button class="primary" disabled={bulk.busy} onClick={removeMatching} data-test="bulk-delete-confirm">Delete</button>
          </footer>
        </Modal>
      )}

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
                {detail.review_state && detail.review_state !== 'none' && <><dt>Review</dt><dd><ReviewBadge state={detail.review_state} /></dd></>}
                {(detail.aggregate_count || 1) > 1 && <><dt>Repeats</dt><dd data-test="alarm-detail-count">{detail.aggregate_count} alarms, last at {formatTime(detail.last_timestamp)}</dd></>}
              </dl>
            )}
            <h3>Payload</h3>
            <pre class="json" data-test="alarm-payload">{detail.partial ? '(this alarm is not on a loaded page)' : JSON.stringify(detail, null, 2)}</pre>
            <footer>
              {confirming === detail.message_id
                ? <button class="danger" data-test="alarm-detail-delete-confirm" onClick={() => removeOne(detail.message_id)}>Delete this alarm?</button>
                : <button class="danger" data-test="alarm-detail-delete" onClick={() => setConfirming(detail.message_id)}>Delete</button>}
            </footer>
          </div>
        </Modal>
      )}
    </div>
  );
}
