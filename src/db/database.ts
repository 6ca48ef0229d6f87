import type { Kysely } from 'kysely';

/**
 * Table types. Timestamps are RFC 3339 UTC strings and booleans are 0/1 integers in both
 * SQLite and PostgreSQL, so repositories read the same values from either database.
 */
export interface UsersTable {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  role: 'user' | 'admin';
  disabled: number;
  /** 1 once the owner proved control of `email` (verification link or password reset). */
  email_verified: number;
  /** Bumped by every change that must end sessions (password change or reset, disabling). */
  credential_version: number;
  /** 1 while TOTP is on (confirmed); kept with the user row so every user object can tell. */
  mfa_enabled: number;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  /** The user's credential_version its sign-in checked; the session is dead once they differ. */
  credential_version: number;
  created_at: string;
  /** When the newest refresh token of this session expires; rotation moves it forward. */
  expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  /** The last sign-in or refresh of this session, and the client seen then. */
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
  /** When this session last proved a credential (RFC 9470 `auth_time`), and how (RFC 8176 `amr`, JSON array). */
  auth_time: string;
  amr: string;
}

export interface RefreshTokensTable {
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string;
  session_id: string;
  created_at: string;
  expires_at: string;
  /** Set when the token is exchanged; presenting it again is reuse. */
  used_at: string | null;
}

export type AccountTokenPurpose = 'password_reset' | 'email_verification';

/** Single-use tokens sent by mail (password reset, email verification). */
export interface AccountTokensTable {
  /** SHA-256 of the opaque token; the token itself only ever exists in the mail. */
  token_hash: string;
  user_id: string;
  purpose: AccountTokenPurpose;
  /** The address the token was mailed to: it only acts while the user still has that address. */
  email: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface BooksTable {
  id: string;
  title: string;
  author: string;
  /** Normalised (no hyphens); unique when present. */
  isbn: string | null;
  published_year: number | null;
  description: string | null;
  /** Set to NULL when the creator is deleted: the catalogue keeps the book. */
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface BucketlistsTable {
  id: string;
  name: string;
  description: string | null;
  owner_id: string;
  created_at: string;
  updated_at: string;
}

export interface BucketlistItemsTable {
  id: string;
  bucketlist_id: string;
  title: string;
  done: number;
  created_at: string;
  updated_at: string;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  /** The public JWK as JSON text. */
  public_jwk: string;
  /** `v1.<iv>.<tag>.<ciphertext>`: AES-256-GCM under KEY_ENCRYPTION_SECRET, kid as AAD. */
  private_key: string;
  created_at: string;
}

/** One security event: what happened to an account, never a secret. `data` is a small JSON object. */
export interface SecurityEventsTable {
  id: string;
  type: string;
  created_at: string;
  user_id: string | null;
  actor_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  data: string;
}

export interface MfaTotpTable {
  user_id: string;
  /** The base32 seed, encrypted under KEY_ENCRYPTION_SECRET. */
  secret: string;
  confirmed_at: string | null;
  /** bigint: a string from PostgreSQL, a number from SQLite; read it with Number(). */
  last_used_step: number | string | null;
  created_at: string;
}

export interface MfaRecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: string | null;
  created_at: string;
}

export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  credential_version: number;
  failures: number;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface WebauthnCredentialsTable {
  id: string;
  user_id: string;
  /** The authenticator's credential id, base64url. */
  credential_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number | string;
  /** JSON array of AuthenticatorTransport. */
  transports: string;
  backed_up: number;
  device_type: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface WebauthnChallengesTable {
  id: string;
  challenge: string;
  purpose: 'registration' | 'authentication';
  user_id: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface DB {
  mfa_totp: MfaTotpTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  webauthn_credentials: WebauthnCredentialsTable;
  webauthn_challenges: WebauthnChallengesTable;
  security_events: SecurityEventsTable;
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  account_tokens: AccountTokensTable;
  books: BooksTable;
  bucketlists: BucketlistsTable;
  bucketlist_items: BucketlistItemsTable;
  signing_keys: SigningKeysTable;
}

export type Db = Kysely<DB>;
