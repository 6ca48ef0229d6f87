// /account: a person signs in (sign-in.ts) and looks after their account through the API:
// profile, password, two-factor sign-in, passkeys, sessions, security events. Every rule is
// the API's; the page sends what the person typed and reports the answer.

import { type ApiFailure, describeProblem, type Page, SESSION_ENDED, Session, type Tokens, type User } from './api-client.js';
import { byId, element, formatTime, type MessageKind, showMessage, whileBusy } from './dom.js';
import { qrCodeElement } from './qr-code.js';
import { resetSignIn, wireSignIn } from './sign-in.js';
import { askToReauthenticate } from './step-up-dialog.js';
import { createCredential, passkeyFailure, passkeysSupported } from './webauthn.js';

interface SessionItem {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}
interface SecurityEvent {
  type: string;
  created_at: string;
  ip: string | null;
}
interface Passkey {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  backed_up: boolean;
}

const EVENT_LABELS: Readonly<Record<string, string>> = {
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

const session = new Session({
  onEnded: () => showSignedOut('error', SESSION_ENDED),
  reauthenticate: askToReauthenticate,
});

/** The signed-in user; only called while signed in. */
function currentUser(): User {
  if (!session.user) throw new Error('no user is signed in');
  return session.user;
}

/** Reports a failed call in a section's status region (nothing, when the page signed out instead). */
function reportProblem(regionId: string, result: ApiFailure, fieldLabels?: Record<string, string>): void {
  if (!session.signedIn && result.problem.code !== 'NETWORK') return;
  const { summary, lines } = describeProblem(result, fieldLabels);
  showMessage('error', summary, lines, regionId);
}

function renderIdentity(): void {
  const user = currentUser();
  byId('signed-in-as', HTMLElement).textContent = user.name ? `${user.name} (${user.email})` : user.email;
  byId('profile-name', HTMLInputElement).value = user.name ?? '';
  byId('profile-email', HTMLInputElement).value = user.email;
  renderTwoFactor();
}

function renderTwoFactor(): void {
  const on = currentUser().mfa_enabled;
  byId('totp-state', HTMLElement).textContent = on
    ? 'Two-factor sign-in is on: signing in with your password also asks for a code from your authenticator app.'
    : 'Two-factor sign-in is off. Turn it on so that your password alone is not enough to sign in.';
  byId('totp-start', HTMLButtonElement).hidden = on;
  byId('totp-manage', HTMLElement).hidden = !on;
  if (on) byId('totp-enrol', HTMLElement).hidden = true;
}

async function loadSessions(): Promise<void> {
  const result = await session.request<Page<SessionItem>>('GET', 'auth/sessions?limit=100');
  if (!result.ok) return reportProblem('sessions-status', result);
  byId('session-list', HTMLElement).replaceChildren(
    ...result.body.items.map((item) => {
      const row = element('li', undefined, item.current ? 'current' : undefined);
      const title = element('p', item.user_agent || 'Unknown browser', 'item-title');
      if (item.current) title.append(' ', element('span', 'This device', 'badge'));
      const details = element(
        'p',
        `Signed in ${formatTime(item.created_at)} · last active ${formatTime(item.last_used_at)} · ${item.ip ?? 'unknown address'}`,
        'hint',
      );
      details.id = `session-${item.id}`;
      row.append(title, details);
      if (!item.current) {
        const end = element('button', 'End session', 'secondary');
        end.type = 'button';
        end.setAttribute('aria-describedby', details.id);
        end.addEventListener('click', () => endSession(end, item.id));
        row.append(end);
      }
      return row;
    }),
  );
}

async function endSession(button: HTMLButtonElement, id: string): Promise<void> {
  const result = await whileBusy(button, () => session.request('DELETE', `auth/sessions/${encodeURIComponent(id)}`));
  if (!result.ok) return reportProblem('sessions-status', result);
  showMessage('success', 'That session is ended: the device is signed out.', [], 'sessions-status');
  await Promise.all([loadSessions(), loadEvents()]);
}

async function loadEvents(): Promise<void> {
  const result = await session.request<Page<SecurityEvent>>('GET', 'auth/events?limit=20');
  if (!result.ok) return;
  byId('event-list', HTMLElement).replaceChildren(
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

async function loadPasskeys(): Promise<void> {
  const result = await session.request<Page<Passkey>>('GET', 'auth/passkeys');
  if (!result.ok) return reportProblem('passkeys-status', result);
  const list = byId('passkey-list', HTMLElement);
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

async function removePasskey(button: HTMLButtonElement, passkey: Passkey): Promise<void> {
  const result = await whileBusy(button, () => session.request('DELETE', `auth/passkeys/${encodeURIComponent(passkey.id)}`));
  if (!result.ok) return reportProblem('passkeys-status', result);
  showMessage('success', `Passkey "${passkey.name}" removed: it no longer signs you in.`, [], 'passkeys-status').focus();
  await Promise.all([loadPasskeys(), loadEvents()]);
}

function showRecoveryCodes(codes: readonly string[]): void {
  byId('recovery-code-list', HTMLElement).replaceChildren(...codes.map((code) => element('li', code)));
  byId('recovery-codes', HTMLElement).hidden = false;
}

function hideRecoveryCodes(): void {
  // Out of the DOM, not only out of sight: they were to be shown once.
  byId('recovery-code-list', HTMLElement).replaceChildren();
  byId('recovery-codes', HTMLElement).hidden = true;
}

/** After any sign-in (password, code or passkey): tokens into memory, the account on screen. */
async function showSignedIn(tokens: Tokens): Promise<void> {
  session.store(tokens);
  byId('sign-in', HTMLElement).hidden = true;
  byId('account', HTMLElement).hidden = false;
  renderIdentity();
  // The sign-in form is gone, so the focus goes to the answer rather than being lost.
  showMessage('success', `You are signed in as ${currentUser().email}.`).focus();
  await Promise.all([loadSessions(), loadEvents(), loadPasskeys()]);
}

/** Forgets the tokens and shows the sign-in form again, with `summary` in the page's status. */
function showSignedOut(kind: MessageKind, summary: string): void {
  session.forget();
  hideRecoveryCodes();
  byId('totp-enrol', HTMLElement).hidden = true;
  for (const id of ['session-list', 'event-list', 'passkey-list', 'totp-qr']) byId(id, HTMLElement).replaceChildren();
  for (const region of document.querySelectorAll('#account [role="status"]')) region.replaceChildren();
  for (const input of document.querySelectorAll<HTMLInputElement>('#account input')) input.value = '';
  byId('account', HTMLElement).hidden = true;
  resetSignIn();
  showMessage(kind, summary).focus();
}

function wireProfile(): void {
  const form = byId('profile-form', HTMLFormElement);
  const name = byId('profile-name', HTMLInputElement);
  const email = byId('profile-email', HTMLInputElement);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const user = currentUser();
    const patch: { name?: string | null; email?: string } = {};
    const newName = name.value.trim();
    if (newName !== (user.name ?? '')) patch.name = newName === '' ? null : newName;
    const newEmail = email.value.trim();
    if (newEmail.toLowerCase() !== user.email) patch.email = newEmail;
    if (Object.keys(patch).length === 0) {
      showMessage('success', 'Nothing to save: your profile is as shown.', [], 'profile-status');
      return;
    }
    showMessage('progress', 'Saving…', [], 'profile-status');
    const result = await whileBusy(form, () => session.request<User>('PATCH', `users/${encodeURIComponent(user.id)}`, patch));
    if (!result.ok) return reportProblem('profile-status', result, { '/name': 'Name', '/email': 'Email' });
    session.user = result.body;
    renderIdentity();
    const confirm = patch.email ? ` A link to confirm ${result.body.email} is on its way to that address.` : '';
    showMessage('success', `Your profile is saved.${confirm}`, [], 'profile-status');
    await loadEvents();
  });
}

function wirePassword(): void {
  const form = byId('password-form', HTMLFormElement);
  const current = byId('current-password', HTMLInputElement);
  const next = byId('change-new-password', HTMLInputElement);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Changing your password…', [], 'password-status');
    const body = { current_password: current.value, new_password: next.value };
    const result = await whileBusy(form, () => session.request('PUT', 'auth/password', body));
    if (!result.ok) {
      reportProblem('password-status', result, { '/new_password': 'New password', '/current_password': 'Current password' });
      (result.problem.code === 'INVALID_CREDENTIALS' ? current : next).focus();
      return;
    }
    current.value = '';
    next.value = '';
    showMessage('success', 'Your password is changed. Every other device was signed out.', [], 'password-status');
    await Promise.all([loadSessions(), loadEvents()]);
  });
}

