import { html, type SafeHtml } from '../../lib/page-shell.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../lib/passwords.js';
import { EVENT_TYPES } from '../events/events.repository.js';

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

/** A section's own live region, so a message appears next to the control that caused it. */
const sectionStatus = (id: string) =>
  html`<div id="${id}" class="message" role="status" aria-live="polite" aria-atomic="true" tabindex="-1"></div>`;

/**
 * The sign-in of /account and /admin: password first, then (when the API answers mfa_required)
 * a code; or a passkey. The same ids and labels on both pages, which the one sign-in module of
 * their scripts (src/pages/sign-in.ts) and the tests rely on.
 */
function signInForms(options: { heading: string; emailAutocomplete: string; codeHelp: string }): SafeHtml {
  return html`<section id="sign-in" aria-labelledby="sign-in-heading">
<h2 id="sign-in-heading">${options.heading}</h2>
<form id="login-form" method="post">
<div class="field">
<label for="login-email">Email</label>
<input id="login-email" name="email" type="email" autocomplete="${options.emailAutocomplete}" required>
</div>
<div class="field">
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required>
</div>
<button type="submit">Sign in</button>
</form>
<form id="mfa-form" method="post" hidden>
<p>Two-factor sign-in is on for this account.</p>
<div class="field">
<label for="mfa-code">Sign-in code</label>
<input id="mfa-code" name="code" type="text" inputmode="text" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required aria-describedby="mfa-code-help">
<p id="mfa-code-help" class="hint">${options.codeHelp}</p>
</div>
<button type="submit">Continue</button>
<button type="button" id="mfa-cancel" class="secondary">Start again</button>
</form>
<div id="passkey-sign-in">
<p class="divider">or</p>
<button type="button" id="passkey-login" class="secondary">Sign in with a passkey</button>
</div>
</section>`;
}

/** Who is signed in, and the way out: the top of /account and /admin once signed in. */
const signedInBar = html`<section aria-labelledby="signed-in-heading" class="signed-in">
<h2 id="signed-in-heading" class="visually-hidden">Signed in</h2>
<p>Signed in as <strong id="signed-in-as"></strong></p>
<button type="button" id="logout">Sign out</button>
</section>`;

/**
 * The step-up dialog (RFC 9470) of /account and /admin: a route answered REAUTHENTICATION_REQUIRED,
 * so the script asks for the password (and a code when two-factor sign-in is on), calls
 * POST /auth/reauthenticate and retries the request once (src/pages/step-up-dialog.ts).
 */
const reauthDialog = html`<dialog id="reauth-dialog" aria-labelledby="reauth-heading">
<form id="reauth-form" method="dialog">
<h2 id="reauth-heading">Confirm it is you</h2>
<p>This change needs a recent sign-in. Enter your password to continue; nothing changes if you cancel.</p>
<div class="field">
<label for="reauth-password">Password</label>
<input id="reauth-password" name="password" type="password" autocomplete="current-password" required>
</div>
<div class="field" id="reauth-code-field" hidden>
<label for="reauth-code">Sign-in code</label>
<input id="reauth-code" name="code" type="text" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" aria-describedby="reauth-code-help">
<p id="reauth-code-help" class="hint">The 6-digit code from your authenticator app, or a recovery code.</p>
</div>
<div id="reauth-status" class="message" role="alert" tabindex="-1"></div>
<div class="actions">
<button type="submit" value="confirm">Confirm</button>
<button type="button" id="reauth-cancel" class="secondary">Cancel</button>
</div>
</form>
</dialog>`;

/**
 * /account: sign-in (password, then a code when two-factor is on; or a passkey), then the
 * account's settings. Everything after sign-in starts hidden: the script shows it once it holds
 * tokens (in memory only), and every rule is the API's.
 */
