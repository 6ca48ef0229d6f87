import { AppError } from '../../errors.js';
import type { AuthService } from '../auth/auth.service.js';
import type { MfaService } from '../mfa/mfa.service.js';
import type { PasskeysService } from '../passkeys/passkeys.service.js';
import type { Metrics, SignInMethod, SignInOutcome } from './metrics.service.js';

// The services decide every sign-in and say so in what they return or throw: tokens, an
// mfa_required answer, or an AppError with a stable code. Counting at their boundary reads
// those decisions without putting metrics code inside the services, and costs nothing when
// metrics are off (the services are then used unwrapped).

/** What a sign-in's error says about it: throttled (429), refused (another 4xx), or failed on our side. */
export function outcomeOfError(err: unknown): SignInOutcome {
  if (!(err instanceof AppError)) return 'error';
  if (err.code === 'RATE_LIMITED') return 'throttled';
  return err.status >= 500 ? 'error' : 'failure';
}

function isMfaRequired(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { mfa_required?: unknown }).mfa_required === true;
}

/** `signIn` counted under `methodOf(its input)` with the outcome of each call. */
function counted<A extends unknown[], R>(
  metrics: Metrics,
  methodOf: (input: NoInfer<A>[0]) => SignInMethod,
  signIn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const method = methodOf(args[0]);
    try {
      const result = await signIn(...args);
      metrics.countSignIn(method, isMfaRequired(result) ? 'mfa_required' : 'success');
      return result;
    } catch (err) {
      metrics.countSignIn(method, outcomeOfError(err));
      throw err;
    }
  };
}

/** The auth service with password sign-ins (`login`) and refreshes counted; itself when metrics are off. */
export function countAuthSignIns(auth: AuthService, metrics: Metrics | null): AuthService {
  if (!metrics) return auth;
  return { ...auth, login: counted(metrics, () => 'password', auth.login), refresh: counted(metrics, () => 'refresh', auth.refresh) };
}

/** The MFA service with second-step sign-ins counted, as totp or recovery_code by what was sent. */
export function countMfaSignIns(mfa: MfaService, metrics: Metrics | null): MfaService {
  if (!metrics) return mfa;
  const methodOf = (input: Parameters<MfaService['verify']>[0]): SignInMethod =>
    input.recovery_code !== undefined && input.code === undefined ? 'recovery_code' : 'totp';
  return { ...mfa, verify: counted(metrics, methodOf, mfa.verify) };
}

/** The passkeys service with passkey sign-ins counted. */
export function countPasskeySignIns(passkeys: PasskeysService, metrics: Metrics | null): PasskeysService {
  if (!metrics) return passkeys;
  return { ...passkeys, authenticate: counted(metrics, () => 'passkey', passkeys.authenticate) };
}
