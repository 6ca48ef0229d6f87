import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenFromMail } from './smtp.js';

/**
 * The token of the newest `/<path>?token=` link mailed to `to` through the development outbox
 * (MAIL_OUTBOX_DIR). Mail is queued after the request answers, so this polls for a while.
 */
export async function tokenFromOutbox(outboxDir: string, to: string, path: 'reset-password' | 'verify-email'): Promise<string> {
  for (let i = 0; i < 250; i++) {
    const files = existsSync(outboxDir) ? readdirSync(outboxDir).sort().reverse() : [];
    for (const file of files) {
      const mail = readMail(join(outboxDir, file));
      if (mail?.to.includes(to) && mail.text.includes(`/${path}?token=`)) return tokenFromMail(mail, path);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${path} mail to ${to} in ${outboxDir}`);
}

/** A mail file, or undefined while the mailer is still writing it (it may be empty or cut short). */
function readMail(file: string): { to: string; text: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { to: string; text: string };
  } catch {
    return undefined;
  }
}
