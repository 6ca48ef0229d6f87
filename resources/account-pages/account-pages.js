// The behaviour of Gatehouse's account pages (src/modules/account-pages). A plain ES module with
// no dependencies: the pages' CSP allows only this file to run, nothing inline. Every rule lives
// in the API; the page sends what the person typed and reports the answer.

// ---------------------------------------------------------------- API client

/**
 * Requests are relative to the page, so they follow it when a proxy serves Gatehouse under a
 * path prefix. Resolves to {ok: true, status, body} or {ok: false, status, problem}; never
 * throws, so every caller has exactly two cases to handle.
 */
async function callApi(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
};

/**
 * Turns a problem+json answer into what a person reads: a summary and, for VALIDATION_FAILED,
 * one line per field named by its label (`fieldLabels` maps the problem's JSON pointer).
 */
function describeProblem(result, fieldLabels = {}) {
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
  } else if (NEXT_STEP[problem.code]) {
    parts.push(NEXT_STEP[problem.code]);
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
function showMessage(kind, summary, lines = []) {
  const region = document.getElementById('message');
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

const PAGES = { 'verify-email': verifyEmailPage, 'reset-password': resetPasswordPage };
PAGES[document.body.dataset.page]?.();
