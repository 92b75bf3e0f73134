// Tasks: the list with live state and throughput, start/stop/delete, the create/edit form
// (algorithm settings generated from the algorithm's JSON Schema) and a task's detail page.
// Routes: #/tasks, #/tasks/new, #/tasks/new/<source_id>, #/tasks/<id>, #/tasks/<id>/edit.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBanner, Field, formatTime, markReady, useInterval } from '../ui.jsx';
import { SchemaForm, mapParamErrors, schemaDefaults, schemaFieldNames } from '../schema_form.jsx';
import { listSourcesBounded, loadTaskStats } from '../lookups.js';

export function TasksPage({ args }) {
  // Keys: another id is another page (fresh state, marked ready again).
  if (args[0] === 'new') return <TaskForm key={`new/${args[1] || ''}`} sourceId={args[1]} />;
  if (args[0] && args[1] === 'edit') return <TaskForm key={`edit/${args[0]}`} editId={args[0]} />;
  if (args[0]) return <TaskDetail key={args[0]} id={args[0]} />;
  return <TaskList />;
}

const REFRESH_MS = 3000;
const FAILED = new Set(['START_FAILED', 'CREATE_FAILED', 'ABNORMAL', 'FAILED']);
// The server's rules (vigil-core task_state: can_start / can_stop).
const CAN_START = new Set(['STOPPED', 'START_FAILED', 'ABNORMAL', 'SUCCEEDED', 'FAILED', 'CREATE_FAILED']);
const CAN_STOP = new Set(['PENDING', 'STARTING', 'RUNNING', 'ABNORMAL', 'RECOVERING']);

function stateClass(s) {
  if (s === 'RUNNING' || s === 'SUCCEEDED') return 'good';
  if (FAILED.has(s)) return 'bad';
  if (['PENDING', 'STARTING', 'STOPPING', 'RECOVERING', 'DELETING', 'UPGRADING'].includes(s)) return 'warn';
  return '';
}

function StateBadge({ state }) {
  return <span class={`badge ${stateClass(state)}`} data-test="task-state">{state}</span>;
}

function fps(v) {
  return typeof v === 'number' ? v.toFixed(1) : '–';
}

