// The behaviour of Gatehouse's operator console (/admin). A plain ES module with no dependencies,
// like account-pages.js: the CSP allows only these files to run, nothing inline. The console
// decides nothing about who may do what: it sends the admin's requests and reports the answers
// (a non-admin is told so because the API answers 403).

// ---------------------------------------------------------------- API client

/**
 * Requests are relative to the page, so they follow it under a path prefix. Resolves to
 * {ok: true, status, body} or {ok: false, status, problem}; never throws. The access token goes
 * in the Authorization header only: no cookie is ever sent or set.
 */
async function callApi(method, path, body, accessToken) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    return {
      ok: false,
      status: 0,
      problem: { code: 'NETWORK', detail: 'Gatehouse could not be reached. Check the connection and try again.' },
    };
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.ok) return { ok: true, status: response.status, body: parsed };
  const problem =
    parsed && typeof parsed.detail === 'string'
      ? parsed
      : { code: 'UNEXPECTED', detail: `Gatehouse answered with an unexpected error (HTTP ${response.status}). Try again later.` };
  return { ok: false, status: response.status, problem, retryAfter: response.headers.get('retry-after') };
}

// What to do next, for the problems an operator can act on; the problem's own detail says what happened.
const NEXT_STEP = {
  LAST_ADMIN: 'Make another user an admin first, then try again.',
  TOKEN_INVALID: 'Sign in again.',
  RATE_LIMITED: 'Wait a little before trying again.',
  UNAVAILABLE: 'Try again in a moment.',
  MFA_CODE_INVALID: 'Codes change every 30 seconds and work once: wait for the next one, or use a recovery code.',
  KEY_ROTATION_UNAVAILABLE: 'Keys can only be rotated by this console when Gatehouse keeps them in its database.',
  REAUTHENTICATION_REQUIRED: 'Sign out and sign in again, then retry.',
};

