// A form generated from an algorithm's `config.common` JSON Schema (the Algorithm Center's
// `deployment_constraints.task_config`), so every algorithm — built-in or partner — gets a form
// without console code of its own. Values stay typed as the API takes them (switches 0/1,
// integers as numbers, `target_roi` as a JSON string).
import { Field } from './ui.jsx';
import { RoiEditor } from './roi_editor.jsx';

/** The schema's defaults as a `config.common` object (nested objects get theirs too). */
export function schemaDefaults(schema) {
  const out = {};
  for (const [key, s] of Object.entries(schema?.properties || {})) {
    if (s.default !== undefined) out[key] = s.default;
    else if (s.type === 'object' && s.properties) {
      const inner = schemaDefaults(s);
      if (Object.keys(inner).length) out[key] = inner;
    }
  }
  return out;
}

/** Whether a key holds a `target_roi`-style JSON string that the ROI editor draws. */
function isRoi(key, s) {
  return s.type === 'string' && s.contentMediaType === 'application/json';
}

/** The form field names (= API param paths) the schema renders, for mapping errors. */
export function schemaFieldNames(schema, prefix) {
  const names = [];
  for (const [key, s] of Object.entries(schema?.properties || {})) {
    const name = `${prefix}.${key}`;
    names.push(name);
    if (s.type === 'object' && s.properties) names.push(...schemaFieldNames(s, name));
  }
  return names;
}

function parseRoi(text) {
  if (!text) return { lines: [], polygons: [] };
  try {
    const v = JSON.parse(text);
    return { lines: v.lines || [], polygons: v.polygons || [] };
  } catch (_) {
    return { lines: [], polygons: [] };
  }
}

/** Number inputs: a parseable value is sent as a number, anything else as typed (the API says what is wrong). */
function numberValue(text, integer) {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) return text;
  return n;
}

