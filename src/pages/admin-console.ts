// /admin: the operator's console. It decides nothing about who may do what: it sends the
// admin's requests and reports the answers (a non-admin is told so because the API answers 403;
// a change that needs a recent sign-in opens the step-up dialog because the API asks for it).

import { type ApiFailure, describeProblem, type Page, SESSION_ENDED, Session, type Tokens, type User } from './api-client.js';
import { byId, clearMessage, element, formatTime, type MessageKind, showMessage, whileBusy } from './dom.js';
import { openModal } from './modal.js';
import { resetSignIn, wireSignIn } from './sign-in.js';
import { askToReauthenticate } from './step-up-dialog.js';

interface SessionItem {
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
}
interface SecurityEvent {
  type: string;
  created_at: string;
  user_id: string | null;
  actor_id: string | null;
  ip: string | null;
  data: Record<string, unknown> | null;
}
interface SigningKey {
  kid: string;
  alg: string;
  created_at: string;
  signing: boolean;
  retires_at: string | null;
}

const PAGE_SIZE = 20;

const session = new Session({
  onEnded: () => showSignedOut('error', SESSION_ENDED),
  reauthenticate: askToReauthenticate,
});

const state = {
  /** The user whose detail is open. */
  selected: null as User | null,
  usersQuery: '',
  /**
   * The cursor of every page of users up to the one shown (null: the first page). The API's
   * cursors lead forward only, so Previous goes back to the cursor that was used for the page
   * before; a new search starts the stack again.
   */
  usersPages: [null] as (string | null)[],
  usersNext: null as string | null,
  eventsType: '',
  eventsNext: null as string | null,
};

/** Reports a failed call in a section's region (nothing when the console signed out instead). */
function reportProblem(regionId: string, result: ApiFailure, fieldLabels?: Record<string, string>): void {
  if (!session.signedIn && result.problem.code !== 'NETWORK') return;
  const { summary, lines } = describeProblem(result, fieldLabels);
  showMessage('error', summary, lines, regionId);
}

function selectedUser(): User {
  if (!state.selected) throw new Error('no user is open');
  return state.selected;
}

// ---------------------------------------------------------------- confirmation dialog

/** Asks in a modal <dialog>; resolves true only when the operator presses the confirm button. */
function confirmAction(text: string, confirmLabel: string): Promise<boolean> {
  byId('confirm-text', HTMLElement).textContent = text;
  byId('confirm-yes', HTMLButtonElement).textContent = confirmLabel;
  const cancel = byId('confirm-cancel', HTMLButtonElement);
  return openModal<boolean>({
    dialog: byId('confirm-dialog', HTMLDialogElement),
    form: byId('confirm-form', HTMLFormElement),
    cancel,
    // The safe choice has the focus: Enter pressed out of habit changes nothing.
    initialFocus: cancel,
    cancelled: false,
    onSubmit: (finish) => finish(true),
  });
}

// ---------------------------------------------------------------- sign-in

function showSignedOut(kind: MessageKind, summary: string): void {
  session.forget();
  state.selected = null;
  byId('console', HTMLElement).hidden = true;
  byId('user-detail', HTMLElement).hidden = true;
  for (const id of ['user-rows', 'user-facts', 'user-sessions', 'user-events', 'event-list', 'key-rows'])
    byId(id, HTMLElement).replaceChildren();
  resetSignIn();
  showMessage(kind, summary);
  byId('login-email', HTMLInputElement).focus();
}

/** Tokens in hand: the API says whether this account may use the console (GET /users answers 403 otherwise). */
async function afterSignIn(tokens: Tokens): Promise<void> {
  session.store(tokens);
  const result = await session.request<Page<User>>('GET', `users?limit=${PAGE_SIZE}`);
  if (!result.ok && result.status === 403) {
    // Nothing here is for this account: end the session this sign-in made, then forget it.
    await session.signOut();
    showSignedOut(
      'error',
      'You have no access to the console: it is for admins only. Your account page is at /account. This sign-in has been ended.',
    );
    return;
  }
  if (!result.ok) return reportProblem('message', result);
  byId('sign-in', HTMLElement).hidden = true;
  byId('console', HTMLElement).hidden = false;
  const user = session.user;
  byId('signed-in-as', HTMLElement).textContent = user?.name ? `${user.name} (${user.email})` : (user?.email ?? '');
  showMessage('success', 'Signed in to the console.').focus();
  state.usersQuery = '';
  state.usersPages = [null];
  renderUsers(result.body);
  await Promise.all([loadEvents(false), loadKeys(), loadStatus()]);
}

