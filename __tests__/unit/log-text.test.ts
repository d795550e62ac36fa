// Untrusted text in the job log must not become a workflow command. The runner reads each stdout
// line and takes one that starts with `::` (v2: `::add-mask::`, `::stop-commands::`,
// `::set-output`) or holds `##[` (v1: `##[command]data`) as a command; core.info writes raw lines.
import { logText } from '../../src/report/log-text.js'

/** What the runner would take as a command, per line (leading whitespace ignored). */
function commands(stdout: string): string[] {
  return stdout
    .split(/\r\n|\n|\r/)
    .filter(line => line.trimStart().startsWith('::') || line.includes('##['))
}

const HOSTILE = [
  '::add-mask::1785000000',
  'denied\n::stop-commands::pwned\n::warning::forged',
  'denied\r::set-output name=changed::false',
  'x\r\n  ::error file=a::forged',
  '\t::notice::forged',
  'a\u2028::debug::x',
  '##[error]forged',
  'ok ##[add-mask]secret',
  '::'
]

it.each(HOSTILE)('%j cannot start a workflow command', hostile => {
  const line = logText(`AuthorizeSecurityGroupIngress failed: ${hostile}`)
  expect(commands(`${line}\n`)).toEqual([])
  expect(commands(logText(hostile))).toEqual([])
  // What a reader sees is unchanged, apart from zero-width spaces.
  expect(logText(hostile).replace(/\u200b/g, '')).toBe(
    hostile.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n')
  )
})

it('leaves ordinary lines and IPv6 CIDRs mid-line alone', () => {
  expect(logText('Plan: +1 / -0 rules; 2600:9000::/28 added')).toBe(
    'Plan: +1 / -0 rules; 2600:9000::/28 added'
  )
})