export function accountMain(): SafeHtml {
  return html`${messageRegion}
${signInForms({
  heading: 'Sign in',
  // "webauthn": the browser may offer the account's passkeys right in the email field.
  emailAutocomplete: 'username webauthn',
  codeHelp: 'The 6-digit code from your authenticator app, or one of your recovery codes if you do not have the app at hand.',
})}

<div id="account" hidden>
${signedInBar}

<section id="profile" aria-labelledby="profile-heading">
<h2 id="profile-heading">Profile</h2>
<form id="profile-form" method="post">
<div class="field">
<label for="profile-name">Name</label>
<input id="profile-name" name="name" type="text" autocomplete="name" maxlength="100">
</div>
<div class="field">
<label for="profile-email">Email</label>
<input id="profile-email" name="email" type="email" autocomplete="email" required aria-describedby="profile-email-help">
<p id="profile-email-help" class="hint">Changing it asks for your password again, and sends a confirmation link to the new address.</p>
</div>
<button type="submit">Save profile</button>
</form>
${sectionStatus('profile-status')}
</section>

<section id="password" aria-labelledby="password-heading">
<h2 id="password-heading">Password</h2>
<form id="password-form" method="post">
<div class="field">
<label for="current-password">Current password</label>
<input id="current-password" name="current_password" type="password" autocomplete="current-password" required>
</div>
<div class="field">
<label for="change-new-password">New password</label>
<input id="change-new-password" name="new_password" type="password" autocomplete="new-password" required aria-describedby="change-password-rules">
<p id="change-password-rules" class="hint">${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not a common password. Every other device is signed out.</p>
</div>
<button type="submit">Change password</button>
</form>
${sectionStatus('password-status')}
</section>

<section id="two-factor" aria-labelledby="two-factor-heading">
<h2 id="two-factor-heading">Two-factor sign-in</h2>
<p id="totp-state"></p>
<button type="button" id="totp-start">Turn on two-factor sign-in</button>
<div id="totp-enrol" hidden>
<p>Scan this QR code with your authenticator app, or type the key into it.</p>
<figure id="totp-qr" class="qr"></figure>
<p>Key: <code id="totp-secret" class="secret"></code></p>
<form id="totp-confirm-form" method="post">
<div class="field">
<label for="totp-confirm-code">Code from the app</label>
<input id="totp-confirm-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
</div>
<button type="submit">Confirm and turn on</button>
</form>
</div>
<div id="recovery-codes" hidden>
<h3 id="recovery-codes-heading">Your recovery codes</h3>
<p class="note">Keep these ten codes somewhere safe, away from your phone: each one signs you in once if you lose the app. <strong>They are shown only now.</strong></p>
<ol id="recovery-code-list" class="codes" aria-labelledby="recovery-codes-heading"></ol>
<button type="button" id="recovery-codes-done" class="secondary">I have saved them</button>
</div>
<div id="totp-manage" hidden>
<button type="button" id="recovery-regenerate" class="secondary">Get new recovery codes</button>
<button type="button" id="totp-disable" class="danger">Turn off two-factor sign-in</button>
</div>
${sectionStatus('two-factor-status')}
</section>

<section id="passkeys" aria-labelledby="passkeys-heading">
<h2 id="passkeys-heading">Passkeys</h2>
<p class="hint">A passkey signs you in with your device's screen lock, without a password.</p>
<ul id="passkey-list" class="items" aria-labelledby="passkeys-heading"></ul>
<form id="passkey-form" method="post">
<div class="field">
<label for="passkey-name">Passkey name</label>
<input id="passkey-name" name="name" type="text" maxlength="100" placeholder="e.g. Work laptop">
</div>
<button type="submit">Add a passkey</button>
</form>
${sectionStatus('passkeys-status')}
</section>

<section id="sessions" aria-labelledby="sessions-heading">
<h2 id="sessions-heading">Where you are signed in</h2>
<ul id="session-list" class="items" aria-labelledby="sessions-heading"></ul>
<button type="button" id="logout-others" class="secondary">Sign out everywhere else</button>
${sectionStatus('sessions-status')}
</section>

<section id="events" aria-labelledby="events-heading">
<h2 id="events-heading">Recent security activity</h2>
<ol id="event-list" class="items" aria-labelledby="events-heading"></ol>
</section>
</div>

${reauthDialog}`;
}

/**
 * /admin: the operator's console. Sign-in as on /account; then users (search, pages, a user's
 * detail and actions), security events, signing keys and this instance's status (GET /admin/status). Everything after sign-in starts
 * hidden; whether the person may see any of it is the API's answer (403 for a non-admin).
 */
