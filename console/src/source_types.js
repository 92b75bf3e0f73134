// Every video source type the API accepts, the form fields of its `type_config`, and the XML
// both ways. The form never shows XML: it builds the generation-2 fragment
// `<type_config><key>value</key>…</type_config>` (spec §2.2) from fields and reads either
// generation back when editing. Field rules mirror crates/vigil-core/src/video_source.rs.

/** What a stored password reads as; sending it back keeps the stored one. */
export const MASK = '******';

const VCN = [
  { key: 'data_source_id', label: 'VCN camera id', required: true, hint: 'e.g. 21356478954612546874#gdhj…' },
  { key: 'stream_type', label: 'Stream', kind: 'select', options: [['1', 'main stream'], ['2', 'sub-stream 1'], ['3', 'sub-stream 2']], default: '1' },
  { key: 'ip', label: 'VCN server IP or host', required: true },
  { key: 'port', label: 'Port', kind: 'number', required: true },
  { key: 'user_name', label: 'User', required: true },
  { key: 'password', label: 'Password', kind: 'password' },
];

const RESTFUL = (required) => [
  { key: 'url', label: 'RESTful URL', required, hint: 'http(s) URL answering JSON with the stream address', test: 'source-rest_url' },
  { key: 'rtsp_url', label: 'Path of the stream address in the JSON', required, hint: 'slash-separated, e.g. data/url' },
  { key: 'http_check', label: 'Verify the TLS certificate', kind: 'bool', default: true },
];

/**
 * type → {label, access: allowed access types (first = default), fields}. A field: key (XML tag
 * and `type_config.<key>` in error params), label, kind (text | number | select | bool |
 * password), required, default, hint, test (data-test of the input; default `source-<key>`).
 */
export const SOURCE_TYPES = {
  url: {
    label: 'Stream URL (RTSP, RTMP, HTTP, file)',
    access: ['cloud', 'edge'],
    fields: [
      { key: 'url_address', label: 'Stream URL', required: true, test: 'source-url',
        hint: 'rtsp://, rtsps://, rtmp://, http(s):// or file:// (inside the media roots); a password in the URL is kept and shown as ******' },
      { key: 'certificate_check', label: 'Verify an rtsps:// camera certificate', kind: 'bool', default: true, omitDefault: true },
    ],
  },
  vcn: { label: 'VCN (Huawei video cloud node)', access: ['cloud', 'edge'], fields: VCN },
  restful: { label: 'RESTful (URL that answers the stream address)', access: ['cloud', 'edge'], fields: RESTFUL(true) },
  camera: {
    label: 'Edge camera (device)',
    access: ['edge'],
    fields: [
      { key: 'device_id', label: 'Device id', required: true, hint: 'at most 64 characters' },
      { key: 'name', label: 'Device name' },
    ],
  },
  obs: {
    label: 'OBS object (video file in a bucket)',
    access: ['cloud'],
    fields: [
      { key: 'bucket', label: 'Bucket', required: true, hint: '3–63 characters: a-z, 0-9, - and .' },
      { key: 'path', label: 'Object path', required: true, hint: 'relative, e.g. videos/gate.mp4' },
    ],
  },
  ivm: {
    label: 'IVM (Industry Video Management)',
    access: ['cloud'],
    fields: [
      { key: 'device_id', label: 'Device id', required: true },
      { key: 'channel_id', label: 'Channel id', required: true },
    ],
  },
  vcn_restful: {
    label: 'VCN with RESTful address',
    access: ['cloud', 'edge'],
    fields: [...VCN, ...RESTFUL(false)],
  },
};

export function fieldTest(f) {
  return f.test || `source-${f.key}`;
}

export function xmlEscape(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Default form values of a type (all strings; bools as true/false). */
export function defaultValues(type) {
  const v = {};
  for (const f of SOURCE_TYPES[type].fields) {
    v[f.key] = f.kind === 'bool' ? f.default !== false : (f.default ?? '');
  }
  return v;
}

/**
 * The `type_config` XML of `values`. `hadPassword`: the stored source has a password, so an
 * empty password field means "unchanged" (sent as ******) instead of "none".
 */
export function buildTypeConfig(type, values, { hadPassword = false } = {}) {
  const def = SOURCE_TYPES[type];
  // vcn_restful: the RESTful trio is optional and goes in only with its URL.
  const restOff = type === 'vcn_restful' && !String(values.url || '').trim();
  let body = '';
  for (const f of def.fields) {
    if (restOff && ['url', 'rtsp_url', 'http_check'].includes(f.key)) continue;
    let v = values[f.key];
    if (f.kind === 'bool') {
      if (f.omitDefault && v === f.default) continue;
      v = v ? 'true' : 'false';
    } else if (f.kind === 'password') {
      if (!v) {
        if (!hadPassword) continue;
        v = MASK;
      }
    } else {
      v = String(v ?? '').trim();
      if (!v) continue;
    }
    body += `<${f.key}>${xmlEscape(v)}</${f.key}>`;
  }
  return `<type_config>${body}</type_config>`;
}

/**
 * Reads a stored `type_config` (either generation) into form values. Passwords come back
 * empty (the API only ever shows ******); `hadPassword` says whether one is stored.
 */
export function parseTypeConfig(type, xml) {
  const values = defaultValues(type);
  let hadPassword = false;
  const doc = new DOMParser().parseFromString(`<r>${xml || ''}</r>`, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return { values, hadPassword };
  const root = doc.documentElement;
  // Generation 2: <type_config> children; generation 1: <config> children (upper-case tags).
  const holder = [...root.children].find((e) => /^(type_config|config)$/i.test(e.tagName)) || root;
  for (const el of holder.children) {
    let key = el.tagName.toLowerCase();
    if (key === 'edge_camera_id') key = 'device_id';
    const text = el.textContent.trim();
    const f = SOURCE_TYPES[type].fields.find((x) => x.key === key);
    if (!f) continue;
    if (f.kind === 'password') {
      hadPassword = text !== '';
    } else if (f.kind === 'bool') {
      values[key] = !/^(false|0)$/i.test(text);
    } else {
      values[key] = text;
    }
  }
  return { values, hadPassword };
}
