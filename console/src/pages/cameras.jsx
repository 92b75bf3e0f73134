// Cameras (video sources): the list with status, health labels, scene tags and the latest snapshot, paged and
// searchable, refreshed every 5 s; add / edit / delete a source of any type with its type_config
// built from form fields; video groups and their members. `#/cameras/<id>` opens the editor.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, imageUrl } from '../api.js';
import { Field, ErrorBanner, Pager, Modal, useAsync, useInterval, formatTime, markReady } from '../ui.jsx';
import { SOURCE_TYPES, defaultValues, buildTypeConfig, parseTypeConfig, fieldTest } from '../source_types.js';
import { GroupsDialog } from '../camera_groups.jsx';

const LIMIT = 20;
const REFRESH_MS = 5000;
/** A present snapshot is fetched again every this many refreshes; a missing one every refresh. */
const SNAPSHOT_EVERY = 6;

const STATUS_CLASS = { 1: 'good', 2: '', 9: 'bad' };

/** What each `video_source_quality` label of VIAS §2.1 means, shown when pointing at it. */
const QUALITY_TEXT = {
  Blurry: 'blurred picture (out of focus)',
  ColorDistortion: 'colour cast',
  AbnormalLight: 'over- or under-exposed',
  ScreenSplash: 'corrupted picture ("flower screen", macroblock garbage)',
  ScreenJitter: 'the picture shakes back and forth',
  ScreenMovement: 'the camera was moved or turned',
  SceneUpheaval: 'the scene changed abruptly (another view)',
  ScreenFreeze: 'the picture is frozen',
  BlackScreen: 'black picture',
  SnowNoise: 'snow / noise',
  Occlude: 'part of the view is covered',
  GrayScreen: 'plain grey picture (no signal)',
  ScreenSmudge: 'smudged lens or haze (low contrast)',
};

function listQuery({ scope, status, type, group }, offset) {
  const q = new URLSearchParams({ is_paged: 'true', page_size: String(LIMIT), page_num: String(offset / LIMIT + 1) });
  if (scope) q.set('scope', scope);
  if (status) q.set('status', status);
  if (type) q.set('type', type);
  if (group) q.set('video_group_id', group);
  return `/source/sources?${q}`;
}

