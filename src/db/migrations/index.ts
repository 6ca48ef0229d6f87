import type { Migration, MigrationProvider } from 'kysely';
import * as usersAndSessions from './2026-11-23-0001-users-and-sessions.js';
import * as booksAndBucketlists from './2026-11-23-0002-books-and-bucketlists.js';
import * as signingKeys from './2026-11-23-0003-signing-keys.js';
import * as accountTokens from './2026-11-23-0004-account-tokens.js';
import * as credentialVersion from './2026-11-30-0005-credential-version.js';
import * as sessionsAndEvents from './2026-11-30-0006-sessions-and-events.js';
import * as mfaAndPasskeys from './2026-11-30-0007-mfa-and-passkeys.js';
import * as searchIndexes from './2026-11-30-0008-search-indexes.js';

/**
 * Every migration, by date-prefixed name. Listed statically (not read from a folder) so the
 * built server and the tests run exactly the same set, whatever the working directory.
 */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '2026-11-23-0001-users-and-sessions': usersAndSessions,
      '2026-11-23-0002-books-and-bucketlists': booksAndBucketlists,
      '2026-11-23-0003-signing-keys': signingKeys,
      '2026-11-23-0004-account-tokens': accountTokens,
      '2026-11-30-0005-credential-version': credentialVersion,
      '2026-11-30-0006-sessions-and-events': sessionsAndEvents,
      '2026-11-30-0007-mfa-and-passkeys': mfaAndPasskeys,
      '2026-11-30-0008-search-indexes': searchIndexes,
    };
  },
};
