// `npm run emulators` (dev/serve-emulators.ts) as a newcomer meets it: started twice, and with the
// .env.example a local run loads.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_CHAIN_KEY } from '../../dev/emulators/aws.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

test('a port already in use gives one clear sentence, not a stack', async () => {
  const blocker = createServer()
  await new Promise<void>(done => blocker.listen(0, '127.0.0.1', done))
  const port = (blocker.address() as AddressInfo).port
  const scratch = mkdtempSync(join(tmpdir(), 'serve-emulators-'))
  try {
    const child = spawn(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [
        'dev/serve-emulators.ts',
        '--ec2-port',
        String(port),
        '--write-env',
        join(scratch, 'env'),
        '--write-state',
        join(scratch, 'state.json')
      ],
      { cwd: ROOT }
    )
    let stderr = ''
    child.stderr.on('data', chunk => (stderr += String(chunk)))
    const code = await new Promise<number | null>(done => child.on('close', done))
    expect(code).toBe(1)
    expect(stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`)
    expect(stderr).toContain('npm run emulators -- --ec2-port N')
    expect(stderr).not.toMatch(/^\s+at /m)
  } finally {
    blocker.close()
    rmSync(scratch, { recursive: true, force: true })
  }
}, 90_000)

test(".env.example's keys are the emulators' default-chain keys (Service Quotas refuses others)", () => {
  const lines = readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n')
  expect(lines).toContain(`AWS_ACCESS_KEY_ID=${DEFAULT_CHAIN_KEY.accessKeyId}`)
  expect(lines).toContain(`AWS_SECRET_ACCESS_KEY=${DEFAULT_CHAIN_KEY.secret}`)
  expect(lines).toContain('GITHUB_STEP_SUMMARY=./.tmp/summary.md')
})
