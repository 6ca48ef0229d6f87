import { html, type SafeHtml } from '../../lib/page-shell.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../lib/passwords.js';

// The pages' markup. Controls start disabled: until the script has taken the token from the
// address, a submitted form would send nothing useful (or put a password into a URL).

/** The live region every page reports into (success, or what went wrong). */
const messageRegion = html`<div id="message" class="message" role="status" aria-live="polite" aria-atomic="true" tabindex="-1"></div>`;

/** /verify-email: one button, because opening the link (a GET) must change nothing. */
export function verifyEmailMain(): SafeHtml {
  return html`<p>Confirm that this email address belongs to your account. Nothing changes until you press the button.</p>
<form id="verify-form" method="post" novalidate>
<button type="submit" disabled>Confirm my email address</button>
</form>
${messageRegion}`;
}

/** /reset-password: the new password twice, with the rules the API enforces (lib/passwords.ts). */
export function resetPasswordMain(): SafeHtml {
  return html`<p>Choose a new password for your account. Afterwards every device signed in to it is signed out.</p>
<form id="reset-form" method="post">
<div class="field">
<label for="new-password">New password</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" required aria-describedby="password-rules">
</div>
<div class="field">
<label for="repeat-password">Repeat new password</label>
<input id="repeat-password" name="repeat_password" type="password" autocomplete="new-password" required>
</div>
<div id="password-rules" class="rules">
<p>Your new password must:</p>
<ul>
<li>be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long (spaces count: a few unrelated words make a good one),</li>
<li>not be a common password, such as password1234,</li>
<li>not be the same few characters over and over,</li>
<li>not contain the name part of your email address (before the @).</li>
</ul>
</div>
<button type="submit" disabled>Set new password</button>
</form>
${messageRegion}`;
}
