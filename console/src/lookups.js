// Bounded look-ups for selects (cameras, tasks): paged through the API, at most `max` items, so a
// project with many thousands of cameras or tasks never makes a page load everything.
import { api } from './api.js';

/** Cameras as [{id, name, type, access_type}], newest first, at most `max` (≤ 1000). */
export async function listSourcesBounded(max = 1000) {
  const size = 200; // ListVideoSources' largest page
  const page = (n) => api('GET', `/source/sources?is_paged=true&page_size=${size}&page_num=${n}`);
  const first = await page(1);
  // The rest of the pages at once (the first tells how many there are).
  const pages = Math.min(Math.ceil((first?.total_number || 0) / size), Math.ceil(max / size));
  const rest = await Promise.all(Array.from({ length: Math.max(0, pages - 1) }, (_, i) => page(i + 2)));
  const out = [];
  for (const r of [first, ...rest]) {
    for (const s of r?.video_source_list || []) {
      out.push({ id: s.video_source_id, name: s.video_source_name, type: s.type, access_type: s.access_type });
    }
  }
  return out.slice(0, max);
}

/** Tasks as [{id, name, state}], newest first, at most `max` (ListTasks pages hold up to 1000). */
export async function listTasksBounded(max = 1000) {
  const r = await api('GET', `/tasks?page=1&page_size=${Math.min(Math.max(max, 5), 1000)}`);
  return (r?.tasks || []).map((t) => ({ id: t.id, name: t.name, state: t.state }));
}

/** Per-task throughput by task id, or null while the server has no `task-stats` route. */
export async function loadTaskStats() {
  try {
    const r = await api('GET', '/vigil/task-stats');
    const m = {};
    for (const s of r?.stats || []) m[s.task_id] = s;
    return m;
  } catch (e) {
    if (e.status === 401) throw e;
    return null; // 404 until the metrics part is deployed; throughput is optional on the page
  }
}
