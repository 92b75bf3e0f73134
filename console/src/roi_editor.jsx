// The region editor: lines (with direction and side names) and polygons drawn on a camera's
// snapshot. An <svg> lies over the <img> with viewBox = the picture's natural size and no aspect
// correction, so a click at the fraction (fx, fy) of the element is the point (fx·W, fy·H) in
// stream pixels. `value` / `onChange` carry exactly the parsed target_roi object (spec §5.5):
// {lines:[{data:[[x,y],[x,y]], name, properties:{side1_name, side2_name}}], polygons:[{data, name}]}.
import { useEffect, useRef, useState } from 'preact/hooks';
import { imageUrl } from './api.js';

const SNAPSHOT_RETRY_MS = 5000;
/** A click this close (stream px) to the previous draft point adds nothing (double-click). */
const SAME_POINT_PX = 3;
/** How many of its own recent outputs the editor recognises when the parent echoes them. */
const RECENT_MAX = 50;

const int = (n) => Math.round(Number(n) || 0);
const pts = (data) => (Array.isArray(data) ? data : []).filter(Array.isArray).map(([x, y]) => [int(x), int(y)]);

/** The canonical target_roi object: integer points, empty names and properties left out. */
export function cleanRoi(v) {
  let o = v;
  if (typeof o === 'string') {
    try { o = o.trim() ? JSON.parse(o) : {}; } catch (_) { o = {}; }
  }
  o = o && typeof o === 'object' ? o : {};
  const lines = (Array.isArray(o.lines) ? o.lines : []).map((l) => {
    const out = { data: pts(l?.data) };
    if (l?.name) out.name = String(l.name);
    const props = { ...(l?.properties || {}) };
    for (const k of ['side1_name', 'side2_name']) if (props[k] === '' || props[k] == null) delete props[k];
    if (Object.keys(props).length) out.properties = props;
    return out;
  });
  const polygons = (Array.isArray(o.polygons) ? o.polygons : []).map((p) => {
    const out = { data: pts(p?.data) };
    if (p?.name) out.name = String(p.name);
    if (p?.properties && Object.keys(p.properties).length) out.properties = { ...p.properties };
    return out;
  });
  return { lines, polygons };
}

function freeName(prefix, list) {
  const used = new Set(list.map((s) => s.name));
  let i = 1;
  while (used.has(`${prefix}${i}`)) i += 1;
  return `${prefix}${i}`;
}

/** Where side1 lies: vigil-core roi.rs orients the line so that side1 is left of a mostly
 *  vertical line and above a mostly horizontal one, whatever the order of its points. */
function sideGeometry([[x1, y1], [x2, y2]], off) {
  let [ax, ay, bx, by] = [x1, y1, x2, y2];
  const dx0 = bx - ax;
  const dy0 = by - ay;
  const flip = Math.abs(dy0) >= Math.abs(dx0) ? dy0 < 0 : dx0 > 0;
  if (flip) [ax, ay, bx, by] = [bx, by, ax, ay];
  const dx = bx - ax;
  const dy = by - ay;
  const len = Math.hypot(dx, dy) || 1;
  // Unit normal n with dx*n.y - dy*n.x > 0 (positive signed distance = side1).
  const n = [-dy / len, dx / len];
  const mx = (x1 + x2) / 2;
  const my = (y1 + y2) / 2;
  return { side1: [mx + n[0] * off, my + n[1] * off], side2: [mx - n[0] * off, my - n[1] * off] };
}

/**
 * A shape's name input. It keeps its own text while focused: a re-render from a slightly older
 * ROI (the parent echoing an earlier edit) must not overwrite keys typed since.
 */
function ShapeText({ value, onText, onFocus, ...rest }) {
  const [text, setText] = useState(value);
  const focused = useRef(false);
  useEffect(() => { if (!focused.current) setText(value); }, [value]);
  return (
    <input {...rest} value={text}
      onFocus={(e) => { focused.current = true; if (onFocus) onFocus(e); }}
      onBlur={() => { focused.current = false; }}
      onInput={(e) => { setText(e.target.value); onText(e.target.value); }} />
  );
}

