// The console shell: sign-in gate, navigation and a hash router (#/cameras, #/tasks/ID, …),
// so every page is a deep link and the server needs only one HTML file.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { session, signOut } from './api.js';
import { LoginPage } from './pages/login.jsx';
import { CamerasPage } from './pages/cameras.jsx';
import { RegionsPage } from './pages/regions.jsx';
import { TasksPage } from './pages/tasks.jsx';
import { AlarmsPage } from './pages/alarms.jsx';
import { EventsPage } from './pages/events.jsx';
import { NodesPage } from './pages/nodes.jsx';

/** Top-level pages: hash prefix → [nav label, component]. Components get `args` (the rest of the path). */
const PAGES = {
  cameras: ['Cameras', CamerasPage],
  regions: ['Regions', RegionsPage],
  tasks: ['Tasks', TasksPage],
  alarms: ['Alarms', AlarmsPage],
  events: ['Event Center', EventsPage],
  nodes: ['Nodes', NodesPage],
};

function currentRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || 'cameras', args: parts.slice(1) };
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const on = () => {
      delete document.body.dataset.ready; // the next page marks itself ready (ui.jsx markReady)
      setRoute(currentRoute());
    };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const s = session();
  if (!s || route.page === 'login') {
    return <LoginPage onDone={() => { location.hash = '#/cameras'; setRoute(currentRoute()); }} />;
  }
  const [, Page] = PAGES[route.page] || PAGES.cameras;
  return (
    <div class="shell">
      <nav class="nav" data-test="nav">
        <span class="brand">Vigil</span>
        {Object.entries(PAGES).map(([k, [label]]) => (
          <a href={`#/${k}`} class={k === route.page ? 'active' : ''} data-test={`nav-${k}`}>{label}</a>
        ))}
        <span class="spacer" />
        <span class="who" data-test="who">{s.user} · {s.projectName}</span>
        <button class="link" data-test="sign-out" onClick={signOut}>Sign out</button>
      </nav>
      <main class="page" data-test={`page-${route.page}`}>
        <Page key={route.page} args={route.args} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app'));
