// /verify-email and /reset-password: the pages that mails link to, with a one-time token in
// the address. Every rule lives in the API; the page sends what the person typed and reports
// the answer.

import { callApi, describeProblem, NEXT_STEP } from './api-client.js';
import { byId, showMessage, whileBusy } from './dom.js';

// Here a TOKEN_INVALID is about the link in the mail, not about a session.
const MAIL_NEXT_STEP = {
  ...NEXT_STEP,
  TOKEN_INVALID: 'Links in mails work once and only for a limited time. Ask for a new mail and use the newest link.',
};

const MISSING_TOKEN =
  'This link is incomplete: the token from the mail is missing. Open the link from the mail again, or copy the whole of it into the address bar.';

/**
 * The mailed token, taken out of the address bar at once: it then stays in this module's
 * memory only, out of the history, bookmarks and anything that copies the address.
 */
function takeTokenFromAddress(): string | null {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
  }
  return token && /^[A-Za-z0-9_-]{1,200}$/.test(token) ? token : null;
}

const submitButton = (form: HTMLFormElement) => {
  const button = form.querySelector('button[type="submit"]');
  if (!(button instanceof HTMLButtonElement)) throw new Error(`#${form.id} has no submit button`);
  return button;
};

function verifyEmailPage(): void {
  let token = takeTokenFromAddress();
  const form = byId('verify-form', HTMLFormElement);
  if (!token) {
    form.hidden = true;
    showMessage('error', MISSING_TOKEN);
    return;
  }
  submitButton(form).disabled = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Confirming…');
    const result = await whileBusy(form, () => callApi('POST', 'auth/verify-email', { token }));
    if (result.ok) {
      token = null;
      form.hidden = true;
      showMessage('success', 'Your email address is confirmed. You can close this page.').focus();
      return;
    }
    showMessage('error', describeProblem(result, {}, MAIL_NEXT_STEP).summary);
  });
}

function resetPasswordPage(): void {
  let token = takeTokenFromAddress();
  const form = byId('reset-form', HTMLFormElement);
  const password = byId('new-password', HTMLInputElement);
  const repeat = byId('repeat-password', HTMLInputElement);
  if (!token) {
    form.hidden = true;
    showMessage('error', MISSING_TOKEN);
    return;
  }
  const markInvalid = (inputs: HTMLInputElement[]) => {
    for (const input of [password, repeat]) {
      if (inputs.includes(input)) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    inputs[0]?.focus();
  };
  submitButton(form).disabled = false;
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
    const { summary, lines, fields } = describeProblem(result, { '/new_password': 'New password' }, MAIL_NEXT_STEP);
    showMessage('error', summary, lines);
    markInvalid(fields.includes('/new_password') ? [password] : []);
  });
}

if (document.body.dataset.page === 'verify-email') verifyEmailPage();
else if (document.body.dataset.page === 'reset-password') resetPasswordPage();
