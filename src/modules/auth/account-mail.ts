import type { Executor } from '../../db/executor.js';
import { isoAfter, nowIso } from '../../lib/ids.js';
import type { Mail, Mailer } from '../../lib/mailer.js';
import { generateOpaqueToken, hashOpaqueToken } from '../../lib/opaque-tokens.js';
import { escapeHtml } from '../../lib/page-shell.js';
import { insertAccountToken } from './auth.repository.js';

export interface AccountMailDeps {
  mailer: Mailer;
  /** Base of the links in mails, without a trailing slash. */
  publicUrl: string;
  passwordResetTtlSeconds: number;
  emailVerificationTtlSeconds: number;
}

/** A mail to queue once the transaction that stored its token has committed. */
export type PendingMail = () => void;

const APP = 'Gatehouse';

/**
 * The account mails (verification, password reset, email-changed notice) and the tokens they
 * carry. Tokens are stored hashed; the plain token only ever exists in the queued mail.
 */
export function createAccountMail(deps: AccountMailDeps) {
  const { mailer, publicUrl, passwordResetTtlSeconds, emailVerificationTtlSeconds } = deps;

  /**
   * Stores a verification token for `email` with the caller's executor (inside its transaction),
   * and returns the mail to send after commit, so a rolled-back change mails nobody.
   */
  async function prepareEmailVerification(db: Executor, userId: string, email: string): Promise<PendingMail> {
    const token = generateOpaqueToken();
    const now = nowIso();
    await insertAccountToken(db, {
      token_hash: hashOpaqueToken(token),
      user_id: userId,
      purpose: 'email_verification',
      email,
      created_at: now,
      expires_at: isoAfter(now, emailVerificationTtlSeconds),
      used_at: null,
    });
    return () => mailer.send(emailVerificationMail(email, token));
  }

  function emailVerificationMail(to: string, token: string): Mail {
    const link = `${publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
    const lifetime = describeSeconds(emailVerificationTtlSeconds);
    return compose({
      kind: 'email_verification',
      to,
      subject: `Confirm your email address for ${APP}`,
      paragraphs: [
        `Please confirm that ${to} is your address for your ${APP} account.`,
        { text: 'Confirm it here', link, after: `(the link works once, for ${lifetime}):` },
        `Or send this token to POST /auth/verify-email:\n${token}`,
        `If you did not sign up for ${APP}, ignore this mail.`,
      ],
    });
  }

  /** Queues the reset mail for a token the caller has stored. */
  function sendPasswordReset(to: string, token: string): void {
    const link = `${publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
    const lifetime = describeSeconds(passwordResetTtlSeconds);
    mailer.send(
      compose({
        kind: 'password_reset',
        to,
        subject: `Reset your ${APP} password`,
        paragraphs: [
          `Someone (hopefully you) asked to reset the password of the ${APP} account for ${to}.`,
          { text: 'Choose a new password here', link, after: `(the link works once, for ${lifetime}):` },
          `Or send this token with your new password to POST /auth/password/reset:\n${token}`,
          'If you did not ask for this, ignore this mail: your password stays as it is.',
        ],
      }),
    );
  }

  /**
   * Tells the owner of an address that someone tried to sign up with it (enumeration-safe
   * sign-up answers the same for a taken address; the owner learns of it here, and nobody else).
   */
  function sendSignUpAttempted(to: string): void {
    mailer.send(
      compose({
        kind: 'sign_up_attempted',
        to,
        subject: `Someone tried to create a ${APP} account with your address`,
        paragraphs: [
          `Someone tried to create a new ${APP} account with ${to}, which already has an account. Nothing was changed.`,
          'If it was you: sign in with your password, or ask for a password reset link (POST /auth/password/forgot) if you have forgotten it.',
          'If it was not you, you can ignore this mail.',
        ],
      }),
    );
  }

  /** Tells the owner that a recovery code was used (if it was not them, the account is at risk). */
  function sendRecoveryCodeUsed(to: string, remaining: number): void {
    mailer.send(
      compose({
        kind: 'recovery_code_used',
        to,
        subject: `A recovery code was used to sign in to your ${APP} account`,
        paragraphs: [
          `One of the recovery codes of your ${APP} account was just used instead of your authenticator app. ${remaining} unused ${remaining === 1 ? 'code remains' : 'codes remain'}.`,
          'If that was you, consider making a new set of recovery codes on your account page.',
          'If it was not you, change your password at once and contact your administrator.',
        ],
      }),
    );
  }

  /** Tells the previous address that the account moved; the new one is only hinted at. */
  function sendEmailChanged(oldEmail: string, newEmail: string): void {
    mailer.send(
      compose({
        kind: 'email_changed',
        to: oldEmail,
        subject: `Your ${APP} email address was changed`,
        paragraphs: [
          `The email address of your ${APP} account was changed from ${oldEmail} to ${maskEmail(newEmail)}.`,
          'Mail about the account now goes to the new address.',
          'If you did not make this change, contact your administrator at once.',
        ],
      }),
    );
  }

  return {
    prepareEmailVerification,
    sendPasswordReset,
    sendSignUpAttempted,
    sendRecoveryCodeUsed,
    sendEmailChanged,
    passwordResetTtlSeconds,
  };
}

export type AccountMail = ReturnType<typeof createAccountMail>;

type Paragraph = string | { text: string; link: string; after: string };

/** A plain-text body and an equivalent minimal HTML body (every value escaped). */
function compose(input: { kind: string; to: string; subject: string; paragraphs: Paragraph[] }): Mail {
  const text = input.paragraphs.map((p) => (typeof p === 'string' ? p : `${p.text} ${p.after}\n${p.link}`)).join('\n\n');
  const html = input.paragraphs
    .map((p) =>
      typeof p === 'string'
        ? `<p>${escapeHtml(p).replaceAll('\n', '<br>')}</p>`
        : `<p><a href="${escapeHtml(p.link)}">${escapeHtml(p.text)}</a> ${escapeHtml(p.after.replace(/:$/, '.'))}</p>`,
    )
    .join('\n');
  return { kind: input.kind, to: input.to, subject: input.subject, text: `${text}\n\n-- \n${APP}\n`, html };
}

/** "a***@example.com": enough for the owner to recognise, little for anyone else reading the old mailbox. */
function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/** 900 → "15 minutes", 86400 → "24 hours". */
export function describeSeconds(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds % 86_400 === 0 && seconds >= 2 * 86_400) return plural(seconds / 86_400, 'day');
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}
