const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses a duration such as `900`, `45s`, `15m`, `12h` or `30d` into whole seconds.
 * Returns null for anything else, so config validation can report it.
 */
export function parseDurationSeconds(value: string): number | null {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = match[2] === '' ? 's' : (match[2] as string);
  const seconds = amount * (UNIT_SECONDS[unit] ?? 1);
  return seconds > 0 ? seconds : null;
}
