// Video groups (spec §2.8–§2.12) for the Cameras page: list, create, delete, and the members of
// a group (UpdateVideoGroup replaces the member list; it takes 1 to 50 ids).
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { Field, ErrorBanner, Modal, useAsync } from './ui.jsx';

const MEMBERS_MAX = 50;

export function GroupsDialog({ onClose }) {
  const groups = useAsync(() => api('GET', '/video-group/groups'), []);
  const [editing, setEditing] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const [error, setError] = useState(null);
  const list = groups.data?.video_group_list || [];

  const remove = async (g) => {
    setError(null);
    try {
      await api('DELETE', `/video-group/${encodeURIComponent(g.video_group_id)}`);
      setConfirm(null);
      groups.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Modal title="Video groups" onClose={onClose} wide>
      <ErrorBanner error={error || groups.error} />
      <table data-test="group-table">
        <thead><tr><th>Name</th><th>Pulled from</th><th>Cameras</th><th>Online / abnormal / offline</th><th>Description</th><th /></tr></thead>
        <tbody>
          {list.map((g) => (
            <tr data-test="group-row" data-id={g.video_group_id} data-name={g.video_group_name}>
              <td><b>{g.video_group_name}</b></td>
              <td>{g.access_type}</td>
              <td>{g.num_video_source}</td>
              <td>{g.group_status?.num_online} / {g.group_status?.num_exception} / {g.group_status?.num_offline}</td>
              <td class="muted">{g.description}</td>
              <td style="white-space:nowrap">
                <button class="link" onClick={() => setEditing(g)} data-test="group-members">Members</button>
                {confirm === g.video_group_id
                  ? <button class="link danger" onClick={() => remove(g)} data-test="group-delete-confirm">Really delete?</button>
                  : <button class="link danger" onClick={() => setConfirm(g.video_group_id)} data-test="group-delete">Delete</button>}
              </td>
            </tr>
          ))}
          {groups.data && !list.length && <tr><td colSpan="6" class="muted">No groups yet.</td></tr>}
        </tbody>
      </table>
      <NewGroup onCreated={groups.reload} />
      {editing && <MembersDialog group={editing} onClose={() => setEditing(null)} onSaved={() => { setEditing(null); groups.reload(); }} />}
    </Modal>
  );
}

function NewGroup({ onCreated }) {
  const [name, setName] = useState('');
  const [access, setAccess] = useState('cloud');
  const [description, setDescription] = useState('');
  const [error, setError] = useState(null);
  const err = (p) => error?.forField(p) || null;
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/video-group', { video_group_name: name, access_type: access, description });
      setName('');
      setDescription('');
      onCreated();
    } catch (ex) {
      setError(ex);
    }
  };
  const unplaced = error && !error.params.some((p) => ['video_group_name', 'access_type', 'description'].includes(p));
  return (
    <form onSubmit={submit} data-test="group-form">
      <h3>New group</h3>
      {unplaced && <ErrorBanner error={error} />}
      <div class="grid2">
        <Field name="video_group_name" label="Name" error={err('video_group_name')} hint="1–20 characters: letters, digits">
          <input value={name} onInput={(e) => setName(e.target.value)} required data-test="group-name" />
        </Field>
        <Field name="access_type" label="Pulled from" error={err('access_type')}>
          <select value={access} onChange={(e) => setAccess(e.target.value)} data-test="group-access">
            <option value="cloud">cloud</option><option value="edge">edge</option>
          </select>
        </Field>
      </div>
      <Field name="description" label="Description" error={err('description')}>
        <input value={description} onInput={(e) => setDescription(e.target.value)} data-test="group-description" />
      </Field>
      <button type="submit" class="primary" data-test="group-save">Create group</button>
    </form>
  );
}

/** Ticks the group's cameras among the project's cameras of the same access type. */
function MembersDialog({ group, onClose, onSaved }) {
  const [scope, setScope] = useState('');
  const gid = encodeURIComponent(group.video_group_id);
  const current = useAsync(() => api('GET', `/source/sources?video_group_id=${gid}`), [gid]);
  const candidates = useAsync(() => {
    const q = new URLSearchParams({ access_type: group.access_type, is_paged: 'true', page_size: '200', page_num: '1' });
    if (scope) q.set('scope', scope);
    return api('GET', `/source/sources?${q}`);
  }, [scope]);
  const [picked, setPicked] = useState(null);
  const [error, setError] = useState(null);
  const members = picked ?? (current.data?.video_source_list || []).map((s) => s.video_source_id);
  const toggle = (id, on) => setPicked(on ? [...members, id] : members.filter((x) => x !== id));
  const save = async () => {
    setError(null);
    if (!members.length) {
      setError(new Error('A group keeps at least one camera; delete the group instead.'));
      return;
    }
    try {
      await api('PUT', `/video-group/${gid}`, { video_source_ids: members });
      onSaved();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Modal title={`Cameras in ${group.video_group_name}`} onClose={onClose}>
      <ErrorBanner error={error || current.error || candidates.error} />
      <input placeholder="Search cameras" value={scope} onInput={(e) => setScope(e.target.value)} data-test="group-member-search" />
      <div class="checks column" data-test="group-member-list">
        {(candidates.data?.video_source_list || []).map((s) => (
          <label data-test="group-member" data-id={s.video_source_id}>
            <input type="checkbox" checked={members.includes(s.video_source_id)} onChange={(e) => toggle(s.video_source_id, e.target.checked)} /> {s.video_source_name}
          </label>
        ))}
      </div>
      <p class="muted">{members.length} selected (1 to {MEMBERS_MAX}); only {group.access_type} cameras can join.</p>
      <footer>
        <button onClick={onClose}>Cancel</button>
        <button class="primary" disabled={!current.data} onClick={save} data-test="group-members-save">Save members</button>
      </footer>
    </Modal>
  );
}