function wireLogout(): void {
  const logout = byId('logout', HTMLButtonElement);
  logout.addEventListener('click', () =>
    whileBusy(logout, async () => {
      await session.signOut();
      showSignedOut('success', 'You are signed out.');
    }),
  );
}

// ---------------------------------------------------------------- users

function userStatus(user: User): string {
  const parts = [user.disabled ? 'disabled' : 'active'];
  if (!user.email_verified) parts.push('email not verified');
  if (user.mfa_enabled) parts.push('two-factor on');
  return parts.join(', ');
}

function renderUsers(page: Page<User>): void {
  const rows = byId('user-rows', HTMLElement);
  rows.replaceChildren(
    ...page.items.map((user) => {
      const row = element('tr');
      const emailCell = element('td');
      const open = element('button', user.email, 'link');
      open.type = 'button';
      open.addEventListener('click', () => openUser(user.id));
      emailCell.append(open);
      row.append(emailCell, element('td', user.name ?? ''), element('td', user.role), element('td', userStatus(user)));
      return row;
    }),
  );
  if (page.items.length === 0) {
    const cell = element('td', state.usersQuery ? `No user matches “${state.usersQuery}”.` : 'No users yet.');
    cell.colSpan = 4;
    const row = element('tr');
    row.append(cell);
    rows.append(row);
  }
  state.usersNext = page.next_cursor;
  const pageNumber = state.usersPages.length;
  const first = (pageNumber - 1) * PAGE_SIZE + 1;
  byId('users-page', HTMLElement).textContent =
    page.items.length === 0 ? '' : `Page ${pageNumber}: users ${first} to ${first + page.items.length - 1}`;
  byId('users-prev', HTMLButtonElement).hidden = pageNumber === 1;
  byId('users-next', HTMLButtonElement).hidden = !page.next_cursor;
}

/** Loads the page of users the cursor stack ends with (the current search). */
async function loadUsers(): Promise<boolean> {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.usersQuery) params.set('q', state.usersQuery);
  const cursor = state.usersPages.at(-1);
  if (cursor) params.set('cursor', cursor);
  const result = await session.request<Page<User>>('GET', `users?${params}`);
  if (!result.ok) {
    reportProblem('users-status', result, { '/query/q': 'The search' });
    return false;
  }
  clearMessage('users-status');
  renderUsers(result.body);
  return true;
}

/**
 * Moves one page forward or back. The button pressed may be hidden on the page it leads to
 * (no page before the first, none after the last): the focus then goes to the page line, not
 * to nowhere.
 */
async function turnPage(button: HTMLButtonElement, direction: 'next' | 'previous'): Promise<void> {
  const before = [...state.usersPages];
  if (direction === 'next') {
    if (!state.usersNext) return;
    state.usersPages.push(state.usersNext);
  } else {
    if (state.usersPages.length < 2) return;
    state.usersPages.pop();
  }
  const loaded = await whileBusy(button, loadUsers);
  if (!loaded) state.usersPages = before;
  if (button.hidden) byId('users-page', HTMLElement).focus();
}

function wireUsers(): void {
  const search = byId('user-search', HTMLFormElement);
  search.addEventListener('submit', async (event) => {
    event.preventDefault();
    state.usersQuery = byId('user-query', HTMLInputElement).value.trim();
    state.usersPages = [null];
    await whileBusy(search, loadUsers);
  });
  const next = byId('users-next', HTMLButtonElement);
  next.addEventListener('click', () => turnPage(next, 'next'));
  const previous = byId('users-prev', HTMLButtonElement);
  previous.addEventListener('click', () => turnPage(previous, 'previous'));
}