export function RoiEditor({ sourceId, value, onChange, allowLines = true, allowPolygons = true }) {
  const [roi, setRoi] = useState(() => cleanRoi(value));
  const roiRef = useRef(roi);
  roiRef.current = roi;
  // JSON of what this editor emitted lately: the parent echoes them back as `value`, possibly
  // late (effects run after paint, keys may come faster), and an echo must not undo newer edits.
  const recent = useRef([JSON.stringify(roi)]);
  const history = useRef([]);
  const [tool, setTool] = useState(null); // 'polygon' | 'line' | null
  const [draft, setDraft] = useState([]);
  const [hover, setHover] = useState(null);
  const [selected, setSelected] = useState(null); // {kind, index}
  const drag = useRef(null);
  const justDragged = useRef(false);
  const svgRef = useRef(null);
  const [snap, setSnap] = useState({ url: null, missing: false });
  const [size, setSize] = useState(null);

  // The parent's value wins when it changes from outside (another camera, a loaded draft).
  useEffect(() => {
    const next = cleanRoi(value);
    const j = JSON.stringify(next);
    if (j === JSON.stringify(roiRef.current) || recent.current.includes(j)) return;
    recent.current = [j];
    setRoi(next);
  }, [value]);

  // The snapshot; asked for again every few seconds until the prober has one.
  useEffect(() => {
    if (!sourceId) return undefined;
    let made = null;
    let timer = null;
    const ctl = new AbortController();
    setSnap({ url: null, missing: false });
    setSize(null);
    const load = () => imageUrl(`/vigil/sources/${encodeURIComponent(sourceId)}/snapshot`, ctl.signal).then(
      (u) => {
        if (u) { made = u; setSnap({ url: u, missing: false }); } else { setSnap({ url: null, missing: true }); timer = setTimeout(load, SNAPSHOT_RETRY_MS); }
      },
      () => { if (!ctl.signal.aborted) { setSnap({ url: null, missing: true }); timer = setTimeout(load, SNAPSHOT_RETRY_MS); } },
    );
    load();
    return () => { ctl.abort(); clearTimeout(timer); if (made) URL.revokeObjectURL(made); };
  }, [sourceId]);

  const emit = (next) => {
    const c = cleanRoi(next);
    recent.current = [...recent.current.slice(-RECENT_MAX + 1), JSON.stringify(c)];
    roiRef.current = c;
    setRoi(c);
    if (onChange) onChange(c);
  };
  const commit = (next) => {
    history.current.push(roiRef.current);
    emit(next);
  };

  const W = size?.w || 1;
  const H = size?.h || 1;
  const unit = Math.max(W, H) / 160; // vertex radius, arrow size… in stream pixels
  const toPoint = (e) => {
    const r = svgRef.current.getBoundingClientRect();
    const x = Math.round(((e.clientX - r.left) / r.width) * W);
    const y = Math.round(((e.clientY - r.top) / r.height) * H);
    return [Math.min(W, Math.max(0, x)), Math.min(H, Math.max(0, y))];
  };

  const finishPolygon = (points = draft) => {
    if (points.length < 3) return;
    const r = roiRef.current;
    commit({ ...r, polygons: [...r.polygons, { data: points, name: freeName('area', r.polygons) }] });
    setSelected({ kind: 'polygon', index: r.polygons.length });
    setDraft([]);
    setTool(null);
  };
  const cancelDraft = () => { setDraft([]); setTool(null); setHover(null); };

  const onCanvasClick = (e) => {
    if (justDragged.current) { justDragged.current = false; return; }
    if (!tool) { setSelected(null); return; }
    const p = toPoint(e);
    const last = draft[draft.length - 1];
    if (last && Math.hypot(p[0] - last[0], p[1] - last[1]) <= SAME_POINT_PX) return;
    if (tool === 'polygon') {
      const first = draft[0];
      if (draft.length >= 3 && Math.hypot(p[0] - first[0], p[1] - first[1]) <= unit * 1.5) { finishPolygon(); return; }
      setDraft([...draft, p]);
    } else {
      if (!draft.length) { setDraft([p]); return; }
      const r = roiRef.current;
      commit({ ...r, lines: [...r.lines, { data: [draft[0], p], name: freeName('line', r.lines), properties: { side1_name: 'Side1', side2_name: 'Side2' } }] });
      setSelected({ kind: 'line', index: r.lines.length });
      setDraft([]);
      setTool(null);
    }
  };
  const onDblClick = (e) => {
    e.preventDefault();
    if (tool === 'polygon') finishPolygon();
  };

  const startDrag = (e, kind, index, vertex) => {
    if (tool) return;
    e.stopPropagation();
    e.preventDefault();
    svgRef.current.setPointerCapture?.(e.pointerId);
    history.current.push(roiRef.current);
    drag.current = { kind, index, vertex, moved: false };
    setSelected({ kind, index });
  };
  const onPointerMove = (e) => {
    if (drag.current) {
      const { kind, index, vertex } = drag.current;
      const p = toPoint(e);
      const key = kind === 'line' ? 'lines' : 'polygons';
      const r = roiRef.current;
      const shapes = r[key].map((s, i) => (i === index ? { ...s, data: s.data.map((q, j) => (j === vertex ? p : q)) } : s));
      drag.current.moved = true;
      const next = { ...r, [key]: shapes };
      roiRef.current = next;
      setRoi(next);
    } else if (tool) {
      setHover(toPoint(e));
    }
  };
  const onPointerUp = () => {
    if (!drag.current) return;
    const moved = drag.current.moved;
    drag.current = null;
    if (moved) {
      justDragged.current = true;
      emit(roiRef.current);
    } else {
      history.current.pop();
    }
  };

  const undo = () => {
    if (draft.length) { setDraft(draft.slice(0, -1)); return; }
    const prev = history.current.pop();
    if (prev) { emit(prev); setSelected(null); }
  };
  const clear = () => { cancelDraft(); setSelected(null); commit({ lines: [], polygons: [] }); };
  const removeShape = (kind, index) => {
    const key = kind === 'line' ? 'lines' : 'polygons';
    const r = roiRef.current;
    commit({ ...r, [key]: r[key].filter((_, i) => i !== index) });
    setSelected(null);
  };
  const editShape = (kind, index, f) => {
    const key = kind === 'line' ? 'lines' : 'polygons';
    const r = roiRef.current;
    emit({ ...r, [key]: r[key].map((s, i) => (i === index ? f(s) : s)) });
  };
  const onKeyDown = (e) => {
    if (e.target.tagName === 'INPUT') return;
    if (e.key === 'Escape') cancelDraft();
    else if (e.key === 'Enter' && tool === 'polygon') finishPolygon();
    else if ((e.key === 'z' || e.key === 'Z') && (e.ctrlKey || e.metaKey)) { e.preventDefault(); undo(); }
    else if ((e.key === 'Delete' || e.key === 'Backspace') && selected) removeShape(selected.kind, selected.index);
  };

  // A click right after a drag (or on a shape while drawing) is not a selection.
  const selectShape = (e, kind, index) => {
    if (justDragged.current) { justDragged.current = false; e.stopPropagation(); return; }
    if (!tool) { e.stopPropagation(); setSelected({ kind, index }); }
  };
  const isSel = (kind, index) => selected && selected.kind === kind && selected.index === index;
  const json = JSON.stringify(roi);
  const help = tool === 'polygon'
    ? `Click the corners of the area (${draft.length} so far); finish with “Finish”, a double-click, Enter or a click on the first corner. Esc cancels.`
    : tool === 'line'
      ? (draft.length ? 'Click the end of the line.' : 'Click the start of the line.')
      : 'Pick a tool to draw; drag a corner to move it; click a shape to select it.';

  return (
    <div class="roi-editor" data-test="roi-editor" data-source={sourceId} tabIndex={0} onKeyDown={onKeyDown}>
      <div class="toolbar">
        {allowPolygons && <button type="button" class={tool === 'polygon' ? 'primary' : ''} disabled={!size} onClick={() => { setDraft([]); setTool('polygon'); }} data-test="roi-tool-polygon">Polygon</button>}
        {allowLines && <button type="button" class={tool === 'line' ? 'primary' : ''} disabled={!size} onClick={() => { setDraft([]); setTool('line'); }} data-test="roi-tool-line">Line</button>}
        <button type="button" disabled={!(tool === 'polygon' && draft.length >= 3)} onClick={() => finishPolygon()} data-test="roi-finish">Finish polygon</button>
        <button type="button" onClick={undo} data-test="roi-undo">Undo</button>
        <button type="button" onClick={clear} data-test="roi-clear">Clear</button>
        <span class="muted" data-test="roi-help">{help}</span>
      </div>
      <div class="roi-stage">
        {snap.url
          ? <img src={snap.url} alt="snapshot" draggable={false} data-test="roi-image"
              onLoad={(e) => setSize({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })} />
          : <div class="img-placeholder roi-placeholder" data-test="roi-image-missing">
              {!sourceId ? 'Pick a camera first.' : snap.missing ? 'No snapshot yet: waiting for the camera (retrying every 5 s)…' : 'Loading snapshot…'}
            </div>}
        {snap.url && size && (
          <svg ref={svgRef} class={`roi-canvas ${tool ? 'drawing' : ''}`} data-test="roi-canvas" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none"
            data-width={W} data-height={H}
            onClick={onCanvasClick} onDblClick={onDblClick} onPointerMove={onPointerMove} onPointerUp={onPointerUp} onPointerLeave={() => setHover(null)}>
            {roi.polygons.map((p, i) => (
              <g class={`roi-poly ${isSel('polygon', i) ? 'selected' : ''}`} onClick={(e) => selectShape(e, 'polygon', i)}>
                <polygon points={p.data.map((q) => q.join(',')).join(' ')} vector-effect="non-scaling-stroke" />
                {p.name && <text x={p.data.reduce((a, q) => a + q[0], 0) / p.data.length} y={p.data.reduce((a, q) => a + q[1], 0) / p.data.length} font-size={unit * 3} text-anchor="middle">{p.name}</text>}
                {p.data.map((q, j) => <circle class="vertex" cx={q[0]} cy={q[1]} r={unit} onPointerDown={(e) => startDrag(e, 'polygon', i, j)} />)}
              </g>
            ))}
            {roi.lines.map((l, i) => <LineShape line={l} unit={unit} selected={isSel('line', i)}
              onSelect={(e) => selectShape(e, 'line', i)}
              onVertex={(e, j) => startDrag(e, 'line', i, j)} />)}
            {draft.length > 0 && (
              <g class="roi-draft">
                <polyline points={[...draft, ...(hover ? [hover] : [])].map((q) => q.join(',')).join(' ')} vector-effect="non-scaling-stroke" />
                {draft.map((q) => <circle cx={q[0]} cy={q[1]} r={unit * 0.8} />)}
              </g>
            )}
          </svg>
        )}
      </div>
      <div class="roi-shapes" data-test="roi-shapes">
        {roi.polygons.map((p, i) => (
          <div class={`roi-shape ${isSel('polygon', i) ? 'selected' : ''}`} data-test="roi-shape" data-kind="polygon" data-index={i}>
            <b>Area</b>
            <ShapeText placeholder="name" value={p.name || ''} onFocus={() => history.current.push(roiRef.current)}
              onText={(v) => editShape('polygon', i, (s) => ({ ...s, name: v }))} data-test="roi-shape-name" />
            <span class="muted">{p.data.length} corners</span>
            <button type="button" class="link danger" onClick={() => removeShape('polygon', i)} data-test="roi-shape-delete">Delete</button>
          </div>
        ))}
        {roi.lines.map((l, i) => (
          <div class={`roi-shape ${isSel('line', i) ? 'selected' : ''}`} data-test="roi-shape" data-kind="line" data-index={i}>
            <b>Line</b>
            <ShapeText placeholder="name" value={l.name || ''} onFocus={() => history.current.push(roiRef.current)}
              onText={(v) => editShape('line', i, (s) => ({ ...s, name: v }))} data-test="roi-shape-name" />
            <label>side 1 <ShapeText placeholder="Side1" value={l.properties?.side1_name || ''} onFocus={() => history.current.push(roiRef.current)}
              onText={(v) => editShape('line', i, (s) => ({ ...s, properties: { ...s.properties, side1_name: v } }))} data-test="roi-side1" /></label>
            <label>side 2 <ShapeText placeholder="Side2" value={l.properties?.side2_name || ''} onFocus={() => history.current.push(roiRef.current)}
              onText={(v) => editShape('line', i, (s) => ({ ...s, properties: { ...s.properties, side2_name: v } }))} data-test="roi-side2" /></label>
            <button type="button" onClick={() => { history.current.push(roiRef.current); editShape('line', i, (s) => ({ ...s, data: [s.data[1], s.data[0]] })); }} data-test="roi-reverse">Reverse direction</button>
            <button type="button" class="link danger" onClick={() => removeShape('line', i)} data-test="roi-shape-delete">Delete</button>
          </div>
        ))}
        {!roi.polygons.length && !roi.lines.length && <p class="muted">No regions: the whole frame is analysed.</p>}
      </div>
      <pre class="json" data-test="roi-json">{json}</pre>
    </div>
  );
}

