// `npm test` runs under the Node 24 that `npm ci` installs, or stops saying what to do
// (dev/with-node24.mjs). Each case runs a copy of the wrapper in a scratch project.
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
let scratch = ''

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'with-node24-'))
  mkdirSync(join(scratch, 'dev'))
  copyFileSync(join(ROOT, 'dev', 'with-node24.mjs'), join(scratch, 'dev', 'with-node24.mjs'))
})
afterEach(() => rmSync(scratch, { recursive: true, force: true }))

function runWrapper(): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [join(scratch, 'dev', 'with-node24.mjs'), 'jest'], {
    encoding: 'utf8'
  })
  return { status: result.status, stderr: result.stderr }
}

test('the suites themselves run on Node 24 (npm test)', () => {
  expect(process.version).toMatch(/^v24\./)
})

test('without the node dev dependency it stops and says to run npm ci', () => {
  const { status, stderr } = runWrapper()
  expect(status).toBe(1)
  expect(stderr).toContain(join('node_modules', 'node', 'bin', 'node'))
  expect(stderr).toContain('does not exist')
  expect(stderr).toContain("Fix: run 'npm ci'")
})

test('a node that is not Node 24 is refused, with its version', () => {
  const bin = join(scratch, 'node_modules', 'node', 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(join(bin, 'node'), '#!/bin/sh\necho v20.11.0\n')
  chmodSync(join(bin, 'node'), 0o755)
  const { status, stderr } = runWrapper()
  expect(status).toBe(1)
  expect(stderr).toContain('did not answer a Node 24 version (got v20.11.0)')
})
