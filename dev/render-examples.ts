// The README's "What you get" examples, rendered by the real renderer from dev/summary-scenarios.ts,
// between the markers <!-- summary-examples:start --> and <!-- summary-examples:end -->.
// `npm run docs` rewrites them; a unit test (__tests__/unit/summary-examples.test.ts) fails when
// they drift.
import { renderSummary } from '../src/report/summary.js'
import { scenarios } from './summary-scenarios.js'

export const START = '<!-- summary-examples:start -->'
export const END = '<!-- summary-examples:end -->'

const SHOWN: [string, string][] = [
  ['first sync', 'A first sync'],
  ['no change', 'A run with nothing to change']
]

export function examplesBlock(): string {
  const all = scenarios()
  const parts = SHOWN.map(([name, title]) => {
    const markdown = renderSummary(all[name] as NonNullable<(typeof all)[string]>).trimEnd()
    const fence = '`'.repeat(Math.max(4, ...(markdown.match(/`+/g) ?? []).map(r => r.length + 1)))
    return [
      `**${title}** (the Markdown of the job summary):`,
      '',
      `${fence}markdown`,
      markdown,
      fence
    ].join('\n')
  })
  return [START, '', ...parts.flatMap(p => [p, '']), END].join('\n')
}

/** README with the examples block replaced; unchanged when the markers are missing. */
export function updateExamples(readme: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) return readme
  return readme.slice(0, start) + examplesBlock() + readme.slice(end + END.length)
}