/** Start / stop / delete buttons shared by the list and the detail page. */
function TaskActions({ task, onDone, onError }) {
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const run = async (method, path) => {
    setBusy(true);
    try {
      await api(method, path);
      onDone(method === 'DELETE');
    } catch (e) {
      onError(e);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <span class="actions">
      <button data-test="task-start" disabled={busy || !CAN_START.has(task.state)} onClick={() => run('PUT', `/tasks/${task.id}/action/start`)}>Start</button>
      <button data-test="task-stop" disabled={busy || !CAN_STOP.has(task.state)} onClick={() => run('PUT', `/tasks/${task.id}/action/stop`)}>Stop</button>
      {confirming ? (
        <>
          <button class="danger" data-test="task-delete-confirm" disabled={busy} onClick={() => run('DELETE', `/tasks/${task.id}`)}>Delete?</button>
          <button class="link" data-test="task-delete-cancel" onClick={() => setConfirming(false)}>cancel</button>
        </>
      ) : (
        <button class="danger" data-test="task-delete" disabled={busy} onClick={() => setConfirming(true)}>Delete</button>
      )}
    </span>
  );
}

// ---- list -----------------------------------------------------------------------------------

const PAGE_SIZE = 20;

function TaskList() {
  const [page, setPage] = useState(1);
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [data, setData] = useState(null); // {tasks, errors: {id: message}, stats}
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const inFlight = useRef(false);

  const load = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const q = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
      if (applied) q.set('task_name', applied);
      const [list, stats] = await Promise.all([api('GET', `/tasks?${q}`), loadTaskStats()]);
      const tasks = list?.tasks || [];
      // ListTasks carries no error; the few failed tasks on this page are asked for theirs.
      const errors = {};
      await Promise.all(tasks.filter((t) => FAILED.has(t.state)).map(async (t) => {
        try {
          const d = await api('GET', `/tasks/${t.id}`);
          errors[t.id] = d?.error?.message || d?.status || '';
        } catch (_) { /* deleted meanwhile */ }
      }));
      setData({ tasks, errors, stats });
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      inFlight.current = false;
    }
  }, [page, applied]);

  useEffect(() => { load(); }, [load]);
  useInterval(load, REFRESH_MS);
  useEffect(() => { if (data) markReady('tasks'); }, [data !== null]);

  const tasks = data?.tasks || [];
  return (
    <div>
      <div class="toolbar">
        <h1>Tasks</h1>
        <span class="spacer" />
        <form class="inline" onSubmit={(e) => { e.preventDefault(); setPage(1); setApplied(filter.trim()); }}>
          <input placeholder="name contains…" value={filter} onInput={(e) => setFilter(e.target.value)} data-test="task-filter" />
          <button type="submit" data-test="task-filter-apply">Filter</button>
        </form>
        <a href="#/tasks/new"><button class="primary" data-test="task-new">New task</button></a>
      </div>
      <ErrorBanner error={error || actionError} />
      {data?.stats === null && <div class="banner info" data-test="stats-unavailable">Throughput is not available from this server.</div>}
      <table data-test="task-list">
        <thead>
          <tr><th>Name</th><th>Algorithm</th><th>Camera</th><th>State</th><th>Analysed fps</th><th>Drops</th><th /></tr>
        </thead>
        <tbody>
          {tasks.map((t) => {
            const st = data.stats?.[t.id];
            return (
              <tr data-test="task-row" data-id={t.id} data-name={t.name} key={t.id}>
                <td><a href={`#/tasks/${encodeURIComponent(t.id)}`} data-test="task-link">{t.name}</a></td>
                <td>{t.service_id}<div class="muted small">{t.title}</div></td>
                <td>{t.video_source_name}</td>
                <td>
                  <StateBadge state={t.state} />
                  <div class="error small" data-test="task-error">{data.errors[t.id] || ''}</div>
                </td>
                <td data-test="task-fps">{fps(st?.analysed_fps)}</td>
                <td data-test="task-drops">{st ? st.dropped_frames : '–'}</td>
                <td><TaskActions task={t} onDone={() => { setActionError(null); load(); }} onError={setActionError} /></td>
              </tr>
            );
          })}
          {data && !tasks.length && <tr><td colspan="7" class="muted" data-test="task-empty">No tasks{applied ? ' match' : ' yet'}.</td></tr>}
        </tbody>
      </table>
      <div class="pager" data-test="pager">
        <button disabled={page === 1} onClick={() => setPage(page - 1)} data-test="pager-prev">‹ Prev</button>
        <span>page {page}</span>
        <button disabled={tasks.length < PAGE_SIZE} onClick={() => setPage(page + 1)} data-test="pager-next">Next ›</button>
      </div>
    </div>
  );
}

// ---- detail ---------------------------------------------------------------------------------