function wireTwoFactor(): void {
  const startButton = byId('totp-start', HTMLButtonElement);
  const enrol = byId('totp-enrol', HTMLElement);
  const confirmForm = byId('totp-confirm-form', HTMLFormElement);
  const confirmCode = byId('totp-confirm-code', HTMLInputElement);
  const status = 'two-factor-status';
  const setMfa = (on: boolean) => {
    session.user = { ...currentUser(), mfa_enabled: on };
    renderTwoFactor();
  };

  startButton.addEventListener('click', () =>
    whileBusy(startButton, async () => {
      hideRecoveryCodes();
      const result = await session.request<{ secret: string; qr_svg: string }>('POST', 'auth/mfa/totp');
      if (!result.ok) return reportProblem(status, result);
      const qr = qrCodeElement(result.body.qr_svg);
      byId('totp-qr', HTMLElement).replaceChildren(
        ...(qr ? [qr] : [element('p', 'The QR code cannot be shown here: type the key below into your app.', 'hint')]),
      );
      // Groups of four, as apps show keys; the spaces do not matter to them.
      byId('totp-secret', HTMLElement).textContent = result.body.secret.replace(/(.{4})(?=.)/g, '$1 ');
      enrol.hidden = false;
      confirmCode.value = '';
      showMessage('progress', 'Add the key to your app, then enter the code it shows.', [], status);
      confirmCode.focus();
    }),
  );

  confirmForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = await whileBusy(confirmForm, () =>
      session.request<{ recovery_codes: string[] }>('POST', 'auth/mfa/totp/confirm', { code: confirmCode.value.trim() }),
    );
    if (!result.ok) {
      reportProblem(status, result, { '/code': 'The code' });
      confirmCode.focus();
      return;
    }
    enrol.hidden = true;
    byId('totp-qr', HTMLElement).replaceChildren();
    byId('totp-secret', HTMLElement).textContent = '';
    setMfa(true);
    showRecoveryCodes(result.body.recovery_codes);
    showMessage('success', 'Two-factor sign-in is on. Save your recovery codes now.', [], status).focus();
    await loadEvents();
  });

  const disableButton = byId('totp-disable', HTMLButtonElement);
  disableButton.addEventListener('click', () =>
    whileBusy(disableButton, async () => {
      const result = await session.request('DELETE', 'auth/mfa/totp');
      if (!result.ok) return reportProblem(status, result);
      hideRecoveryCodes();
      setMfa(false);
      showMessage('success', 'Two-factor sign-in is off, and your recovery codes no longer work.', [], status).focus();
      await loadEvents();
    }),
  );

  const regenerateButton = byId('recovery-regenerate', HTMLButtonElement);
  regenerateButton.addEventListener('click', () =>
    whileBusy(regenerateButton, async () => {
      const result = await session.request<{ recovery_codes: string[] }>('POST', 'auth/mfa/recovery-codes');
      if (!result.ok) return reportProblem(status, result);
      showRecoveryCodes(result.body.recovery_codes);
      showMessage('success', 'New recovery codes are below; the old ones no longer work.', [], status).focus();
      await loadEvents();
    }),
  );

  byId('recovery-codes-done', HTMLButtonElement).addEventListener('click', () => {
    hideRecoveryCodes();
    showMessage('success', 'Recovery codes hidden. You can make new ones at any time.', [], status).focus();
  });
}

