// The behaviour of Gatehouse's account pages (src/modules/account-pages). A plain ES module with
// no dependencies: the pages' CSP allows only this file to run, nothing inline. Every rule lives
// in the API; the page sends what the person typed and reports the answer.

// ---------------------------------------------------------------- API client

/**
 * Requests are relative to the page, so they follow it when a proxy serves Gatehouse under a
 * path prefix. Resolves to {ok: true, status, body} or {ok: false, status, problem}; never
 * throws, so every caller has exactly two cases to handle. The access token, when given, goes
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
      problem: { code: 'NETWORK', detail: 'Gatehouse could not be reached. Check your connection and try again.' },
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

// What to do next, for the problems a person can act on; the problem's own detail says what happened.
const NEXT_STEP = {
  TOKEN_INVALID: 'Links in mails work once and only for a limited time. Ask for a new mail and use the newest link.',
  RATE_LIMITED: 'Wait a little before trying again.',
  UNAVAILABLE: 'Try again in a moment.',
  MFA_CODE_INVALID: 'Codes change every 30 seconds and work once: wait for the next one, or use a recovery code.',
};

/**
 * Turns a problem+json answer into what a person reads: a summary and, for VALIDATION_FAILED,
 * one line per field named by its label (`fieldLabels` maps the problem's JSON pointer).
 */