function TaskDetail({ id }) {
  const [task, setTask] = useState(null);
  const [stats, setStats] = useState(undefined);
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const load = useCallback(async () => {
    try {
      const [t, s] = await Promise.all([api('GET', `/tasks/${encodeURIComponent(id)}`), loadTaskStats()]);
      setTask(t);
      setStats(s);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [id]);
  useEffect(() => { load(); }, [load]);
  useInterval(load, REFRESH_MS);
  useEffect(() => { if (task || error) markReady('task-detail'); }, [task !== null, error !== null]);

  if (!task) return <div><a href="#/tasks">‹ Tasks</a><ErrorBanner error={error} />{!error && <p class="muted">Loading…</p>}</div>;
  const st = stats?.[task.id];
  const common = task.config?.common || {};
  let roi = null;
  try { roi = common.target_roi ? JSON.parse(common.target_roi) : null; } catch (_) { /* shown raw */ }
  return (
    <div data-test="task-detail" data-id={task.id}>
      <div class="toolbar">
        <a href="#/tasks">‹ Tasks</a>
        <h1>{task.name}</h1>
        <StateBadge state={task.state} />
        <span class="spacer" />
        <a href={`#/tasks/${encodeURIComponent(task.id)}/edit`}><button data-test="task-edit">Edit</button></a>
        <TaskActions task={task} onError={setActionError}
          onDone={(deleted) => { setActionError(null); if (deleted) location.hash = '#/tasks'; else load(); }} />
      </div>
      <ErrorBanner error={error || actionError} />
      {(task.error?.message || task.error?.code) && (
        <div class="banner error" data-test="task-error">{task.error.code ? <b>{task.error.code}: </b> : null}{task.error.message}</div>
      )}
      <div class="grid2">
        <section class="card">
          <h3>Task</h3>
          <dl class="kv">
            <dt>Algorithm</dt><dd>{task.service_id} <span class="muted">{task.title}</span></dd>
            <dt>Camera</dt><dd>{task.video_source_name}</dd>
            <dt>State</dt><dd>{task.state}{task.status ? ` — ${task.status}` : ''}</dd>
            <dt>Placement</dt><dd>{task.type}</dd>
            <dt>Schedule</dt><dd>{task.schedule ? `${task.schedule_status || ''} ${scheduleText(task.schedule)}` : 'always'}</dd>
            <dt>Created</dt><dd>{task.created_at}</dd>
            <dt>Updated</dt><dd>{task.updated_at}</dd>
            <dt>Id</dt><dd><code>{task.id}</code></dd>
          </dl>
        </section>
        <section class="card" data-test="task-throughput">
          <h3>Throughput</h3>
          {stats === null ? <p class="muted">not available from this server</p> : (
            <dl class="kv">
              <dt>Analysed fps</dt><dd data-test="task-fps">{fps(st?.analysed_fps)}</dd>
              <dt>Decode fps</dt><dd>{fps(st?.decode_fps)}</dd>
              <dt>Analysed frames</dt><dd>{st?.analysed_frames ?? '–'}</dd>
              <dt>Dropped frames</dt><dd data-test="task-drops">{st?.dropped_frames ?? '–'}</dd>
              <dt>Restarts</dt><dd>{st?.restarts ?? '–'}</dd>
              <dt>Node</dt><dd>{st?.node_id || '–'}</dd>
              <dt>Reported</dt><dd>{st?.updated_at ? formatTime(st.updated_at) : '–'}</dd>
            </dl>
          )}
        </section>
      </div>
      <h3>Outputs</h3>
      <pre class="json" data-test="task-output">{JSON.stringify(task.output, null, 2)}</pre>
      <h3>Input</h3>
      <pre class="json" data-test="task-input">{JSON.stringify(task.input, null, 2)}</pre>
      <h3>Configuration (config.common)</h3>
      <pre class="json" data-test="task-config">{JSON.stringify({ ...common, ...(roi ? { target_roi: roi } : {}) }, null, 2)}</pre>
    </div>
  );
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function scheduleText(s) {
  const days = (s.days_of_week || []).map((d) => DAYS[d - 1]).join(' ');
  const periods = (s.periods || []).map((p) => (Array.isArray(p) ? `${p[0]}–${p[1]}` : `${p.begin_at}–${p.end_at}`)).join(', ');
  return `${days} ${periods} (${s.timezone || 'UTC'})`;
}

// ---- create / edit form ---------------------------------------------------------------------

/** Fields of the form outside the generated part: API param path → shown beside that input. */
const FIXED_FIELDS = [
  'name', 'description', 'service_name', 'input.data[0].video_source_id',
  'output', 'output.event_center', 'output.webhook.url', 'output.webhook.headers',
  'output.obs.bucket', 'output.obs.path', 'output.dis.stream_name',
  'schedule', 'schedule.days_of_week', 'schedule.periods', 'schedule.timezone',
];
/** Params that name a whole object: shown at its first input. */
const ALIASES = {
  input: 'input.data[0].video_source_id',
  'input.data': 'input.data[0].video_source_id',
  'input.type': 'input.data[0].video_source_id',
  'output.webhook': 'output.webhook.url',
  'output.obs': 'output.obs.bucket',
  'output.dis': 'output.dis.stream_name',
  'schedule.type': 'schedule',
  'schedule.frequency': 'schedule',
};

const DRAFT_KEY = 'vigil.draftRoi';

function readDraftRoi() {
  try {
    const d = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || 'null');
    if (!d || !d.sourceId || !d.roi) return null;
    const roi = typeof d.roi === 'string' ? JSON.parse(d.roi) : d.roi;
    return { sourceId: d.sourceId, roi };
  } catch (_) {
    return null;
  }
}

function headersToText(h) {
  return Object.entries(h || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

/** "Name: value" lines → object (a line without a colon is kept as a name with an empty value, the API refuses it). */
function textToHeaders(t) {
  const out = {};
  for (const line of t.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    if (i < 0) out[line.trim()] = '';
    else out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function hhmmss(t) {
  return /^\d\d:\d\d$/.test(t) ? `${t}:00` : t;
}

function localZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (_) { return 'UTC'; }
}

const EMPTY_OUTPUTS = {
  event_center: true,
  webhook: false, webhookUrl: '', webhookHeaders: 'Content-Type: application/json',
  obs: false, obsBucket: '', obsPath: '',
  dis: false, disStream: '',
};

function outputsFrom(o) {
  return {
    event_center: !!o?.event_center,
    webhook: !!o?.webhook, webhookUrl: o?.webhook?.url || '', webhookHeaders: o?.webhook ? headersToText(o.webhook.headers) : EMPTY_OUTPUTS.webhookHeaders,
    obs: !!o?.obs, obsBucket: o?.obs?.bucket || '', obsPath: o?.obs?.path || '',
    dis: !!o?.dis, disStream: o?.dis?.stream_name || '',
  };
}

function outputBody(o) {
  const out = { event_center: o.event_center };
  if (o.webhook) out.webhook = { url: o.webhookUrl.trim(), headers: textToHeaders(o.webhookHeaders) };
  if (o.obs) out.obs = { bucket: o.obsBucket.trim(), path: o.obsPath.trim() };
  if (o.dis) out.dis = { stream_name: o.disStream.trim() };
  return out;
}

function scheduleFrom(s) {
  if (!s) return { on: false, days: [1, 2, 3, 4, 5], periods: [['08:00:00', '18:00:00']], timezone: localZone() };
  return {
    on: true,
    days: s.days_of_week || [],
    periods: (s.periods || []).map((p) => (Array.isArray(p) ? p : [p.begin_at, p.end_at])),
    timezone: s.timezone || 'UTC',
  };
}

/** Schemas by service id: they never change while the console runs. */
const schemaCache = new Map();

async function loadSchema(serviceId) {
  if (!schemaCache.has(serviceId)) {
    const d = await api('GET', `/algorithm/services/${encodeURIComponent(serviceId)}`);
    schemaCache.set(serviceId, JSON.parse(d?.deployment_constraints?.task_config || '{}'));
  }
  return schemaCache.get(serviceId);
}

function TaskForm({ editId, sourceId: sourceArg }) {
  const [services, setServices] = useState(null);
  const [sources, setSources] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [service, setService] = useState(null); // the chosen service list item
  const [schema, setSchema] = useState(null);
  const [config, setConfig] = useState({});
  const [sourceId, setSourceId] = useState(sourceArg || '');
  const [outputs, setOutputs] = useState(EMPTY_OUTPUTS);
  const [schedule, setSchedule] = useState(scheduleFrom(null));
  const [draft, setDraft] = useState(null);
  const [saving, setSaving] = useState(false);
  const [submitError, setSubmitError] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});
  const [unmatched, setUnmatched] = useState([]);
  const [hadSchedule, setHadSchedule] = useState(false);
  const pendingConfig = useRef(null); // the edited task's config, applied once its schema is in

  // First load: algorithms, cameras, and the task being edited (or the Regions page's draft).
  useEffect(() => {
    (async () => {
      try {
        const [svc, srcs, task] = await Promise.all([
          api('GET', '/algorithm/services/user'),
          listSourcesBounded(1000),
          editId ? api('GET', `/tasks/${encodeURIComponent(editId)}`) : Promise.resolve(null),
        ]);
        const list = (svc?.service_list || []).slice().sort((a, b) => a.service_name.localeCompare(b.service_name));
        setServices(list);
        setSources(srcs);
        if (task) {
          setName(task.name || '');
          setDescription(task.description || '');
          setSourceId(task.input?.data?.[0]?.video_source_id || '');
          setOutputs(outputsFrom(task.output));
          setSchedule(scheduleFrom(task.schedule));
          // Shown as stored even when the schema cannot be loaded; defaults never overwrite it.
          pendingConfig.current = task.config?.common || {};
          setConfig(pendingConfig.current);
          setHadSchedule(!!task.schedule);
          const s = list.find((x) => x.alg_id === task.algorithm_publish_id) || list.find((x) => x.service_name === task.service_id);
          setService(s ? { ...s, service_name: task.service_id } : { service_name: task.service_id, service_id: null });
        } else {
          const d = readDraftRoi();
          if (d && (!sourceArg || sourceArg === d.sourceId)) {
            setDraft(d);
            setSourceId(d.sourceId);
          } else if (!sourceArg && srcs.length === 1) {
            setSourceId(srcs[0].id);
          }
        }
      } catch (e) {
        setLoadError(e);
      }
    })();
  }, [editId]);

  // The chosen algorithm's schema → defaults (keeping a drawn ROI across algorithm changes).
  useEffect(() => {
    if (!service?.service_id) { setSchema(null); return; }
    let live = true;
    loadSchema(service.service_id).then((s) => {
      if (!live) return;
      setSchema(s);
      setConfig((prev) => {
        if (pendingConfig.current) {
          const c = pendingConfig.current;
          pendingConfig.current = null;
          return c;
        }
        const next = schemaDefaults(s);
        const hasRoi = !!s?.properties?.target_roi;
        if (hasRoi && prev.target_roi) next.target_roi = prev.target_roi;
        else if (hasRoi && draft) next.target_roi = JSON.stringify(draft.roi);
        return next;
      });
    }, (e) => live && setLoadError(e));
    return () => { live = false; };
  }, [service?.service_id]);

  const ready = services !== null && sources !== null;
  useEffect(() => { if (ready) markReady(editId ? 'task-edit' : 'task-new'); }, [ready]);

  const setOut = (patch) => setOutputs((o) => ({ ...o, ...patch }));
  const setSched = (patch) => setSchedule((s) => ({ ...s, ...patch }));

  const submit = async (e) => {
    e.preventDefault();
    setSaving(true);
    setSubmitError(null);
    setFieldErrors({});
    setUnmatched([]);
    const body = {
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      input: { type: 'video_source', data: [{ video_source_id: sourceId }] },
      output: outputBody(outputs),
      config: { common: config },
      ...(schedule.on ? {
        schedule: {
          type: 'weekly',
          timezone: schedule.timezone.trim(),
          days_of_week: schedule.days.slice().sort(),
          periods: schedule.periods.map(([b, en]) => [hhmmss(b), hhmmss(en)]),
        },
      } : {}),
    };
    try {
      if (editId) {
        await api('PUT', `/tasks/${encodeURIComponent(editId)}`, body);
        location.hash = `#/tasks/${encodeURIComponent(editId)}`;
      } else {
        if (!service) {
          setFieldErrors({ service_name: 'choose an algorithm' });
          return;
        }
        await api('POST', `/services/${encodeURIComponent(service.service_name)}/tasks`, { ...body, service_version: '3.0' });
        if (draft) sessionStorage.removeItem(DRAFT_KEY);
        location.hash = '#/tasks';
      }
    } catch (err) {
      const names = [...FIXED_FIELDS, ...schemaFieldNames(schema, 'config.common')];
      const { fields, unmatched: rest } = mapParamErrors(err, names, ALIASES);
      setFieldErrors(fields);
      setUnmatched(rest);
      setSubmitError(err);
    } finally {
      setSaving(false);
    }
  };

  if (loadError) return <div><a href="#/tasks">‹ Tasks</a><ErrorBanner error={loadError} /></div>;
  if (!ready) return <p class="muted">Loading…</p>;
  const fe = fieldErrors;
  const anyField = Object.keys(fe).length > 0;
  const chosenSource = sources.find((s) => s.id === sourceId);
  return (
    <form class="task-form" data-test="task-form" onSubmit={submit} noValidate>
      <div class="toolbar">
        <a href="#/tasks">‹ Tasks</a>
        <h1>{editId ? 'Edit task' : 'New task'}</h1>
      </div>
      {submitError && (!anyField || unmatched.length > 0) && <ErrorBanner error={submitError} />}
      {submitError && anyField && !unmatched.length && (
        <div class="banner error" data-test="form-error-summary">Correct the field marked below.</div>
      )}
      {draft && !editId && (
        <div class="banner info" data-test="task-draft-roi">Using the region drawn on the Regions page for this camera.</div>
      )}
      <section class="card">
        <div class="grid2">
          <Field name="name" label="Name *" error={fe.name} hint="1–100: letters, digits, Chinese, - and _">
            <input value={name} onInput={(e) => setName(e.target.value)} data-test="task-name" />
          </Field>
          <Field name="service_name" label="Algorithm *" error={fe.service_name}
            hint={service ? [service.description, service.alg_status !== 'service_running' ? service.error_msg || service.alg_status : ''].filter(Boolean).join(' · ') : ''}>
            <select data-test="task-algorithm" disabled={!!editId} value={service?.service_name || ''}
              onChange={(e) => setService(services.find((s) => s.service_name === e.target.value) || null)}>
              <option value="">— choose an algorithm —</option>
              {editId && service && !services.some((s) => s.service_name === service.service_name) && (
                <option value={service.service_name}>{service.service_name}</option>
              )}
              {services.map((s) => (
                <option value={s.service_name}>
                  {s.service_name}{s.description ? ` — ${s.description}` : ''}{s.alg_status === 'not_deployed' ? ' (needs a model)' : s.alg_status === 'service_stopped' ? ' (stopped)' : ''}
                </option>
              ))}
            </select>
          </Field>
          <Field name="input.data[0].video_source_id" label="Camera *" error={fe['input.data[0].video_source_id']}
            hint={sources.length >= 1000 ? 'the 1000 newest cameras are listed' : ''}>
            <select data-test="task-source" value={sourceId} onChange={(e) => setSourceId(e.target.value)}>
              <option value="">— choose a camera —</option>
              {sourceId && !chosenSource && <option value={sourceId}>{sourceId}</option>}
              {sources.map((s) => <option value={s.id}>{s.name}</option>)}
            </select>
          </Field>
          <Field name="description" label="Description" error={fe.description}>
            <input value={description} onInput={(e) => setDescription(e.target.value)} data-test="task-description" />
          </Field>
        </div>
      </section>

      <section class="card" data-test="task-config">
        <h3>Algorithm settings</h3>
        {!service && <p class="muted">Choose an algorithm to see its settings.</p>}
        {service && !schema && <p class="muted">Loading the algorithm's settings…</p>}
        {schema && (
          <SchemaForm schema={schema} value={config} onChange={setConfig} errors={fe} sourceId={sourceId} />
        )}
      </section>

      <section class="card" data-test="task-outputs">
        <h3>Outputs</h3>
        {fe.output && <div class="field has-error"><span class="error" data-test="error-output">{fe.output}</span></div>}
        <Field name="output.event_center" label="Event center" error={fe['output.event_center']} hint="store alarms in Vigil (the Alarms page)">
          <input type="checkbox" checked={outputs.event_center} onChange={(e) => setOut({ event_center: e.target.checked })} data-test="out-event_center" />
        </Field>
        <label class="check"><input type="checkbox" checked={outputs.webhook} onChange={(e) => setOut({ webhook: e.target.checked })} data-test="out-webhook" /> Webhook</label>
        {outputs.webhook && (
          <div class="grid2 sub">
            <Field name="output.webhook.url" label="URL" error={fe['output.webhook.url']} hint="http(s)://…; each alarm is POSTed here">
              <input value={outputs.webhookUrl} onInput={(e) => setOut({ webhookUrl: e.target.value })} data-test="out-webhook-url" />
            </Field>
            <Field name="output.webhook.headers" label="Headers" error={fe['output.webhook.headers']} hint="one “Name: value” per line, 1 to 10; ****** keeps the stored value">
              <textarea rows="3" value={outputs.webhookHeaders} onInput={(e) => setOut({ webhookHeaders: e.target.value })} data-test="out-webhook-headers" />
            </Field>
          </div>
        )}
        <label class="check"><input type="checkbox" checked={outputs.obs} onChange={(e) => setOut({ obs: e.target.checked })} data-test="out-obs" /> Object storage (OBS)</label>
        {outputs.obs && (
          <div class="grid2 sub">
            <Field name="output.obs.bucket" label="Bucket" error={fe['output.obs.bucket']}>
              <input value={outputs.obsBucket} onInput={(e) => setOut({ obsBucket: e.target.value })} data-test="out-obs-bucket" />
            </Field>
            <Field name="output.obs.path" label="Path" error={fe['output.obs.path']} hint="object key prefix">
              <input value={outputs.obsPath} onInput={(e) => setOut({ obsPath: e.target.value })} data-test="out-obs-path" />
            </Field>
          </div>
        )}
        <label class="check"><input type="checkbox" checked={outputs.dis} onChange={(e) => setOut({ dis: e.target.checked })} data-test="out-dis" /> Stream (DIS)</label>
        {outputs.dis && (
          <div class="grid2 sub">
            <Field name="output.dis.stream_name" label="Stream name" error={fe['output.dis.stream_name']} hint="letters, digits, - and _, up to 64">
              <input value={outputs.disStream} onInput={(e) => setOut({ disStream: e.target.value })} data-test="out-dis-stream" />
            </Field>
          </div>
        )}
      </section>

      <section class="card" data-test="task-schedule">
        <h3>Schedule</h3>
        <label class="check"><input type="checkbox" checked={schedule.on} disabled={hadSchedule} onChange={(e) => setSched({ on: e.target.checked })} data-test="sched-on" /> Run only in these weekly windows (otherwise always)</label>
        {hadSchedule && <p class="muted small">The API keeps a task's schedule once set: change its windows here, or create a new task to run it always.</p>}
        {fe.schedule && <div class="field has-error"><span class="error" data-test="error-schedule">{fe.schedule}</span></div>}
        {schedule.on && (
          <div class="sub">
            <div class={`field ${fe['schedule.days_of_week'] ? 'has-error' : ''}`} data-test="field-schedule.days_of_week">
              <span class="label">Days</span>
              <span class="days">
                {DAYS.map((d, i) => (
                  <label class="check"><input type="checkbox" data-test={`sched-day-${i + 1}`} checked={schedule.days.includes(i + 1)}
                    onChange={(e) => setSched({ days: e.target.checked ? [...schedule.days, i + 1] : schedule.days.filter((x) => x !== i + 1) })} /> {d}</label>
                ))}
              </span>
              {fe['schedule.days_of_week'] && <span class="error" data-test="error-schedule.days_of_week">{fe['schedule.days_of_week']}</span>}
            </div>
            <div class={`field ${fe['schedule.periods'] ? 'has-error' : ''}`} data-test="field-schedule.periods">
              <span class="label">Time windows (local to the time zone; an end before the begin runs past midnight)</span>
              {schedule.periods.map(([b, en], i) => (
                <div class="period">
                  <input type="time" step="1" value={b} data-test={`sched-begin-${i}`}
                    onInput={(e) => setSched({ periods: schedule.periods.map((p, j) => (j === i ? [e.target.value, p[1]] : p)) })} />
                  <span>–</span>
                  <input type="time" step="1" value={en} data-test={`sched-end-${i}`}
                    onInput={(e) => setSched({ periods: schedule.periods.map((p, j) => (j === i ? [p[0], e.target.value] : p)) })} />
                  <button type="button" class="link" data-test={`sched-remove-${i}`}
                    onClick={() => setSched({ periods: schedule.periods.filter((_, j) => j !== i) })}>remove</button>
                </div>
              ))}
              <div><button type="button" data-test="sched-add" onClick={() => setSched({ periods: [...schedule.periods, ['00:00:00', '23:59:59']] })}>Add window</button></div>
              {fe['schedule.periods'] && <span class="error" data-test="error-schedule.periods">{fe['schedule.periods']}</span>}
            </div>
            <Field name="schedule.timezone" label="Time zone" error={fe['schedule.timezone']} hint="IANA name (Europe/Berlin) or offset (GMT+08:00)">
              <input value={schedule.timezone} onInput={(e) => setSched({ timezone: e.target.value })} data-test="sched-timezone" />
            </Field>
          </div>
        )}
      </section>

      <div class="toolbar">
        <button type="submit" class="primary" disabled={saving} data-test="task-save">{saving ? 'Saving…' : editId ? 'Save' : 'Create task'}</button>
        <a href={editId ? `#/tasks/${encodeURIComponent(editId)}` : '#/tasks'}>Cancel</a>
      </div>
    </form>
  );
}