export function CamerasPage({ args }) {
  const [filters, setFilters] = useState({ scope: '', status: '', type: '', group: '' });
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [tick, setTick] = useState(0);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState(null);
  const [groupsOpen, setGroupsOpen] = useState(false);
  const list = useAsync(() => api('GET', listQuery(filters, offset)), [filters, offset]);
  const groups = useAsync(() => api('GET', '/video-group/groups'), [groupsOpen]);
  const editId = args[0] || null;

  const refresh = useCallback(() => { list.reload(); setTick((t) => t + 1); }, [list.reload]);
  useInterval(refresh, REFRESH_MS);
  // Search as you type, without a request per key.
  useEffect(() => {
    const id = setTimeout(() => { setFilters((f) => (f.scope === search ? f : { ...f, scope: search })); setOffset(0); }, 300);
    return () => clearTimeout(id);
  }, [search]);
  useEffect(() => { if (list.data) markReady('cameras'); }, [list.data, editId]);

  const setFilter = (k, v) => { setFilters((f) => ({ ...f, [k]: v })); setOffset(0); };
  const data = list.data;
  const rows = data?.video_source_list || [];
  const groupList = groups.data?.video_group_list || [];
  const closeEditor = () => { location.hash = '#/cameras'; };

  return (
    <div>
      <div class="toolbar">
        <h1 style="margin:0">Cameras</h1>
        <input placeholder="Search name" value={search} onInput={(e) => setSearch(e.target.value)} data-test="camera-search" />
        <select value={filters.status} onChange={(e) => setFilter('status', e.target.value)} data-test="filter-status">
          <option value="">any status</option><option value="1">online</option><option value="2">offline</option><option value="9">abnormal</option>
        </select>
        <select value={filters.type} onChange={(e) => setFilter('type', e.target.value)} data-test="filter-type">
          <option value="">any type</option>
          {Object.keys(SOURCE_TYPES).map((t) => <option value={t}>{t}</option>)}
        </select>
        <select value={filters.group} onChange={(e) => setFilter('group', e.target.value)} data-test="filter-group">
          <option value="">any group</option>
          {groupList.map((g) => <option value={g.video_group_id}>{g.video_group_name}</option>)}
        </select>
        <span class="spacer" />
        <button onClick={() => setGroupsOpen(true)} data-test="groups-open">Groups</button>
        <button class="primary" onClick={() => setAdding(true)} data-test="camera-add">Add camera</button>
      </div>
      <ErrorBanner error={list.error} />
      {data && (
        <>
          <table data-test="camera-table">
            <thead><tr><th>Snapshot</th><th>Name</th><th>Type</th><th>Status</th><th>Health</th><th>Scene</th><th>Groups</th><th>Tasks</th><th>Created</th><th /></tr></thead>
            <tbody>
              {rows.map((s) => (
                <tr data-test="camera-row" data-id={s.video_source_id} data-name={s.video_source_name} key={s.video_source_id}>
                  <td><Snapshot id={s.video_source_id} tick={tick} /></td>
                  <td><b>{s.video_source_name}</b><div class="muted" style="font-size:11px">{s.video_source_id}</div></td>
                  <td>{s.type}<div class="muted" style="font-size:11px">{s.access_type}</div></td>
                  <td><span class={`badge ${STATUS_CLASS[s.status?.level] ?? 'warn'}`} data-test="camera-status">{s.status?.status}</span></td>
                  <td data-test="camera-health">
                    {(s.video_source_quality || []).length
                      ? s.video_source_quality.map((q) => <span class="badge warn chip" data-test="camera-quality" title={QUALITY_TEXT[q] || q}>{q}</span>)
                      : <span class="muted">—</span>}
                  </td>
                  <td data-test="camera-scene-tags">
                    {(s.scene_recommend || []).length
                      ? s.scene_recommend.map((t) => <span class="badge chip scene" data-test="camera-scene">{t}</span>)
                      : <span class="muted" title="recommended once the prober has looked at the scene">—</span>}
                  </td>
                  <td>{(s.video_packages || []).map((g) => g.video_group_name).join(', ') || <span class="muted">—</span>}</td>
                  <td>{s.num_tasks}</td>
                  <td class="muted">{formatTime(s.create_at)}</td>
                  <td style="white-space:nowrap">
                    <a href={`#/regions/${encodeURIComponent(s.video_source_id)}`} data-test="camera-regions">Regions</a>{' · '}
                    <a href={`#/tasks/new/${encodeURIComponent(s.video_source_id)}`} data-test="camera-new-task">New task</a>{' · '}
                    <button class="link" onClick={() => { location.hash = `#/cameras/${encodeURIComponent(s.video_source_id)}`; }} data-test="camera-edit">Edit</button>
                    <button class="link danger" onClick={() => setDeleting(s)} data-test="camera-delete">Delete</button>
                  </td>
                </tr>
              ))}
              {!rows.length && <tr><td colSpan="10" class="muted" data-test="camera-empty">No cameras{filters.scope || filters.status || filters.type || filters.group ? ' match the filters' : ' yet: add one'}.</td></tr>}
            </tbody>
          </table>
          <Pager offset={offset} limit={LIMIT} total={data.video_source_number} onChange={setOffset} />
          <div class="muted">{data.total_number} cameras in the project, quota {data.quota_number}.</div>
        </>
      )}
      {adding && <SourceForm groups={groupList} onClose={() => setAdding(false)} onSaved={() => { setAdding(false); list.reload(); }} />}
      {editId && <SourceForm key={editId} id={editId} groups={groupList} onClose={closeEditor} onSaved={() => { closeEditor(); list.reload(); }} />}
      {deleting && <DeleteDialog source={deleting} onClose={() => setDeleting(null)} onDone={() => { setDeleting(null); list.reload(); }} />}
      {groupsOpen && <GroupsDialog onClose={() => { setGroupsOpen(false); list.reload(); }} />}
    </div>
  );
}

/**
 * The latest snapshot of a source. Keeps the picture it has while fetching a newer one (no
 * flicker); asks every refresh while there is none, so it appears once the prober took one.
 */
