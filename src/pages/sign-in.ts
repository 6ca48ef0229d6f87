// The sign-in of /account and /admin (the forms of signInForms() in the server's views):
// email and password, then a TOTP or recovery code when the API answers mfa_required; or a
// passkey, without an email. What happens once signed in is the page's (`onSignedIn`).

import { callApi, describeProblem, type LoginAnswer, secondFactor, type Tokens } from './api-client.js';
import { byId, showMessage, whileBusy } from './dom.js';
import { getAssertion, passkeyFailure, passkeysSupported } from './webauthn.js';

const FIELD_LABELS = { '/email': 'Email', '/password': 'Password', '/code': 'The code', '/recovery_code': 'The recovery code' };

/** Shows the password form again, empty: after sign-out, and after a sign-in the page refused. */
export function resetSignIn(): void {
  for (const id of ['login-email', 'login-password', 'mfa-code']) byId(id, HTMLInputElement).value = '';
  byId('login-form', HTMLFormElement).hidden = false;
  byId('mfa-form', HTMLFormElement).hidden = true;
  byId('sign-in', HTMLElement).hidden = false;
}

/** Wires the sign-in forms; `onSignedIn` gets the tokens of every successful sign-in, whichever the way. */
export function wireSignIn(onSignedIn: (tokens: Tokens) => Promise<void>): void {
  const loginForm = byId('login-form', HTMLFormElement);
  const mfaForm = byId('mfa-form', HTMLFormElement);
  const email = byId('login-email', HTMLInputElement);
  const password = byId('login-password', HTMLInputElement);
  const code = byId('mfa-code', HTMLInputElement);
  let mfaToken: string | null = null;

  const signedIn = (tokens: Tokens) => {
    // Nothing of the sign-in stays in the form, for whoever uses this browser next.
    mfaToken = null;
    password.value = '';
    code.value = '';
    mfaForm.hidden = true;
    loginForm.hidden = false;
    return onSignedIn(tokens);
  };
  const startAgain = (summary?: string) => {
    mfaToken = null;
    code.value = '';
    mfaForm.hidden = true;
    loginForm.hidden = false;
    if (summary) showMessage('error', summary);
    password.focus();
  };

  loginForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Signing in…');
    const result = await whileBusy(loginForm, () =>
      callApi<LoginAnswer>('POST', 'auth/login', { email: email.value, password: password.value }),
    );
    if (!result.ok) {
      const { summary, lines } = describeProblem(result, FIELD_LABELS);
      showMessage('error', summary, lines);
      password.focus();
      return;
    }
    if ('mfa_required' in result.body) {
      mfaToken = result.body.mfa_token;
      loginForm.hidden = true;
      mfaForm.hidden = false;
      password.value = '';
      showMessage('progress', 'Your password is right. Now enter the code from your authenticator app.');
      code.focus();
      return;
    }
    await signedIn(result.body);
  });

  mfaForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    showMessage('progress', 'Checking the code…');
    const body = { mfa_token: mfaToken, ...secondFactor(code.value) };
    const result = await whileBusy(mfaForm, () => callApi<Tokens>('POST', 'auth/mfa/verify', body));
    if (result.ok) return signedIn(result.body);
    if (result.problem.code === 'TOKEN_INVALID') {
      // The mfa_token died (5 minutes, or 5 wrong codes): the password step must be done again.
      return startAgain('Too much time has passed, or too many codes were wrong. Sign in again with your password.');
    }
    const { summary, lines } = describeProblem(result, FIELD_LABELS);
    showMessage('error', summary, lines);
    code.setAttribute('aria-invalid', 'true');
    code.select();
  });
  code.addEventListener('input', () => code.removeAttribute('aria-invalid'));
  byId('mfa-cancel', HTMLButtonElement).addEventListener('click', () => startAgain());

  const passkeyButton = byId('passkey-login', HTMLButtonElement);
  if (!passkeysSupported()) {
    byId('passkey-sign-in', HTMLElement).hidden = true;
    return;
  }
  passkeyButton.addEventListener('click', () =>
    whileBusy(passkeyButton, async () => {
      showMessage('progress', 'Follow your browser’s prompt to use your passkey…');
      const options = await callApi<{ challenge_id: string; options: PublicKeyCredentialRequestOptionsJSON }>(
        'POST',
        'auth/passkeys/authentication/options',
      );
      if (!options.ok) return void showMessage('error', describeProblem(options).summary);
      const assertion = await getAssertion(options.body.options);
      if (!assertion.ok) return void showMessage('error', passkeyFailure(assertion.error, 'You were not signed in'));
      const result = await callApi<Tokens>('POST', 'auth/passkeys/authentication', {
        challenge_id: options.body.challenge_id,
        response: assertion.response,
      });
      if (!result.ok) return void showMessage('error', describeProblem(result).summary);
      await signedIn(result.body);
    }),
  );
}
