// Text for the job log. core.warning/notice/error/setFailed put their message in a workflow command
// and escape it (%, CR, LF become %25, %0D, %0A: lib/command.js escapeData), so it stays data. But
// core.info writes its message as raw lines, and the runner takes a line that starts with `::`
// (v2, `::add-mask::`, `::stop-commands::`, `::set-output`...) or holds `##[` (v1,
// `##[command]data`) as a command. GitHub's advice for untrusted text on stdout (CVE-2020-15228,
// actions/toolkit#702) is to keep it from being read as a command; this does it line by line.
// Pure.

const ZWSP = '\u200b'

/** The message with every line unable to start a workflow command; what it says is unchanged. */
export function logText(message: string): string {
  return message
    .split(/\r\n|[\n\r\u2028\u2029\u0085]/)
    .map(line => line.replace(/^(\s*):/, `$1${ZWSP}:`).replace(/##\[/g, `##${ZWSP}[`))
    .join('\n')
}