/** A problem+json answer as a sentence an operator reads, with one line per invalid field. */
function describeProblem(result, fieldLabels = {}) {
  const { problem } = result;
  const lines = (Array.isArray(problem.errors) ? problem.errors : []).map((error) => {
    const label = fieldLabels[error.path];
    return label ? `${label} ${error.message}.` : `${error.path}: ${error.message}.`;
  });
  const parts = [problem.detail];
  if (problem.code === 'RATE_LIMITED' && /^\d+$/.test(result.retryAfter ?? '')) {
    const minutes = Math.ceil(Number(result.retryAfter) / 60);
    parts.push(`Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
  } else if (NEXT_STEP[problem.code]) {
    parts.push(NEXT_STEP[problem.code]);
  }
  return { summary: parts.join(' '), lines };
}

// ---------------------------------------------------------------- page helpers

/** An element with text: the console builds its DOM this way only (Trusted Types forbid markup strings). */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Writes into a live region; `kind` is 'success', 'error' or 'progress'. Returns the region. */
function showMessage(kind, summary, lines = [], regionId = 'message') {
  const region = document.getElementById(regionId);
  region.className = `message ${kind}`;
  const children = [element('p', summary)];
  if (lines.length > 0) {
    const list = element('ul');
    for (const line of lines) list.append(element('li', line));
    children.push(list);
  }
  region.replaceChildren(...children);
  return region;
}

function clearMessage(regionId) {
  const region = document.getElementById(regionId);
  region.className = 'message';
  region.replaceChildren();
}

/** Disables a button (or a form's submit button) while its action runs: one press, one request. */
async function whileBusy(target, action) {
  const button = target instanceof HTMLFormElement ? target.querySelector('button[type="submit"]') : target;
  button.disabled = true;
  target.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    target.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

const formatTime = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');

/** `{code}` for six digits, else `{recovery_code}`. */
function secondFactor(value) {
  const trimmed = value.trim();
  return /^\d{6}$/.test(trimmed) ? { code: trimmed } : { recovery_code: trimmed };
}

// ---------------------------------------------------------------- tokens (memory only)

// Never localStorage, sessionStorage or a cookie: reloading the tab signs the console out.
const state = { accessToken: null, refreshToken: null, user: null, selected: null, usersQuery: '', eventsType: '' };
let refreshing = null;

const SESSION_ENDED = 'Your session has ended (signed out here or elsewhere, or your account changed). Sign in again.';

function storeTokens(body) {
  state.accessToken = body.access_token;
  state.refreshToken = body.refresh_token;
  if (body.user) state.user = body.user;
}

/** One refresh for every request that saw `expiredToken` expire (a second one would be reuse). */
function refreshTokens(expiredToken) {
  if (state.accessToken !== expiredToken) return Promise.resolve(state.accessToken !== null);
  refreshing ??= (async () => {
    try {
      const result = await callApi('POST', 'auth/refresh', { refresh_token: state.refreshToken });
      if (result.ok) storeTokens(result.body);
      return result.ok;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Calls the API as the signed-in admin: refreshes once on TOKEN_EXPIRED; a dead session signs the console out. */
async function adminApi(method, path, body) {
  const token = state.accessToken;
  if (!token) return { ok: false, status: 401, problem: { code: 'TOKEN_MISSING', detail: SESSION_ENDED } };
  let result = await callApi(method, path, body, token);
  if (!result.ok && result.problem.code === 'TOKEN_EXPIRED' && (await refreshTokens(token))) {
    result = await callApi(method, path, body, state.accessToken);
  }
  if (!result.ok && result.status === 401 && ['TOKEN_INVALID', 'TOKEN_MISSING', 'TOKEN_EXPIRED'].includes(result.problem.code)) {
    showSignedOut('error', SESSION_ENDED);
  }
  return result;
}

/** Reports a failed call in a section's region (nothing when the console signed out instead). */
function reportProblem(regionId, result, fieldLabels) {
  if (!state.accessToken && result.problem.code !== 'NETWORK') return;
  const { summary, lines } = describeProblem(result, fieldLabels);
  showMessage('error', summary, lines, regionId);
}

// ---------------------------------------------------------------- confirmation dialog

/** Asks in a modal <dialog>; resolves true only when the operator presses the confirm button. */
function confirmAction(text, confirmLabel) {
  const dialog = document.getElementById('confirm-dialog');
  const form = document.getElementById('confirm-form');
  const yes = document.getElementById('confirm-yes');
  const cancel = document.getElementById('confirm-cancel');
  document.getElementById('confirm-text').textContent = text;
  yes.textContent = confirmLabel;
  return new Promise((resolve) => {
    const finish = (confirmed) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
      resolve(confirmed);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      finish(true);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(false);
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    cancel.focus();
  });
}

// ---------------------------------------------------------------- sign-in

function showSignedOut(kind, summary) {
  state.accessToken = null;
  state.refreshToken = null;
  state.user = null;
  state.selected = null;
  document.getElementById('console').hidden = true;
  document.getElementById('user-detail').hidden = true;
  document.getElementById('sign-in').hidden = false;
  document.getElementById('login-form').hidden = false;
  document.getElementById('mfa-form').hidden = true;
  if (summary) showMessage(kind, summary);
  document.getElementById('login-email').focus();
}

/** Tokens in hand: the API says whether this account may use the console (GET /users answers 403 otherwise). */
async function afterSignIn(body) {
  storeTokens(body);
  const result = await adminApi('GET', 'users?limit=20');
  if (!result.ok && result.status === 403) {
    // Nothing here is for this account: end the session this sign-in made, then forget it.
    await callApi('POST', 'auth/logout', undefined, state.accessToken);
    showSignedOut(
      'error',
      'You have no access to the console: it is for admins only. Your account page is at /account. This sign-in has been ended.',
    );
    return;
  }
  if (!result.ok) return reportProblem('message', result);
  document.getElementById('sign-in').hidden = true;
  document.getElementById('console').hidden = false;
  const { user } = state;
  document.getElementById('signed-in-as').textContent = user?.name ? `${user.name} (${user.email})` : (user?.email ?? '');
  showMessage('success', 'Signed in to the console.');
  state.usersQuery = '';
  renderUsers(result.body, false);
  await Promise.all([loadEvents(false), loadKeys(), loadStatus()]);
}

function wireSignIn() {
  const loginForm = document.getElementById('login-form');
  const mfaForm = document.getElementById('mfa-form');
  const email = document.getElementById('login-email');
  const password = document.getElementById('login-password');
  const code = document.getElementById('mfa-code');
  let mfaToken = null;

  const startAgain = (kind, summary) => {
    mfaToken = null;
    code.value = '';
    mfaForm.hidden = true;
    loginForm.hidden = false;
    if (summary) showMessage(kind, summary);
    password.focus();
  };

  loginForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Signing in…');
    const result = await whileBusy(loginForm, () => callApi('POST', 'auth/login', { email: email.value, password: password.value }));
    if (result.ok && result.body.mfa_required) {
      mfaToken = result.body.mfa_token;
      loginForm.hidden = true;
      mfaForm.hidden = false;
      password.value = '';
      showMessage('progress', 'Your password is right. Now enter the code from your authenticator app.');
      code.focus();
      return;
    }
    if (result.ok) {
      password.value = '';
      return afterSignIn(result.body);
    }
    const { summary, lines } = describeProblem(result, { '/email': 'Email', '/password': 'Password' });
    showMessage('error', summary, lines);
    password.focus();
  });

  mfaForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Checking the code…');
    const result = await whileBusy(mfaForm, () => callApi('POST', 'auth/mfa/verify', { mfa_token: mfaToken, ...secondFactor(code.value) }));
    if (result.ok) {
      mfaToken = null;
      code.value = '';
      mfaForm.hidden = true;
      return afterSignIn(result.body);
    }
    if (result.problem.code === 'TOKEN_INVALID') {
      return startAgain('error', 'Too much time has passed, or too many codes were wrong. Sign in again with your password.');
    }
    const { summary, lines } = describeProblem(result, { '/code': 'The code', '/recovery_code': 'The recovery code' });
    showMessage('error', summary, lines);
    code.select();
  });
  document.getElementById('mfa-cancel').addEventListener('click', () => startAgain());

  const logout = document.getElementById('logout');
  logout.addEventListener('click', () =>
    whileBusy(logout, async () => {
      // Whatever the answer, the console forgets the tokens: signing out never fails here.
      await callApi('POST', 'auth/logout', undefined, state.accessToken);
      showSignedOut('success', 'You are signed out.');
    }),
  );
}

// ---------------------------------------------------------------- users

let usersCursor = null;

function userStatus(user) {
  const parts = [user.disabled ? 'disabled' : 'active'];
  if (!user.email_verified) parts.push('email not verified');
  if (user.mfa_enabled) parts.push('two-factor on');
  return parts.join(', ');
}

function renderUsers(page, append) {
  const rows = document.getElementById('user-rows');
  const built = page.items.map((user) => {
    const row = element('tr');
    const emailCell = element('td');
    const open = element('button', user.email, 'link');
    open.type = 'button';
    open.addEventListener('click', () => openUser(user.id));
    emailCell.append(open);
    row.append(emailCell, element('td', user.name ?? ''), element('td', user.role), element('td', userStatus(user)));
    return row;
  });
  if (append) rows.append(...built);
  else rows.replaceChildren(...built);
  if (!append && page.items.length === 0) {
    const row = element('tr');
    const cell = element('td', state.usersQuery ? `No user matches “${state.usersQuery}”.` : 'No users yet.');
    cell.colSpan = 4;
    row.append(cell);
    rows.append(row);
  }
  usersCursor = page.next_cursor;
  document.getElementById('users-next').hidden = !usersCursor;
}

async function loadUsers(append) {
  const params = new URLSearchParams({ limit: '20' });
  if (state.usersQuery) params.set('q', state.usersQuery);
  if (append && usersCursor) params.set('cursor', usersCursor);
  const result = await adminApi('GET', `users?${params}`);
  if (!result.ok) return reportProblem('users-status', result, { '/query/q': 'The search' });
  clearMessage('users-status');
  renderUsers(result.body, append);
}

function wireUsers() {
  const search = document.getElementById('user-search');
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    state.usersQuery = document.getElementById('user-query').value.trim();
    return whileBusy(search, () => loadUsers(false));
  });
  const next = document.getElementById('users-next');
  next.addEventListener('click', () => whileBusy(next, () => loadUsers(true)));
}

// ---------------------------------------------------------------- a user's detail and actions

async function openUser(id) {
  const result = await adminApi('GET', `users/${encodeURIComponent(id)}`);
  if (!result.ok) return reportProblem('users-status', result);
  state.selected = result.body;
  clearMessage('user-status');
  renderUser();
  const section = document.getElementById('user-detail');
  section.hidden = false;
  document.getElementById('user-detail-heading').focus?.();
  await Promise.all([loadUserSessions(), loadUserEvents()]);
  section.scrollIntoView({ block: 'start' });
}

function renderUser() {
  const user = state.selected;
  const heading = document.getElementById('user-detail-heading');
  heading.textContent = `User ${user.email}`;
  heading.tabIndex = -1;
  const facts = [
    ['Name', user.name ?? '—'],
    ['Role', user.role],
    ['Account', user.disabled ? 'disabled' : 'active'],
    ['Email verified', user.email_verified ? 'yes' : 'no'],
    ['Two-factor sign-in', user.mfa_enabled ? 'on' : 'off'],
    ['Created', formatTime(user.created_at)],
    ['Id', user.id],
  ];
  document.getElementById('user-facts').replaceChildren(...facts.flatMap(([term, value]) => [element('dt', term), element('dd', value)]));
  document.getElementById('user-role').value = user.role;
  document.getElementById('user-toggle-disabled').textContent = user.disabled ? 'Enable account' : 'Disable account';
  document.getElementById('user-toggle-disabled').className = user.disabled ? 'secondary' : 'danger';
  document.getElementById('user-reset-mfa').hidden = !user.mfa_enabled;
}

async function loadUserSessions() {
  const result = await adminApi('GET', `users/${encodeURIComponent(state.selected.id)}/sessions?limit=100`);
  if (!result.ok) return reportProblem('user-status', result);
  const list = document.getElementById('user-sessions');
  list.replaceChildren(
    ...result.body.items.map((session) =>
      element(
        'li',
        `${session.user_agent || 'Unknown browser'} · signed in ${formatTime(session.created_at)} · last active ${formatTime(session.last_used_at)} · ${session.ip ?? 'unknown address'}`,
      ),
    ),
  );
  if (result.body.items.length === 0) list.append(element('li', 'No live sessions.'));
}

async function loadUserEvents() {
  const result = await adminApi('GET', `admin/events?limit=20&user_id=${encodeURIComponent(state.selected.id)}`);
  if (!result.ok) return reportProblem('user-status', result);
  const list = document.getElementById('user-events');
  list.replaceChildren(...result.body.items.map(eventItem));
  if (result.body.items.length === 0) list.append(element('li', 'No events.'));
}

/** Runs a change to the selected user, then shows its result and re-reads what it may have changed. */
async function changeUser(button, request, success) {
  const user = state.selected;
  const result = await whileBusy(button, request);
  if (!result.ok) return reportProblem('user-status', result, { '/role': 'Role' });
  showMessage('success', success(user), [], 'user-status');
  if (result.status === 200 && result.body?.id) state.selected = result.body;
  renderUser();
  await Promise.all([loadUserSessions(), loadUserEvents(), loadUsers(false), loadEvents(false)]);
}

function wireUserActions() {
  const roleForm = document.getElementById('role-form');
  roleForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const role = document.getElementById('user-role').value;
    const { id } = state.selected;
    return changeUser(
      roleForm,
      () => adminApi('PATCH', `users/${encodeURIComponent(id)}`, { role }),
      (user) => `${user.email} is now ${role === 'admin' ? 'an admin' : 'a user'}.`,
    );
  });

  const toggle = document.getElementById('user-toggle-disabled');
  toggle.addEventListener('click', async () => {
    const { id, email, disabled } = state.selected;
    if (
      !disabled &&
      !(await confirmAction(`Disable ${email}? They are signed out everywhere and cannot sign in until enabled again.`, 'Disable account'))
    )
      return;
    await changeUser(
      toggle,
      () => adminApi('PATCH', `users/${encodeURIComponent(id)}`, { disabled: !disabled }),
      () => (disabled ? `${email} is enabled: they can sign in again.` : `${email} is disabled: their tokens no longer work.`),
    );
  });

  const endSessions = document.getElementById('user-end-sessions');
  endSessions.addEventListener('click', async () => {
    const { id, email } = state.selected;
    if (!(await confirmAction(`End every session of ${email}? Every device of theirs is signed out at once.`, 'End all sessions'))) return;
    await changeUser(
      endSessions,
      () => adminApi('DELETE', `users/${encodeURIComponent(id)}/sessions`),
      () => `Every session of ${email} is ended.`,
    );
  });

  const resetMfa = document.getElementById('user-reset-mfa');
  resetMfa.addEventListener('click', async () => {
    const { id, email } = state.selected;
    if (!(await confirmAction(`Reset two-factor sign-in of ${email}? Their password alone will sign them in.`, 'Reset two-factor'))) return;
    const result = await whileBusy(resetMfa, () => adminApi('DELETE', `users/${encodeURIComponent(id)}/mfa`));
    if (!result.ok) return reportProblem('user-status', result);
    await openUser(id);
    showMessage('success', `Two-factor sign-in of ${email} is off.`, [], 'user-status');
  });

  const remove = document.getElementById('user-delete');
  remove.addEventListener('click', async () => {
    const { id, email } = state.selected;
    if (
      !(await confirmAction(`Delete ${email}? Their account, sessions and bucketlists are deleted; this cannot be undone.`, 'Delete user'))
    )
      return;
    const result = await whileBusy(remove, () => adminApi('DELETE', `users/${encodeURIComponent(id)}`));
    if (!result.ok) return reportProblem('user-status', result);
    state.selected = null;
    document.getElementById('user-detail').hidden = true;
    // After the reload: a successful list load clears the users' status region.
    await Promise.all([loadUsers(false), loadEvents(false)]);
    showMessage('success', `${email} is deleted.`, [], 'users-status').focus();
  });
}

// ---------------------------------------------------------------- events

let eventsCursor = null;

function eventItem(event) {
  const item = element('li');
  item.append(element('p', `${event.type} · ${formatTime(event.created_at)}`, 'item-title'));
  const who = [
    event.user_id && `user ${event.user_id}`,
    event.actor_id && `by ${event.actor_id}`,
    event.ip && `from ${event.ip}`,
    Object.keys(event.data ?? {}).length > 0 && JSON.stringify(event.data),
  ].filter(Boolean);
  if (who.length > 0) item.append(element('p', who.join(' · '), 'hint'));
  return item;
}

async function loadEvents(append) {
  const params = new URLSearchParams({ limit: '20' });
  if (state.eventsType) params.set('type', state.eventsType);
  if (append && eventsCursor) params.set('cursor', eventsCursor);
  const result = await adminApi('GET', `admin/events?${params}`);
  if (!result.ok) return reportProblem('events-status', result);
  clearMessage('events-status');
  const list = document.getElementById('event-list');
  const items = result.body.items.map(eventItem);
  if (append) list.append(...items);
  else list.replaceChildren(...items);
  if (!append && items.length === 0) list.append(element('li', 'No events.'));
  eventsCursor = result.body.next_cursor;
  document.getElementById('events-next').hidden = !eventsCursor;
}

function wireEvents() {
  // The filter's choices come with the page, from the server's own list of event types.
  const select = document.getElementById('event-type');
  const filter = document.getElementById('event-filter');
  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    state.eventsType = select.value;
    return whileBusy(filter, () => loadEvents(false));
  });
  const next = document.getElementById('events-next');
  next.addEventListener('click', () => whileBusy(next, () => loadEvents(true)));
}

// ---------------------------------------------------------------- keys and status

async function loadKeys() {
  const result = await adminApi('GET', 'admin/keys');
  if (!result.ok) return reportProblem('keys-status', result);
  document.getElementById('key-rows').replaceChildren(
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

async function loadStatus() {
  const result = await callApi('GET', 'readyz');
  const text = document.getElementById('status-text');
  text.textContent = result.ok
    ? `Ready: the database answers (checked ${formatTime(new Date().toISOString())}).`
    : `Not ready: ${result.problem.detail}`;
  text.className = result.ok ? 'ok' : 'error';
}

function wireKeysAndStatus() {
  const rotate = document.getElementById('keys-rotate');
  rotate.addEventListener('click', async () => {
    if (
      !(await confirmAction(
        'Rotate the signing key? New tokens are signed with a new key; the current one keeps verifying for a while.',
        'Rotate key',
      ))
    )
      return;
    const result = await whileBusy(rotate, () => adminApi('POST', 'admin/keys/rotate'));
    if (!result.ok) return reportProblem('keys-status', result);
    showMessage('success', `New signing key ${result.body.kid} (${result.body.alg}).`, [], 'keys-status');
    await Promise.all([loadKeys(), loadEvents(false)]);
  });
  const check = document.getElementById('status-check');
  check.addEventListener('click', () => whileBusy(check, loadStatus));
}

if (document.body.dataset.page === 'admin') {
  wireSignIn();
  wireUsers();
  wireUserActions();
  wireEvents();
  wireKeysAndStatus();
}