export function adminMain(): SafeHtml {
  return html`${messageRegion}
${signInForms({
  heading: 'Admin sign-in',
  emailAutocomplete: 'username',
  codeHelp: 'The 6-digit code from your authenticator app, or a recovery code.',
})}

<div id="console" hidden>
${signedInBar}

<section id="users" aria-labelledby="users-heading">
<h2 id="users-heading">Users</h2>
<form id="user-search" method="get" role="search">
<div class="field">
<label for="user-query">Search by email or name</label>
<input id="user-query" name="q" type="search" maxlength="200">
</div>
<button type="submit">Search</button>
</form>
<div class="table-wrap">
<table id="user-table" aria-labelledby="users-heading">
<thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Status</th></tr></thead>
<tbody id="user-rows"></tbody>
</table>
</div>
<nav class="pager" aria-label="Pages of users">
<button type="button" id="users-prev" class="secondary" hidden>Previous page</button>
<p id="users-page" tabindex="-1"></p>
<button type="button" id="users-next" class="secondary" hidden>Next page</button>
</nav>
${sectionStatus('users-status')}
</section>

<section id="user-detail" aria-labelledby="user-detail-heading" hidden>
<h2 id="user-detail-heading"></h2>
<dl id="user-facts" class="facts"></dl>
<form id="role-form" method="post">
<div class="field">
<label for="user-role">Role</label>
<select id="user-role" name="role"><option value="user">user</option><option value="admin">admin</option></select>
</div>
<button type="submit">Change role</button>
</form>
<div class="actions wrap">
<button type="button" id="user-toggle-disabled" class="danger"></button>
<button type="button" id="user-end-sessions" class="secondary">End all sessions</button>
<button type="button" id="user-reset-mfa" class="secondary">Reset two-factor sign-in</button>
<button type="button" id="user-delete" class="danger">Delete user</button>
</div>
${sectionStatus('user-status')}
<h3 id="user-sessions-heading">Live sessions</h3>
<ul id="user-sessions" class="items" aria-labelledby="user-sessions-heading"></ul>
<h3 id="user-events-heading">Their security events</h3>
<ol id="user-events" class="items" aria-labelledby="user-events-heading"></ol>
</section>

<section id="events" aria-labelledby="events-heading">
<h2 id="events-heading">Security events</h2>
<form id="event-filter" method="get">
<div class="field">
<label for="event-type">Type</label>
<select id="event-type" name="type"><option value="">All types</option>${EVENT_TYPES.map((type) => html`<option value="${type}">${type}</option>`)}</select>
</div>
<button type="submit">Show events</button>
</form>
<ol id="event-list" class="items" aria-labelledby="events-heading"></ol>
<button type="button" id="events-next" class="secondary" hidden>More events</button>
${sectionStatus('events-status')}
</section>

<section id="keys" aria-labelledby="keys-heading">
<h2 id="keys-heading">Signing keys</h2>
<div class="table-wrap">
<table aria-labelledby="keys-heading">
<thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th><th scope="col">Created</th><th scope="col">State</th></tr></thead>
<tbody id="key-rows"></tbody>
</table>
</div>
<button type="button" id="keys-rotate" class="secondary">Rotate signing key</button>
${sectionStatus('keys-status')}
</section>

<section id="status" aria-labelledby="status-heading">
<h2 id="status-heading">Status</h2>
<p id="status-text"></p>
<dl id="status-facts" class="facts" aria-labelledby="status-heading"></dl>
<button type="button" id="status-check" class="secondary">Check again</button>
</section>
</div>

<dialog id="confirm-dialog" aria-labelledby="confirm-heading">
<form id="confirm-form" method="dialog">
<h2 id="confirm-heading">Are you sure?</h2>
<p id="confirm-text"></p>
<div class="actions">
<button type="submit" id="confirm-yes" class="danger" value="confirm">Confirm</button>
<button type="button" id="confirm-cancel" class="secondary">Cancel</button>
</div>
</form>
</dialog>

${reauthDialog}`;
}
