// How an alarm reads on every page (Alarms, Event Center): its picture route, event type, a
// one-line summary, the review-state badge and the aggregation count (`×N`).
import { formatTime } from './ui.jsx';

/** The alarm's picture route, relative to the project (image_url is absolute to public_url). */
export function imagePath(a) {
  return a.image_url ? `/vigil/alarms/${encodeURIComponent(a.message_id)}/image` : null;
}

export function eventTypeText(t) {
  return typeof t === 'number' ? `${t} (0x${t.toString(16)})` : String(t ?? '');
}

/** One line about what the alarm found: targets and the ROI they were in. */
export function summary(a) {
  const d = a.data || {};
  const parts = [];
  if (Array.isArray(d.event_set)) {
    parts.push(`${d.event_set.length} target${d.event_set.length === 1 ? '' : 's'}`);
    const areas = [...new Set(d.event_set.map((e) => e.polygon_name || e.line_name).filter(Boolean))];
    if (areas.length) parts.push(`in ${areas.join(', ')}`);
  }
  // Video quality changes (Vigil event 91000001) say which labels came and went.
  if (Array.isArray(d.added) && d.added.length) parts.push(`+${d.added.join(', +')}`);
  if (Array.isArray(d.removed) && d.removed.length) parts.push(`−${d.removed.join(', −')}`);
  if (a.alarm_type === 1) parts.push('event disappeared');
  return parts.join(' ');
}

const REVIEW_CLASS = { pending: 'warn', approved: 'good', rejected: 'bad' };
const REVIEW_TEXT = { pending: 'awaiting review', approved: 'approved', rejected: 'rejected' };

/**
 * The review state as a badge; nothing for 'none' (stored while manual review was off) and for
 * servers that do not report it.
 */
export function ReviewBadge({ state }) {
  if (!state || state === 'none') return null;
  return (
    <span class={`badge ${REVIEW_CLASS[state] || ''}`} data-test="alarm-review" data-state={state}>
      {REVIEW_TEXT[state] || state}
    </span>
  );
}

/** `×N` for an alarm that aggregation folded N repeats into, with the time of the last one. */
export function AggregateCount({ alarm }) {
  const n = alarm.aggregate_count || 1;
  if (n <= 1) return null;
  return (
    <span class="badge count" data-test="alarm-count" data-count={n}
      title={`${n} alarms of the same target or region; last at ${formatTime(alarm.last_timestamp)}`}>
      ×{n}
    </span>
  );
}
