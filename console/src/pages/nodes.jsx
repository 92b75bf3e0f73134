// Nodes: the service's workers (every `vigil worker` and the worker inside `vigil serve`) with
// their state and this project's load on them (leased tasks, analysed fps), every 5 s.
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBanner, useAsync, useInterval, formatTime, markReady } from '../ui.jsx';

const REFRESH_MS = 5000;

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function NodesPage() {
  const nodes = useAsync(() => api('GET', '/vigil/nodes'), []);
  useInterval(nodes.reload, REFRESH_MS);
  useEffect(() => { if (nodes.data) markReady('nodes'); }, [nodes.data]);
  const list = nodes.data?.nodes || [];
  const totalTasks = list.reduce((a, n) => a + n.tasks, 0);
  const totalFps = list.reduce((a, n) => a + n.analysed_fps, 0);
  return (
    <div>
      <div class="toolbar">
        <h1 style="margin:0">Nodes</h1>
        {nodes.data && <span class="muted" data-test="nodes-summary">{list.length} nodes · {totalTasks} tasks · {totalFps.toFixed(1)} fps analysed</span>}
      </div>
      <ErrorBanner error={nodes.error} />
      {nodes.data && (
        <table data-test="node-table">
          <thead><tr><th>Node</th><th>State</th><th>Load (this project)</th><th>CPU / memory</th><th>Accelerators</th><th>Pools</th><th>Version</th><th>Started</th><th>Heartbeat</th></tr></thead>
          <tbody>
            {list.map((n) => (
              <tr data-test="node-row" data-id={n.id} key={n.id}>
                <td><b>{n.name}</b><div class="muted" style="font-size:11px">{n.id}</div></td>
                <td><span class={`badge ${n.state === 'Running' ? 'good' : 'bad'}`} data-test="node-state">{n.state}</span></td>
                <td data-test="node-load" data-tasks={n.tasks} data-fps={n.analysed_fps}>{n.tasks} tasks · {n.analysed_fps.toFixed(1)} fps</td>
                <td>{n.cpu} cores · {(n.memory / 1024).toFixed(1)} GiB <span class="muted">{n.arch}</span></td>
                <td>{n.gpus.length ? n.gpus.map((g) => `${g.name}${g.capacity ? ` (${Math.round(g.capacity / 1024)} GiB)` : ''}`).join(', ') : <span class="muted">CPU only</span>}</td>
                <td>{n.pools.join(', ') || <span class="muted">—</span>}</td>
                <td>{n.version}</td>
                <td class="muted">{formatTime(n.started_at)}</td>
                <td class="muted" title={formatTime(n.heartbeat_at)}>{ago(n.heartbeat_at)}</td>
              </tr>
            ))}
            {!list.length && <tr><td colSpan="9" class="muted">No worker has registered yet.</td></tr>}
          </tbody>
        </table>
      )}
    </div>
  );
}
