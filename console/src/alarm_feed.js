// The live alarm feed: `GET /v2/{pid}/vigil/alarms/stream` (Server-Sent Events) read with
// fetch() + ReadableStream, because EventSource cannot send the X-Auth-Token header. After a
// dropped connection it reconnects with `Last-Event-ID`, so no alarm is lost or repeated.
import { session, signOut } from './api.js';

/**
 * Incremental `text/event-stream` parser (WHATWG HTML §9.2.6): feed it text chunks as they come,
 * it calls `onEvent({event, id, data})` per complete event and remembers the last id.
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    this.lastEventId = '';
    this.retry = null;
    this.reset();
  }

  reset() {
    this.event = '';
    this.data = [];
    this.sawData = false;
  }

  push(chunk) {
    this.buf += chunk;
    // Lines end in \n, \r\n or \r; a trailing \r may be the first half of \r\n: keep it.
    let m;
    const re = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    while ((m = re.exec(this.buf)) !== null) {
      this.line(this.buf.slice(start, m.index));
      start = m.index + m[0].length;
    }
    this.buf = this.buf.slice(start);
  }

  line(line) {
    if (line === '') {
      if (this.sawData) {
        this.onEvent({ event: this.event || 'message', id: this.lastEventId, data: this.data.join('\n') });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return; // comment (keepalive)
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') { this.data.push(value); this.sawData = true; }
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

/** Query string of the stream's optional filters (`task_id`, `video_source_id`, `event_type`). */
function query(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters || {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Opens the feed. `onAlarm(item)` gets each alarm (the ListAlarms item plus `created_at` ms);
 * `onState(state, detail)` gets 'connecting' | 'live' | 'retrying' (with the error) |
 * 'unavailable' (the server has no stream route) | 'closed'. `since` (epoch ms) makes the first
 * connection replay what was stored after it; later reconnections resume at the last event.
 * Returns {close()}.
 */
export function openAlarmFeed({ filters, onAlarm, onState = () => {}, lastEventId = '', since }) {
  const ctl = new AbortController();
  let closed = false;
  let delay = 1000;
  let lastId = lastEventId;

  const wait = (ms) => new Promise((r) => {
    const t = setTimeout(r, ms);
    ctl.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
  });

  async function once() {
    const s = session();
    if (!s) { signOut(); closed = true; return; }
    onState('connecting');
    const q = { ...filters, ...(!lastId && since ? { since: Math.max(0, Math.floor(since)) } : {}) };
    const res = await fetch(`/v2/${s.projectId}/vigil/alarms/stream${query(q)}`, {
      signal: ctl.signal,
      cache: 'no-store',
      headers: {
        'X-Auth-Token': s.token,
        Accept: 'text/event-stream',
        ...(lastId ? { 'Last-Event-ID': lastId } : {}),
      },
    });
    if (res.status === 401) { closed = true; signOut(); return; }
    if (res.status === 404 || res.status === 405) {
      onState('unavailable');
      await wait(15000);
      return;
    }
    if (!res.ok || !res.body) throw new Error(`alarm stream: HTTP ${res.status}`);
    onState('live');
    delay = 1000;
    const parser = new SseParser((ev) => {
      lastId = ev.id || lastId;
      if (ev.event !== 'alarm') return;
      try {
        onAlarm(JSON.parse(ev.data), ev.id);
      } catch (_) { /* a damaged event is skipped, the stream goes on */ }
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    if (parser.retry) delay = parser.retry;
    throw new Error('alarm stream ended');
  }

  (async () => {
    while (!closed) {
      try {
        await once();
      } catch (e) {
        if (closed || ctl.signal.aborted) break;
        onState('retrying', e);
        await wait(delay);
        delay = Math.min(delay * 2, 15000);
      }
    }
    onState('closed');
  })();

  return {
    close() { closed = true; ctl.abort(); },
    get lastEventId() { return lastId; },
  };
}
