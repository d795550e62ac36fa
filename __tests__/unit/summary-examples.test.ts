// The README's rendered examples come from the real renderer: they never drift (issue 13).
import { readFileSync } from 'node:fs'
import { examplesBlock, START, END } from '../../dev/render-examples.js'

it('README\'s "What you get" examples match the renderer (run `npm run docs` to update)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  expect(start).toBeGreaterThan(0)
  expect(readme.slice(start, end + END.length)).toBe(examplesBlock())
})