function Snapshot({ id, tick }) {
  const [url, setUrl] = useState(null);
  const [missing, setMissing] = useState(false);
  const lastFetch = useRef(-Infinity);
  const have = useRef(null);
  useEffect(() => {
    if (have.current && tick - lastFetch.current < SNAPSHOT_EVERY) return undefined;
    lastFetch.current = tick;
    const ctl = new AbortController();
    imageUrl(`/vigil/sources/${encodeURIComponent(id)}/snapshot`, ctl.signal).then(
      (u) => {
        if (u) {
          if (have.current) URL.revokeObjectURL(have.current);
          have.current = u;
          setUrl(u);
        } else if (!have.current) setMissing(true);
      },
      () => { if (!have.current) setMissing(true); },
    );
    return () => ctl.abort();
  }, [id, tick]);
  useEffect(() => () => { if (have.current) URL.revokeObjectURL(have.current); }, []);
  if (url) return <img class="thumb" src={url} alt="snapshot" data-test="camera-snapshot" />;
  return <div class="img-placeholder thumb" data-test="camera-snapshot-missing">{missing ? 'no snapshot yet' : '…'}</div>;
}

function DeleteDialog({ source, onClose, onDone }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      await api('DELETE', `/source/${encodeURIComponent(source.video_source_id)}`);
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal title="Delete camera" onClose={onClose}>
      <ErrorBanner error={error} />
      <p>Delete <b>{source.video_source_name}</b>? Tasks that use it must be deleted first.</p>
      <footer>
        <button onClick={onClose}>Cancel</button>
        <button class="primary" disabled={busy} onClick={go} data-test="camera-delete-confirm">Delete</button>
      </footer>
    </Modal>
  );
}

/** Add (no `id`) or edit a source. */
function SourceForm({ id, groups, onClose, onSaved }) {
  const detail = useAsync(() => (id ? api('GET', `/source/sources/${encodeURIComponent(id)}`) : Promise.resolve(null)), [id]);
  if (id && !detail.data) {
    return (
      <Modal title="Edit camera" onClose={onClose}>
        {detail.error ? <ErrorBanner error={detail.error} /> : <p class="muted">Loading…</p>}
      </Modal>
    );
  }
  return <SourceFormBody id={id} detail={detail.data} groups={groups} onClose={onClose} onSaved={onSaved} />;
}