function rangeHint(s) {
  const r = s['x-vigil-integer-range'] || s;
  const parts = [];
  if (r.minimum !== undefined && r.maximum !== undefined) parts.push(`${r.minimum} – ${r.maximum}`);
  else if (r.minimum !== undefined) parts.push(`≥ ${r.minimum}`);
  else if (r.maximum !== undefined) parts.push(`≤ ${r.maximum}`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(', ');
}

/** One key of the schema as an input; `testId` is `cfg-<key>` (`cfg-<key>.<sub>` when nested). */
function SchemaInput({ keyName, s, value, onChange, testId, sourceId }) {
  if (isRoi(keyName, s)) {
    return (
      <div data-test={testId}>
        <RoiEditor
          sourceId={sourceId}
          value={parseRoi(value)}
          onChange={(roi) => {
            const empty = !(roi?.lines?.length) && !(roi?.polygons?.length);
            onChange(empty ? undefined : JSON.stringify(roi));
          }}
        />
      </div>
    );
  }
  if (Array.isArray(s.enum) && s.type === 'integer' && s.enum.length === 2 && s.enum.includes(0) && s.enum.includes(1)) {
    return (
      <input type="checkbox" data-test={testId} checked={value === 1}
        onChange={(e) => onChange(e.target.checked ? 1 : 0)} />
    );
  }
  if (Array.isArray(s.enum)) {
    return (
      <select data-test={testId} value={value === undefined ? '' : String(value)}
        onChange={(e) => {
          const raw = e.target.value;
          if (raw === '') return onChange(undefined);
          onChange(s.type === 'integer' || s.type === 'number' ? Number(raw) : raw);
        }}>
        {s.default === undefined && <option value="">—</option>}
        {s.enum.map((v) => <option value={String(v)}>{String(v)}</option>)}
      </select>
    );
  }
  if (s.type === 'integer' || s.type === 'number') {
    return (
      <input type="number" data-test={testId} min={s.minimum} max={s.maximum} step={s.type === 'integer' ? 1 : 'any'}
        value={value === undefined ? '' : value}
        onInput={(e) => onChange(numberValue(e.target.value, s.type === 'integer'))} />
    );
  }
  if (s.type === 'array') {
    // Points ([[x, y], …]) and other arrays: JSON text, kept as typed until it parses.
    return (
      <input data-test={testId} placeholder="[[x, y], …]"
        value={value === undefined ? '' : (typeof value === 'string' ? value : JSON.stringify(value))}
        onInput={(e) => {
          const t = e.target.value;
          if (t.trim() === '') return onChange(undefined);
          try { onChange(JSON.parse(t)); } catch (_) { onChange(t); }
        }} />
    );
  }
  return (
    <input data-test={testId} value={value === undefined ? '' : String(value)}
      maxLength={s.maxLength} pattern={s.pattern}
      onInput={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />
  );
}

/**
 * The generated form. `value` is the `config.common` object, `onChange(next)` gets a new one;
 * `errors` maps field names (`config.common.<key>`, nested `config.common.<key>.<sub>`) to
 * messages; `sourceId` is the camera the ROI editor draws on.
 */
export function SchemaForm({ schema, value, onChange, errors = {}, sourceId, prefix = 'config.common', testPrefix = 'cfg-' }) {
  const props = Object.entries(schema?.properties || {});
  if (!props.length) return <p class="muted">This algorithm has no settings.</p>;
  const required = new Set(schema.required || []);
  const set = (key, v) => {
    const next = { ...(value || {}) };
    if (v === undefined) delete next[key];
    else next[key] = v;
    onChange(next);
  };
  // ROI first and full width: it is the one setting most tasks need.
  const ordered = [...props.filter(([k, s]) => isRoi(k, s)), ...props.filter(([k, s]) => !isRoi(k, s))];
  return (
    <div class="schema-form" data-test="schema-form">
      {ordered.map(([key, s]) => {
        const name = `${prefix}.${key}`;
        const label = `${key}${required.has(key) ? ' *' : ''}`;
        const v = value?.[key];
        if (s.type === 'object' && s.properties) {
          return (
            <fieldset class="nested" data-test={`${testPrefix}${key}`}>
              <legend>{label}</legend>
              {errors[name] && <span class="error" data-test={`error-${name}`}>{errors[name]}</span>}
              <SchemaForm schema={s} value={v || {}} errors={errors} sourceId={sourceId}
                prefix={name} testPrefix={`${testPrefix}${key}.`}
                onChange={(inner) => set(key, Object.keys(inner).length ? inner : undefined)} />
            </fieldset>
          );
        }
        const roi = isRoi(key, s);
        const checkbox = Array.isArray(s.enum) && s.type === 'integer' && s.enum.length === 2;
        const input = <SchemaInput keyName={key} s={s} value={v} sourceId={sourceId}
          testId={`${testPrefix}${key}`} onChange={(nv) => set(key, nv)} />;
        if (roi) {
          // Not a <label>: a click on the drawing surface would otherwise also "click" the
          // label's first button.
          return (
            <div class={`field schema-roi ${errors[name] ? 'has-error' : ''}`} data-test={`field-${name}`}>
              <span class="label">{label}</span>
              {input}
              <span class="hint">{s.description} · draw on the camera picture; nothing drawn = whole frame</span>
              {errors[name] && <span class="error" data-test={`error-${name}`}>{errors[name]}</span>}
            </div>
          );
        }
        return (
          <div class={checkbox ? 'schema-switch' : ''}>
            <Field name={name} label={label} error={errors[name]} hint={[s.description, rangeHint(s)].filter(Boolean).join(' · ')}>
              {input}
            </Field>
          </div>
        );
      })}
    </div>
  );
}

/**
 * Splits an ApiError's `params` over the form's fields: a param goes to the longest field name
 * that equals it or is its prefix at a `.`/`[` boundary (`config.common.target_roi.polygons[0].data`
 * → `config.common.target_roi`); `aliases` maps whole params onto fields (`input` → the camera).
 * Returns {fields: {name: message}, unmatched: [params]}.
 */
export function mapParamErrors(error, fieldNames, aliases = {}) {
  const fields = {};
  const unmatched = [];
  for (const p of error?.params || []) {
    const target = aliases[p] || fieldNames
      .filter((f) => p === f || p.startsWith(`${f}.`) || p.startsWith(`${f}[`))
      .sort((a, b) => b.length - a.length)[0];
    if (target) fields[target] = fields[target] ? fields[target] : error.message;
    else unmatched.push(p);
  }
  return { fields, unmatched };
}