function describeProblem(result, fieldLabels = {}, nextSteps = NEXT_STEP) {
  const { problem } = result;
  const lines = [];
  for (const error of Array.isArray(problem.errors) ? problem.errors : []) {
    const label = fieldLabels[error.path];
    lines.push(label ? `${label} ${error.message}.` : `${error.path}: ${error.message}.`);
  }
  const parts = [problem.detail];
  if (problem.code === 'RATE_LIMITED' && /^\d+$/.test(result.retryAfter ?? '')) {
    const minutes = Math.ceil(Number(result.retryAfter) / 60);
    parts.push(`Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
  } else if (nextSteps[problem.code]) {
    parts.push(nextSteps[problem.code]);
  }
  return { summary: parts.join(' '), lines, fields: (problem.errors ?? []).map((e) => e.path) };
}

// ---------------------------------------------------------------- page helpers

/**
 * The mailed token, taken out of the address bar at once: it then stays in this module's
 * memory only, out of the history, bookmarks and anything that copies the address.
 */
function takeTokenFromAddress() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
  }
  return token && /^[A-Za-z0-9_-]{1,200}$/.test(token) ? token : null;
}

/**
 * Writes into the page's live region; `kind` is 'success', 'error' or 'progress'. Returns the
 * region, which a caller focuses when the control that had the focus goes away.
 */
function showMessage(kind, summary, lines = [], regionId = 'message') {
  const region = document.getElementById(regionId);
  region.className = `message ${kind}`;
  const paragraph = document.createElement('p');
  paragraph.textContent = summary;
  const children = [paragraph];
  if (lines.length > 0) {
    const list = document.createElement('ul');
    for (const line of lines) {
      const item = document.createElement('li');
      item.textContent = line;
      list.append(item);
    }
    children.push(list);
  }
  region.replaceChildren(...children);
  return region;
}

const MISSING_TOKEN =
  'This link is incomplete: the token from the mail is missing. Open the link from the mail again, or copy the whole of it into the address bar.';

/** Disables the form's button while a request runs, so one press sends one request. */
async function whileBusy(form, action) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    form.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- pages

function verifyEmailPage() {
  let token = takeTokenFromAddress();
  const form = document.getElementById('verify-form');
  if (!token) {
    form.hidden = true;
    showMessage('error', MISSING_TOKEN);
    return;
  }
  form.querySelector('button').disabled = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Confirming…');
    const result = await whileBusy(form, () => callApi('POST', 'auth/verify-email', { token }));
    if (result.ok) {
      token = null;
      form.hidden = true;
      showMessage('success', 'Your email address is confirmed. You can close this page.').focus();
    } else {
      const { summary } = describeProblem(result);
      showMessage('error', summary);
    }
  });
}

function resetPasswordPage() {
  let token = takeTokenFromAddress();
  const form = document.getElementById('reset-form');
  const password = document.getElementById('new-password');
  const repeat = document.getElementById('repeat-password');
  if (!token) {
    form.hidden = true;
    showMessage('error', MISSING_TOKEN);
    return;
  }
  const markInvalid = (inputs) => {
    for (const input of [password, repeat]) {
      if (inputs.includes(input)) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    inputs[0]?.focus();
  };
  form.querySelector('button').disabled = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (password.value !== repeat.value) {
      showMessage('error', 'The two passwords are not the same. Type the new password again in both fields.');
      markInvalid([repeat]);
      return;
    }
    showMessage('progress', 'Setting your new password…');
    const result = await whileBusy(form, () => callApi('POST', 'auth/password/reset', { token, new_password: password.value }));
    if (result.ok) {
      token = null;
      password.value = '';
      repeat.value = '';
      form.hidden = true;
      showMessage('success', 'Your password is changed. Every device was signed out: sign in again with your new password.').focus();
      return;
    }
    const { summary, lines, fields } = describeProblem(result, { '/new_password': 'New password' });
    showMessage('error', summary, lines);
    markInvalid(fields.includes('/new_password') ? [password] : []);
  });
}

// ---------------------------------------------------------------- /account: tokens and the API client

// The signed-in state lives in this module's memory only (never localStorage, sessionStorage or
// a cookie): closing or reloading the tab signs the page out, and no other script can read it.
const account = { accessToken: null, refreshToken: null, user: null };
// Single flights: parallel requests that meet an expired token share one refresh (a second
// refresh with the same, now used, refresh token would count as reuse and end the session),
// and parallel step-ups share one dialog.
let refreshing = null;
let reauthenticating = null;

// On this page a TOKEN_INVALID is about the session, not about a link in a mail.
const ACCOUNT_NEXT_STEP = { ...NEXT_STEP, TOKEN_INVALID: 'Sign in again.' };
const SESSION_ENDED = 'Your session has ended (signed out here or on another device, or the password changed). Sign in again.';
const STEP_UP_CANCELLED = {
  ok: false,
  status: 401,
  problem: { code: 'REAUTHENTICATION_CANCELLED', detail: 'Nothing was changed: this change needs your password again.' },
};

function storeTokens(body) {
  account.accessToken = body.access_token;
  account.refreshToken = body.refresh_token;
  if (body.user) account.user = body.user;
}

/** Rotates the refresh token once for everyone who saw `expiredToken` expire; true when there are new tokens. */
function refreshTokens(expiredToken) {
  if (account.accessToken !== expiredToken) return Promise.resolve(account.accessToken !== null);
  refreshing ??= (async () => {
    try {
      const result = await callApi('POST', 'auth/refresh', { refresh_token: account.refreshToken });
      if (result.ok) storeTokens(result.body);
      return result.ok;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** `{code}` for six digits, else `{recovery_code}`: one field takes either, as the person has it. */
function secondFactor(value) {
  const trimmed = value.trim();
  return /^\d{6}$/.test(trimmed) ? { code: trimmed } : { recovery_code: trimmed };
}

/**
 * Calls the API as the signed-in user. A TOKEN_EXPIRED answer refreshes the tokens and retries
 * once; REAUTHENTICATION_REQUIRED asks for the password (and a code) in a dialog, then retries
 * once; a session that has ended signs the page out. Same result shape as callApi.
 */
async function accountApi(method, path, body, { stepUp = true } = {}) {
  const token = account.accessToken;
  if (!token) return { ok: false, status: 401, problem: { code: 'TOKEN_MISSING', detail: SESSION_ENDED } };
  let result = await callApi(method, path, body, token);
  const code = !result.ok && result.status === 401 ? result.problem.code : null;
  if (code === 'TOKEN_EXPIRED' && (await refreshTokens(token))) {
    result = await callApi(method, path, body, account.accessToken);
  } else if (code === 'REAUTHENTICATION_REQUIRED' && stepUp) {
    if (!(await reauthenticate())) return STEP_UP_CANCELLED;
    result = await callApi(method, path, body, account.accessToken);
  }
  if (!result.ok && result.status === 401 && ['TOKEN_INVALID', 'TOKEN_MISSING', 'TOKEN_EXPIRED'].includes(result.problem.code)) {
    showSignedOut('error', SESSION_ENDED);
  }
  return result;
}

/** One step-up dialog at a time; resolves true once the session has fresh tokens. */
function reauthenticate() {
  reauthenticating ??= askForPassword().finally(() => {
    reauthenticating = null;
  });
  return reauthenticating;
}

/** The step-up dialog (RFC 9470): password, and a code when two-factor sign-in is on. */
function askForPassword() {
  const dialog = document.getElementById('reauth-dialog');
  const form = document.getElementById('reauth-form');
  const password = document.getElementById('reauth-password');
  const code = document.getElementById('reauth-code');
  const codeField = document.getElementById('reauth-code-field');
  const status = document.getElementById('reauth-status');
  const cancel = document.getElementById('reauth-cancel');
  const needsCode = account.user?.mfa_enabled === true;
  codeField.hidden = !needsCode;
  code.required = needsCode;
  password.value = '';
  code.value = '';
  status.replaceChildren();
  status.className = 'message';
  return new Promise((resolve) => {
    const finish = (done) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      password.value = '';
      code.value = '';
      dialog.close();
      resolve(done);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(false);
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const body = { password: password.value, ...(needsCode && secondFactor(code.value)) };
      const token = account.accessToken;
      let result = await whileBusy(form, () => callApi('POST', 'auth/reauthenticate', body, token));
      if (!result.ok && result.problem.code === 'TOKEN_EXPIRED' && (await refreshTokens(token))) {
        result = await whileBusy(form, () => callApi('POST', 'auth/reauthenticate', body, account.accessToken));
      }
      if (result.ok) {
        storeTokens(result.body);
        finish(true);
        return;
      }
      if (result.status === 401 && ['TOKEN_INVALID', 'TOKEN_EXPIRED'].includes(result.problem.code)) {
        finish(false);
        showSignedOut('error', SESSION_ENDED);
        return;
      }
      status.className = 'message error';
      const paragraph = document.createElement('p');
      // The API's wording covers sign-in ("email or password"); here only the password was typed.
      paragraph.textContent =
        result.problem.code === 'INVALID_CREDENTIALS'
          ? 'The password is incorrect. Try again.'
          : describeProblem(result, { '/password': 'Password' }, ACCOUNT_NEXT_STEP).summary;
      status.replaceChildren(paragraph);
      (result.problem.code === 'MFA_CODE_INVALID' ? code : password).focus();
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    // Escape closes a modal dialog through its cancel event.
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    password.focus();
  });
}

// ---------------------------------------------------------------- /account: WebAuthn JSON forms

/** base64url (RFC 4648 §5, unpadded, as WebAuthn's JSON forms use) to an ArrayBuffer. */
function base64urlToBuffer(value) {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((value.length + 3) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** An ArrayBuffer to unpadded base64url. */
function bufferToBase64url(buffer) {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const credentialDescriptors = (list) => (list ?? []).map((credential) => ({ ...credential, id: base64urlToBuffer(credential.id) }));

/** PublicKeyCredentialCreationOptionsJSON → the options navigator.credentials.create() takes. */
function creationOptionsFromJson(json) {
  return {
    ...json,
    challenge: base64urlToBuffer(json.challenge),
    user: { ...json.user, id: base64urlToBuffer(json.user.id) },
    excludeCredentials: credentialDescriptors(json.excludeCredentials),
  };
}

/** PublicKeyCredentialRequestOptionsJSON → the options navigator.credentials.get() takes. */
function requestOptionsFromJson(json) {
  return { ...json, challenge: base64urlToBuffer(json.challenge), allowCredentials: credentialDescriptors(json.allowCredentials) };
}

/** A new credential as RegistrationResponseJSON (what PublicKeyCredential.toJSON() gives where it exists). */
function registrationToJson(credential) {
  const { response } = credential;
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      attestationObject: bufferToBase64url(response.attestationObject),
      transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

/** An assertion as AuthenticationResponseJSON. */
function authenticationToJson(credential) {
  const { response } = credential;
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      authenticatorData: bufferToBase64url(response.authenticatorData),
      signature: bufferToBase64url(response.signature),
      userHandle: response.userHandle ? bufferToBase64url(response.userHandle) : undefined,
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

const passkeysSupported = () => typeof window.PublicKeyCredential === 'function' && Boolean(navigator.credentials);

/** What a person reads when the browser's passkey prompt ends without a credential. */
function passkeyFailure(error, action) {
  if (error?.name === 'NotAllowedError') return `${action}: the request was cancelled or timed out.`;
  if (error?.name === 'InvalidStateError') return `${action}: this device already holds a passkey for your account.`;
  if (error?.name === 'SecurityError') return `${action}: this address cannot use passkeys (they need https, or localhost).`;
  return `${action}: your browser or device could not do it (${error?.name ?? 'unknown error'}).`;
}

// ---------------------------------------------------------------- /account: the TOTP QR code

const SVG_NS = 'http://www.w3.org/2000/svg';
// What the server's QR code (qrcode's SVG) is made of; anything else is refused, not shown.
const QR_ELEMENTS = new Set(['svg', 'path', 'rect']);
const QR_ATTRIBUTES = new Set(['xmlns', 'viewBox', 'width', 'height', 'shape-rendering', 'fill', 'stroke', 'd', 'x', 'y']);
let qrPolicy;

/**
 * The server's SVG as a node, or null. DOMParser is a Trusted Types sink, so the string passes
 * through the one policy the CSP allows; it parses into an inert document (no script runs there),
 * and the node is adopted only if every element and attribute is on the allow-list above, so no
 * script, event handler, link or style can come with it.
 */
function qrCodeElement(svgText) {
  // createPolicy may run once per name (the CSP allows no duplicates), hence the cache.
  qrPolicy ??= window.trustedTypes?.createPolicy('gatehouse-qr-svg', { createHTML: (text) => text });
  const doc = new DOMParser().parseFromString(qrPolicy ? qrPolicy.createHTML(svgText) : svgText, 'image/svg+xml');
  const root = doc.documentElement;
  for (const element of [root, ...root.querySelectorAll('*')]) {
    if (element.namespaceURI !== SVG_NS || !QR_ELEMENTS.has(element.localName)) return null;
    for (const attribute of element.attributes) if (!QR_ATTRIBUTES.has(attribute.name)) return null;
  }
  const svg = document.adoptNode(root);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR code with the key, for your authenticator app');
  return svg;
}

// ---------------------------------------------------------------- /account: rendering

const EVENT_LABELS = {
  'login.succeeded': 'Signed in',
  'login.failed': 'Failed sign-in attempt',
  'login.throttled': 'Sign-in paused after too many failed attempts',
  logout: 'Signed out',
  'session.revoked': 'Session ended',
  'refresh.reuse_detected': 'An old sign-in token was used again; that session was ended',
  'password.changed': 'Password changed',
  'password.reset': 'Password reset from a mailed link',
  'email.verified': 'Email address confirmed',
  'email.changed': 'Email address changed',
  'user.role_changed': 'Role changed',
  'user.disabled': 'Account disabled',
  'user.enabled': 'Account enabled',
  reauthenticated: 'Password confirmed again',
  'mfa.enabled': 'Two-factor sign-in turned on',
  'mfa.disabled': 'Two-factor sign-in turned off',
  'recovery_code.used': 'Recovery code used',
  'recovery_codes.regenerated': 'New recovery codes made',
  'passkey.added': 'Passkey added',
  'passkey.removed': 'Passkey removed',
  'passkey.counter_regressed': 'A passkey sign-in was refused (possible copy of the passkey)',
};

const formatTime = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');

/** An element with text: the page builds its DOM this way only (Trusted Types forbid markup strings). */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Disables a button while its action runs, so one press sends one request. */
async function whileButtonBusy(button, action) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

/** Reports a failed call in a section's status region (nothing, when the page signed out instead). */
function reportProblem(regionId, result, fieldLabels) {
  if (!account.accessToken && result.problem.code !== 'NETWORK') return;
  const { summary, lines } = describeProblem(result, fieldLabels, ACCOUNT_NEXT_STEP);
  showMessage('error', summary, lines, regionId);
}

function renderIdentity() {
  const { user } = account;
  document.getElementById('signed-in-as').textContent = user.name ? `${user.name} (${user.email})` : user.email;
  document.getElementById('profile-name').value = user.name ?? '';
  document.getElementById('profile-email').value = user.email;
  renderTwoFactor();
}

function renderTwoFactor() {
  const on = account.user.mfa_enabled === true;
  document.getElementById('totp-state').textContent = on
    ? 'Two-factor sign-in is on: signing in with your password also asks for a code from your authenticator app.'
    : 'Two-factor sign-in is off. Turn it on so that your password alone is not enough to sign in.';
  document.getElementById('totp-start').hidden = on;
  document.getElementById('totp-manage').hidden = !on;
  if (on) document.getElementById('totp-enrol').hidden = true;
}

async function loadSessions() {
  const result = await accountApi('GET', 'auth/sessions?limit=100');
  if (!result.ok) return reportProblem('sessions-status', result);
  const list = document.getElementById('session-list');
  list.replaceChildren(
    ...result.body.items.map((session) => {
      const item = element('li', undefined, session.current ? 'current' : undefined);
      const title = element('p', session.user_agent || 'Unknown browser', 'item-title');
      if (session.current) title.append(' ', element('span', 'This device', 'badge'));
      const details = element(
        'p',
        `Signed in ${formatTime(session.created_at)} · last active ${formatTime(session.last_used_at)} · ${session.ip ?? 'unknown address'}`,
        'hint',
      );
      details.id = `session-${session.id}`;
      item.append(title, details);
      if (!session.current) {
        const end = element('button', 'End session', 'secondary');
        end.type = 'button';
        end.setAttribute('aria-describedby', details.id);
        end.addEventListener('click', () => endSession(end, session.id));
        item.append(end);
      }
      return item;
    }),
  );
}

async function endSession(button, id) {
  const result = await whileButtonBusy(button, () => accountApi('DELETE', `auth/sessions/${encodeURIComponent(id)}`));
  if (!result.ok) return reportProblem('sessions-status', result);
  showMessage('success', 'That session is ended: the device is signed out.', [], 'sessions-status');
  await Promise.all([loadSessions(), loadEvents()]);
}

async function loadEvents() {
  const result = await accountApi('GET', 'auth/events?limit=20');
  if (!result.ok) return;
  document.getElementById('event-list').replaceChildren(
    ...result.body.items.map((event) => {
      const item = element('li');
      item.dataset.type = event.type;
      item.append(
        element('p', EVENT_LABELS[event.type] ?? event.type, 'item-title'),
        element('p', `${formatTime(event.created_at)}${event.ip ? ` · ${event.ip}` : ''}`, 'hint'),
      );
      return item;
    }),
  );
}

async function loadPasskeys() {
  const result = await accountApi('GET', 'auth/passkeys');
  if (!result.ok) return reportProblem('passkeys-status', result);
  const list = document.getElementById('passkey-list');
  if (result.body.items.length === 0) {
    list.replaceChildren(element('li', 'No passkeys yet.', 'hint'));
    return;
  }
  list.replaceChildren(
    ...result.body.items.map((passkey) => {
      const item = element('li');
      const used = passkey.last_used_at ? `last used ${formatTime(passkey.last_used_at)}` : 'not used yet';
      const remove = element('button', 'Remove', 'secondary');
      remove.type = 'button';
      // The visible word starts the accessible name, which says which passkey goes.
      remove.setAttribute('aria-label', `Remove passkey ${passkey.name}`);
      remove.addEventListener('click', () => removePasskey(remove, passkey));
      item.append(
        element('p', passkey.name, 'item-title'),
        element('p', `Added ${formatTime(passkey.created_at)} · ${used}${passkey.backed_up ? ' · synced' : ''}`, 'hint'),
        remove,
      );
      return item;
    }),
  );
}

async function removePasskey(button, passkey) {
  const result = await whileButtonBusy(button, () => accountApi('DELETE', `auth/passkeys/${encodeURIComponent(passkey.id)}`));
  if (!result.ok) return reportProblem('passkeys-status', result);
  showMessage('success', `Passkey "${passkey.name}" removed: it no longer signs you in.`, [], 'passkeys-status').focus();
  await Promise.all([loadPasskeys(), loadEvents()]);
}

function showRecoveryCodes(codes) {
  document.getElementById('recovery-code-list').replaceChildren(...codes.map((code) => element('li', code)));
  document.getElementById('recovery-codes').hidden = false;
}

function hideRecoveryCodes() {
  // Out of the DOM, not only out of sight: they were to be shown once.
  document.getElementById('recovery-code-list').replaceChildren();
  document.getElementById('recovery-codes').hidden = true;
}

/** After any sign-in (password, code or passkey): tokens into memory, the account on screen. */
async function showSignedIn(body) {
  storeTokens(body);
  // Nothing of the sign-in stays in the form, for whoever uses this browser next.
  for (const id of ['login-email', 'login-password', 'mfa-code']) document.getElementById(id).value = '';
  document.getElementById('login-form').hidden = false;
  document.getElementById('mfa-form').hidden = true;
  document.getElementById('sign-in').hidden = true;
  document.getElementById('account').hidden = false;
  renderIdentity();
  // The sign-in form is gone, so the focus goes to the answer rather than being lost.
  showMessage('success', `You are signed in as ${account.user.email}.`).focus();
  await Promise.all([loadSessions(), loadEvents(), loadPasskeys()]);
}

/** Forgets the tokens and shows the sign-in form again, with `summary` in the page's status. */
function showSignedOut(kind, summary) {
  account.accessToken = null;
  account.refreshToken = null;
  account.user = null;
  hideRecoveryCodes();
  document.getElementById('totp-enrol').hidden = true;
  for (const id of ['session-list', 'event-list', 'passkey-list', 'totp-qr']) document.getElementById(id).replaceChildren();
  for (const region of document.querySelectorAll('#account [role="status"]')) region.replaceChildren();
  for (const input of document.querySelectorAll('#account input')) input.value = '';
  document.getElementById('account').hidden = true;
  document.getElementById('sign-in').hidden = false;
  document.getElementById('login-form').hidden = false;
  document.getElementById('mfa-form').hidden = true;
  showMessage(kind, summary).focus();
}

// ---------------------------------------------------------------- /account: wiring

function wireSignIn() {
  const loginForm = document.getElementById('login-form');
  const mfaForm = document.getElementById('mfa-form');
  const email = document.getElementById('login-email');
  const password = document.getElementById('login-password');
  const code = document.getElementById('mfa-code');
  const passkeyButton = document.getElementById('passkey-login');
  let mfaToken = null;

  const askForCode = (token) => {
    mfaToken = token;
    loginForm.hidden = true;
    mfaForm.hidden = false;
    password.value = '';
    showMessage('progress', 'Your password is right. Now enter the code from your authenticator app.');
    code.focus();
  };
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
    if (result.ok && result.body.mfa_required) return askForCode(result.body.mfa_token);
    if (result.ok) return showSignedIn(result.body);
    const { summary, lines } = describeProblem(result, { '/email': 'Email', '/password': 'Password' }, ACCOUNT_NEXT_STEP);
    showMessage('error', summary, lines);
    password.focus();
  });

  mfaForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Checking the code…');
    const body = { mfa_token: mfaToken, ...secondFactor(code.value) };
    const result = await whileBusy(mfaForm, () => callApi('POST', 'auth/mfa/verify', body));
    if (result.ok) {
      mfaToken = null;
      return showSignedIn(result.body);
    }
    if (result.problem.code === 'TOKEN_INVALID') {
      // The mfa_token died (5 minutes, or 5 wrong codes): the password step must be done again.
      return startAgain('error', 'Too much time has passed, or too many codes were wrong. Sign in again with your password.');
    }
    const { summary, lines } = describeProblem(result, { '/code': 'The code', '/recovery_code': 'The recovery code' }, ACCOUNT_NEXT_STEP);
    showMessage('error', summary, lines);
    code.setAttribute('aria-invalid', 'true');
    code.select();
  });
  code.addEventListener('input', () => code.removeAttribute('aria-invalid'));
  document.getElementById('mfa-cancel').addEventListener('click', () => startAgain());

  if (!passkeysSupported()) {
    document.getElementById('passkey-sign-in').hidden = true;
    return;
  }
  passkeyButton.addEventListener('click', () =>
    whileButtonBusy(passkeyButton, async () => {
      showMessage('progress', 'Follow your browser’s prompt to use your passkey…');
      const options = await callApi('POST', 'auth/passkeys/authentication/options');
      if (!options.ok) return showMessage('error', describeProblem(options, {}, ACCOUNT_NEXT_STEP).summary);
      let credential;
      try {
        credential = await navigator.credentials.get({ publicKey: requestOptionsFromJson(options.body.options) });
      } catch (error) {
        return showMessage('error', passkeyFailure(error, 'You were not signed in'));
      }
      const result = await callApi('POST', 'auth/passkeys/authentication', {
        challenge_id: options.body.challenge_id,
        response: authenticationToJson(credential),
      });
      if (result.ok) return showSignedIn(result.body);
      showMessage('error', describeProblem(result, {}, ACCOUNT_NEXT_STEP).summary);
    }),
  );
}

function wireProfile() {
  const form = document.getElementById('profile-form');
  const name = document.getElementById('profile-name');
  const email = document.getElementById('profile-email');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { user } = account;
    const patch = {};
    const newName = name.value.trim();
    if (newName !== (user.name ?? '')) patch.name = newName === '' ? null : newName;
    const newEmail = email.value.trim();
    if (newEmail.toLowerCase() !== user.email) patch.email = newEmail;
    if (Object.keys(patch).length === 0) return showMessage('success', 'Nothing to save: your profile is as shown.', [], 'profile-status');
    showMessage('progress', 'Saving…', [], 'profile-status');
    const result = await whileBusy(form, () => accountApi('PATCH', `users/${encodeURIComponent(user.id)}`, patch));
    if (!result.ok) return reportProblem('profile-status', result, { '/name': 'Name', '/email': 'Email' });
    account.user = result.body;
    renderIdentity();
    const confirm = patch.email ? ` A link to confirm ${result.body.email} is on its way to that address.` : '';
    showMessage('success', `Your profile is saved.${confirm}`, [], 'profile-status');
    await loadEvents();
  });
}

function wirePassword() {
  const form = document.getElementById('password-form');
  const current = document.getElementById('current-password');
  const next = document.getElementById('change-new-password');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Changing your password…', [], 'password-status');
    const body = { current_password: current.value, new_password: next.value };
    const result = await whileBusy(form, () => accountApi('PUT', 'auth/password', body));
    if (!result.ok) {
      reportProblem('password-status', result, { '/new_password': 'New password', '/current_password': 'Current password' });
      return (result.problem.code === 'INVALID_CREDENTIALS' ? current : next).focus();
    }
    current.value = '';
    next.value = '';
    showMessage('success', 'Your password is changed. Every other device was signed out.', [], 'password-status');
    await Promise.all([loadSessions(), loadEvents()]);
  });
}

function wireTwoFactor() {
  const startButton = document.getElementById('totp-start');
  const enrol = document.getElementById('totp-enrol');
  const confirmForm = document.getElementById('totp-confirm-form');
  const confirmCode = document.getElementById('totp-confirm-code');
  const status = 'two-factor-status';

  startButton.addEventListener('click', () =>
    whileButtonBusy(startButton, async () => {
      hideRecoveryCodes();
      const result = await accountApi('POST', 'auth/mfa/totp');
      if (!result.ok) return reportProblem(status, result);
      const qr = qrCodeElement(result.body.qr_svg);
      document
        .getElementById('totp-qr')
        .replaceChildren(...(qr ? [qr] : [element('p', 'The QR code cannot be shown here: type the key below into your app.', 'hint')]));
      // Groups of four, as apps show keys; the spaces do not matter to them.
      document.getElementById('totp-secret').textContent = result.body.secret.replace(/(.{4})(?=.)/g, '$1 ');
      enrol.hidden = false;
      confirmCode.value = '';
      showMessage('progress', 'Add the key to your app, then enter the code it shows.', [], status);
      confirmCode.focus();
    }),
  );

  confirmForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = await whileBusy(confirmForm, () => accountApi('POST', 'auth/mfa/totp/confirm', { code: confirmCode.value.trim() }));
    if (!result.ok) {
      reportProblem(status, result, { '/code': 'The code' });
      return confirmCode.focus();
    }
    enrol.hidden = true;
    document.getElementById('totp-qr').replaceChildren();
    document.getElementById('totp-secret').textContent = '';
    account.user = { ...account.user, mfa_enabled: true };
    renderTwoFactor();
    showRecoveryCodes(result.body.recovery_codes);
    showMessage('success', 'Two-factor sign-in is on. Save your recovery codes now.', [], status).focus();
    await loadEvents();
  });

  const disableButton = document.getElementById('totp-disable');
  disableButton.addEventListener('click', () =>
    whileButtonBusy(disableButton, async () => {
      const result = await accountApi('DELETE', 'auth/mfa/totp');
      if (!result.ok) return reportProblem(status, result);
      hideRecoveryCodes();
      account.user = { ...account.user, mfa_enabled: false };
      renderTwoFactor();
      showMessage('success', 'Two-factor sign-in is off, and your recovery codes no longer work.', [], status).focus();
      await loadEvents();
    }),
  );

  const regenerateButton = document.getElementById('recovery-regenerate');
  regenerateButton.addEventListener('click', () =>
    whileButtonBusy(regenerateButton, async () => {
      const result = await accountApi('POST', 'auth/mfa/recovery-codes');
      if (!result.ok) return reportProblem(status, result);
      showRecoveryCodes(result.body.recovery_codes);
      showMessage('success', 'New recovery codes are below; the old ones no longer work.', [], status).focus();
      await loadEvents();
    }),
  );

  document.getElementById('recovery-codes-done').addEventListener('click', () => {
    hideRecoveryCodes();
    showMessage('success', 'Recovery codes hidden. You can make new ones at any time.', [], status).focus();
  });
}

function wirePasskeys() {
  const form = document.getElementById('passkey-form');
  const name = document.getElementById('passkey-name');
  const status = 'passkeys-status';
  if (!passkeysSupported()) {
    form.hidden = true;
    showMessage('error', 'This browser cannot use passkeys.', [], status);
    return;
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await whileBusy(form, async () => {
      const options = await accountApi('POST', 'auth/passkeys/registration/options');
      if (!options.ok) return reportProblem(status, options);
      showMessage('progress', 'Follow your browser’s prompt to create the passkey…', [], status);
      let credential;
      try {
        credential = await navigator.credentials.create({ publicKey: creationOptionsFromJson(options.body) });
      } catch (error) {
        return showMessage('error', passkeyFailure(error, 'No passkey was added'), [], status);
      }
      const label = name.value.trim();
      const result = await accountApi('POST', 'auth/passkeys/registration', {
        response: registrationToJson(credential),
        ...(label && { name: label }),
      });
      if (!result.ok) return reportProblem(status, result, { '/name': 'Passkey name' });
      name.value = '';
      showMessage('success', `Passkey "${result.body.name}" added: you can now sign in with it.`, [], status);
      await Promise.all([loadPasskeys(), loadEvents()]);
    });
  });
}

function wireSessions() {
  const othersButton = document.getElementById('logout-others');
  othersButton.addEventListener('click', () =>
    whileButtonBusy(othersButton, async () => {
      const result = await accountApi('POST', 'auth/logout-others');
      if (!result.ok) return reportProblem('sessions-status', result);
      showMessage('success', 'Every other device is signed out; this one stays signed in.', [], 'sessions-status');
      await Promise.all([loadSessions(), loadEvents()]);
    }),
  );

  const logoutButton = document.getElementById('logout');
  logoutButton.addEventListener('click', () =>
    whileButtonBusy(logoutButton, async () => {
      // Whatever the answer, this page forgets the tokens: signing out must never fail here.
      await accountApi('POST', 'auth/logout', undefined, { stepUp: false });
      showSignedOut('success', 'You are signed out.');
    }),
  );
}

function accountPage() {
  wireSignIn();
  wireProfile();
  wirePassword();
  wireTwoFactor();
  wirePasskeys();
  wireSessions();
}

const PAGES = { 'verify-email': verifyEmailPage, 'reset-password': resetPasswordPage, account: accountPage };
PAGES[document.body.dataset.page]?.();