function wirePasskeys(): void {
  const form = byId('passkey-form', HTMLFormElement);
  const name = byId('passkey-name', HTMLInputElement);
  const status = 'passkeys-status';
  if (!passkeysSupported()) {
    form.hidden = true;
    showMessage('error', 'This browser cannot use passkeys.', [], status);
    return;
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await whileBusy(form, async () => {
      const options = await session.request<PublicKeyCredentialCreationOptionsJSON>('POST', 'auth/passkeys/registration/options');
      if (!options.ok) return reportProblem(status, options);
      showMessage('progress', 'Follow your browser’s prompt to create the passkey…', [], status);
      const created = await createCredential(options.body);
      if (!created.ok) return void showMessage('error', passkeyFailure(created.error, 'No passkey was added'), [], status);
      const label = name.value.trim();
      const result = await session.request<Passkey>('POST', 'auth/passkeys/registration', {
        response: created.response,
        ...(label && { name: label }),
      });
      if (!result.ok) return reportProblem(status, result, { '/name': 'Passkey name' });
      name.value = '';
      showMessage('success', `Passkey "${result.body.name}" added: you can now sign in with it.`, [], status);
      await Promise.all([loadPasskeys(), loadEvents()]);
    });
  });
}

function wireSessions(): void {
  const othersButton = byId('logout-others', HTMLButtonElement);
  othersButton.addEventListener('click', () =>
    whileBusy(othersButton, async () => {
      const result = await session.request('POST', 'auth/logout-others');
      if (!result.ok) return reportProblem('sessions-status', result);
      showMessage('success', 'Every other device is signed out; this one stays signed in.', [], 'sessions-status');
      await Promise.all([loadSessions(), loadEvents()]);
    }),
  );

  const logoutButton = byId('logout', HTMLButtonElement);
  logoutButton.addEventListener('click', () =>
    whileBusy(logoutButton, async () => {
      await session.signOut();
      showSignedOut('success', 'You are signed out.');
    }),
  );
}

if (document.body.dataset.page === 'account') {
  wireSignIn(showSignedIn);
  wireProfile();
  wirePassword();
  wireTwoFactor();
  wirePasskeys();
  wireSessions();
}
