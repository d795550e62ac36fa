// Shared by every input parser (config, identity, trigger, tracking issue).

/** An input that failed validation; the message names the input, the value and the expected form. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Splits a comma- and/or newline-separated list, dropping blanks. */
export function splitList(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map(item => item.trim())
    .filter(item => item !== '')
}