/** A line with its direction arrow (start → end) at the middle and its side names. */
function LineShape({ line, unit, selected, onSelect, onVertex }) {
  const [[x1, y1], [x2, y2]] = line.data.length === 2 ? line.data : [[0, 0], [0, 0]];
  const len = Math.hypot(x2 - x1, y2 - y1) || 1;
  const [ux, uy] = [(x2 - x1) / len, (y2 - y1) / len];
  const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
  const a = unit * 2.5;
  const head = [[mx + ux * a, my + uy * a], [mx - ux * a - uy * a, my - uy * a + ux * a], [mx - ux * a + uy * a, my - uy * a - ux * a]];
  const sides = sideGeometry([[x1, y1], [x2, y2]], unit * 5);
  const props = line.properties || {};
  return (
    <g class={`roi-line ${selected ? 'selected' : ''}`} onClick={onSelect}>
      <line x1={x1} y1={y1} x2={x2} y2={y2} vector-effect="non-scaling-stroke" />
      <polygon class="arrow" points={head.map((q) => q.join(',')).join(' ')} />
      <text x={sides.side1[0]} y={sides.side1[1]} font-size={unit * 2.6} text-anchor="middle" dominant-baseline="middle" class="side">{props.side1_name || 'Side1'}</text>
      <text x={sides.side2[0]} y={sides.side2[1]} font-size={unit * 2.6} text-anchor="middle" dominant-baseline="middle" class="side">{props.side2_name || 'Side2'}</text>
      {line.name && <text x={x1} y={y1 - unit * 1.5} font-size={unit * 2.6} class="name">{line.name}</text>}
      {line.data.map((q, j) => <circle class="vertex" cx={q[0]} cy={q[1]} r={unit} onPointerDown={(e) => onVertex(e, j)} />)}
    </g>
  );
}
