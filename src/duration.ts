// Durations as users write them in inputs: a whole number and one unit, `90m`, `24h`, `2d`, `30s`.
import { ConfigError } from './input.js'

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }
const DURATION = /^(\d{1,9})\s*([smhd])$/i
/** A year: a longer window would not notice anything stop. */
export const MAX_DURATION_SECONDS = 365 * 86400

/** Seconds, or a ConfigError naming the input, the value and the expected form. */
export function parseDuration(inputName: string, value: string): number {
  const match = DURATION.exec(value.trim())
  const seconds = match
    ? Number(match[1]) * (UNIT_SECONDS[(match[2] ?? '').toLowerCase()] ?? NaN)
    : NaN
  if (!Number.isSafeInteger(seconds) || seconds > MAX_DURATION_SECONDS) {
    throw new ConfigError(
      `Input '${inputName}' has an invalid value '${value}': expected a duration such as '90m', ` +
        `'24h' or '2d' (a whole number and one unit: s, m, h or d), at most 365d.`
    )
  }
  return seconds
}

/** `1d 2h`, `45m`, `30s`: for messages. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`
  const parts: string[] = []
  let left = Math.floor(seconds / 60)
  const days = Math.floor(left / 1440)
  left -= days * 1440
  const hours = Math.floor(left / 60)
  const minutes = left - hours * 60
  if (days > 0) parts.push(`${days}d`)
  if (hours > 0) parts.push(`${hours}h`)
  if (minutes > 0 && days === 0) parts.push(`${minutes}m`)
  return parts.join(' ') || '0s'
}