// ---------------------------------------------------------------- a user's detail and actions

async function openUser(id: string): Promise<void> {
  const result = await session.request<User>('GET', `users/${encodeURIComponent(id)}`);
  if (!result.ok) return reportProblem('users-status', result);
  state.selected = result.body;
  clearMessage('user-status');
  renderUser();
  const section = byId('user-detail', HTMLElement);
  section.hidden = false;
  // The detail opened below the list: the focus follows, so the next Tab is in it.
  byId('user-detail-heading', HTMLElement).focus();
  await Promise.all([loadUserSessions(), loadUserEvents()]);
}

function renderUser(): void {
  const user = selectedUser();
  const heading = byId('user-detail-heading', HTMLElement);
  heading.textContent = `User ${user.email}`;
  heading.tabIndex = -1;
  const facts: [string, string][] = [
    ['Name', user.name ?? '—'],
    ['Role', user.role],
    ['Account', user.disabled ? 'disabled' : 'active'],
    ['Email verified', user.email_verified ? 'yes' : 'no'],
    ['Two-factor sign-in', user.mfa_enabled ? 'on' : 'off'],
    ['Created', formatTime(user.created_at)],
    ['Id', user.id],
  ];
  byId('user-facts', HTMLElement).replaceChildren(...facts.flatMap(([term, value]) => [element('dt', term), element('dd', value)]));
  byId('user-role', HTMLSelectElement).value = user.role;
  const toggle = byId('user-toggle-disabled', HTMLButtonElement);
  toggle.textContent = user.disabled ? 'Enable account' : 'Disable account';
  toggle.className = user.disabled ? 'secondary' : 'danger';
  byId('user-reset-mfa', HTMLButtonElement).hidden = !user.mfa_enabled;
}

async function loadUserSessions(): Promise<void> {
  const result = await session.request<Page<SessionItem>>('GET', `users/${encodeURIComponent(selectedUser().id)}/sessions?limit=100`);
  if (!result.ok) return reportProblem('user-status', result);
  const list = byId('user-sessions', HTMLElement);
  list.replaceChildren(
    ...result.body.items.map((item) =>
      element(
        'li',
        `${item.user_agent || 'Unknown browser'} · signed in ${formatTime(item.created_at)} · last active ${formatTime(item.last_used_at)} · ${item.ip ?? 'unknown address'}`,
      ),
    ),
  );
  if (result.body.items.length === 0) list.append(element('li', 'No live sessions.'));
}

async function loadUserEvents(): Promise<void> {
  const result = await session.request<Page<SecurityEvent>>(
    'GET',
    `admin/events?limit=20&user_id=${encodeURIComponent(selectedUser().id)}`,
  );
  if (!result.ok) return reportProblem('user-status', result);
  const list = byId('user-events', HTMLElement);
  list.replaceChildren(...result.body.items.map(eventItem));
  if (result.body.items.length === 0) list.append(element('li', 'No events.'));
}

/** Re-reads what a change to a user may have changed elsewhere in the console. */
const reloadAfterChange = () => Promise.all([loadUserSessions(), loadUserEvents(), loadUsers(), loadEvents(false)]);

/** Runs a change to the selected user, then shows its result and re-reads what it may have changed. */
async function changeUser(
  target: HTMLButtonElement | HTMLFormElement,
  request: () => Promise<{ ok: true; status: number; body: unknown } | ApiFailure>,
  success: string,
): Promise<void> {
  const result = await whileBusy(target, request);
  if (!result.ok) return reportProblem('user-status', result, { '/role': 'Role' });
  showMessage('success', success, [], 'user-status');
  if (result.status === 200 && result.body) state.selected = result.body as User;
  renderUser();
  await reloadAfterChange();
}

