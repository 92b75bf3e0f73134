// Sign-in with the IAM token flow (user, password, project); the token lives in sessionStorage.
import { useState } from 'preact/hooks';
import { signIn } from '../api.js';
import { Field, ErrorBanner } from '../ui.jsx';

export function LoginPage({ onDone }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [project, setProject] = useState('default');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(user, password, project);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" onSubmit={submit} data-test="login-form">
      <h1>Vigil</h1>
      <ErrorBanner error={error} />
      <Field name="user" label="User"><input value={user} onInput={(e) => setUser(e.target.value)} autocomplete="username" data-test="login-user" required /></Field>
      <Field name="password" label="Password"><input type="password" value={password} onInput={(e) => setPassword(e.target.value)} autocomplete="current-password" data-test="login-password" required /></Field>
      <Field name="project" label="Project"><input value={project} onInput={(e) => setProject(e.target.value)} data-test="login-project" required /></Field>
      <button type="submit" class="primary" disabled={busy} data-test="login-submit">{busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  );
}
