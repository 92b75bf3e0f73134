// Shared building blocks of every page: form fields with their error beside them, async loading,
// paging, dialogs and authenticated pictures. Pages compose these; they don't restyle them.
import { useEffect, useState, useCallback } from 'preact/hooks';
import { imageUrl } from './api.js';

/**
 * A labelled form field. `error` (a string) is shown right under it, marked for tests with
 * data-test="error-<name>". Children are the input; `hint` is a short help text.
 */
export function Field({ name, label, error, hint, children }) {
  return (
    <label class={`field ${error ? 'has-error' : ''}`} data-test={`field-${name}`}>
      <span class="label">{label}</span>
      {children}
      {hint && !error && <span class="hint">{hint}</span>}
      {error && <span class="error" data-test={`error-${name}`}>{error}</span>}
    </label>
  );
}

/** Runs `load` (an async function) on mount and whenever `deps` change: {data, error, loading, reload}. */
export function useAsync(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => { live = false; };
  }, [...deps, tick]);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while mounted (live state, throughput). */
export function useInterval(fn, ms) {
  useEffect(() => {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  }, [fn, ms]);
}

/** A red banner for a failed call (an ApiError or any Error). */
export function ErrorBanner({ error }) {
  if (!error) return null;
  return (
    <div class="banner error" data-test="error-banner">
      {error.code ? <b>{error.code}: </b> : null}{error.message}
    </div>
  );
}

/** Previous/next paging over `total` items, `limit` per page, starting at `offset`. */
export function Pager({ offset, limit, total, onChange }) {
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return (
    <div class="pager" data-test="pager">
      <button disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))} data-test="pager-prev">‹ Prev</button>
      <span>page {page} of {pages} · {total} in all</span>
      <button disabled={offset + limit >= total} onClick={() => onChange(offset + limit)} data-test="pager-next">Next ›</button>
    </div>
  );
}

/** A modal dialog; closes on the × button or Escape. */
export function Modal({ title, onClose, children, wide }) {
  useEffect(() => {
    const on = (e) => e.key === 'Escape' && onClose();
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, [onClose]);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class={`modal ${wide ? 'wide' : ''}`} role="dialog" data-test="modal">
        <header><h2>{title}</h2><button class="link" onClick={onClose} data-test="modal-close">×</button></header>
        {children}
      </div>
    </div>
  );
}

/**
 * A picture from an authenticated route (`/vigil/alarms/ID/image`, a source snapshot). Loads
 * lazily, shows a placeholder while absent.
 */
export function AuthImage({ path, alt, testId, ...rest }) {
  const [url, setUrl] = useState(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    const ctl = new AbortController();
    let made = null;
    setUrl(null);
    setMissing(false);
    imageUrl(path, ctl.signal).then(
      (u) => { made = u; u ? setUrl(u) : setMissing(true); },
      () => setMissing(true),
    );
    return () => { ctl.abort(); if (made) URL.revokeObjectURL(made); };
  }, [path]);
  if (url) return <img src={url} alt={alt} data-test={testId} {...rest} />;
  return <div class="img-placeholder" data-test={testId ? `${testId}-missing` : undefined}>{missing ? 'no picture' : '…'}</div>;
}

/** Epoch seconds or milliseconds → local date and time. */
export function formatTime(t) {
  if (!t) return '';
  const ms = t > 1e12 ? t : t * 1000;
  return new Date(ms).toLocaleString();
}

/**
 * Marks the page as rendered with its first data (`<body data-ready="cameras">`), which the
 * page-load benchmark and the browser tests wait for. Call once the first data is on screen.
 */
export function markReady(page) {
  document.body.dataset.ready = page;
  window.__vigilReadyAt = performance.now();
}