function wireUserActions(): void {
  const roleForm = byId('role-form', HTMLFormElement);
  roleForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const role = byId('user-role', HTMLSelectElement).value;
    const { id, email } = selectedUser();
    return changeUser(
      roleForm,
      () => session.request<User>('PATCH', `users/${encodeURIComponent(id)}`, { role }),
      `${email} is now ${role === 'admin' ? 'an admin' : 'a user'}.`,
    );
  });

  const toggle = byId('user-toggle-disabled', HTMLButtonElement);
  toggle.addEventListener('click', async () => {
    const { id, email, disabled } = selectedUser();
    const question = `Disable ${email}? They are signed out everywhere and cannot sign in until enabled again.`;
    if (!disabled && !(await confirmAction(question, 'Disable account'))) return;
    await changeUser(
      toggle,
      () => session.request<User>('PATCH', `users/${encodeURIComponent(id)}`, { disabled: !disabled }),
      disabled ? `${email} is enabled: they can sign in again.` : `${email} is disabled: their tokens no longer work.`,
    );
  });

  const endSessions = byId('user-end-sessions', HTMLButtonElement);
  endSessions.addEventListener('click', async () => {
    const { id, email } = selectedUser();
    if (!(await confirmAction(`End every session of ${email}? Every device of theirs is signed out at once.`, 'End all sessions'))) return;
    await changeUser(
      endSessions,
      () => session.request('DELETE', `users/${encodeURIComponent(id)}/sessions`),
      `Every session of ${email} is ended.`,
    );
  });

  const resetMfa = byId('user-reset-mfa', HTMLButtonElement);
  resetMfa.addEventListener('click', async () => {
    const { id, email } = selectedUser();
    if (!(await confirmAction(`Reset two-factor sign-in of ${email}? Their password alone will sign them in.`, 'Reset two-factor'))) return;
    const result = await whileBusy(resetMfa, () => session.request('DELETE', `users/${encodeURIComponent(id)}/mfa`));
    if (!result.ok) return reportProblem('user-status', result);
    await openUser(id);
    showMessage('success', `Two-factor sign-in of ${email} is off.`, [], 'user-status');
  });

  const remove = byId('user-delete', HTMLButtonElement);
  remove.addEventListener('click', async () => {
    const { id, email } = selectedUser();
    const own = id === session.user?.id;
    const question = own
      ? `Delete your own account, ${email}? You are signed out at once; this cannot be undone.`
      : `Delete ${email}? Their account, sessions and bucketlists are deleted; this cannot be undone.`;
    if (!(await confirmAction(question, 'Delete user'))) return;
    const result = await whileBusy(remove, () => session.request('DELETE', `users/${encodeURIComponent(id)}`));
    if (!result.ok) return reportProblem('user-status', result);
    if (own) {
      // Its sessions went with the account: nothing the console holds works any more.
      showSignedOut('success', `Your account ${email} is deleted, and you are signed out.`);
      return;
    }
    state.selected = null;
    byId('user-detail', HTMLElement).hidden = true;
    // After the reload: a successful list load clears the users' status region.
    await Promise.all([loadUsers(), loadEvents(false)]);
    showMessage('success', `${email} is deleted.`, [], 'users-status').focus();
  });
}

// ---------------------------------------------------------------- events

function eventItem(event: SecurityEvent): HTMLLIElement {
  const item = element('li');
  item.append(element('p', `${event.type} · ${formatTime(event.created_at)}`, 'item-title'));
  const who = [
    event.user_id && `user ${event.user_id}`,
    event.actor_id && `by ${event.actor_id}`,
    event.ip && `from ${event.ip}`,
    Object.keys(event.data ?? {}).length > 0 && JSON.stringify(event.data),
  ].filter((part): part is string => typeof part === 'string' && part !== '');
  if (who.length > 0) item.append(element('p', who.join(' · '), 'hint'));
  return item;
}

async function loadEvents(append: boolean): Promise<void> {
  const params = new URLSearchParams({ limit: '20' });
  if (state.eventsType) params.set('type', state.eventsType);
  if (append && state.eventsNext) params.set('cursor', state.eventsNext);
  const result = await session.request<Page<SecurityEvent>>('GET', `admin/events?${params}`);
  if (!result.ok) return reportProblem('events-status', result);
  clearMessage('events-status');
  const list = byId('event-list', HTMLElement);
  const items = result.body.items.map(eventItem);
  if (append) list.append(...items);
  else list.replaceChildren(...items);
  if (!append && items.length === 0) list.append(element('li', 'No events.'));
  state.eventsNext = result.body.next_cursor;
  byId('events-next', HTMLButtonElement).hidden = !state.eventsNext;
}