function SourceFormBody({ id, detail, groups, onClose, onSaved }) {
  const initial = () => {
    if (!detail) return { type: 'url', access: 'cloud', values: defaultValues('url'), hadPassword: false };
    const type = SOURCE_TYPES[detail.type] ? detail.type : 'url';
    const { values, hadPassword } = parseTypeConfig(type, detail.type_config);
    return { type, access: detail.access_type, values, hadPassword };
  };
  const [form, setForm] = useState(initial);
  const [name, setName] = useState(detail?.video_source_name || '');
  const [lat, setLat] = useState(detail?.latitude || '');
  const [lon, setLon] = useState(detail?.longitude || '');
  const [tags, setTags] = useState((detail?.tag || []).join(', '));
  const [groupIds, setGroupIds] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const def = SOURCE_TYPES[form.type];

  const setType = (type) => {
    const allowed = SOURCE_TYPES[type].access;
    setForm((f) => ({ ...f, type, values: defaultValues(type), access: allowed.includes(f.access) ? f.access : allowed[0] }));
  };
  const setValue = (k, v) => setForm((f) => ({ ...f, values: { ...f.values, [k]: v } }));
  const err = (p) => error?.forField(p) || null;
  const known = ['video_source_name', 'access_type', 'type', 'latitude', 'longitude', 'tag', 'video_group_ids', 'type_config',
    ...def.fields.map((f) => `type_config.${f.key}`)];
  const unplaced = error && !error.params.some((p) => known.includes(p));

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const typeConfig = buildTypeConfig(form.type, form.values, { hadPassword: form.hadPassword });
    const tag = tags.split(',').map((t) => t.trim()).filter(Boolean);
    try {
      if (id) {
        await api('PUT', `/source/${encodeURIComponent(id)}`, {
          video_source_name: name, latitude: lat, longitude: lon, type_config: typeConfig, tag,
        });
      } else {
        await api('POST', '/source', {
          video_source_name: name, access_type: form.access, type: form.type, latitude: lat, longitude: lon,
          video_group_ids: groupIds, type_config: typeConfig, tag,
        });
      }
      onSaved();
    } catch (ex) {
      setError(ex);
      setBusy(false);
    }
  };

  const input = (f) => {
    const v = form.values[f.key];
    const common = { 'data-test': fieldTest(f), name: f.key };
    switch (f.kind) {
      case 'bool':
        return <input type="checkbox" checked={!!v} onChange={(e) => setValue(f.key, e.target.checked)} {...common} />;
      case 'select':
        return <select value={v} onChange={(e) => setValue(f.key, e.target.value)} {...common}>{f.options.map(([o, l]) => <option value={o}>{l}</option>)}</select>;
      case 'password':
        return <input type="password" autocomplete="new-password" value={v} placeholder={form.hadPassword ? 'unchanged (stored)' : ''} onInput={(e) => setValue(f.key, e.target.value)} {...common} />;
      default:
        return <input type={f.kind === 'number' ? 'number' : 'text'} value={v} required={f.required && !(form.type === 'vcn_restful' && ['url', 'rtsp_url'].includes(f.key))} onInput={(e) => setValue(f.key, e.target.value)} {...common} />;
    }
  };
  const sameAccess = groups.filter((g) => g.access_type === form.access);

  return (
    <Modal title={id ? `Edit camera ${detail.video_source_name}` : 'Add camera'} onClose={onClose}>
      <form onSubmit={submit} data-test="source-form">
        {unplaced && <ErrorBanner error={error} />}
        <Field name="video_source_name" label="Name" error={err('video_source_name')} hint="1–100 characters: letters, digits, space, . - _ ( )">
          <input value={name} onInput={(e) => setName(e.target.value)} required data-test="source-name" />
        </Field>
        <div class="grid2">
          <Field name="type" label="Type" error={err('type')}>
            <select value={form.type} disabled={!!id} onChange={(e) => setType(e.target.value)} data-test="source-type">
              {Object.entries(SOURCE_TYPES).map(([t, d]) => <option value={t}>{d.label}</option>)}
            </select>
          </Field>
          <Field name="access_type" label="Pulled from" error={err('access_type')}>
            <select value={form.access} disabled={!!id || def.access.length < 2} onChange={(e) => setForm((f) => ({ ...f, access: e.target.value }))} data-test="source-access">
              {def.access.map((a) => <option value={a}>{a === 'cloud' ? 'cloud (this service)' : 'edge (edge pool nodes)'}</option>)}
            </select>
          </Field>
        </div>
        <fieldset class="type-config" data-test="source-type-config">
          <legend>{def.label}</legend>
          {err('type_config') && <span class="error" data-test="error-type_config">{err('type_config')}</span>}
          {def.fields.map((f) => (
            <Field name={`type_config.${f.key}`} label={f.label} error={err(`type_config.${f.key}`)}
              hint={f.kind === 'password' && form.hadPassword ? 'Leave empty to keep the stored password.' : f.hint}>
              {input(f)}
            </Field>
          ))}
        </fieldset>
        <div class="grid2">
          <Field name="latitude" label="Latitude" error={err('latitude')}><input value={lat} onInput={(e) => setLat(e.target.value)} placeholder="-90 … 90" data-test="source-latitude" /></Field>
          <Field name="longitude" label="Longitude" error={err('longitude')}><input value={lon} onInput={(e) => setLon(e.target.value)} placeholder="-180 … 180" data-test="source-longitude" /></Field>
        </div>
        <Field name="tag" label="Tags" error={err('tag')} hint="comma-separated, at most 4, each 1–10 characters">
          <input value={tags} onInput={(e) => setTags(e.target.value)} data-test="source-tags" />
        </Field>
        {!id && sameAccess.length > 0 && (
          <Field name="video_group_ids" label="Groups" error={err('video_group_ids')}>
            <div class="checks" data-test="source-groups">
              {sameAccess.map((g) => (
                <label><input type="checkbox" checked={groupIds.includes(g.video_group_id)}
                  onChange={(e) => setGroupIds((ids) => (e.target.checked ? [...ids, g.video_group_id] : ids.filter((x) => x !== g.video_group_id)))} /> {g.video_group_name}</label>
              ))}
            </div>
          </Field>
        )}
        {id && <p class="muted">Groups: {(detail.video_packages || []).map((g) => g.video_group_name).join(', ') || 'none'} (change them under Groups).</p>}
        <footer>
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy} data-test="source-save">{busy ? 'Saving…' : 'Save'}</button>
        </footer>
      </form>
    </Modal>
  );
}
