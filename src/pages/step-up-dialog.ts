// The step-up dialog (RFC 9470) of /account and /admin. A route answered
// REAUTHENTICATION_REQUIRED: the person confirms their password (and a code when two-factor
// sign-in is on) through POST /auth/reauthenticate, and Session.request retries the change once.

import { describeProblem, type Reauthentication, type Session, secondFactor } from './api-client.js';
import { byId, element, whileBusy } from './dom.js';
import { openModal } from './modal.js';

/** Opens the dialog; resolves true once `session` holds fresh tokens, false when cancelled (nothing was sent again). */
export function askToReauthenticate(session: Session): Promise<boolean> {
  const dialog = byId('reauth-dialog', HTMLDialogElement);
  const form = byId('reauth-form', HTMLFormElement);
  const password = byId('reauth-password', HTMLInputElement);
  const code = byId('reauth-code', HTMLInputElement);
  const status = byId('reauth-status', HTMLElement);
  // The API asks for a code exactly when two-factor sign-in is on; the page knows it from the user.
  const needsCode = session.user?.mfa_enabled === true;
  byId('reauth-code-field', HTMLElement).hidden = !needsCode;
  code.required = needsCode;
  password.value = '';
  code.value = '';
  status.replaceChildren();
  status.className = 'message';

  const answered = openModal<boolean>({
    dialog,
    form,
    cancel: byId('reauth-cancel', HTMLButtonElement),
    initialFocus: password,
    cancelled: false,
    async onSubmit(finish) {
      const credentials: Reauthentication = { password: password.value, ...(needsCode ? secondFactor(code.value) : {}) };
      const result = await whileBusy(form, () => session.reauthenticate(credentials));
      if (result.ok) return finish(true);
      // The session itself is over (the page has signed out): nothing to confirm any more.
      if (!session.signedIn) return finish(false);
      status.className = 'message error';
      // The API's wording covers sign-in ("email or password"); here only the password was typed.
      status.replaceChildren(
        element(
          'p',
          result.problem.code === 'INVALID_CREDENTIALS'
            ? 'The password is incorrect. Try again.'
            : describeProblem(result, { '/password': 'Password', '/code': 'The code', '/recovery_code': 'The recovery code' }).summary,
        ),
      );
      (result.problem.code === 'MFA_CODE_INVALID' ? code : password).focus();
    },
  });
  // Neither the password nor the code stays in the page once the dialog is closed.
  return answered.finally(() => {
    password.value = '';
    code.value = '';
  });
}
