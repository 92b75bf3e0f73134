// Regions: draw a camera's lines and polygons on its snapshot and take the target_roi JSON,
// either copied or handed to a new task (sessionStorage `vigil.draftRoi` = {sourceId, roi}, read
// by the task form). `#/regions` picks the camera, `#/regions/<source_id>` edits.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBanner, useAsync, markReady } from '../ui.jsx';
import { RoiEditor } from '../roi_editor.jsx';

export const DRAFT_KEY = 'vigil.draftRoi';

/** What is being drawn on a camera survives leaving the page (per tab). */
const editKey = (sourceId) => `vigil.roiEdit.${sourceId}`;

function storedDraft(sourceId) {
  for (const key of [editKey(sourceId), DRAFT_KEY]) {
    try {
      const d = JSON.parse(sessionStorage.getItem(key) || 'null');
      if (d && d.sourceId === sourceId && d.roi) return d.roi;
    } catch (_) { /* a damaged draft is no draft */ }
  }
  return { lines: [], polygons: [] };
}

export function RegionsPage({ args }) {
  return args[0] ? <RegionsOf key={args[0]} sourceId={args[0]} /> : <CameraPicker />;
}

function CameraPicker() {
  const [scope, setScope] = useState('');
  const list = useAsync(() => {
    const q = new URLSearchParams({ is_paged: 'true', page_size: '50', page_num: '1' });
    if (scope) q.set('scope', scope);
    return api('GET', `/source/sources?${q}`);
  }, [scope]);
  useEffect(() => { if (list.data) markReady('regions'); }, [list.data]);
  const rows = list.data?.video_source_list || [];
  return (
    <div>
      <div class="toolbar">
        <h1 style="margin:0">Regions</h1>
        <span class="muted">Pick a camera to draw on its snapshot.</span>
        <input placeholder="Search camera" value={scope} onInput={(e) => setScope(e.target.value)} data-test="regions-search" />
      </div>
      <ErrorBanner error={list.error} />
      <ul class="picker" data-test="regions-cameras">
        {rows.map((s) => (
          <li><a href={`#/regions/${encodeURIComponent(s.video_source_id)}`} data-test="regions-camera" data-id={s.video_source_id}>{s.video_source_name}</a>
            {' '}<span class="muted">{s.type} · {s.status?.status}</span></li>
        ))}
        {list.data && !rows.length && <li class="muted">No cameras{scope ? ' match' : ' yet'}.</li>}
      </ul>
      {list.data && list.data.video_source_number > rows.length && <p class="muted">Showing {rows.length} of {list.data.video_source_number}; search to narrow.</p>}
    </div>
  );
}

function RegionsOf({ sourceId }) {
  const detail = useAsync(() => api('GET', `/source/sources/${encodeURIComponent(sourceId)}`), [sourceId]);
  const [roi, setRoi] = useState(() => storedDraft(sourceId));
  const [copied, setCopied] = useState(false);
  useEffect(() => { if (detail.data || detail.error) markReady('regions'); }, [detail.data, detail.error]);
  const json = JSON.stringify(roi);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(json);
    } catch (_) {
      // Without clipboard permission: select the JSON so Ctrl+C copies it.
      const pre = document.querySelector('[data-test="roi-json"]');
      if (pre) getSelection().selectAllChildren(pre);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  const toTask = () => {
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ sourceId, roi }));
  };
  return (
    <div>
      <div class="toolbar">
        <h1 style="margin:0">Regions of {detail.data?.video_source_name || sourceId}</h1>
        <a href="#/regions" data-test="regions-back">other camera</a>
        <span class="spacer" />
        <button onClick={copy} data-test="roi-copy">{copied ? 'Copied' : 'Copy target_roi'}</button>
        <a class="button primary" href={`#/tasks/new/${encodeURIComponent(sourceId)}`} onClick={toTask} data-test="roi-new-task">New task with these regions</a>
      </div>
      <ErrorBanner error={detail.error} />
      <RoiEditor sourceId={sourceId} value={roi} onChange={(r) => { setRoi(r); sessionStorage.setItem(editKey(sourceId), JSON.stringify({ sourceId, roi: r })); }} />
      <p class="muted">The box above is the exact <code>target_roi</code> string of a task's <code>config.common</code>; coordinates are pixels of the camera's stream.</p>
    </div>
  );
}