function wireEvents(): void {
  // The filter's choices come with the page, from the server's own list of event types.
  const select = byId('event-type', HTMLSelectElement);
  const filter = byId('event-filter', HTMLFormElement);
  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    state.eventsType = select.value;
    return whileBusy(filter, () => loadEvents(false));
  });
  const next = byId('events-next', HTMLButtonElement);
  next.addEventListener('click', () => whileBusy(next, () => loadEvents(true)));
}

// ---------------------------------------------------------------- keys and status

async function loadKeys(): Promise<void> {
  const result = await session.request<{ items: SigningKey[] }>('GET', 'admin/keys');
  if (!result.ok) return reportProblem('keys-status', result);
  byId('key-rows', HTMLElement).replaceChildren(
    ...result.body.items.map((key) => {
      const row = element('tr');
      const kid = element('td');
      kid.append(element('code', key.kid));
      const keyState = key.signing ? 'signing' : `verifying until ${formatTime(key.retires_at)}`;
      row.append(kid, element('td', key.alg), element('td', formatTime(key.created_at)), element('td', keyState));
      return row;
    }),
  );
}

/** `GET /admin/status`: the instance that answered (behind a load balancer, the next check may reach another). */
interface InstanceStatus {
  version: string;
  database: 'sqlite' | 'postgres';
  rate_limit_store: 'memory' | 'redis';
  ready: boolean;
  started_at: string;
  uptime_seconds: number;
}

/** Whole days, hours and minutes: enough to tell a fresh restart from a long run. */
function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return minutes > 0 ? `${minutes} min` : 'under a minute';
}

async function loadStatus(): Promise<void> {
  const result = await session.request<InstanceStatus>('GET', 'admin/status');
  const text = byId('status-text', HTMLElement);
  const facts = byId('status-facts', HTMLElement);
  const checked = `checked ${formatTime(new Date().toISOString())}`;
  if (!result.ok) {
    text.textContent = `Status unknown: ${result.problem.detail}`;
    text.className = 'error';
    facts.replaceChildren();
    return;
  }
  const status = result.body;
  // 200 with ready: false is the API's way of saying the database does not answer right now.
  text.textContent = status.ready ? `Ready: the database answers (${checked}).` : `Not ready: the database does not answer (${checked}).`;
  text.className = status.ready ? 'ok' : 'error';
  const rows: [string, string][] = [
    ['Version', status.version],
    ['Database', status.database === 'postgres' ? 'PostgreSQL' : 'SQLite'],
    ['Rate limits', status.rate_limit_store === 'redis' ? 'Redis, shared by every instance' : 'this instance’s memory only'],
    ['Running since', `${formatTime(status.started_at)} (${formatUptime(status.uptime_seconds)})`],
  ];
  facts.replaceChildren(...rows.flatMap(([term, value]) => [element('dt', term), element('dd', value)]));
}

function wireKeysAndStatus(): void {
  const rotate = byId('keys-rotate', HTMLButtonElement);
  rotate.addEventListener('click', async () => {
    const question = 'Rotate the signing key? New tokens are signed with a new key; the current one keeps verifying for a while.';
    if (!(await confirmAction(question, 'Rotate key'))) return;
    const result = await whileBusy(rotate, () => session.request<SigningKey>('POST', 'admin/keys/rotate'));
    if (!result.ok) return reportProblem('keys-status', result);
    showMessage('success', `New signing key ${result.body.kid} (${result.body.alg}).`, [], 'keys-status');
    await Promise.all([loadKeys(), loadEvents(false)]);
  });
  const check = byId('status-check', HTMLButtonElement);
  check.addEventListener('click', () => whileBusy(check, loadStatus));
}

if (document.body.dataset.page === 'admin') {
  wireSignIn(afterSignIn);
  wireLogout();
  wireUsers();
  wireUserActions();
  wireEvents();
  wireKeysAndStatus();
}
